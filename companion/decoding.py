"""Decoding a language model: greedy, sampling (temperature, top-k, nucleus), beam
search.

Every decoder here is model-agnostic. It only calls a *step function*

``step(state, tokens) -> (log_probs, new_state)``, ``tokens (B,)`` long,
``log_probs (B, V)``,

with ``state=None`` before the first token (``CharLM.step`` of chapter 4 and the
Transformer of chapter 8 both are one). A state is a tensor whose first dimension is the
batch, a tuple/list/dict of such tensors (the LSTM's ``(h, C)``), or ``None``; the
decoders reorder it along the batch with ``index_select`` when hypotheses are kept,
copied or dropped.

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

Text in and text out (``generate``, ``generate_fixed_length``) and the diversity of what
was written (``distinct_n``, ``repetition_rate``) live in ``companion.generation``,
which calls these decoders: the decoders know ids, not characters.

What ``step`` returns is checked once in full, at the door (the distribution after the
prompt: a floating tensor ``(1, V)`` whose ``logsumexp`` is 0, not raw scores or NaN;
and a state whose tensors have the batch first), then in O(1) per step: the shape and
dtype, and each row's largest allowed log-probability, which the decoder computes anyway
(it must be finite and at most 0). ``bench/bench_step_checks.py`` times the checks.

``PAD`` is not a symbol of text: by default no decoder ever produces ``PAD_ID`` (the
``forbid`` argument names the ids never produced; see ``forbidden_ids``), and a decoder
raises when a distribution puts all its mass on forbidden ids.

References: Holtzman, Buys, Du, Forbes, Choi, "The curious case of neural text
degeneration" (ICLR 2020); Fan, Lewis, Dauphin, "Hierarchical neural story generation"
(ACL 2018); Wu et al., "Google's neural machine translation system" (2016), whose length
penalty ``((5 + |y|) / 6)^alpha`` is simplified here to ``|y|^alpha``; Kool, van Hoof,
Welling, "Stochastic beams and where to find them" (ICML 2019) for sampling without
replacement with Gumbel keys; the course handout TP4 (AMAL)."""

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from companion.checks import Call, Door, Float, Ids, Int, Real, checked

PAD_ID = 0  # the course's padding id (companion.data.text.PAD_ID), never text

StepFn = Callable[[object, torch.Tensor], tuple[torch.Tensor, object]]
Transform = Callable[[torch.Tensor], torch.Tensor]


P = Real(0, 1, low_open=True)  # a nucleus mass, in (0, 1]
TEMPERATURE = Real(0, low_open=True)


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

    @checked(alpha=Real(0))
    def score(self, alpha: float = 0.0) -> float:
        """Length-normalised score ``log_prob / len(tokens) ** alpha``.

        ``alpha = 0`` is the plain log-probability, ``alpha = 1`` the mean
        log-probability per symbol; values in between (0.6 to 0.8 is common) trade the
        two off.
        """
        return self.log_prob / len(self.tokens) ** alpha


# Distributions: log-probabilities (..., V) -> log-probabilities (..., V). The door
# rejects a row with no probability at all (every entry -inf or NaN).


def _check_mass(door) -> None:
    if not bool((door.args["log_probs"] > -math.inf).any(-1).all()):
        raise ValueError(
            "expected log_probs with some probability in every row, got a -inf/NaN row"
        )


