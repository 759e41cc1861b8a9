"""Chapter 6's exercises: beam search (TP4 Q6, graded), the nucleus distribution (TP4
Q7, graded), and the checkable answer of ``dec-ex2`` (the limit of the tempered
distribution as T → 0).

The beam is checked on toy models given as tables of next-symbol log-probabilities,
indexed by the prefix read so far (the chapter's ``TREE``, the table of ``dec-ex1`` and
random tables), against a brute force over every sequence, against greedy decoding and
against the companion's ``beam_search``."""

import itertools
import math
import zlib

import torch

from companion.decoding import beam_search, greedy, temperature_log_probs
from companion.workbook.runner import (
    Exercise,
    Failure,
    Property,
    compare,
    number,
    sizes,
)

# ---- toy models: a table of next-symbol distributions indexed by the prefix --------


class TableModel:
    """A language model given by a table: ``dist(prefix)`` is the log-distribution
    ``(V,)`` float64 of the symbol after ``prefix`` (every symbol read, the prompt
    included). ``table`` maps prefixes to probabilities; a prefix not in it gets a
    random distribution drawn from ``(seed, prefix)`` (``seed=None``: uniform), the
    same whatever the order of the calls. ``step`` is the decoders' step function,
    whose state is the prefix ``(B, t)``, batch first."""

    def __init__(self, vocab: int, seed: int | None = 0, table=None, spread=2.0):
        self.vocab, self.seed, self.spread = vocab, seed, spread
        self.table = {} if table is None else table
        self.cache = {}

    def dist(self, prefix: tuple) -> torch.Tensor:
        if prefix not in self.cache:
            if prefix in self.table:
                probs = torch.tensor(self.table[prefix], dtype=torch.float64)
                row = probs.log()
            elif self.seed is None:
                row = torch.full((self.vocab,), -math.log(self.vocab))
                row = row.double()
            else:
                key = zlib.crc32(repr((self.seed, prefix)).encode())
                g = torch.Generator().manual_seed(key)
                logits = torch.randn(self.vocab, generator=g, dtype=torch.float64)
                row = torch.log_softmax(self.spread * logits, dim=0)
            self.cache[prefix] = row
        return self.cache[prefix]

    def step(self, state, tokens):
        """``tokens (B,)`` → ``(log_probs (B, V), prefix (B, t + 1))``."""
        prefix = tokens.new_zeros(len(tokens), 0) if state is None else state
        prefix = torch.cat([prefix, tokens.long().view(-1, 1)], dim=1)
        rows = [self.dist(tuple(p)) for p in prefix.tolist()]
        return torch.stack(rows), prefix

    def log_prob(self, prompt: tuple, tokens: tuple) -> float:
        """The model's log-probability of ``tokens`` after ``prompt``."""
        return sum(
            float(self.dist(prompt + tuple(tokens[:i]))[y])
            for i, y in enumerate(tokens)
        )

    def every_sequence(self, prompt: tuple, eos_id: int, maxlen: int) -> dict:
        """Brute force: every continuation that ends with ``eos_id`` or has ``maxlen``
        symbols, with its log-probability (those of probability 0 left out)."""
        found = {}
        for n in range(1, maxlen + 1):
            for seq in itertools.product(range(self.vocab), repeat=n):
                if eos_id in seq[:-1] or (seq[-1] != eos_id and n < maxlen):
                    continue
                lp = self.log_prob(prompt, seq)
                if lp > -math.inf:
                    found[seq] = lp
        return found


# The chapter's TREE (symbols EOS, a, b; the model reads EOS first) and the table of its
# exercise dec-ex1, where a beam of width 2 does worse than greedy (other prefixes:
# uniform).
TREE = {
    (0,): [0.0, 0.6, 0.4],
    (0, 1): [0.4, 0.3, 0.3],
    (0, 2): [0.9, 0.05, 0.05],
}
WIDER_IS_WORSE = {
    (0,): [0.0, 0.4, 0.35, 0.25],
    (0, 1): [0.4, 0.2, 0.2, 0.2],
    (0, 2): [0.0, 0.5, 0.5, 0.0],
}


def tree_model() -> TableModel:
    return TableModel(3, None, TREE)


