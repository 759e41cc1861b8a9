"""Decoding a language model: greedy, sampling (temperature, top-k, nucleus), beam
search.

Every decoder here is model-agnostic. It only calls a *step function*

``step(state, tokens) -> (log_probs, new_state)``, ``tokens (B,)`` long,
``log_probs (B, V)``,

with ``state=None`` before the first token (``CharLM.step`` of chapter 4 and the
Transformer of chapter 8 both are one). A state is a tensor whose first dimension is the
batch, a tuple/list/dict of such tensors (the LSTM's ``(h, C)``), or ``None``; the
decoders reorder it along the batch with ``index_select`` when hypotheses are kept,
copied or dropped. The decoders check what ``step`` returns: finite log-probabilities
(``logsumexp`` over the ``V`` ids equal to 0), not raw logits or NaN.

A decoder is given a prompt ``start (P,)`` of token ids, the model reads it, and the
decoder chooses the continuation one symbol at a time until ``eos_id`` or ``maxlen``
symbols. It returns :class:`Hypothesis` objects: the generated ids (prompt excluded,
``eos_id`` included when it was generated) and their log-probability under the *model*,
whatever distribution the decoder drew them from.

* ``greedy``: the most probable symbol at each step, an approximation of the most
  probable sequence (the course's TP4 calls it "a greedy approximation of the maximum
  likelihood").
* ``sample``: ancestral sampling, optionally with a temperature, top-k truncation
  (Fan et al. 2018) or nucleus/top-p truncation (Holtzman et al. 2020).
* ``beam_search``: the ``width`` best partial sequences by total log-probability, all
  advanced as one batch (TP4, question 6); optional length normalisation
  ``log p / length^alpha`` (a simplified form of Wu et al.'s).
* ``nucleus_beam_search``: the same beam, whose candidates are *sampled* from each
  hypothesis' nucleus distribution instead of taken from its top symbols (TP4, question
  7).
* ``beam_search_reference``: the same search written the slow, direct way, one ``step``
  call per hypothesis; the tests and ``bench/bench_beam.py`` compare the two.
* ``p_nucleus(p)``: the TP's factory turning a distribution into its nucleus
  distribution.
* ``distinct_n`` (Li et al. 2016) and ``repetition_rate`` measure diversity and loops.

Text in, text out: ``generate`` and ``generate_many`` (chapter 4, TP4 question 3) write
sentences until ``EOS`` with a model's ``step``, as thin wrappers over ``greedy`` and
``sample``; ``generate_fixed_length`` (chapter 2, TP3) writes a number of characters
fixed in advance with the one-hot RNN of TP3, which has no ``EOS`` yet.

``PAD`` is not a symbol of text: by default no decoder ever produces ``PAD_ID`` (the
``forbid`` argument names the ids never produced; see ``forbidden_ids``), and a decoder
raises when a distribution puts all its mass on forbidden ids.

References: Holtzman, Buys, Du, Forbes, Choi, "The curious case of neural text
degeneration" (ICLR 2020); Fan, Lewis, Dauphin, "Hierarchical neural story generation"
(ACL 2018); Wu et al., "Google's neural machine translation system" (2016), whose length
penalty ``((5 + |y|) / 6)^alpha`` is simplified here to ``|y|^alpha``; Kool, van Hoof,
Welling, "Stochastic beams and where to find them" (ICML 2019) for sampling without
replacement with Gumbel keys; Li et al., "A diversity-promoting objective function for
neural conversation models" (NAACL 2016) for distinct-n; Karpathy, "The unreasonable
effectiveness of recurrent neural networks" (2015); the course handouts TP3 and TP4
(AMAL)."""

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn

from companion.checks import (
    check_floating,
    check_integer,
    check_positive_int,
    check_real,
    check_tensor,
)
from companion.data.text import (
    EOS_ID,
    PAD_ID,
    VOCAB_SIZE,
    code2string,
    normalize,
    string2code,
)

