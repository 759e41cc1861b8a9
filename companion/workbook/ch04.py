"""Chapter 4's graded exercises: ``pad_collate_fn`` (TP4 Q1), the masked
cross-entropy (TP4 Q2) and generation until EOS (TP4 Q3, ``generate_many``)."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from companion.data.text import EOS_ID, PAD_ID, VOCAB_SIZE, string2code
from companion.generation import generate_many
from companion.workbook.runner import Exercise, Failure, Property, compare, sizes


def _samples(lengths, vocab=12, seed=0, avoid=(0, 1)):
    """Random id tensors of the given lengths, without the ids in ``avoid``."""
    g = torch.Generator().manual_seed(seed)
    allowed = torch.tensor([i for i in range(vocab) if i not in avoid])
    return [allowed[torch.randint(len(allowed), (n,), generator=g)] for n in lengths]


def _expected_batch(samples, pad_id, eos_id):
    length = max(len(s) for s in samples) + 1
    out = torch.full((length, len(samples)), pad_id, dtype=torch.long)
    for b, s in enumerate(samples):
        out[: len(s), b] = s
        out[len(s), b] = eos_id
    return out


def _collate_case(candidate, lengths, pad_id=0, eos_id=1, seed=0):
    samples = _samples(lengths, seed=seed, avoid=(pad_id, eos_id))
    case = f"samples of lengths {list(lengths)}, pad_id={pad_id}, eos_id={eos_id}"
    got = candidate([s.clone() for s in samples], pad_id=pad_id, eos_id=eos_id)
    return case, got, _expected_batch(samples, pad_id, eos_id)


def _collate_shape(candidate):
    case, got, want = _collate_case(candidate, [3, 5, 1])
    if not isinstance(got, torch.Tensor):
        raise Failure(case, "a torch.Tensor", type(got).__name__)
    if tuple(got.shape) != tuple(want.shape):
        raise Failure(
            case,
            f"shape (max_len + 1, B) = {tuple(want.shape)}",
            f"{tuple(got.shape)}",
            "length first, then batch, and one more row for EOS",
        )
    if got.dtype != torch.long:
        raise Failure(case, "dtype torch.int64 (ids for nn.Embedding)", str(got.dtype))


def _collate_values(candidate):
    for lengths in ([3, 5, 1], [4], [2, 2, 2], [1, 6]):
        case, got, want = _collate_case(candidate, lengths)
        compare(case, got, want, atol=0, rtol=0, what="batch")
    samples = _samples([3, 2])
    copies = [s.clone() for s in samples]
    candidate(samples, pad_id=0, eos_id=1)
    for b, (s, c) in enumerate(zip(samples, copies, strict=True)):
        if not torch.equal(s, c):
            raise Failure(f"samples[{b}]", "left unchanged", "modified in place")


def _collate_ids(candidate):
    case, got, want = _collate_case(candidate, [3, 1, 4], pad_id=5, eos_id=7)
    compare(
        case,
        got,
        want,
        atol=0,
        rtol=0,
        what="batch",
        hint="use the pad_id and eos_id arguments, not 0 and 1",
    )


def _collate_empty(candidate):
    case, got, want = _collate_case(candidate, [0, 2])
    compare(
        case,
        got,
        want,
        atol=0,
        rtol=0,
        what="batch",
        hint="an empty sentence is EOS, then padding",
    )


PAD_COLLATE = Exercise(
    label="sent-pad-collate",
    name="pad_collate_fn",
    reference="companion.data.sentences.pad_collate_fn",
    question="TP4 Q1",
    points=2,
    properties=[
        Property("shape and dtype", _collate_shape),
        Property(
            "values: each column is the sample, EOS, then PAD; inputs kept",
            _collate_values,
        ),
        Property("uses pad_id and eos_id", _collate_ids),
        Property("an empty sample", _collate_empty),
    ],
)


def _batch(lengths, vocab=7, pad_id=0, seed=0):
    """Logits ``(L, B, V)`` and a padded target ``(L, B)``: column b holds
    ``lengths[b]`` ids other than ``pad_id``, then padding."""
    g = torch.Generator().manual_seed(seed)
    L, B = max(lengths), len(lengths)
    logits = torch.randn(L, B, vocab, generator=g, dtype=torch.float64)
    target = torch.randint(1, vocab, (L, B), generator=g)
    target[target == pad_id] = (pad_id + 1) % vocab
    for b, n in enumerate(lengths):
        target[n:, b] = pad_id
    return logits, target


def _reference_loss(logits, target, pad_id):
    return F.cross_entropy(logits.flatten(0, 1), target.flatten(), ignore_index=pad_id)


def _loss_case(candidate, lengths, vocab=7, pad_id=0, seed=0):
    logits, target = _batch(lengths, vocab, pad_id, seed)
    case = f"logits {sizes(L=max(lengths), B=len(lengths), V=vocab)}, " + (
        f"column lengths {list(lengths)}, pad_id={pad_id}"
    )
    return case, logits, target, candidate(logits, target, pad_id)


def _loss_scalar(candidate):
    case, _, _, got = _loss_case(candidate, [3, 2])
    if not isinstance(got, torch.Tensor) or got.dim() != 0:
        shape = (
            tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        )
        raise Failure(
            case,
            "a scalar tensor (shape ())",
            f"{shape}",
            "average over the real positions: one number",
        )


def _loss_values(candidate):
    for lengths, pad_id in (([3, 2], 0), ([5, 1, 4], 0), ([4, 4], 0), ([2, 6], 3)):
        case, logits, target, got = _loss_case(candidate, lengths, pad_id=pad_id)
        compare(
            case,
            got,
            _reference_loss(logits, target, pad_id),
            what="loss",
            hint="the mean over positions whose target is not pad_id",
        )


def _loss_ignores_padding(candidate):
    case, logits, target, got = _loss_case(candidate, [2, 5, 3])
    want = _reference_loss(logits, target, 0)
    compare(case, got, want, what="loss", hint="first get the values right")
    changed = logits.clone()
    changed[target == 0] += 10 * torch.randn_like(changed[target == 0])
    compare(
        case + ", logits changed at PAD positions",
        candidate(changed, target, 0),
        want,
        what="loss",
        hint="the logits at PAD positions must not count",
    )


def _loss_gradient(candidate):
    logits, target = _batch([4, 1, 3], seed=3)
    case = f"logits {sizes(L=4, B=3, V=7)}, column lengths [4, 1, 3]"
    mine, ref = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    candidate(mine, target, 0).backward()
    _reference_loss(ref, target, 0).backward()
    if mine.grad is None:
        raise Failure(
            case,
            "a gradient with respect to logits",
            "none",
            "keep the computation in torch, differentiable",
        )
    compare(case, mine.grad, ref.grad, what="gradient")


def _loss_uses_a_mask(candidate):
    """TP4 Q2 asks for the binary mask: ``ignore_index`` would skip the exercise."""
    seen, original = [], F.cross_entropy

    def spy(*args, **kwargs):
        seen.append(kwargs.get("ignore_index", -100))
        return original(*args, **kwargs)

    torch.nn.functional.cross_entropy = spy
    try:
        case, logits, target, got = _loss_case(candidate, [3, 2])
    finally:
        torch.nn.functional.cross_entropy = original
    compare(case, got, _reference_loss(logits, target, 0), what="loss")
    if any(i != -100 for i in seen):
        raise Failure(
            case,
            "a binary mask multiplying the per-position losses",
            "cross_entropy(..., ignore_index=...)",
            "TP4 Q2: reduction='none', then the mask target != pad_id",
        )


MASKED_CROSS_ENTROPY = Exercise(
    label="sent-masked-ce",
    name="masked_cross_entropy",
    reference="companion.losses.masked_cross_entropy",
    question="TP4 Q2",
    points=2,
    properties=[
        Property("a scalar", _loss_scalar),
        Property("values against F.cross_entropy(ignore_index=pad_id)", _loss_values),
        Property("padding is ignored", _loss_ignores_padding),
        Property("gradients against torch", _loss_gradient),
        Property("written with the mask, not ignore_index", _loss_uses_a_mask),
    ],
)


# ---- generation until EOS: tiny language models with the interface of CharLM.step ----


class _Scripted(nn.Module):
    """A language model over the text's ``VOCAB_SIZE`` ids that is sure of its next
    symbol: ``step(state, tokens (B,))`` → ``(log_probs (B, V), state)``, the state
    ``(B, 1)`` counting the symbols read. ``next_ids(tokens, count)`` says which
    symbol comes next; every other symbol gets a log-probability near -30."""

    description = ""

    def next_ids(self, tokens, count):
        raise NotImplementedError

    def step(self, state, tokens):
        count = tokens.new_zeros(len(tokens), 1) if state is None else state
        count = count + 1
        scores = torch.full((len(tokens), VOCAB_SIZE), -30.0, dtype=torch.float64)
        scores.scatter_(1, self.next_ids(tokens, count)[:, None], 0.0)
        return torch.log_softmax(scores, dim=1), count

    def __repr__(self):
        return self.description


class _Chain(_Scripted):
    """Memoryless: the symbol after each one of ``text`` is fixed (the text's next
    letter, EOS after the last, the first letter after EOS)."""

    def __init__(self, text):
        super().__init__()
        ids = [EOS_ID, *string2code(text).tolist(), EOS_ID]
        table = torch.full((VOCAB_SIZE,), EOS_ID, dtype=torch.long)
        for a, b in zip(ids[:-1], ids[1:], strict=True):
            table[a] = b
        self.table = table
        self.description = f"a model that writes {text!r} after EOS, then EOS"

    def next_ids(self, tokens, count):
        return self.table[tokens]


class _Successor(_Scripted):
    """Memoryless and never ends: the symbol after id ``t`` is the next character
    (``a`` after EOS, ``b`` after ``a`` ...)."""

    description = "a model that writes the next letter of the alphabet, never EOS"

    def next_ids(self, tokens, count):
        return 2 + (tokens - 1) % (VOCAB_SIZE - 2)


class _Always(_Scripted):
    """Memoryless and never ends: always the same character, whatever it read."""

    def __init__(self, letter):
        super().__init__()
        self.id = int(string2code(letter)[0])
        self.description = f"a model that always writes {letter!r}, never EOS"

    def next_ids(self, tokens, count):
        return torch.full_like(tokens, self.id)


class _Counter(_Scripted):
    """Reads nothing but its state: after ``k`` symbols read (EOS first), writes the
    ``k``-th symbol of ``text`` + EOS; EOS after that."""

    def __init__(self, text):
        super().__init__()
        self.script = torch.tensor([*string2code(text).tolist(), EOS_ID])
        self.description = (
            f"a model that counts the symbols it has read (its state) and writes "
            f"{text!r}, then EOS"
        )

    def next_ids(self, tokens, count):
        index = (count[:, 0] - 1).clamp(0, len(self.script) - 1)
        return self.script[index]


class _TinyRNN(nn.Module):
    """A small random recurrent language model in float64, with the interface of
    ``CharLM.step``; its state is ``(h (B, H), count (B, 1))``, and ``EOS`` becomes
    likely after about ``eos_after`` symbols. It never gives ``PAD`` any
    probability."""

    def __init__(self, seed, hidden=8, eos_after=12):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        H, V = hidden, VOCAB_SIZE
        self.register_buffer("embed", torch.randn(V, H, generator=g).double())
        W = torch.randn(H, H, generator=g).double() / math.sqrt(H)
        self.register_buffer("W", W)
        self.register_buffer("out", 1.5 * torch.randn(V, H, generator=g).double())
        self.hidden, self.eos_after, self.seed = hidden, eos_after, seed

    def step(self, state, tokens):
        if state is None:
            h = torch.zeros(len(tokens), self.hidden, dtype=torch.float64)
            count = torch.zeros(len(tokens), 1, dtype=torch.float64)
        else:
            h, count = state
        h = torch.tanh(self.embed[tokens] + h @ self.W.T)
        count = count + 1
        scores = h @ self.out.T
        scores[:, EOS_ID] += 0.5 * (count[:, 0] - self.eos_after)
        scores[:, PAD_ID] = -math.inf
        return torch.log_softmax(scores, dim=1), (h, count)

    def __repr__(self):
        return f"a small random recurrent model (seed {self.seed})"


def _generated(candidate, model, n, start="", maxlen=20, **options):
    """``candidate(model, n, EOS_ID, start, maxlen, **options)``, checked to be a list
    of ``n`` strings; returns it and the case's description."""
    flags = "".join(f", {k}={v!r}" for k, v in options.items() if k != "generator")
    case = f"{model!r}, n={n}, start={start!r}, maxlen={maxlen}{flags}"
    got = candidate(model, n, EOS_ID, start, maxlen, **options)
    ok = isinstance(got, list | tuple) and len(got) == n
    if not (ok and all(isinstance(text, str) for text in got)):
        kind = f"{type(got).__name__} of length {len(got)}" if ok else repr(got)[:60]
        raise Failure(case, f"a list of {n} strings", kind)
    return case, list(got)