def wider_is_worse_model() -> TableModel:
    return TableModel(4, None, WIDER_IS_WORSE)


def _ids(prompt) -> torch.Tensor:
    return torch.tensor(list(prompt), dtype=torch.long)


def _describe(model, name, start, width, maxlen, eos_id=0, alpha=0.0, bos_id=None):
    prompt = f"start={list(start)}" + (
        f", bos_id={bos_id}" if bos_id is not None else ""
    )
    text = f"{name} model, {sizes(V=model.vocab, maxlen=maxlen, width=width)}, {prompt}"
    text += f", eos_id={eos_id}"
    return text + (f", length_penalty={alpha:g}" if alpha else "")


def beam_case(
    candidate, model, name, start, width, maxlen, eos_id=0, alpha=0.0, bos_id=None
):
    """Run ``candidate`` like the chapter runs ``beam_search``; return the case, the
    prompt the model read and the hypotheses, checked to be a list of objects with
    ``tokens``, ``log_prob`` and ``finished``, as plain tuples and floats."""
    case = _describe(model, name, start, width, maxlen, eos_id, alpha, bos_id)
    kwargs = {"length_penalty": alpha} if alpha else {}
    if bos_id is not None:
        kwargs["bos_id"] = bos_id
    extra = {} if eos_id == 0 else {"forbid": ()}
    got = candidate(model.step, _ids(start), eos_id, maxlen, width, **kwargs, **extra)
    if not isinstance(got, list | tuple):
        raise Failure(
            case,
            "a list of Hypothesis",
            type(got).__name__,
            "return the best hypotheses as a list, best first",
        )
    hyps = []
    for i, h in enumerate(got):
        if not all(hasattr(h, a) for a in ("tokens", "log_prob", "finished")):
            raise Failure(
                case,
                f"hypotheses[{i}] to be a Hypothesis(tokens, log_prob, finished)",
                type(h).__name__,
                "from companion.decoding import Hypothesis",
            )
        tokens = tuple(int(y) for y in h.tokens)
        hyps.append((tokens, float(h.log_prob), bool(h.finished)))
    prompt = ((bos_id,) if bos_id is not None else ()) + tuple(start)
    return case, prompt, hyps


def score(log_prob: float, tokens: tuple, alpha: float) -> float:
    return log_prob / len(tokens) ** alpha


def ranking(model, prompt, eos_id, maxlen, alpha=0.0) -> list:
    """Every sequence, by decreasing length-normalised score: (tokens, log_prob)."""
    every = model.every_sequence(prompt, eos_id, maxlen)
    return sorted(every.items(), key=lambda kv: -score(kv[1], kv[0], alpha))


def _names(hyps) -> list:
    return [h[0] for h in hyps]


def compare_ranking(case, hyps, want, hint=""):
    """The hypotheses ``hyps`` [(tokens, log_prob, finished)] against the expected
    ``want`` [(tokens, log_prob)]: same number, same sequences in the same order,
    same log-probabilities."""
    if len(hyps) != len(want):
        raise Failure(case, f"{len(want)} hypotheses", f"{len(hyps)}", hint)
    for i, ((tokens, lp, _), (w_tokens, w_lp)) in enumerate(
        zip(hyps, want, strict=True)
    ):
        if tokens != w_tokens:
            raise Failure(
                case,
                f"hypotheses[{i}].tokens = {w_tokens} (log p = {w_lp:.4f})",
                f"{tokens} (log p = {lp:.4f})",
                hint,
            )
        compare(case, lp, w_lp, atol=1e-9, rtol=1e-9, what=f"hypotheses[{i}].log_prob")


RANDOM = [  # (V, maxlen, seed, start): random tables small enough to enumerate
    (3, 3, 0, (2,)),
    (4, 2, 1, (3, 1)),
    (2, 5, 2, (1,)),
]