StepFn = Callable[[object, torch.Tensor], tuple[torch.Tensor, object]]
Transform = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Hypothesis:
    """A generated continuation.

    ``tokens``: the generated ids, prompt excluded, ending with ``eos_id`` when
    ``finished``. ``log_prob``: the sum of the model's log-probabilities of these ids
    (natural log).
    """

    tokens: tuple[int, ...]
    log_prob: float
    finished: bool

    def score(self, alpha: float = 0.0) -> float:
        """Length-normalised score ``log_prob / len(tokens) ** alpha``.

        ``alpha = 0`` is the plain log-probability, ``alpha = 1`` the mean
        log-probability per symbol; values in between (0.6 to 0.8 is common) trade the
        two off.
        """
        return self.log_prob / len(self.tokens) ** alpha


# --- distributions: log-probabilities (..., V) -> log-probabilities (..., V)
# ---------------- Their argument checks cost O(1) (types and ranges, no pass over the
# data).


def _check_distribution(log_probs) -> None:
    check_tensor("log_probs", log_probs)
    check_floating("log_probs", log_probs)


def _check_p(p) -> float:
    return check_real("p", p, 0, 1, low_open=True)


def _check_temperature(temperature) -> float:
    return check_real("temperature", temperature, 0, None, low_open=True)