def _expect_texts(case, got, want, hint=""):
    if got != want:
        k = next(i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b)
        raise Failure(case, f"texts[{k}] = {want[k]!r}", repr(got[k]), hint)


def _sampler(seed=0):
    return torch.Generator().manual_seed(seed)


def _gen_stops_at_eos(candidate):
    hint = "stop at the first EOS, and leave it out of the text"
    for argmax in (True, False):
        options = {"argmax": argmax, "generator": _sampler()}
        case, got = _generated(candidate, _Chain("world"), 3, "", 20, **options)
        _expect_texts(case, got, ["world"] * 3, hint)


def _gen_stops_at_maxlen(candidate):
    model = _Always("z")
    hint = "maxlen counts the characters generated after the prompt"
    for start, maxlen in (("", 7), ("Hi", 4), ("Hi", 0)):
        case, got = _generated(candidate, model, 2, start, maxlen, argmax=True)
        want = generate_many(model, 2, EOS_ID, start, maxlen, argmax=True)
        _expect_texts(case, got, want, hint)


def _gen_reads_the_prompt(candidate):
    hint = (
        "feed EOS first (the start of a sentence), then each character of start, "
        "and begin with the distribution that follows the last one"
    )
    for model, start in ((_Chain("lamp"), "la"), (_Counter("hello"), "he")):
        case, got = _generated(candidate, model, 2, start, 10, argmax=True)
        want = generate_many(model, 2, EOS_ID, start, 10, argmax=True)
        _expect_texts(case, got, want, hint)