def _beam_list(candidate):
    for V, maxlen, seed, start in RANDOM[:2]:
        model = TableModel(V, seed)
        prompt = tuple(start)
        total = len(model.every_sequence(prompt, 0, maxlen))
        for width in (1, 2, V**maxlen):
            case, _, hyps = beam_case(candidate, model, "random", start, width, maxlen)
            if len(hyps) != min(width, total):
                raise Failure(
                    case,
                    f"{min(width, total)} hypotheses (the width, or every sequence "
                    f"there is: {total})",
                    f"{len(hyps)}",
                    "return the `width` best of the pool of finished hypotheses",
                )
            scores = [lp for _, lp, _ in hyps]
            for i in range(len(scores) - 1):
                if scores[i] < scores[i + 1]:
                    raise Failure(
                        case,
                        "hypotheses sorted best first",
                        f"log p = {scores[i]:.4f} before {scores[i + 1]:.4f} "
                        f"(hypotheses[{i}] and [{i + 1}])",
                        "sort the pool by score, in decreasing order",
                    )
            for i, (tokens, lp, _) in enumerate(hyps):
                compare(
                    case,
                    lp,
                    model.log_prob(prompt, tokens),
                    atol=1e-9,
                    rtol=1e-9,
                    what=f"hypotheses[{i}].log_prob (for tokens {tokens})",
                    hint="log_prob is the sum of the model's log-probabilities of the "
                    "generated symbols, prompt excluded",
                )


def _beam_exhaustive(candidate):
    hint = (
        "a beam as wide as V^maxlen keeps every prefix: it must return every sequence "
        "of non-zero probability, ranked by total log-probability, as a brute force "
        "does (a candidate of log-probability -inf is no hypothesis)"
    )
    model = tree_model()
    case, prompt, hyps = beam_case(
        candidate, model, "the chapter's TREE", (), 9, 2, 0, 0.0, 0
    )
    compare_ranking(case, hyps, ranking(model, prompt, 0, 2), hint)
    for V, maxlen, seed, start in RANDOM:
        model = TableModel(V, seed)
        case, prompt, hyps = beam_case(
            candidate, model, "random", start, V**maxlen, maxlen
        )
        compare_ranking(case, hyps, ranking(model, prompt, 0, maxlen), hint)


def greedy_reference(model, prompt_ids, eos_id, maxlen, bos_id=None):
    extra = {} if eos_id == 0 else {"forbid": ()}
    h = greedy(model.step, prompt_ids, eos_id, maxlen, bos_id=bos_id, **extra)
    return [(tuple(h.tokens), h.log_prob)]


def _beam_greedy(candidate):
    hint = "with width 1 the beam keeps one prefix: the most probable symbol each time"
    model = tree_model()
    case, _, hyps = beam_case(
        candidate, model, "the chapter's TREE", (), 1, 2, 0, 0.0, 0
    )
    compare_ranking(case, hyps, greedy_reference(model, _ids(()), 0, 2, 0), hint)
    for V, maxlen, seed in ((4, 5, 3), (3, 6, 4)):
        model = TableModel(V, seed, spread=0.7)
        case, _, hyps = beam_case(candidate, model, "random", (1,), 1, maxlen)
        want = greedy_reference(model, _ids((1,)), 0, maxlen)
        compare_ranking(case, hyps, want, hint)


def check_endings(case, hyps, eos_id, maxlen):
    if not hyps:
        raise Failure(case, "at least one hypothesis", "none")
    for i, (tokens, _, finished) in enumerate(hyps):
        what = f"hypotheses[{i}] = {tokens}"
        if eos_id in tokens[:-1]:
            raise Failure(
                case,
                f"{what} to end at its first EOS ({eos_id})",
                "symbols after EOS",
                "a candidate ending in EOS leaves the beam for the pool",
            )
        if len(tokens) > maxlen or len(tokens) == 0:
            raise Failure(case, f"{what} of 1 to {maxlen} symbols", f"{len(tokens)}")
        if finished != (tokens[-1] == eos_id):
            raise Failure(
                case,
                f"{what}: finished={tokens[-1] == eos_id}",
                f"finished={finished}",
                "finished says whether the hypothesis ends with EOS",
            )
        if not finished and len(tokens) != maxlen:
            raise Failure(
                case,
                f"{what}: an unfinished hypothesis of maxlen={maxlen} symbols",
                f"{len(tokens)} symbols",
                "a hypothesis stops at EOS or at maxlen symbols, nowhere else",
            )


