"""Decoding a language model: greedy, sampling (temperature, top-k, nucleus), beam search.

Every decoder here is model-agnostic. It only calls a *step function*

``step(state, tokens) -> (log_probs, new_state)``, ``tokens (B,)`` long, ``log_probs (B, V)``,

with ``state=None`` before the first token (``CharLM.step`` of chapter 4 and the Transformer
of chapter 8 both are one). A state is a tensor whose first dimension is the batch, a
tuple/list/dict of such tensors (the LSTM's ``(h, C)``), or ``None``; the decoders reorder it
along the batch with ``index_select`` when hypotheses are kept, copied or dropped.

A decoder is given a prompt ``start (P,)`` of token ids, the model reads it, and the decoder
chooses the continuation one symbol at a time until ``eos_id`` or ``maxlen`` symbols. It
returns :class:`Hypothesis` objects: the generated ids (prompt excluded, ``eos_id`` included
when it was generated) and their log-probability under the *model*, whatever distribution
the decoder drew them from.

* ``greedy``: the most probable symbol at each step, an approximation of the most probable
  sequence (the course's TP4 calls it "a greedy approximation of the maximum likelihood").
* ``sample``: ancestral sampling, optionally with a temperature, top-k truncation
  (Fan et al. 2018) or nucleus/top-p truncation (Holtzman et al. 2020).
* ``beam_search``: the ``width`` best partial sequences by total log-probability, all advanced
  as one batch (TP4, question 6); optional length normalisation ``log p / length^alpha``
  (a simplified form of Wu et al.'s).
* ``nucleus_beam_search``: the same beam, whose candidates are *sampled* from each
  hypothesis' nucleus distribution instead of taken from its top symbols (TP4, question 7).
* ``beam_search_reference``: the same search written the slow, direct way, one ``step`` call
  per hypothesis; the tests and ``bench/bench_beam.py`` compare the two.
* ``p_nucleus(p)``: the TP's factory turning a distribution into its nucleus distribution.
* ``distinct_n`` (Li et al. 2016) and ``repetition_rate`` measure diversity and loops.

``PAD`` is not a symbol of text: by default no decoder ever produces ``PAD_ID`` (the ``forbid``
argument names the ids never produced; see ``forbidden_ids``). Chapter 4's
``companion.generation`` is a thin wrapper over ``greedy`` and ``sample``.

References: Holtzman, Buys, Du, Forbes, Choi, "The curious case of neural text degeneration"
(ICLR 2020); Fan, Lewis, Dauphin, "Hierarchical neural story generation" (ACL 2018);
Wu et al., "Google's neural machine translation system" (2016), whose length penalty
``((5 + |y|) / 6)^alpha`` is simplified here to ``|y|^alpha``;
Kool, van Hoof, Welling, "Stochastic beams and where to find them" (ICML 2019) for sampling
without replacement with Gumbel keys; Li et al., "A diversity-promoting objective function
for neural conversation models" (NAACL 2016) for distinct-n; the course handout TP4 (AMAL).
"""

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from companion.checks import check_floating, check_integer, check_positive_int, check_shape
from companion.data.text import PAD_ID

StepFn = Callable[[object, torch.Tensor], tuple[torch.Tensor, object]]
Transform = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Hypothesis:
    """A generated continuation.

    ``tokens``: the generated ids, prompt excluded, ending with ``eos_id`` when ``finished``.
    ``log_prob``: the sum of the model's log-probabilities of these ids (natural log).
    """

    tokens: tuple[int, ...]
    log_prob: float
    finished: bool

    def score(self, alpha: float = 0.0) -> float:
        """Length-normalised score ``log_prob / len(tokens) ** alpha``.

        ``alpha = 0`` is the plain log-probability, ``alpha = 1`` the mean log-probability
        per symbol; values in between (0.6 to 0.8 is common) trade the two off.
        """
        return self.log_prob / len(self.tokens) ** alpha


# --- argument checks -------------------------------------------------------------------------

def _check_p(p) -> None:
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 < p <= 1:
        raise ValueError(f"expected p in (0, 1], got {p!r}")


