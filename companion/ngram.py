"""A smoothed character n-gram language model: the baseline a recurrent model must beat.

An n-gram model predicts a character from the ``n - 1`` characters before it, by
counting. Counts alone give probability 0 to every continuation never seen, so the
estimate of each context is interpolated with the one of its shorter context
(Witten–Bell smoothing, Witten & Bell 1991; see Chen & Goodman 1999 for the family)::

    p_k(c | h_k) = (C(h_k c) + N(h_k) p_{k-1}(c | h_{k-1})) / (C(h_k) + N(h_k))

where ``h_k`` is the last ``k`` symbols of the context, ``C`` counts occurrences in the
training sentences, ``N(h_k)`` is the number of distinct symbols seen after ``h_k``, and
``p_0`` is uniform over the vocabulary. An unseen context falls back to its shorter one.
Every ``p_k(· | h)`` is a probability distribution over the ``V`` ids, so the model's
cross-entropy is a fair number to set beside a recurrent model's.

``CharNGram`` reads sentences the way chapter 4's ``CharLM`` does: each ``(L, B)`` batch
of ids (``PAD`` after ``EOS``) is preceded by ``EOS``, the book's start-of-sentence
convention, and the model predicts every character and the final ``EOS``. Its
``forward(tokens (L, B))`` returns log-probabilities ``(L, B, V)`` of the next symbol,
so ``lm_loss`` and ``bits_per_character`` of ``companion.language_model`` measure it
unchanged; ``PAD`` is neither counted nor used as a context. Its
``step(state, tokens (B,))`` is the step function of ``companion.decoding`` (the state
is the last ``order - 1`` symbols of each sequence), so ``generate_many``
(``companion.generation``) writes sentences with it as with a recurrent model:
Shannon's (1948) samples of English from letter n-grams, drawn the book's way."""

from collections import Counter, defaultdict

import numpy as np
import torch
from torch import nn

from companion.checks import Ids, Int, checked
from companion.data.text import EOS_ID, PAD_ID, VOCAB_SIZE


def _check_fitted(door) -> None:
    if not door.owner.counts:
        raise RuntimeError("expected a fitted model: call fit(batches) first")


def _check_history(door) -> None:
    history = door.args["history"]
    if not isinstance(history, list | tuple) or {type(i) for i in history} - {int}:
        raise TypeError(
            f"expected history to be a list of int ids, got {history!r:.30}"
        )
    if not all(0 <= i < door.owner.vocab_size for i in history):
        raise ValueError(f"expected history to hold ids in [0, V), got {history!r:.30}")


V = "self.vocab_size"  # the model's vocabulary size, in the doors below
ID = Int(0, below="vocab_size")  # an id of the vocabulary being built
STATE = Ids("B", "self.context_size", below=V, optional=True)  # the last symbols read


