"""A character language model: an embedding, any recurrent layer, its decoder (chapter
4).

``CharLM`` replaces the one-hot vectors and the first linear map of chapter 2 by
``nn.Embedding`` (AMAL TP4, question 4): row ``i`` of the embedding matrix is what a
linear map does to the one-hot vector of ``i``, read without building the one-hot
vector.

**How a sentence starts.** The course's vocabulary has no begin-of-sentence symbol, so
``EOS`` plays that part: a model reads ``EOS`` first and must predict the first
character of the sentence from it. For a padded batch ``y (L, B)`` from
``pad_collate_fn`` (sentence, ``EOS``, then ``PAD``), ``shift_right`` makes the inputs
``x = [EOS, y_0, …, y_{L-2}]`` and the targets are ``y`` itself, so the model learns
``p(y_t | EOS, y_0, …, y_{t-1})`` up to and including the final ``EOS``. Generation
(``generate`` of ``companion.decoding``) and the decoders of chapter 6 follow the same
rule: feed ``EOS`` with ``state=None``, then the prompt.

References: Bengio et al., "A neural probabilistic language model" (2003) for learned
embeddings; Elman (1990) and Karpathy's char-rnn (2015) for character-level recurrent
models."""

import math
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from companion.checks import check_ids, check_integer, check_positive_int, check_tensor
from companion.data.text import EOS_ID, PAD_ID, VOCAB_SIZE
from companion.losses import masked_cross_entropy


class CharLM(nn.Module):
    """``nn.Embedding(V, D, padding_idx=PAD_ID)`` feeding a recurrent layer
    ``D → H → V``.

    ``recurrent`` is any layer with the book's interface (``companion.rnn.RNN``, the
    LSTM or GRU of chapter 5): ``forward(x (L, B, D), state, return_state)``,
    ``decode(h)``, and the attributes ``input_dim`` (the embedding size ``D``) and
    ``output_dim``, which must equal ``vocab_size`` since the decoder produces one score
    per symbol."""

    def __init__(self, recurrent: nn.Module, vocab_size: int = VOCAB_SIZE):
        super().__init__()
        check_positive_int("vocab_size", vocab_size, minimum=2)
        for attribute in ("input_dim", "output_dim", "decode"):
            if not hasattr(recurrent, attribute):
                raise TypeError(
                    f"expected a recurrent layer with an '{attribute}' attribute, "
                    f"got {type(recurrent).__name__}"
                )
        if recurrent.output_dim != vocab_size:
            raise ValueError(
                f"expected recurrent.output_dim == vocab_size = {vocab_size}, "
                f"got {recurrent.output_dim}"
            )
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(
            vocab_size, recurrent.input_dim, padding_idx=PAD_ID
        )
        self.recurrent = recurrent

    def forward(self, tokens: torch.Tensor, state=None, return_state: bool = False):
        """Scores of the next symbol at each position: ``tokens (L, B)`` →
        ``(L, B, V)``.

        ``tokens`` are ids in ``[0, V)`` of any integer dtype. ``state`` is the
        recurrent layer's initial state (zeros when ``None``). With ``return_state`` the
        result is ``(logits, final_state)``.
        """
        check_tensor("tokens", tokens, ("L", "B"))
        check_ids("tokens", tokens, self.vocab_size)
        states, final = self.recurrent(self.embedding(tokens), state, return_state=True)
        logits = self.recurrent.decode(states)
        return (logits, final) if return_state else logits

    def step(self, state, tokens: torch.Tensor):
        """Read one symbol per sequence: ``tokens (B,)`` →
        ``(log_probs (B, V), new_state)``.

        ``state=None`` starts a sequence; by the book's convention the first symbol read
        is ``EOS`` (see the module docstring). ``log_probs`` is the log-distribution of
        the symbol that follows ``tokens``. ``forward`` checks the tokens, once per
        step."""
        check_tensor("tokens", tokens, ("B",))
        logits, new_state = self.forward(tokens.unsqueeze(0), state, return_state=True)
        return F.log_softmax(logits[0], dim=-1), new_state


