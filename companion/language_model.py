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
(``generate`` of ``companion.generation``) and the decoders of chapter 6 follow the same
rule: feed ``EOS`` with ``state=None``, then the prompt.

References: Bengio et al., "A neural probabilistic language model" (2003) for learned
embeddings; Elman (1990) and Karpathy's char-rnn (2015) for character-level recurrent
models."""

import math
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from companion.checks import Call, Has, Ids, Int, checked
from companion.data.text import EOS_ID, PAD_ID, VOCAB_SIZE
from companion.losses import SCORES, TARGET, VOCAB_ID, masked_cross_entropy
from companion.seeding import eval_mode

LAYER = Has("forward", "decode", label="a recurrent layer of the book")


def _check_output_dim(door) -> None:  # the decoder gives one score per symbol
    V, out = door.args["vocab_size"], door.args["recurrent"].output_dim
    if out != V:
        raise ValueError(
            f"expected recurrent.output_dim == vocab_size = {V}, got {out}"
        )


def _check_pad_id(door) -> None:  # a pad_id that cannot occur would count every id
    V, pad_id = getattr(door.args["model"], "vocab_size", math.inf), door.args["pad_id"]
    if pad_id >= V:
        raise ValueError(f"expected pad_id in [0, {V}), the vocabulary, got {pad_id}")


def _per_character(total: float, count: int) -> float:
    """``total / count``, a mean over the ``count`` characters read (at least one)."""
    if count == 0:
        raise ValueError("expected batches with at least one non-PAD character")
    return total / count


class CharLM(nn.Module):
    """``nn.Embedding(V, D, padding_idx=PAD_ID)`` feeding a recurrent layer
    ``D → H → V``.

    ``recurrent`` is any layer with the book's interface (``companion.rnn.RNN``, the
    LSTM or GRU of chapter 5): ``forward(x (L, B, D), state, return_state)``,
    ``decode(h)``, and the attributes ``input_dim`` (the embedding size ``D``) and
    ``output_dim``, which must equal ``vocab_size`` since the decoder produces one score
    per symbol."""

    @checked(_check_output_dim, recurrent=LAYER, vocab_size=Int(2))
    def __init__(self, recurrent: nn.Module, vocab_size: int = VOCAB_SIZE):
        super().__init__()
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(
            vocab_size, recurrent.input_dim, padding_idx=PAD_ID
        )
        self.recurrent = recurrent

    @checked(tokens=Ids("L", "B", below="self.vocab_size"))
    def forward(self, tokens: torch.Tensor, state=None, return_state: bool = False):
        """Scores of the next symbol at each position: ``tokens (L, B)`` →
        ``(L, B, V)``.

        ``tokens`` are ids in ``[0, V)`` of any integer dtype. ``state`` is the
        recurrent layer's initial state (zeros when ``None``; the layer's door checks
        it). With ``return_state`` the result is ``(logits, final_state)``.
        """
        states, final = self.recurrent(self.embedding(tokens), state, return_state=True)
        logits = self.recurrent.decode(states)
        return (logits, final) if return_state else logits

    @checked(tokens=Ids("B", below="self.vocab_size"))
    def step(self, state, tokens: torch.Tensor):
        """Read one symbol per sequence: ``tokens (B,)`` →
        ``(log_probs (B, V), new_state)``.

        ``state=None`` starts a sequence; by the book's convention the first symbol read
        is ``EOS`` (see the module docstring). ``log_probs`` is the log-distribution of
        the symbol that follows ``tokens``, whose ids are checked once per step."""
        logits, new_state = self.forward.bare(
            tokens.unsqueeze(0), state, return_state=True
        )
        return F.log_softmax(logits[0], dim=-1), new_state


@checked(batch=Ids("L", "B"), start_id=Int(0))
def shift_right(batch: torch.Tensor, start_id: int = EOS_ID) -> torch.Tensor:
    """Model inputs for targets ``batch (L, B)``: ``start_id`` then ``batch[:-1]``,
    ``(L, B)``."""
    start = batch.new_full((1, batch.shape[1]), start_id)
    return torch.cat([start, batch[:-1]])


def lm_loss(
    model: nn.Module, batch: torch.Tensor, pad_id: int = PAD_ID, start_id: int = EOS_ID
) -> torch.Tensor:
    """Masked cross-entropy of ``model``'s next symbols (nats/symbol), ``batch (L, B)``.

    ``model(tokens (L, B)) -> logits (L, B, V)``; the inputs are ``shift_right(batch)``,
    the targets ``batch``, and positions whose target is ``pad_id`` are left out. The
    signature fits ``companion.training.fit`` as its ``loss_fn``. The two functions it
    calls check its arguments.
    """
    return masked_cross_entropy(model(shift_right(batch, start_id)), batch, pad_id)


@checked(scores=SCORES, target=TARGET, pad_id=VOCAB_ID)
def target_log_probs(
    scores: torch.Tensor, target: torch.Tensor, pad_id: int
) -> torch.Tensor:
    """``log p(y_t | y_<t)`` of every target that is not ``pad_id``, in the order of
    ``target[target != pad_id]``: ``scores (L, B, V)`` (logits or log-probabilities),
    ``target (L, B)`` ids in ``[0, V)`` → a 1-d tensor."""
    log_p = F.log_softmax(scores, dim=-1)
    chosen = log_p.gather(2, target.long()[..., None]).squeeze(2)
    return chosen[target != pad_id]


@checked(_check_pad_id, loss_fn=Call(), pad_id=Int(0))
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
    then restores the model's mode. ``pad_id`` must lie in the model's vocabulary
    (``model.vocab_size``, when it has one)."""
    total = count = 0
    with eval_mode(model):
        for batch in batches:
            loss = float(loss_fn(model, batch))  # lm_loss checks the batch
            n = int((batch != pad_id).sum())
            total, count = total + loss * n, count + n
    return _per_character(total, count) / math.log(2)


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
    some target probability 0 has an infinite perplexity. ``pad_id`` must be an id of
    the model's vocabulary ``[0, V)``. Runs in evaluation mode, then restores the
    model's mode."""
    total, count = 0.0, 0
    with eval_mode(model):
        for batch in batches:
            scores = model(shift_right(batch, start_id))
            log_p = target_log_probs(scores, batch, pad_id)
            total += float(log_p.double().sum())
            count += log_p.numel()
    return math.exp(-_per_character(total, count))