def _beam_eos(candidate):
    likely_end = TableModel(3, 5, {(2,): [0.8, 0.1, 0.1], (2, 1): [0.7, 0.2, 0.1]})
    never = TableModel(3, None, {p: [0.0, 0.5, 0.5] for p in _prefixes(3, 3, (2,))})
    for name, model, width, maxlen in (
        ("EOS likely", likely_end, 3, 4),
        ("random", TableModel(4, 7), 4, 4),
        ("EOS impossible", never, 2, 3),
    ):
        case, _, hyps = beam_case(candidate, model, name, (2,), width, maxlen)
        check_endings(case, hyps, 0, maxlen)


def _prefixes(vocab, maxlen, prompt):
    """Every prefix of at most ``maxlen - 1`` generated symbols after ``prompt``."""
    return [
        prompt + seq
        for n in range(maxlen)
        for seq in itertools.product(range(vocab), repeat=n)
    ]


def _beam_length_penalty(candidate):
    for alpha, (V, maxlen, seed, start) in ((1.0, RANDOM[0]), (0.5, RANDOM[2])):
        model = TableModel(V, seed)
        case, prompt, hyps = beam_case(
            candidate, model, "random", start, V**maxlen, maxlen, alpha=alpha
        )
        compare_ranking(
            case,
            hyps,
            ranking(model, prompt, 0, maxlen, alpha),
            "rank the pool by log_prob / len(tokens) ** length_penalty (EOS counts as "
            "a symbol); the log_prob reported stays the plain sum",
        )


def reference_hypotheses(model, start, eos_id, maxlen, width, alpha=0.0, bos_id=None):
    extra = {} if eos_id == 0 else {"forbid": ()}
    found = beam_search(
        model.step,
        _ids(start),
        eos_id,
        maxlen,
        width,
        length_penalty=alpha,
        bos_id=bos_id,
        **extra,
    )
    return [(tuple(h.tokens), h.log_prob) for h in found]


def _beam_pruning(candidate):
    hint = (
        "keep the `width` best of all the candidates (every live hypothesis extended "
        "by every symbol, scored by total log-probability); those ending in EOS leave "
        "the beam for the pool, and the beam goes on with the others"
    )
    for V, maxlen, seed, width in ((5, 4, 27, 2), (4, 5, 8, 3)):
        model = TableModel(V, seed)
        case, _, hyps = beam_case(candidate, model, "random", (2,), width, maxlen)
        want = reference_hypotheses(model, (2,), 0, maxlen, width)
        compare_ranking(case, hyps, want, hint)
    # dec-ex1's table: ties everywhere after step 2, so only the scores are compared
    model = wider_is_worse_model()
    case, _, hyps = beam_case(candidate, model, "dec-ex1's", (), 2, 3, 0, 0.0, 0)
    want = reference_hypotheses(model, (), 0, 3, 2, bos_id=0)
    compare(
        case,
        [lp for _, lp, _ in hyps],
        [lp for _, lp in want],
        atol=1e-9,
        what="log_prob of the hypotheses",
        hint=hint,
    )


BEAM_SEARCH = Exercise(
    label="dec-beam-search",
    name="beam_search",
    reference="companion.decoding.beam_search",
    question="TP4 Q6",
    points=3,
    properties=[
        Property(
            "min(width, #sequences) hypotheses, best first, scored by the model",
            _beam_list,
        ),
        Property(
            "width ≥ V^maxlen: every sequence, as a brute force ranks them",
            _beam_exhaustive,
        ),
        Property("width 1 is greedy decoding", _beam_greedy),
        Property("EOS ends a hypothesis, maxlen ends the others", _beam_eos),
        Property("length_penalty α: ranked by log p / |y|^α", _beam_length_penalty),
        Property("width < V^maxlen: the beam the chapter describes", _beam_pruning),
    ],
)


# ---- the nucleus distribution ------------------------------------------------------


def rows(shape, seed=0, spread=1.5, dtype=torch.float64) -> torch.Tensor:
    """Random log-distributions of shape ``(..., V)``."""
    g = torch.Generator().manual_seed(seed)
    logits = spread * torch.randn(shape, generator=g, dtype=torch.float64)
    return torch.log_softmax(logits, dim=-1).to(dtype)