@checked(_check_mass, log_probs=Float(), temperature=TEMPERATURE)
def temperature_log_probs(log_probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """Sharpen (``temperature < 1``) or flatten (``> 1``) a distribution:
    ``softmax((l - max l) / T)``.

    ``log_probs (..., V)`` → renormalised log-probabilities ``(..., V)``. Shifting by
    the row's maximum changes nothing mathematically and keeps any ``T > 0`` finite: a
    temperature so small that every other symbol underflows (``1e-40``, say) leaves all
    the mass on the most probable symbols, shared equally among exact ties, which is
    the limit ``T -> 0``: greedy decoding.
    """
    shifted = log_probs - log_probs.amax(-1, keepdim=True)
    return torch.log_softmax(shifted / temperature, dim=-1)


def _keep(log_probs: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(log_probs.masked_fill(~keep, -math.inf), dim=-1)


@checked(_check_mass, log_probs=Float(), k=Int())
def top_k_mask(log_probs: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask ``(..., V)`` of the ``k`` most probable symbols of each
    distribution.

    Ties are broken towards the smaller id (a stable sort), so the result is
    deterministic."""
    order = torch.sort(log_probs, dim=-1, descending=True, stable=True).indices
    return torch.zeros_like(log_probs, dtype=torch.bool).scatter_(
        -1, order[..., :k], True
    )


@checked(_check_mass, log_probs=Float(), k=Int())
def top_k_log_probs(log_probs: torch.Tensor, k: int) -> torch.Tensor:
    """The distribution restricted to its ``k`` most probable symbols, renormalised."""
    return _keep(log_probs, top_k_mask.bare(log_probs, k))


@checked(_check_mass, log_probs=Float(), p=P)
def nucleus_mask(log_probs: torch.Tensor, p: float) -> torch.Tensor:
    """Boolean mask ``(..., V)`` of the nucleus ``I_p``, the smallest set of mass >= p.

    Symbols are taken by decreasing probability (ties: smaller id first, a stable sort)
    until their mass reaches ``p``; a symbol is in the set exactly when the mass of the
    symbols before it is still below ``p``. So the most probable symbol is always in,
    and the set is minimal. The cumulative sums are taken in float64. ``p = 1`` keeps
    every symbol of non-zero probability, decided directly rather than through a
    cumulative sum that rounding could bring to 1 a few symbols early.
    """
    if p == 1:
        return log_probs > -math.inf
    sorted_lp, order = torch.sort(log_probs, dim=-1, descending=True, stable=True)
    probs = torch.softmax(sorted_lp.double(), dim=-1)
    mass_before = probs.cumsum(-1) - probs
    keep = torch.zeros_like(log_probs, dtype=torch.bool)
    return keep.scatter_(-1, order, mass_before < p)


@checked(_check_mass, log_probs=Float(), p=P)
def nucleus_log_probs(log_probs: torch.Tensor, p: float) -> torch.Tensor:
    """The nucleus distribution: ``1[y in I_p] p(y) / sum_{y' in I_p} p(y')``, as
    logs."""
    return _keep(log_probs, nucleus_mask.bare(log_probs, p))


@checked(p=P)
def p_nucleus(p: float) -> Transform:
    """The TP's ``p_nucleus``: a function turning log-probabilities into nucleus ones.

    ``p_nucleus(0.9)(log_probs (..., V))`` equals ``nucleus_log_probs(log_probs, 0.9)``;
    the factory checks ``p`` when the decoder is configured, before any model runs.
    """
    return lambda log_probs: nucleus_log_probs(log_probs, p)


# States, and what a step returns.


@checked(index=Ids("N"))
def select_state(state, index: torch.Tensor):
    """Rows ``index (N,)`` of every tensor of a state (batch first); other leaves
    unchanged."""

    def rows(s):
        if isinstance(s, torch.Tensor):
            return s.index_select(0, index)
        if isinstance(s, tuple | list):
            return type(s)(rows(part) for part in s)
        if isinstance(s, dict):
            return {key: rows(value) for key, value in s.items()}
        return s

    return rows(state)


def _tensors(state) -> list[torch.Tensor]:
    """The tensors of a state (nested tuples, lists and dicts)."""
    if isinstance(state, torch.Tensor):
        return [state]
    parts = state.values() if isinstance(state, dict) else state
    if isinstance(state, dict | tuple | list):
        return [t for part in parts for t in _tensors(part)]
    return []


def _tolerance(dtype: torch.dtype) -> float:
    """How far above 0 a log-probability (a row's ``logsumexp``) may round."""
    return max(1e-3, 8 * torch.finfo(dtype).eps)


STEP_OUTPUT = "log_probs (returned by step)"


def check_log_probs(log_probs, n: int | str = "B", vocab: int | str = "V") -> None:
    """Check what a ``step`` function returned: log-probabilities ``(n, vocab)``.

    Each row must be a distribution: finite or ``-inf`` entries whose ``logsumexp`` is 0
    (up to rounding), as ``log_softmax`` gives. Raw logits (``logsumexp`` far from 0),
    NaN or ``+inf`` raise ``ValueError`` naming the row and its ``logsumexp``."""
    Float(n, vocab).check(STEP_OUTPUT, log_probs, Door({}))
    total = torch.logsumexp(log_probs.double(), dim=-1)
    bad = (~(total.abs() <= _tolerance(log_probs.dtype))).nonzero()  # NaN: bad too
    if len(bad):
        raise ValueError(
            f"expected {STEP_OUTPUT} to be log-probabilities, each row's logsumexp 0 "
            f"(apply log_softmax to the scores), got {float(total[bad[0, 0]]):.4g} in "
            f"row {int(bad[0, 0])}"
        )


BATCH_FIRST = (
    "expected every tensor of the state to have the batch first, (B, ...): the "
    "decoders keep and copy hypotheses along dimension 0 (transpose, in step, a "
    "(num_layers, B, H) state such as nn.GRU's and nn.LSTM's)"
)


def _prime(step: StepFn, start: torch.Tensor, bos_id: int | None):
    """Feed ``[bos_id] + start`` to the model; return ``log_probs (1, V)`` and the
    state, both checked in full."""
    if bos_id is not None:
        start = torch.cat([start.new_tensor([bos_id]), start])
    state = None
    for token in start.long().view(-1, 1):
        log_probs, state = step(state, token)
    check_log_probs(log_probs, 1)
    shapes = [tuple(t.shape) for t in _tensors(state)]
    if any(s[:1] != (1,) for s in shapes):
        raise ValueError(f"{BATCH_FIRST}; got {shapes} for one sequence")
    return log_probs, state


def _advance(step: StepFn, state, rows: torch.Tensor, tokens: torch.Tensor, vocab):
    """Feed ``tokens (n,)`` to the hypotheses ``rows (n,)`` of ``state``: one ``step``
    call, its output checked in O(1) (its values are checked by ``_allowed``)."""
    state = select_state.bare(state, rows)
    try:
        log_probs, state = step(state, tokens)
    except RuntimeError as error:  # did a (1, B, H) state become (n, B, H)?
        shapes = [tuple(t.shape) for t in _tensors(state)]
        if len(tokens) > 1 and any(s[1:2] == (1,) for s in shapes):
            raise ValueError(f"{BATCH_FIRST}; step failed on {shapes}") from error
        raise
    _check_step(log_probs, len(tokens), vocab)
    return log_probs, state


def _check_step(log_probs, n: int, vocab: int) -> None:
    """A later output of ``step``, in O(1): a floating tensor ``(n, vocab)``."""
    ok = isinstance(log_probs, torch.Tensor) and log_probs.shape == (n, vocab)
    if not (ok and log_probs.is_floating_point()):
        check_log_probs(log_probs, n, vocab)


def _check_forbid(door) -> None:
    forbid, eos_id, V = (door.args[k] for k in ("forbid", "eos_id", "vocab"))
    if not isinstance(forbid, list | tuple | set | frozenset | range | None):
        raise TypeError(
            f"expected forbid to be None or an iterable of ids, got {forbid!r}"
        )
    for i in forbid or ():
        Int(0).check("forbidden id", i, door)
        if i >= V or i == eos_id:
            raise ValueError(f"expected forbidden ids in [0, {V}), not eos_id, got {i}")


@checked(_check_forbid, vocab=Int(size="V"), eos_id=Int(0, below="V"))
def forbidden_ids(
    forbid: Iterable[int] | None, eos_id: int, vocab: int
) -> torch.Tensor:
    """The ids a decoder never produces, as a LongTensor ``(F,)``.

    ``forbid=None`` (every decoder's default) means ``PAD_ID``: padding is not text. The
    one exception is a model whose end symbol *is* id 0 (``eos_id == PAD_ID``, as in the
    small toy models of the tests and of chapter 6), where nothing is forbidden. An
    explicit ``forbid`` is a list, tuple or set of ids in ``[0, vocab)`` that does not
    contain ``eos_id`` (``()`` forbids nothing). Raises ``ValueError`` if ``eos_id`` is
    not in ``[0, vocab)``."""
    if forbid is None:
        forbid = () if eos_id == PAD_ID else (PAD_ID,)
    return torch.tensor(sorted(set(forbid)), dtype=torch.long)


def _allowed(log_probs: torch.Tensor, forbidden: torch.Tensor) -> torch.Tensor:
    """``log_probs (n, V)`` with the ``forbidden`` columns set to ``-inf``.

    Each row's largest allowed log-probability, which the decoders need anyway, checks
    the step's output at every step in O(n): it must be finite (NaN or ``+inf`` is no
    distribution; ``-inf`` leaves nothing to choose) and at most 0 (raw scores are not
    log-probabilities)."""
    raw = log_probs
    if len(forbidden):
        log_probs = log_probs.index_fill(1, forbidden, -math.inf)
    tops, tolerance = log_probs.amax(1).tolist(), _tolerance(log_probs.dtype)
    if not all(-math.inf < top <= tolerance for top in tops):  # NaN compares false
        check_log_probs(raw)  # NaN, +inf, raw scores; else no allowed mass:
        raise ValueError(
            f"expected step to give some probability to an allowed id, got a row "
            f"with all its mass on the forbidden ids {forbidden.tolist()}"
        )
    return log_probs


# Greedy decoding and sampling.


def _check_prompt(door) -> None:
    if len(door.args["start"]) == 0 and door.args["bos_id"] is None:
        raise ValueError("expected a non-empty start, or a bos_id to feed first")


BOS = Int(0, optional=True)  # an id fed before the prompt, or None
DECODER = dict(step=Call(), start=Ids("P"), eos_id=Int(0), maxlen=Int(), bos_id=BOS)
SAMPLING = dict(num_samples=Int(), temperature=TEMPERATURE, top_k=Int(optional=True))
P_OR_NONE = Real(0, 1, low_open=True, optional=True)


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
    log_probs, state = _prime(step, start, bos_id)
    vocab = log_probs.shape[1]
    forbidden = forbidden_ids(forbid, eos_id, vocab)
    copies = torch.zeros(num, dtype=torch.long)
    state, log_probs = select_state.bare(state, copies), log_probs[copies]
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
        log_probs, state = _advance(step, state, going, chosen[going], vocab)
    return [
        Hypothesis(tuple(seq), total, seq[-1] == eos_id)
        for seq, total in zip(tokens, totals, strict=True)
    ]


@checked(_check_prompt, **DECODER)
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


@checked(_check_prompt, **DECODER, **SAMPLING, top_p=P_OR_NONE)
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
    untransformed model's. Any ``temperature > 0`` works: one so small that the other
    symbols underflow (``1e-40``) is greedy decoding, up to exact ties, which it
    shares out at random (see ``temperature_log_probs``)."""

    def choose(log_probs):
        log_probs = temperature_log_probs.bare(log_probs, temperature)
        if top_k is not None:
            log_probs = top_k_log_probs.bare(log_probs, top_k)
        if top_p is not None:
            log_probs = nucleus_log_probs.bare(log_probs, top_p)
        return torch.multinomial(log_probs.exp(), 1, generator=generator).squeeze(1)

    return _decode(step, start, eos_id, maxlen, choose, num_samples, bos_id, forbid)


# Beam search.


@checked(_check_prompt, **DECODER, width=Int(), length_penalty=Real(0))
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
        log_probs, state = _advance(step, state, parent, token, vocab)
    pool.sort(key=lambda h: h.score(length_penalty), reverse=True)
    return pool[:width]


@checked(_check_prompt, **DECODER, width=Int(), p=P, length_penalty=Real(0))
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

    def propose(log_probs):
        keys = nucleus_log_probs.bare(log_probs.double(), p)
        uniform = torch.rand(keys.shape, dtype=torch.float64, generator=generator)
        tiny = torch.finfo(torch.float64).tiny
        keys = keys - torch.log(-torch.log(uniform.clamp_(min=tiny)))  # + Gumbel noise
        chosen = torch.zeros_like(keys, dtype=torch.bool).scatter_(
            1, keys.topk(min(width, keys.shape[1]), dim=1).indices, True
        )
        return chosen & (keys > -math.inf)

    return beam_search.bare(
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


@checked(_check_prompt, **DECODER, width=Int())
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
                _check_step(lp, 1, vocab)
                new_beam.append(
                    (tokens, score, _allowed(lp, forbidden)[0].double(), st)
                )
        beam = new_beam
        if not beam:
            break
    pool.sort(key=lambda h: h.log_prob, reverse=True)
    return pool[:width]
