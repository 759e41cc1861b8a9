"""Chapter 4's graded exercises: ``pad_collate_fn`` (TP4 Q1) and the masked
cross-entropy (TP4 Q2)."""

import torch
import torch.nn.functional as F

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
    changed = logits.clone()
    changed[target == 0] += 10 * torch.randn_like(changed[target == 0])
    compare(
        case + ", logits changed at PAD positions",
        candidate(changed, target, 0),
        got,
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
    ],
)

EXERCISES = [PAD_COLLATE, MASKED_CROSS_ENTROPY]