def _gen_carries_the_state(candidate):
    hint = "give step the state it returned at the previous step"
    case, got = _generated(candidate, _Counter("hello"), 2, "", 12, argmax=True)
    _expect_texts(case, got, ["hello"] * 2, hint)


def _gen_greedy(candidate, seeds=(0, 1), starts=("", "The "), maxlen=25):
    hint = "argmax=True: the most probable symbol at each step"
    for seed in seeds:
        model = _TinyRNN(seed)
        for start in starts:
            case, got = _generated(candidate, model, 2, start, maxlen, argmax=True)
            want = generate_many(model, 2, EOS_ID, start, maxlen, argmax=True)
            _expect_texts(case, got, want, hint)


GENERATE = Exercise(
    label="sent-generate",
    name="generate_many",
    reference="companion.generation.generate_many",
    question="TP4 Q3",
    points=2,
    properties=[
        Property("n texts that stop at EOS, left out", _gen_stops_at_eos),
        Property(
            "at most maxlen characters when EOS never comes", _gen_stops_at_maxlen
        ),
        Property("EOS, then the prompt, are read first", _gen_reads_the_prompt),
        Property("the state is carried from step to step", _gen_carries_the_state),
        Property("greedy decoding equals the chapter's", _gen_greedy),
    ],
)

EXERCISES = [PAD_COLLATE, MASKED_CROSS_ENTROPY, GENERATE]