def shift_right(batch: torch.Tensor, start_id: int = EOS_ID) -> torch.Tensor:
    """Model inputs for targets ``batch (L, B)``: ``start_id`` then ``batch[:-1]``,
    ``(L, B)``."""
    check_tensor("batch", batch, ("L", "B"))
    check_integer("batch", batch)
    check_positive_int("start_id", start_id, minimum=0)
    start = batch.new_full((1, batch.shape[1]), start_id)
    return torch.cat([start, batch[:-1]])


def lm_loss(
    model: nn.Module, batch: torch.Tensor, pad_id: int = PAD_ID, start_id: int = EOS_ID
) -> torch.Tensor:
    """Masked cross-entropy of ``model``'s next symbols (nats/symbol), ``batch (L, B)``.

    ``model(tokens (L, B)) -> logits (L, B, V)``; the inputs are ``shift_right(batch)``,
    the targets ``batch``, and positions whose target is ``pad_id`` are left out. The
    signature fits ``companion.training.fit`` as its ``loss_fn``.
    """
    return masked_cross_entropy(model(shift_right(batch, start_id)), batch, pad_id)


@torch.no_grad()
def bits_per_character(
    model: nn.Module,
    batches: Iterable[torch.Tensor],
    loss_fn: Callable[[nn.Module, torch.Tensor], torch.Tensor] = lm_loss,
    pad_id: int = PAD_ID,
) -> float:
    """Cross-entropy of ``model`` on ``batches`` in bits per character.

    Each batch ``(L, B)`` weighs by its number of non-``pad_id`` targets, so the result
    is the mean over all characters (``EOS`` included), not the mean of the batch means
    (``companion.training.evaluate``): the two differ when batches have different
    numbers of characters. ``loss_fn(model, batch)`` must be a mean over those
    characters in nats, as ``lm_loss`` is. Runs in evaluation mode without gradients,
    then restores the model's mode."""
    training = model.training
    model.eval()
    total = count = 0
    try:
        for batch in batches:
            loss = float(loss_fn(model, batch))  # lm_loss checks the batch
            n = int((batch != pad_id).sum())
            total, count = total + loss * n, count + n
    finally:
        model.train(training)
    if count == 0:
        raise ValueError(
            "expected batches with at least one non-PAD character, got none"
        )
    return total / count / math.log(2)


@torch.no_grad()
def perplexity(
    model: nn.Module,
    batches: Iterable[torch.Tensor],
    pad_id: int = PAD_ID,
    start_id: int = EOS_ID,
) -> float:
    """Per-character perplexity of ``model`` on ``batches``: the geometric mean of
    ``1 / p(y_t | y_<t)`` over every non-``pad_id`` target (``EOS`` included).

    ``model(tokens (L, B)) -> scores (L, B, V)`` (logits or log-probabilities); the
    inputs of each batch ``(L, B)`` are ``shift_right(batch, start_id)``. Computed from
    the probabilities themselves, ``exp(-mean log p)``, not from ``lm_loss``, so that
    ``perplexity == 2 ** bits_per_character`` is a check of both. A model that gives
    some target probability 0 has an infinite perplexity. Runs in evaluation mode, then
    restores the model's mode."""
    training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        for batch in batches:
            log_p = F.log_softmax(model(shift_right(batch, start_id)), dim=-1)
            target_log_p = log_p.gather(2, batch.long()[..., None]).squeeze(2)
            mask = batch != pad_id
            total += float(target_log_p.double()[mask].sum())
            count += int(mask.sum())
    finally:
        model.train(training)
    if count == 0:
        raise ValueError(
            "expected batches with at least one non-PAD character, got none"
        )
    return math.exp(-total / count)