class CharNGram(nn.Module):
    """Witten–Bell smoothed n-gram model of order ``order`` (``order - 1`` symbols of
    context).

    Call ``fit(batches)`` on ``(L, B)`` id batches of sentences, then
    ``forward(tokens (L, B))`` (the inputs: ``EOS`` then the sentence, as
    ``shift_right`` makes them) for the log-probabilities ``(L, B, V)`` of each next
    symbol."""

    @checked(order=Int(), vocab_size=Int(2, size="vocab_size"), start_id=ID, pad_id=ID)
    def __init__(
        self,
        order: int,
        vocab_size: int = VOCAB_SIZE,
        start_id: int = EOS_ID,
        pad_id: int = PAD_ID,
    ):
        super().__init__()
        self.order, self.vocab_size = order, vocab_size
        self.context_size = order - 1  # the symbols a prediction reads
        self.start_id, self.pad_id = start_id, pad_id
        self.counts: dict[tuple, Counter] = defaultdict(Counter)
        self._cache: dict[tuple, np.ndarray] = {}

    def fit(self, batches) -> "CharNGram":
        """Count every context of length ``0 .. order - 1`` and its next symbol in
        ``batches``, an iterable of ``(L, B)`` id tensors (``PAD`` after each
        sentence), with ``count``. Raises ``ValueError`` if there was no sentence."""
        for batch in batches:
            self.count(batch)
        if not self.counts:
            raise ValueError("expected batches holding at least one sentence, got none")
        return self

    @checked(batch=Ids("L", "B", below=V))
    def count(self, batch: torch.Tensor) -> None:
        """Add the counts of one batch ``(L, B)`` of sentences (``PAD`` after each)."""
        for column in batch.T.tolist():
            symbols = [s for s in column if s != self.pad_id]
            history = [self.start_id] * self.context_size
            for symbol in symbols:
                for k in range(self.order):
                    self.counts[tuple(history[len(history) - k :])][symbol] += 1
                history.append(symbol)
        self._cache = {}

    @checked(_check_history)
    def probabilities(self, history: list[int]) -> np.ndarray:
        """``p(· | history)``, ``(V,)``, from the last ``order - 1`` symbols of
        ``history``, a list of ids in ``[0, V)`` (``string2code(text).tolist()``).
        Characters raise ``TypeError`` and ids out of ``[0, V)`` ``ValueError``: they
        would silently fall back to shorter contexts."""
        context = tuple(history[len(history) - self.context_size :])
        p = self._cache.get(context)
        if p is None:
            p = self._cache[context] = self.witten_bell(context)
            p.flags.writeable = False  # shared by every call with this context
        return p

    def witten_bell(self, context: tuple) -> np.ndarray:
        """The interpolation of the module docstring, from ``p_0`` up to the longest
        suffix of ``context`` that was seen."""
        p = np.full(self.vocab_size, 1.0 / self.vocab_size)
        for k in range(self.order):
            suffix = context[len(context) - k :] if k else ()
            if suffix not in self.counts:
                break
            seen = self.counts[suffix]
            ids = np.fromiter(seen.keys(), dtype=np.int64, count=len(seen))
            counts = np.fromiter(seen.values(), dtype=np.float64, count=len(seen))
            p = len(seen) * p
            p[ids] += counts
            p /= counts.sum() + len(seen)
        return p

    @checked(_check_fitted, tokens=Ids("L", "B", below=V))
    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``(L, B, V)`` of the symbol after each input of
        ``tokens (L, B)``.

        ``tokens[0]`` is the start symbol; the history of column ``b`` at step ``t`` is
        ``tokens[1:t + 1, b]`` without ``PAD``, preceded by ``order - 1`` start symbols,
        as in ``fit``."""
        out = np.empty((*tokens.shape, self.vocab_size))
        for b, column in enumerate(tokens.T.tolist()):
            history = [self.start_id] * self.context_size
            for t, symbol in enumerate(column):
                if t > 0 and symbol != self.pad_id:  # tokens[0] is the start symbol
                    history.append(symbol)
                out[t, b] = self.probabilities.bare(history)
        return torch.from_numpy(np.log(out)).float()

    @checked(_check_fitted, tokens=Ids("B", below=V), state=STATE)
    def step(
        self, state: torch.Tensor | None, tokens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Read one symbol per sequence: ``tokens (B,)`` →
        ``(log_probs (B, V), new_state (B, order - 1))``.

        The state holds the last ``order - 1`` symbols of each sequence. ``state=None``
        starts the sequences, as ``tokens[0]`` does in ``forward``: ``tokens`` is then
        the start symbol, whatever its value, and the context is ``order - 1`` start
        symbols."""
        if state is None:
            state = tokens.new_full((len(tokens), self.context_size), self.start_id)
        else:
            state = torch.cat([state, tokens[:, None]], dim=1)[:, 1:]
        state = state.long()
        p = np.stack([self.probabilities.bare(row) for row in state.tolist()])
        return torch.from_numpy(np.log(p)).float(), state