def _check_temperature(temperature) -> None:
    if (not isinstance(temperature, (int, float)) or isinstance(temperature, bool)
            or not 0 < temperature < math.inf):
        raise ValueError(f"expected a finite temperature > 0, got {temperature!r}")


# --- distributions: log-probabilities (..., V) -> log-probabilities (..., V) ----------------

def temperature_log_probs(log_probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """Sharpen (``temperature < 1``) or flatten (``> 1``) a distribution: ``softmax(l / T)``.

    ``log_probs (..., V)`` → renormalised log-probabilities ``(..., V)``.
    """
    check_floating("log_probs", log_probs)
    _check_temperature(temperature)
    return torch.log_softmax(log_probs / temperature, dim=-1)


def _keep(log_probs: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(log_probs.masked_fill(~keep, -math.inf), dim=-1)


def top_k_mask(log_probs: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask ``(..., V)`` of the ``k`` most probable symbols of each distribution.

    Ties are broken towards the smaller id (a stable sort), so the result is deterministic.
    """
    check_floating("log_probs", log_probs)
    check_positive_int("k", k, minimum=1)
    order = torch.sort(log_probs, dim=-1, descending=True, stable=True).indices
    return torch.zeros_like(log_probs, dtype=torch.bool).scatter_(-1, order[..., :k], True)


def top_k_log_probs(log_probs: torch.Tensor, k: int) -> torch.Tensor:
    """The distribution restricted to its ``k`` most probable symbols, renormalised."""
    return _keep(log_probs, top_k_mask(log_probs, k))


def nucleus_mask(log_probs: torch.Tensor, p: float) -> torch.Tensor:
    """Boolean mask ``(..., V)`` of the nucleus ``I_p``: the smallest set of mass ``>= p``.

    Symbols are taken by decreasing probability (ties: smaller id first, a stable sort) until
    their mass reaches ``p``; a symbol is in the set exactly when the mass of the symbols
    before it is still below ``p``. So the most probable symbol is always in, and the set is
    minimal. The cumulative sums are taken in float64. ``p = 1`` keeps every symbol of
    non-zero probability, decided directly rather than through a cumulative sum that
    rounding could bring to 1 a few symbols early.
    """
    check_floating("log_probs", log_probs)
    _check_p(p)
    if p == 1:
        return log_probs > -math.inf
    sorted_lp, order = torch.sort(log_probs, dim=-1, descending=True, stable=True)
    probs = torch.softmax(sorted_lp.double(), dim=-1)
    mass_before = probs.cumsum(-1) - probs
    return torch.zeros_like(log_probs, dtype=torch.bool).scatter_(-1, order, mass_before < p)


def nucleus_log_probs(log_probs: torch.Tensor, p: float) -> torch.Tensor:
    """The nucleus distribution: ``1[y in I_p] p(y) / sum_{y' in I_p} p(y')``, as logs."""
    return _keep(log_probs, nucleus_mask(log_probs, p))


def p_nucleus(p: float) -> Transform:
    """The TP's ``p_nucleus``: a function turning log-probabilities into nucleus ones.

    ``p_nucleus(0.9)(log_probs (..., V))`` equals ``nucleus_log_probs(log_probs, 0.9)``; the
    factory checks ``p`` once, when the decoder is configured.
    """
    _check_p(p)
    return lambda log_probs: nucleus_log_probs(log_probs, p)


# --- running a prompt, reordering states -----------------------------------------------------

def select_state(state, index: torch.Tensor):
    """Rows ``index (N,)`` of every tensor of a state (batch first); other leaves unchanged."""
    if isinstance(state, torch.Tensor):
        return state.index_select(0, index)
    if isinstance(state, (tuple, list)):
        return type(state)(select_state(s, index) for s in state)
    if isinstance(state, dict):
        return {key: select_state(value, index) for key, value in state.items()}
    return state


def _prime(step: StepFn, start, bos_id: int | None):
    """Feed ``[bos_id] + start`` to the model; return ``log_probs (1, V)`` and the state."""
    if not isinstance(start, torch.Tensor):
        raise TypeError(f"expected start to be a 1-D LongTensor of ids, got {type(start).__name__}")
    check_integer("start", start)
    if start.dim() != 1:
        raise ValueError(f"expected start of shape (P,), got {tuple(start.shape)}")
    if bos_id is not None:
        check_positive_int("bos_id", bos_id, minimum=0)
        start = torch.cat([start.new_tensor([bos_id]), start])
    if len(start) == 0:
        raise ValueError("expected a non-empty start, or a bos_id to feed first: the model "
                         "needs a token to predict the next one from")
    state = None
    for token in start.view(-1, 1):
        log_probs, state = step(state, token)
    check_floating("log_probs", log_probs)
    check_shape("log_probs", log_probs, (1, "V"))
    return log_probs, state


def _check_step_output(log_probs, n: int, vocab: int) -> None:
    """``log_probs`` must be a floating ``(n, vocab)`` tensor (a fast test, then the message)."""
    if (not isinstance(log_probs, torch.Tensor) or not log_probs.is_floating_point()
            or log_probs.shape != (n, vocab)):
        check_floating("log_probs", log_probs)
        check_shape("log_probs", log_probs, (n, vocab))


def _check_decoder_args(eos_id, maxlen) -> None:
    check_positive_int("eos_id", eos_id, minimum=0)
    check_positive_int("maxlen", maxlen, minimum=1)


def _check_eos(eos_id: int, vocab: int) -> None:
    if eos_id >= vocab:
        raise ValueError(f"expected eos_id in [0, {vocab}), got {eos_id}")


def forbidden_ids(forbid: Iterable[int] | None, eos_id: int, vocab: int) -> torch.Tensor:
    """The ids a decoder never produces, as a LongTensor ``(F,)``.

    ``forbid=None`` (every decoder's default) means ``PAD_ID``: padding is not text. The one
    exception is a model whose end symbol *is* id 0 (``eos_id == PAD_ID``, as in the small
    toy models of the tests and of chapter 6), where nothing is forbidden. An explicit
    ``forbid`` is an iterable of ids in ``[0, vocab)`` that does not contain ``eos_id``
    (``()`` forbids nothing).
    """
    if forbid is None:
        forbid = () if eos_id == PAD_ID else (PAD_ID,)
    if isinstance(forbid, (str, torch.Tensor)) or not isinstance(forbid, Iterable):
        raise TypeError(f"expected forbid to be an iterable of ids or None, got "
                        f"{type(forbid).__name__}")
    ids = sorted(set(forbid))
    for i in ids:
        check_positive_int("forbidden id", i, minimum=0)
        if i >= vocab or i == eos_id:
            raise ValueError(f"expected forbidden ids in [0, {vocab}) other than eos_id = "
                             f"{eos_id}, got {i}")
    return torch.tensor(ids, dtype=torch.long)


def _mask(log_probs: torch.Tensor, forbidden: torch.Tensor) -> torch.Tensor:
    """``log_probs (n, V)`` with the ``forbidden`` columns set to ``-inf``."""
    return log_probs.index_fill(1, forbidden, -math.inf) if len(forbidden) else log_probs


# --- greedy decoding and sampling ------------------------------------------------------------

def _decode(step: StepFn, start, eos_id: int, maxlen: int, choose: Callable, num: int,
            bos_id: int | None, forbid) -> list[Hypothesis]:
    """Extend ``num`` copies of the prompt, each with ``choose(log_probs (n, V)) -> (n,)``.

    ``choose`` sees the distribution with the forbidden ids at ``-inf``; the scores summed
    are the model's log-probabilities of the chosen ids.
    """
    _check_decoder_args(eos_id, maxlen)
    log_probs, state = _prime(step, start, bos_id)
    vocab = log_probs.shape[1]
    _check_eos(eos_id, vocab)
    forbidden = forbidden_ids(forbid, eos_id, vocab)
    copies = torch.zeros(num, dtype=torch.long)
    state, log_probs = select_state(state, copies), log_probs.index_select(0, copies)
    tokens: list[list[int]] = [[] for _ in range(num)]
    totals = [0.0] * num
    alive = list(range(num))
    for t in range(maxlen):
        chosen = choose(_mask(log_probs, forbidden))
        picked = log_probs.gather(1, chosen[:, None]).squeeze(1)
        for seq, token, lp in zip(alive, chosen.tolist(), picked.tolist(), strict=True):
            tokens[seq].append(token)
            totals[seq] += lp
        going = (chosen != eos_id).nonzero().squeeze(1)
        if t == maxlen - 1 or len(going) == 0:
            break
        alive = [alive[i] for i in going.tolist()]
        log_probs, state = step(select_state(state, going), chosen[going])
        _check_step_output(log_probs, len(alive), vocab)
    return [Hypothesis(tuple(seq), total, seq[-1] == eos_id)
            for seq, total in zip(tokens, totals, strict=True)]


def greedy(step: StepFn, start: torch.Tensor, eos_id: int, maxlen: int, *,
           bos_id: int | None = None, forbid: Iterable[int] | None = None) -> Hypothesis:
    """The most probable symbol at each step, from the prompt ``start (P,)``.

    Stops after ``eos_id`` or ``maxlen`` symbols. Ties go to the smaller id. The ids of
    ``forbidden_ids(forbid, ...)`` (``PAD_ID`` by default) are never chosen.
    """
    def choose(log_probs):
        return torch.sort(log_probs, dim=1, descending=True, stable=True).indices[:, 0]

    return _decode(step, start, eos_id, maxlen, choose, 1, bos_id, forbid)[0]


def sample(step: StepFn, start: torch.Tensor, eos_id: int, maxlen: int, *,
           num_samples: int = 1, temperature: float = 1.0, top_k: int | None = None,
           top_p: float | None = None, generator: torch.Generator | None = None,
           bos_id: int | None = None,
           forbid: Iterable[int] | None = None) -> list[Hypothesis]:
    """``num_samples`` continuations of ``start (P,)`` drawn at once (a batch).

    At each step the model's distribution, with the ids of ``forbidden_ids(forbid, ...)``
    (``PAD_ID`` by default) removed, is transformed, in this order, by the
    ``temperature``, a ``top_k`` truncation and a ``top_p`` (nucleus) truncation, then one
    symbol is drawn from it with ``torch.multinomial`` (seeded by ``generator``, else by the
    global generator). The reported ``log_prob`` is the untransformed model's.
    """
    check_positive_int("num_samples", num_samples, minimum=1)
    _check_temperature(temperature)
    if top_k is not None:
        check_positive_int("top_k", top_k, minimum=1)
    if top_p is not None:
        _check_p(top_p)

    def choose(log_probs):
        log_probs = temperature_log_probs(log_probs, temperature)
        if top_k is not None:
            log_probs = top_k_log_probs(log_probs, top_k)
        if top_p is not None:
            log_probs = nucleus_log_probs(log_probs, top_p)
        return torch.multinomial(log_probs.exp(), 1, generator=generator).squeeze(1)

    return _decode(step, start, eos_id, maxlen, choose, num_samples, bos_id, forbid)


# --- beam search -----------------------------------------------------------------------------

def _check_length_penalty(length_penalty) -> None:
    if (isinstance(length_penalty, bool) or not isinstance(length_penalty, (int, float))
            or not 0 <= length_penalty < math.inf):
        raise ValueError(f"expected a finite length_penalty >= 0, got {length_penalty!r}")


def _beam(step: StepFn, start, eos_id: int, maxlen: int, width: int, length_penalty: float,
          bos_id: int | None, propose: Callable | None, forbid) -> list[Hypothesis]:
    """Beam search; ``propose(log_probs (n, V)) -> bool (n, V)`` limits the candidates.

    At step ``t`` there are ``n <= width`` live hypotheses (``n = 1`` at ``t = 0``):
    ``scores (n,)`` float64 holds their total log-probabilities, ``history (n, t)`` long
    their symbols, ``log_probs (n, V)`` and ``state`` (batch ``n``) their next step.
    """
    _check_decoder_args(eos_id, maxlen)
    check_positive_int("width", width, minimum=1)
    _check_length_penalty(length_penalty)
    log_probs, state = _prime(step, start, bos_id)
    vocab = log_probs.shape[1]
    _check_eos(eos_id, vocab)
    forbidden = forbidden_ids(forbid, eos_id, vocab)
    scores = torch.zeros(1, dtype=torch.float64)   # (n,): total log-probability
    history = torch.zeros(1, 0, dtype=torch.long)  # (n, t): the symbols generated so far
    pool: list[Hypothesis] = []
    kth = -math.inf  # the width-th best pooled log-probability, once there are width of them
    for t in range(maxlen):
        allowed = _mask(log_probs, forbidden)
        total = scores.unsqueeze(1) + allowed                          # (n, V), float64
        if propose is not None:
            total = total.masked_fill(~propose(allowed), -math.inf)
        scores, best = total.view(-1).topk(min(width, total.numel()))  # best first
        parent, token = best // vocab, best % vocab
        history = torch.cat([history.index_select(0, parent), token.unsqueeze(1)], dim=1)
        ended = token == eos_id
        if t == maxlen - 1 or bool(ended.any()) or float(scores[-1]) == -math.inf:
            # The rare path: hypotheses leave the beam (EOS, the length limit, or no candidate).
            if t == maxlen - 1:
                ended = torch.ones_like(ended)
            for i in (ended & (scores > -math.inf)).nonzero().squeeze(1).tolist():
                seq = tuple(history[i].tolist())
                pool.append(Hypothesis(seq, float(scores[i]), seq[-1] == eos_id))
            going = (~ended & (scores > -math.inf)).nonzero().squeeze(1)
            if len(going) == 0:
                break
            scores, history, parent, token = (scores[going], history[going], parent[going],
                                              token[going])
            if len(pool) >= width:
                kth = sorted((h.log_prob for h in pool), reverse=True)[width - 1]
        # Extending a hypothesis never raises its log-probability: once `width` pooled ones
        # beat every live one, nothing left can enter the result (without length penalty).
        if length_penalty == 0 and kth > -math.inf and kth > float(scores[0]):
            break
        log_probs, state = step(select_state(state, parent), token)
        _check_step_output(log_probs, len(token), vocab)
    pool.sort(key=lambda h: h.score(length_penalty), reverse=True)
    return pool[:width]


def beam_search(step: StepFn, start: torch.Tensor, eos_id: int, maxlen: int, width: int, *,
                length_penalty: float = 0.0, bos_id: int | None = None,
                forbid: Iterable[int] | None = None) -> list[Hypothesis]:
    """Beam search of width ``K = width`` from the prompt ``start (P,)``.

    At each step every live hypothesis is extended by every symbol, and the ``K`` extensions
    of highest total log-probability are kept (one ``topk`` over the ``(n, V)`` scores;
    exact ties at the K-th place are broken as ``torch.topk`` breaks them). Those ending in
    ``eos_id`` leave the beam for the pool of finished hypotheses; the others are advanced
    together, as one batch of at most ``K``, by a single ``step`` call.
    At ``maxlen`` symbols the live hypotheses join the pool unfinished. Returns the ``K``
    best of the pool, best first, by ``Hypothesis.score(length_penalty)``. With
    ``length_penalty = 0`` the search stops as soon as ``K`` pooled hypotheses beat every
    live one. ``width = 1`` is greedy decoding (up to exact ties between top symbols). The
    ids of ``forbidden_ids(forbid, ...)`` (``PAD_ID`` by default) are never candidates.
    """
    return _beam(step, start, eos_id, maxlen, width, length_penalty, bos_id, None, forbid)


def beam_search_reference(step: StepFn, start: torch.Tensor, eos_id: int, maxlen: int,
                          width: int, *, bos_id: int | None = None,
                          forbid: Iterable[int] | None = None) -> list[Hypothesis]:
    """The slow reference for ``beam_search`` (``length_penalty = 0``): one call per hypothesis.

    The direct transcription of the algorithm: every hypothesis keeps its own state and is
    advanced by its own ``step`` call on a batch of one, and the candidates are listed by a
    Python loop over hypotheses. No early stop: it runs until the beam is empty or
    ``maxlen``. It returns the same hypotheses as ``beam_search`` (up to exact ties), with
    about ``width`` times as many model calls; it exists to be compared with it, never to be
    used.
    """
    _check_decoder_args(eos_id, maxlen)
    check_positive_int("width", width, minimum=1)
    log_probs, state = _prime(step, start, bos_id)
    vocab = log_probs.shape[1]
    _check_eos(eos_id, vocab)
    forbidden = forbidden_ids(forbid, eos_id, vocab)
    # each hypothesis: (tokens, score, next log-probabilities (V,) float64, its own state)
    beam = [((), 0.0, _mask(log_probs, forbidden)[0].double(), state)]
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
                new_beam.append((tokens, score, _mask(lp, forbidden)[0].double(), st))
        beam = new_beam
        if not beam:
            break
    pool.sort(key=lambda h: h.log_prob, reverse=True)
    return pool[:width]


def nucleus_beam_search(step: StepFn, start: torch.Tensor, eos_id: int, maxlen: int,
                        width: int, p: float, *, length_penalty: float = 0.0,
                        generator: torch.Generator | None = None,
                        bos_id: int | None = None,
                        forbid: Iterable[int] | None = None) -> list[Hypothesis]:
    """Beam search whose candidates are sampled from the nucleus (TP4, question 7).

    Exactly ``beam_search``, except for the candidates each live hypothesis ``s`` proposes:
    instead of its ``K`` most probable symbols, it proposes ``K`` symbols drawn *without
    replacement* from its nucleus distribution ``p_nucleus(y | s)`` (all of the nucleus when
    it has fewer than ``K`` symbols). The draw uses Gumbel keys: ``log p_nucleus(y|s) + G_y``
    with ``G_y`` i.i.d. standard Gumbel, the ``K`` largest keys win (Kool et al. 2019). The
    ``K`` candidates of highest total log-probability under the *model* are then kept, as in
    ``beam_search``, and the scores stay the model's. So the nucleus decides what may be
    tried, and the model's likelihood decides what is kept. With ``p`` so small that every
    nucleus is one symbol this is greedy decoding; with ``p = 1`` and ``K >= V`` every symbol
    is proposed and it is ``beam_search``.
    """
    _check_p(p)
    check_positive_int("width", width, minimum=1)

    def propose(log_probs):
        keys = nucleus_log_probs(log_probs.double(), p)
        uniform = torch.rand(keys.shape, dtype=torch.float64, generator=generator)
        keys = keys - torch.log(-torch.log(uniform.clamp_(min=torch.finfo(torch.float64).tiny)))
        chosen = torch.zeros_like(keys, dtype=torch.bool).scatter_(
            1, keys.topk(min(width, keys.shape[1]), dim=1).indices, True)
        return chosen & (keys > -math.inf)

    return _beam(step, start, eos_id, maxlen, width, length_penalty, bos_id, propose, forbid)


# --- measuring what was generated ------------------------------------------------------------

def _ngrams(seq, n: int) -> list:
    return [tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)]


def distinct_n(texts: list, n: int) -> float:
    """Distinct-n of a set of generations: distinct n-grams / all n-grams (Li et al. 2016).

    ``texts`` is a list of sequences (strings or id tuples); the n-grams of all of them are
    pooled. 1 means no n-gram is ever repeated; 0 is returned when no text has ``n``
    symbols.
    """
    check_positive_int("n", n, minimum=1)
    if not isinstance(texts, (list, tuple)):
        raise TypeError(f"expected texts to be a list of sequences, got {type(texts).__name__}")
    grams = [g for text in texts for g in _ngrams(text, n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def repetition_rate(text, n: int) -> float:
    """Fraction of the n-grams of ``text`` that already occurred earlier in ``text``.

    A decoder stuck in a loop ("the the the ...") scores close to 1; 0 when ``text`` has
    fewer than ``n`` symbols (or ``n + 1``, since the first n-gram cannot be a repeat).
    """
    check_positive_int("n", n, minimum=1)
    if not isinstance(text, (str, list, tuple)):
        raise TypeError(f"expected text to be a str, list or tuple, got {type(text).__name__}")
    seen, repeats, grams = set(), 0, _ngrams(text, n)
    for gram in grams:
        repeats += gram in seen
        seen.add(gram)
    return repeats / len(grams) if grams else 0.0