def temperature_log_probs(log_probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """Sharpen (``temperature < 1``) or flatten (``> 1``) a distribution:
    ``softmax(l / T)``.

    ``log_probs (..., V)`` → renormalised log-probabilities ``(..., V)``.
    """
    _check_distribution(log_probs)
    return torch.log_softmax(log_probs / _check_temperature(temperature), dim=-1)


def _keep(log_probs: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(log_probs.masked_fill(~keep, -math.inf), dim=-1)


def top_k_mask(log_probs: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask ``(..., V)`` of the ``k`` most probable symbols of each
    distribution.

    Ties are broken towards the smaller id (a stable sort), so the result is
    deterministic."""
    _check_distribution(log_probs)
    check_positive_int("k", k)
    order = torch.sort(log_probs, dim=-1, descending=True, stable=True).indices
    return torch.zeros_like(log_probs, dtype=torch.bool).scatter_(
        -1, order[..., :k], True
    )


def top_k_log_probs(log_probs: torch.Tensor, k: int) -> torch.Tensor:
    """The distribution restricted to its ``k`` most probable symbols, renormalised."""
    return _keep(log_probs, top_k_mask(log_probs, k))


def nucleus_mask(log_probs: torch.Tensor, p: float) -> torch.Tensor:
    """Boolean mask ``(..., V)`` of the nucleus ``I_p``, the smallest set of mass >= p.

    Symbols are taken by decreasing probability (ties: smaller id first, a stable sort)
    until their mass reaches ``p``; a symbol is in the set exactly when the mass of the
    symbols before it is still below ``p``. So the most probable symbol is always in,
    and the set is minimal. The cumulative sums are taken in float64. ``p = 1`` keeps
    every symbol of non-zero probability, decided directly rather than through a
    cumulative sum that rounding could bring to 1 a few symbols early.
    """
    _check_distribution(log_probs)
    if _check_p(p) == 1:
        return log_probs > -math.inf
    sorted_lp, order = torch.sort(log_probs, dim=-1, descending=True, stable=True)
    probs = torch.softmax(sorted_lp.double(), dim=-1)
    mass_before = probs.cumsum(-1) - probs
    keep = torch.zeros_like(log_probs, dtype=torch.bool)
    return keep.scatter_(-1, order, mass_before < p)


def nucleus_log_probs(log_probs: torch.Tensor, p: float) -> torch.Tensor:
    """The nucleus distribution: ``1[y in I_p] p(y) / sum_{y' in I_p} p(y')``, as
    logs."""
    return _keep(log_probs, nucleus_mask(log_probs, p))


def p_nucleus(p: float) -> Transform:
    """The TP's ``p_nucleus``: a function turning log-probabilities into nucleus ones.

    ``p_nucleus(0.9)(log_probs (..., V))`` equals ``nucleus_log_probs(log_probs, 0.9)``;
    the factory checks ``p`` when the decoder is configured, before any model runs.
    """
    p = _check_p(p)
    return lambda log_probs: nucleus_log_probs(log_probs, p)


# --- running a prompt, checking the model, reordering states
# ---------------------------------


def select_state(state, index: torch.Tensor):
    """Rows ``index (N,)`` of every tensor of a state (batch first); other leaves
    unchanged."""
    if isinstance(state, torch.Tensor):
        return state.index_select(0, index)
    if isinstance(state, (tuple, list)):
        return type(state)(select_state(s, index) for s in state)
    if isinstance(state, dict):
        return {key: select_state(value, index) for key, value in state.items()}
    return state


def check_log_probs(log_probs, n: int | str = "B", vocab: int | str = "V") -> None:
    """Check what a ``step`` function returned: log-probabilities ``(n, vocab)``.

    Each row must be a distribution: finite or ``-inf`` entries whose ``logsumexp`` is 0
    (up to rounding), as ``log_softmax`` gives. Raw logits (``logsumexp`` far from 0),
    NaN or ``+inf`` raise ``ValueError`` naming the row and its ``logsumexp``."""
    name = "log_probs (returned by step)"
    check_tensor(name, log_probs, (n, vocab))
    check_floating(name, log_probs)
    total = torch.logsumexp(log_probs.double(), dim=-1)
    tolerance = max(1e-3, 8 * torch.finfo(log_probs.dtype).eps)
    bad = ~(total.abs() <= tolerance)  # NaN compares false: it is bad too
    if bool(bad.any()):
        row = int(bad.nonzero()[0, 0])
        raise ValueError(
            f"expected {name} to be log-probabilities: every row's logsumexp "
            f"over the {log_probs.shape[-1]} ids equal to 0 (apply log_softmax "
            f"to the scores), got {float(total[row]):.4g} in row {row}"
        )


def _prime(step: StepFn, start, bos_id: int | None):
    """Feed ``[bos_id] + start`` to the model; return ``log_probs (1, V)`` and the
    state."""
    check_tensor("start", start, ("P",))
    check_integer("start", start)
    start = start.long()
    if bos_id is not None:
        check_positive_int("bos_id", bos_id, minimum=0)
        start = torch.cat([start.new_tensor([bos_id]), start])
    if len(start) == 0:
        raise ValueError(
            "expected a non-empty start, or a bos_id to feed first: the model "
            "needs a token to predict the next one from"
        )
    state = None
    for token in start.view(-1, 1):
        log_probs, state = step(state, token)
    check_log_probs(log_probs, 1)
    return log_probs, state


def _check_decoder_args(eos_id, maxlen) -> None:
    check_positive_int("eos_id", eos_id, minimum=0)
    check_positive_int("maxlen", maxlen, minimum=1)


def forbidden_ids(
    forbid: Iterable[int] | None, eos_id: int, vocab: int
) -> torch.Tensor:
    """The ids a decoder never produces, as a LongTensor ``(F,)``.

    ``forbid=None`` (every decoder's default) means ``PAD_ID``: padding is not text. The
    one exception is a model whose end symbol *is* id 0 (``eos_id == PAD_ID``, as in the
    small toy models of the tests and of chapter 6), where nothing is forbidden. An
    explicit ``forbid`` is an iterable of ids in ``[0, vocab)`` that does not contain
    ``eos_id`` (``()`` forbids nothing). Raises ``ValueError`` if ``eos_id`` is not in
    ``[0, vocab)``."""
    if not 0 <= eos_id < vocab:
        raise ValueError(
            f"expected eos_id in [0, {vocab}) (V = log_probs.shape[1]), got {eos_id}"
        )
    if forbid is None:
        forbid = () if eos_id == PAD_ID else (PAD_ID,)
    if isinstance(forbid, (str, torch.Tensor)) or not isinstance(forbid, Iterable):
        raise TypeError(
            f"expected forbid to be an iterable of ids or None, got "
            f"{type(forbid).__name__}"
        )
    ids = sorted(set(forbid))
    for i in ids:
        check_positive_int("forbidden id", i, minimum=0)
        if i >= vocab or i == eos_id:
            raise ValueError(
                f"expected forbidden ids in [0, {vocab}) other than eos_id = "
                f"{eos_id}, got {i}"
            )
    return torch.tensor(ids, dtype=torch.long)


def _allowed(log_probs: torch.Tensor, forbidden: torch.Tensor) -> torch.Tensor:
    """``log_probs (n, V)`` with the ``forbidden`` columns set to ``-inf``.

    Raises ``ValueError`` when a row gives probability 0 to every allowed id (all its
    mass on forbidden ids): no symbol could be chosen."""
    if len(forbidden):
        log_probs = log_probs.index_fill(1, forbidden, -math.inf)
    empty = log_probs.amax(dim=1) == -math.inf
    if bool(empty.any()):
        raise ValueError(
            f"expected step to give some probability to an allowed id, got a "
            f"distribution (row {int(empty.nonzero()[0, 0])}) with all its mass "
            f"on the forbidden ids {forbidden.tolist()}"
        )
    return log_probs


# --- greedy decoding and sampling
# ------------------------------------------------------------


def _decode(
    step: StepFn,
    start,
    eos_id: int,
    maxlen: int,
    choose: Callable,
    num: int,
    bos_id: int | None,
    forbid,
) -> list[Hypothesis]:
    """Extend ``num`` copies of the prompt, each with
    ``choose(log_probs (n, V)) -> (n,)``.

    ``choose`` sees the distribution with the forbidden ids at ``-inf``; the scores
    summed are the model's log-probabilities of the chosen ids."""
    _check_decoder_args(eos_id, maxlen)
    log_probs, state = _prime(step, start, bos_id)
    vocab = log_probs.shape[1]
    forbidden = forbidden_ids(forbid, eos_id, vocab)
    copies = torch.zeros(num, dtype=torch.long)
    state, log_probs = select_state(state, copies), log_probs.index_select(0, copies)
    tokens: list[list[int]] = [[] for _ in range(num)]
    totals = [0.0] * num
    alive = list(range(num))
    for t in range(maxlen):
        chosen = choose(_allowed(log_probs, forbidden))
        picked = log_probs.gather(1, chosen[:, None]).squeeze(1)
        for seq, token, lp in zip(alive, chosen.tolist(), picked.tolist(), strict=True):
            tokens[seq].append(token)
            totals[seq] += lp
        going = (chosen != eos_id).nonzero().squeeze(1)
        if t == maxlen - 1 or len(going) == 0:
            break
        alive = [alive[i] for i in going.tolist()]
        log_probs, state = step(select_state(state, going), chosen[going])
        check_log_probs(log_probs, len(alive), vocab)
    return [
        Hypothesis(tuple(seq), total, seq[-1] == eos_id)
        for seq, total in zip(tokens, totals, strict=True)
    ]


def greedy(
    step: StepFn,
    start: torch.Tensor,
    eos_id: int,
    maxlen: int,
    *,
    bos_id: int | None = None,
    forbid: Iterable[int] | None = None,
) -> Hypothesis:
    """The most probable symbol at each step, from the prompt ``start (P,)``.

    Stops after ``eos_id`` or ``maxlen`` symbols. Ties go to the smaller id. The ids of
    ``forbidden_ids(forbid, ...)`` (``PAD_ID`` by default) are never chosen.
    """

    def choose(log_probs):
        return torch.sort(log_probs, dim=1, descending=True, stable=True).indices[:, 0]

    return _decode(step, start, eos_id, maxlen, choose, 1, bos_id, forbid)[0]


def sample(
    step: StepFn,
    start: torch.Tensor,
    eos_id: int,
    maxlen: int,
    *,
    num_samples: int = 1,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
    bos_id: int | None = None,
    forbid: Iterable[int] | None = None,
) -> list[Hypothesis]:
    """``num_samples`` continuations of ``start (P,)`` drawn at once (a batch).

    At each step the model's distribution, with the ids of
    ``forbidden_ids(forbid, ...)`` (``PAD_ID`` by default) removed, is transformed, in
    this order, by the ``temperature``, a ``top_k`` truncation and a ``top_p`` (nucleus)
    truncation, then one symbol is drawn from it with ``torch.multinomial`` (seeded by
    ``generator``, else by the global generator). The reported ``log_prob`` is the
    untransformed model's."""
    check_positive_int("num_samples", num_samples)
    temperature = _check_temperature(temperature)
    if top_k is not None:
        check_positive_int("top_k", top_k)
    if top_p is not None:
        top_p = check_real("top_p", top_p, 0, 1, low_open=True)

    def choose(log_probs):
        log_probs = temperature_log_probs(log_probs, temperature)
        if top_k is not None:
            log_probs = top_k_log_probs(log_probs, top_k)
        if top_p is not None:
            log_probs = nucleus_log_probs(log_probs, top_p)
        return torch.multinomial(log_probs.exp(), 1, generator=generator).squeeze(1)

    return _decode(step, start, eos_id, maxlen, choose, num_samples, bos_id, forbid)


# --- beam search
# -----------------------------------------------------------------------------


def beam_search(
    step: StepFn,
    start: torch.Tensor,
    eos_id: int,
    maxlen: int,
    width: int,
    *,
    length_penalty: float = 0.0,
    bos_id: int | None = None,
    forbid: Iterable[int] | None = None,
    propose: Transform | None = None,
) -> list[Hypothesis]:
    """Beam search of width ``K = width`` from the prompt ``start (P,)``.

    At each step every live hypothesis is extended by every symbol, and the ``K``
    extensions of highest total log-probability are kept (one ``topk`` over the
    ``(n, V)`` scores; exact ties at the K-th place are broken as ``torch.topk`` breaks
    them). Those ending in ``eos_id`` leave the beam for the pool of finished
    hypotheses; the others are advanced together, as one batch of at most ``K``, by a
    single ``step`` call. At ``maxlen`` symbols the live hypotheses join the pool
    unfinished. Returns the ``K`` best of the pool, best first, by
    ``Hypothesis.score(length_penalty)``. With ``length_penalty = 0`` the search stops
    as soon as ``K`` pooled hypotheses beat every live one. ``width = 1`` is greedy
    decoding (up to exact ties between top symbols). The ids of
    ``forbidden_ids(forbid, ...)`` (``PAD_ID`` by default) are never candidates;
    ``propose(log_probs (n, V)) -> bool (n, V)``, when given, limits the candidates
    further (``nucleus_beam_search`` samples them).

    In the loop, ``n <= K`` hypotheses are live (``n = 1`` at ``t = 0``):
    ``scores (n,)`` float64 holds their total log-probabilities, ``history (n, t)``
    their symbols, ``log_probs (n, V)`` and ``state`` (batch ``n``) their next step.
    """
    _check_decoder_args(eos_id, maxlen)
    check_positive_int("width", width)
    length_penalty = check_real("length_penalty", length_penalty, 0, None)
    log_probs, state = _prime(step, start, bos_id)
    vocab = log_probs.shape[1]
    forbidden = forbidden_ids(forbid, eos_id, vocab)
    scores = torch.zeros(1, dtype=torch.float64)  # (n,): total log-probability
    history = torch.zeros(1, 0, dtype=torch.long)  # (n, t): the symbols so far
    pool: list[Hypothesis] = []
    kth = -math.inf  # the width-th best pooled log-probability, once there are width
    for t in range(maxlen):
        allowed = _allowed(log_probs, forbidden)
        total = scores.unsqueeze(1) + allowed  # (n, V), float64
        if propose is not None:
            total = total.masked_fill(~propose(allowed), -math.inf)
        scores, best = total.view(-1).topk(min(width, total.numel()))  # best first
        parent, token = best // vocab, best % vocab
        history = torch.cat([history[parent], token.unsqueeze(1)], dim=1)
        ended = token == eos_id
        if t == maxlen - 1 or bool(ended.any()) or float(scores[-1]) == -math.inf:
            # The rare path: hypotheses leave the beam (EOS, maxlen, no candidate).
            if t == maxlen - 1:
                ended = torch.ones_like(ended)
            for i in (ended & (scores > -math.inf)).nonzero().squeeze(1).tolist():
                seq = tuple(history[i].tolist())
                pool.append(Hypothesis(seq, float(scores[i]), seq[-1] == eos_id))
            going = (~ended & (scores > -math.inf)).nonzero().squeeze(1)
            if len(going) == 0:
                break
            scores, history, parent, token = (
                scores[going],
                history[going],
                parent[going],
                token[going],
            )
            if len(pool) >= width:
                kth = sorted((h.log_prob for h in pool), reverse=True)[width - 1]
        # Extending a hypothesis never raises its log-probability: once `width` pooled
        # ones beat every live one, nothing left can enter the result (without length
        # penalty).
        if length_penalty == 0 and kth > -math.inf and kth > float(scores[0]):
            break
        log_probs, state = step(select_state(state, parent), token)
        check_log_probs(log_probs, len(token), vocab)
    pool.sort(key=lambda h: h.score(length_penalty), reverse=True)
    return pool[:width]


def nucleus_beam_search(
    step: StepFn,
    start: torch.Tensor,
    eos_id: int,
    maxlen: int,
    width: int,
    p: float,
    *,
    length_penalty: float = 0.0,
    generator: torch.Generator | None = None,
    bos_id: int | None = None,
    forbid: Iterable[int] | None = None,
) -> list[Hypothesis]:
    """Beam search whose candidates are sampled from the nucleus (TP4, question 7).

    Exactly ``beam_search``, except for the candidates each live hypothesis ``s``
    proposes: instead of its ``K`` most probable symbols, it proposes ``K`` symbols
    drawn *without replacement* from its nucleus distribution ``p_nucleus(y | s)`` (all
    of the nucleus when it has fewer than ``K`` symbols). The draw uses Gumbel keys:
    ``log p_nucleus(y|s) + G_y`` with ``G_y`` i.i.d. standard Gumbel, the ``K`` largest
    keys win (Kool et al. 2019). The ``K`` candidates of highest total log-probability
    under the *model* are then kept, as in ``beam_search``, and the scores stay the
    model's. So the nucleus decides what may be tried, and the model's likelihood
    decides what is kept. With ``p`` so small that every nucleus is one symbol this is
    greedy decoding; with ``p = 1`` and ``K >= V`` every symbol is proposed and it is
    ``beam_search``.
    """
    p = _check_p(p)
    check_positive_int("width", width)

    def propose(log_probs):
        keys = nucleus_log_probs(log_probs.double(), p)
        uniform = torch.rand(keys.shape, dtype=torch.float64, generator=generator)
        tiny = torch.finfo(torch.float64).tiny
        keys = keys - torch.log(-torch.log(uniform.clamp_(min=tiny)))  # + Gumbel noise
        chosen = torch.zeros_like(keys, dtype=torch.bool).scatter_(
            1, keys.topk(min(width, keys.shape[1]), dim=1).indices, True
        )
        return chosen & (keys > -math.inf)

    return beam_search(
        step,
        start,
        eos_id,
        maxlen,
        width,
        bos_id=bos_id,
        forbid=forbid,
        length_penalty=length_penalty,
        propose=propose,
    )


def beam_search_reference(
    step: StepFn,
    start: torch.Tensor,
    eos_id: int,
    maxlen: int,
    width: int,
    *,
    bos_id: int | None = None,
    forbid: Iterable[int] | None = None,
) -> list[Hypothesis]:
    """The slow reference for ``beam_search`` (``length_penalty = 0``): one call per
    hypothesis.

    The direct transcription of the algorithm: every hypothesis keeps its own state and
    is advanced by its own ``step`` call on a batch of one, and the candidates are
    listed by a Python loop over hypotheses. No early stop: it runs until the beam is
    empty or ``maxlen``. It returns the same hypotheses as ``beam_search`` (up to exact
    ties), with about ``width`` times as many model calls; it exists to be compared with
    it, never to be used."""
    _check_decoder_args(eos_id, maxlen)
    check_positive_int("width", width)
    log_probs, state = _prime(step, start, bos_id)
    vocab = log_probs.shape[1]
    forbidden = forbidden_ids(forbid, eos_id, vocab)
    # each hypothesis: (tokens, score, next log-probabilities (V,) float64, its own
    # state)
    beam = [((), 0.0, _allowed(log_probs, forbidden)[0].double(), state)]
    pool: list[Hypothesis] = []
    for t in range(maxlen):
        total = torch.cat([score + lp for _, score, lp, _ in beam])  # (n * V,)
        new_beam = []
        for index in total.topk(min(width, len(total))).indices.tolist():
            parent, token = divmod(index, vocab)
            tokens, score = beam[parent][0] + (token,), float(total[index])
            if score == -math.inf:
                continue
            if token == eos_id or t == maxlen - 1:
                pool.append(Hypothesis(tokens, score, token == eos_id))
            else:
                lp, st = step(beam[parent][3], torch.tensor([token]))
                check_log_probs(lp, 1, vocab)
                new_beam.append(
                    (tokens, score, _allowed(lp, forbidden)[0].double(), st)
                )
        beam = new_beam
        if not beam:
            break
    pool.sort(key=lambda h: h.log_prob, reverse=True)
    return pool[:width]


# --- text in, text out
# -------------------------------------------------------------------------


def generate_many(
    model: nn.Module,
    n: int,
    eos_id: int = EOS_ID,
    start: str = "",
    maxlen: int = 200,
    *,
    greedy: bool = False,
    temperature: float = 1.0,
    pad_id: int = PAD_ID,
    generator: torch.Generator | None = None,
) -> list[str]:
    """Generate ``n`` sentences in one batch and return their texts (chapter 4).

    The model (``CharLM``, chapter 8's Transformer) reads ``EOS`` (the book's start of a
    sentence: the course has no BOS symbol), then ``start``, then each character it
    produces, until it produces ``eos_id`` or ``maxlen`` characters. Each character is
    the most probable one (``greedy``) or drawn from
    ``softmax(log_probs / temperature)``, with ``generator`` if given. Each text is the
    normalised ``start`` followed by the generated characters, the final ``EOS`` left
    out; one of exactly ``maxlen`` characters was cut off before ``EOS`` came.
    ``pad_id`` is never produced. The model runs in ``eval`` mode without gradients,
    then gets its previous mode back.
    """
    if not callable(getattr(model, "step", None)):
        raise TypeError(
            f"expected a model with a step(state, tokens) method, got "
            f"{type(model).__name__}"
        )
    check_positive_int("n", n)
    check_positive_int("maxlen", maxlen, minimum=0)
    prompt = normalize(start)
    if maxlen == 0:
        return [prompt] * n
    ids, forbid = string2code(prompt), (pad_id,)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            if greedy:  # top-1 sampling is greedy decoding (ties: the smaller id)
                hyps = (
                    sample(
                        model.step,
                        ids,
                        eos_id,
                        maxlen,
                        top_k=1,
                        bos_id=eos_id,
                        forbid=forbid,
                    )
                    * n
                )
            else:
                hyps = sample(
                    model.step,
                    ids,
                    eos_id,
                    maxlen,
                    num_samples=n,
                    temperature=temperature,
                    generator=generator,
                    bos_id=eos_id,
                    forbid=forbid,
                )
    finally:
        model.train(was_training)
    return [prompt + code2string([t for t in h.tokens if t != eos_id]) for h in hyps]


def generate(
    model: nn.Module,
    eos_id: int = EOS_ID,
    start: str = "",
    maxlen: int = 200,
    *,
    greedy: bool = False,
    temperature: float = 1.0,
    pad_id: int = PAD_ID,
    generator: torch.Generator | None = None,
) -> str:
    """One sentence: ``start`` continued until ``EOS`` or ``maxlen`` characters (see
    above)."""
    return generate_many(
        model,
        1,
        eos_id,
        start,
        maxlen,
        greedy=greedy,
        temperature=temperature,
        pad_id=pad_id,
        generator=generator,
    )[0]


FIRST_CHARACTER_ID = 2  # ids 0 (PAD) and 1 (EOS) are not characters


@torch.no_grad()
def generate_fixed_length(
    model: nn.Sequential,
    start: str,
    length: int,
    greedy: bool = False,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> str:
    """TP3's generation: read ``start``, add ``length`` characters, return the text.

    ``model`` is ``nn.Sequential(embed, rnn)`` (chapter 2): ``embed``, an
    ``nn.Linear(VOCAB_SIZE, E, bias=False)`` applied to one-hot vectors, and a recurrent
    layer with ``initial_state``, ``one_step``, ``hidden`` and ``decode`` scoring the
    ``VOCAB_SIZE`` ids. Each character is the most probable one (``greedy``) or is drawn
    from ``softmax(scores / temperature)`` with ``generator``; ``PAD`` and ``EOS`` are
    never produced (TP3 has no end symbol yet). ``start`` is normalised like any text;
    the returned string begins with it.
    """
    embed, rnn = _one_hot_model(model)
    if not isinstance(start, str):
        raise TypeError(f"expected start to be a str, got {type(start).__name__}")
    check_positive_int("length", length, minimum=0)
    temperature = _check_temperature(temperature)
    weight = embed.weight
    state = rnn.initial_state(1, weight)

    def feed(code: int, state):
        one_hot = nn.functional.one_hot(torch.tensor([code]), VOCAB_SIZE)
        return rnn.one_step(embed(one_hot.to(weight.dtype)), state)

    codes = string2code(start).tolist()
    for code in codes:
        state = feed(code, state)
    for _ in range(length):
        scores = rnn.decode(rnn.hidden(state))[0, FIRST_CHARACTER_ID:]
        if greedy:
            code = int(scores.argmax())
        else:
            probs = torch.softmax(scores / temperature, dim=0)
            code = int(torch.multinomial(probs, 1, generator=generator))
        codes.append(code + FIRST_CHARACTER_ID)
        state = feed(codes[-1], state)
    return code2string(codes)


def _one_hot_model(model) -> tuple[nn.Linear, nn.Module]:
    if not isinstance(model, nn.Sequential) or len(model) != 2:
        raise TypeError(
            f"expected model to be nn.Sequential(embed, rnn), got "
            f"{type(model).__name__}"
        )
    embed, rnn = model
    if not isinstance(embed, nn.Linear) or embed.in_features != VOCAB_SIZE:
        raise ValueError(
            f"expected model[0] to be an nn.Linear({VOCAB_SIZE}, E) embedding "
            f"of one-hot vectors, got {embed}"
        )
    for name in ("one_step", "hidden", "decode", "initial_state"):
        if not callable(getattr(rnn, name, None)):
            raise TypeError(
                f"expected model[1] to be a recurrent layer with one_step, "
                f"hidden, decode and initial_state, got {type(rnn).__name__}"
            )
    return embed, rnn


# --- measuring what was generated
# ------------------------------------------------------------


def _ngrams(seq, n: int) -> list:
    return [tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)]


def distinct_n(texts: list, n: int) -> float:
    """Distinct-n of a set of generations: distinct n-grams / all n-grams (Li et al.
    2016).

    ``texts`` is a list of sequences (strings or id tuples); the n-grams of all of them
    are pooled. 1 means no n-gram is ever repeated; 0 is returned when no text has ``n``
    symbols."""
    check_positive_int("n", n)
    if not isinstance(texts, (list, tuple)):
        raise TypeError(
            f"expected texts to be a list of sequences, got {type(texts).__name__}"
        )
    grams = [g for text in texts for g in _ngrams(text, n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def repetition_rate(text, n: int) -> float:
    """Fraction of the n-grams of ``text`` that already occurred earlier in ``text``.

    A decoder stuck in a loop ("the the the ...") scores close to 1; 0 when ``text`` has
    fewer than ``n`` symbols (or ``n + 1``, since the first n-gram cannot be a repeat).
    """
    check_positive_int("n", n)
    if not isinstance(text, (str, list, tuple)):
        raise TypeError(
            f"expected text to be a str, list or tuple, got {type(text).__name__}"
        )
    seen, repeats, grams = set(), 0, _ngrams(text, n)
    for gram in grams:
        repeats += gram in seen
        seen.add(gram)
    return repeats / len(grams) if grams else 0.0