def smallest_size(probs: list, p: float) -> int:
    """Brute force: the size of the smallest set of symbols of mass ≥ p."""
    for k in range(1, len(probs) + 1):
        for subset in itertools.combinations(probs, k):
            if sum(subset) >= p:
                return k
    return len(probs)


def nucleus_ids(probs: list, p: float) -> list:
    """The nucleus of one distribution: the smallest set of mass ≥ p (by brute force
    over subsets when it is small), its symbols the most probable, ties going to the
    smaller id; every symbol of non-zero probability when ``p = 1``."""
    if p == 1:
        return [i for i, q in enumerate(probs) if q > 0]
    order = sorted(range(len(probs)), key=lambda i: -probs[i])  # stable: ties by id
    if len(probs) <= 8:
        k = smallest_size(probs, p)
    else:
        mass, k = 0.0, 0
        while mass < p and k < len(probs):
            mass, k = mass + probs[order[k]], k + 1
    return sorted(order[:k])


def expected_nucleus(log_probs: torch.Tensor, p: float) -> torch.Tensor:
    """The nucleus distribution of every row of ``log_probs (..., V)``, row by row."""
    flat = log_probs.reshape(-1, log_probs.shape[-1])
    out = torch.full_like(flat, -math.inf)
    for r, row in enumerate(flat):
        keep = nucleus_ids(row.double().exp().tolist(), p)
        out[r, keep] = torch.log_softmax(row[keep], dim=0)
    return out.reshape(log_probs.shape)


def _row_text(row: torch.Tensor) -> str:
    return "[" + ", ".join(f"{q:.3g}" for q in row.double().exp().tolist()) + "]"


def _kept(got: torch.Tensor) -> list:
    return [i for i, v in enumerate(got.tolist()) if v > -math.inf]


def nucleus_case(candidate, log_probs, p, what="row", hint=""):
    """Run ``candidate`` on ``log_probs (V,)``; compare its kept set with the brute
    force's; return the output."""
    got = candidate(log_probs.clone(), p)
    case = f"{what}: probabilities {_row_text(log_probs)} (V={len(log_probs)}), p={p:g}"
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(log_probs.shape):
        shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got)
        raise Failure(
            case, f"log-probabilities of shape {tuple(log_probs.shape)}", f"{shape}"
        )
    want = nucleus_ids(log_probs.double().exp().tolist(), p)
    kept = _kept(got)
    if kept != want:
        mass = float(log_probs.double().exp()[want].sum())
        raise Failure(
            case,
            f"the symbols {want} kept (mass {mass:.3g}), the others at -inf",
            f"{kept} kept",
            hint,
        )
    return got


def _nucleus_smallest(candidate):
    hint = (
        "take the symbols by decreasing probability until their mass reaches p: a "
        "symbol is in when the mass of the symbols before it is still below p"
    )
    for seed, V in ((0, 5), (1, 6), (2, 4)):
        for r, row in enumerate(rows((3, V), seed)):
            for p in (0.3, 0.6, 0.9):
                nucleus_case(candidate, row, p, f"row {r} (seed {seed})", hint)


def _nucleus_values(candidate):
    for seed, shape, p in ((3, (4, 5), 0.8), (4, (2, 7), 0.5), (5, (3, 6), 0.95)):
        log_probs = rows(shape, seed)
        case = f"log_probs {sizes(B=shape[0], V=shape[1])}, p={p:g}"
        got = candidate(log_probs.clone(), p)
        compare(
            case,
            got,
            expected_nucleus(log_probs, p),
            atol=1e-9,
            rtol=1e-9,
            what="nucleus log-probabilities",
            hint="renormalise over the nucleus: log p(y) - log Σ_{y' in I_p} p(y'), "
            "and -inf outside it (log_softmax of the masked row does both)",
        )
        if got.dtype != log_probs.dtype:
            raise Failure(case, f"dtype {log_probs.dtype}", str(got.dtype))


def _nucleus_ties(candidate):
    hint = (
        "among equally probable symbols, take the smaller id first (a stable sort: "
        "torch.sort(..., stable=True)) and stop as soon as the mass reaches p: the set "
        "stays the smallest"
    )
    for probs, p in (
        ([0.25, 0.25, 0.25, 0.25], 0.6),
        ([0.1, 0.3, 0.3, 0.3], 0.5),
        ([0.2, 0.4, 0.2, 0.2], 0.7),
        ([0.3, 0.3, 0.2, 0.2], 0.25),
    ):
        row = torch.tensor(probs, dtype=torch.float64).log()
        nucleus_case(candidate, row, p, "a row with ties", hint)


def _nucleus_p_one(candidate):
    hint = (
        "p = 1 keeps every symbol of non-zero probability; a cumulative sum can round "
        "to 1 before the last symbol (in float32 above all): decide p = 1 directly"
    )
    row = rows((6,), 6)
    nucleus_case(candidate, row, 1.0, "a row", hint)
    with_zeros = row.clone()
    with_zeros[[1, 4]] = -math.inf
    with_zeros = torch.log_softmax(with_zeros, dim=0)
    nucleus_case(candidate, with_zeros, 1.0, "a row with two impossible symbols", hint)
    tiny = torch.log_softmax(torch.tensor([2.0, 1.0, 0.5, 1.5, 0.0, -19.0]), dim=0)
    got = nucleus_case(
        candidate, tiny, 1.0, "a float32 row with a tiny probability", hint
    )
    compare("the same float32 row, p=1", got, tiny, atol=1e-6, hint=hint)


def _nucleus_top(candidate):
    hint = "the most probable symbol is always in the nucleus, whatever p"
    for seed in (7, 8):
        row = rows((5,), seed)
        for p in (1e-9, float(row.exp().max()) * 0.5):
            nucleus_case(candidate, row, p, f"a row (seed {seed})", hint)
    peaked = torch.tensor([0.05, 0.9, 0.05], dtype=torch.float64).log()
    nucleus_case(candidate, peaked, 0.8, "a peaked row", hint)


def _nucleus_batch(candidate):
    hint = "treat each row (the last dimension) on its own: sort, sum and mask along -1"
    for shape, p in (((2, 3, 5), 0.7), ((6, 4), 0.5), ((5,), 0.9)):
        log_probs = rows(shape, 9)
        case = f"log_probs of shape {shape} (rows of V={shape[-1]}), p={p:g}"
        compare(
            case,
            candidate(log_probs.clone(), p),
            expected_nucleus(log_probs, p),
            atol=1e-9,
            rtol=1e-9,
            what="nucleus log-probabilities",
            hint=hint,
        )


NUCLEUS = Exercise(
    label="dec-nucleus",
    name="nucleus_log_probs",
    reference="companion.decoding.nucleus_log_probs",
    question="TP4 Q7",
    points=2,
    properties=[
        Property(
            "I_p is the smallest set of mass ≥ p (brute force over subsets)",
            _nucleus_smallest,
        ),
        Property(
            "renormalised over I_p, -inf outside (values and dtype)", _nucleus_values
        ),
        Property("ties: the smallest set, smaller ids first", _nucleus_ties),
        Property("p = 1 keeps every symbol of non-zero probability", _nucleus_p_one),
        Property("the most probable symbol is always kept", _nucleus_top),
        Property("rows are independent: (V,), (B, V), (A, B, V)", _nucleus_batch),
    ],
)


# ---- dec-ex2: the limit of the tempered distribution as T → 0 ----------------------

# The statement of dec-ex2 gives the limit; the answer asks to apply it to a
# distribution whose maximum is tied: p = (0.35, 0.1, 0.35, 0.2), symbol 2.
TIED = (0.35, 0.1, 0.35, 0.2)


def _tempered_probability(probs=TIED, symbol=2, temperature=1e-3) -> float:
    """p_T(symbol) at a temperature small enough to be the limit T → 0+."""
    lp = torch.tensor(probs, dtype=torch.float64).log()
    return float(temperature_log_probs(lp, temperature).exp()[symbol])


TEMPERATURE_LIMIT = number(
    "dec-ex2",
    "dec_ex2_probability",
    "the limit T → 0 at a tied maximum",
    _tempered_probability(),
    0.01,
    hint="divide numerator and denominator by exp(max ℓ / T): which terms tend to 1, "
    "which to 0? Mind the symbols that tie for the maximum",
)

EXERCISES = [BEAM_SEARCH, NUCLEUS, TEMPERATURE_LIMIT]
