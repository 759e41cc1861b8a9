"""Chapter 3's exercises: clipping the gradients by their norm (graded), and the
checkable answers of exercises 1 (the sigmoid's bound), 3 (the angle of value clipping)
and 5 (the copy task without a clock)."""

import math

import torch
from torch import nn

from companion.workbook.runner import Exercise, Failure, Property, compare, number


def _parameters(shapes, norms, seed=0, dtype=torch.float64):
    """Parameters of the given ``shapes`` whose gradients have the given ``norms``."""
    g = torch.Generator().manual_seed(seed)
    parameters = []
    for shape, norm in zip(shapes, norms, strict=True):
        p = nn.Parameter(torch.randn(shape, generator=g, dtype=dtype))
        grad = torch.randn(shape, generator=g, dtype=dtype)
        p.grad = grad * (norm / grad.norm())
        parameters.append(p)
    return parameters


def _describe(shapes, norms, max_norm):
    joint = math.sqrt(sum(n * n for n in norms))
    tensors = ", ".join(
        f"{tuple(s)} of norm {n:g}" for s, n in zip(shapes, norms, strict=True)
    )
    return f"gradients {tensors} (joint norm {joint:.4g}), max_norm={max_norm:g}"


def _clip_case(candidate, shapes, norms, max_norm, seed=0, dtype=torch.float64):
    """Run ``candidate`` on parameters and torch's ``clip_grad_norm_`` on a copy: the
    case, the returned norms and the gradients after, both sides. The expected
    gradients are scaled by ``min(1, max_norm / ‖g‖)`` exactly (torch divides by
    ``‖g‖ + 1e-6``, which shows on tiny norms)."""
    mine, theirs = (_parameters(shapes, norms, seed, dtype) for _ in range(2))
    want = torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    factor = min(1.0, max_norm / float(want))
    grads = [p.grad * factor for p in _parameters(shapes, norms, seed, dtype)]
    got = candidate(mine, max_norm)
    case = _describe(shapes, norms, max_norm)
    return case, got, want, [p.grad for p in mine], grads


def _compare_gradients(case, got, want, hint="", atol=1e-9, rtol=1e-5):
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        compare(
            case, g, w, atol=atol, rtol=rtol, what=f"parameters[{k}].grad", hint=hint
        )


SHAPES = [(3, 4), (4,), (2, 2)]


def _clip_returns_norm(candidate):
    for norms, max_norm in (([3.0, 4.0, 12.0], 1.0), ([0.2, 0.1, 0.3], 1.0)):
        case, got, want, _, _ = _clip_case(candidate, SHAPES, norms, max_norm)
        compare(
            case,
            got,
            want,
            atol=1e-9,
            rtol=1e-6,
            what="returned norm",
            hint="return the joint norm measured before any gradient is changed",
        )


def _clip_above(candidate):
    for norms, max_norm in (([3.0, 4.0, 12.0], 1.0), ([30.0, 0.5, 2.0], 5.0)):
        case, _, _, got, want = _clip_case(candidate, SHAPES, norms, max_norm)
        _compare_gradients(
            case,
            got,
            want,
            hint="multiply every gradient, in place, by the one factor max_norm / ‖g‖: "
            "the direction is kept, only the length changes",
        )


def _clip_below(candidate):
    for norms, max_norm in (([0.2, 0.1, 0.3], 1.0), ([1.0, 2.0, 2.0], 3.5)):
        case, _, _, got, want = _clip_case(candidate, SHAPES, norms, max_norm)
        _compare_gradients(
            case,
            got,
            want,
            atol=0,
            rtol=0,
            hint="when ‖g‖ < max_norm, leave the gradients as they are",
        )


def _clip_joint(candidate):
    norms, max_norm = [0.8, 0.8, 0.8], 1.0
    case, _, _, got, want = _clip_case(candidate, SHAPES, norms, max_norm, seed=1)
    _compare_gradients(
        case + "; each tensor is below max_norm, all together are not",
        got,
        want,
        hint="‖g‖ is the norm of all the gradients taken as one vector, "
        "sqrt(Σ_k ‖g_k‖²), not one norm per tensor",
    )


def _model(seed=0, dtype=torch.float64):
    """A small network whose last layer gets no gradient, after one backward pass."""
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
        model.append(nn.Linear(2, 2))  # unused below: its .grad stays None
    model = model.to(dtype)
    x = torch.randn(5, 4, generator=g, dtype=dtype)
    (20 * model[:3](x).pow(2).sum()).backward()
    return model


def _clip_model_parameters(candidate):
    mine, theirs = _model(), _model()
    want = torch.nn.utils.clip_grad_norm_(theirs.parameters(), 1.0)
    got = candidate(mine.parameters(), 1.0)
    case = (
        "model.parameters() of Linear(4, 3), Tanh, Linear(3, 2), Linear(2, 2), the "
        f"last without gradients (joint norm {float(want):.4g}), max_norm=1"
    )
    hint = (
        "parameters may be a generator, which can be read only once (make it a list "
        "first), and a parameter may have no .grad (skip it)"
    )
    compare(case, got, want, atol=1e-9, rtol=1e-6, what="returned norm", hint=hint)
    for k, (p, q) in enumerate(
        zip(mine.parameters(), theirs.parameters(), strict=True)
    ):
        if q.grad is None:
            if p.grad is not None:
                raise Failure(case, f"parameters[{k}].grad left None", "a tensor", hint)
            continue
        compare(
            case, p.grad, q.grad, atol=1e-9, rtol=1e-5, what=f"parameters[{k}].grad"
        )


def _clip_by_hand(candidate):
    """The exercise is the clipping itself: torch's ``clip_grad_norm_`` would skip
    it."""
    used = []
    utils = torch.nn.utils
    originals = utils.clip_grad_norm_, utils.clip_grad.clip_grad_norm_

    def spy(*args, **kwargs):
        used.append(True)
        return originals[0](*args, **kwargs)

    params = [nn.Parameter(torch.zeros(3)), nn.Parameter(torch.zeros(2, 2))]
    for p in params:
        p.grad = torch.ones_like(p)
    utils.clip_grad_norm_ = utils.clip_grad.clip_grad_norm_ = spy
    try:
        candidate(params, 1.0)
    finally:
        utils.clip_grad_norm_, utils.clip_grad.clip_grad_norm_ = originals
    norm = math.sqrt(sum(p.numel() for p in params))
    for k, p in enumerate(params):
        compare(
            f"two parameters, ‖g‖ = {norm:.3g}",
            p.grad,
            torch.ones_like(p) / norm,
            what=f"parameters[{k}].grad",
        )
    if used:
        raise Failure(
            "two parameters",
            "your own norm and rescaling",
            "a call of torch.nn.utils.clip_grad_norm_",
            "compute the joint norm of the .grad tensors, then multiply them in place",
        )


CLIP_GRAD_NORM = Exercise(
    label="vanish-clip-norm",
    name="clip_grad_norm",
    reference="companion.gradients.clip_grad_norm",
    question="TP4 Q5, gradient clipping",
    points=2,
    properties=[
        Property(
            "returns the norm before clipping (torch's clip_grad_norm_)",
            _clip_returns_norm,
        ),
        Property("above max_norm: rescaled in place to max_norm", _clip_above),
        Property("below max_norm: left unchanged", _clip_below),
        Property("one norm over all the parameters, not one per tensor", _clip_joint),
        Property("written by hand, not torch's clip_grad_norm_", _clip_by_hand),
        Property(
            "model.parameters(): a generator, some without .grad",
            _clip_model_parameters,
        ),
    ],
)


# ---- checkable answers -----------------------------------------------------------


def _sigmoid_bound() -> float:
    """The largest σ_max that the chapter's argument allows: 1 / max σ'(a)."""
    a = torch.linspace(-20, 20, 400_001, dtype=torch.float64)
    s = torch.sigmoid(a)
    return float(1 / (s * (1 - s)).max())


def _value_clipping_angle(g=(10.0, 1.0), c=1.0) -> float:
    """The angle, in degrees, between ``g`` and ``g`` clamped to ``[-c, c]``."""
    g = torch.tensor(g, dtype=torch.float64)
    clipped = g.clamp(-c, c)
    cosine = g @ clipped / (g.norm() * clipped.norm())
    return math.degrees(math.acos(float(cosine)))


def _clockless_cross_entropy(T: int, n_symbols: int = 8, n_copy: int = 10) -> float:
    """The best mean cross-entropy per step (nats) on the copy task at delay ``T`` of
    a predictor that sees only the current input: no clock, no memory."""
    blank_inputs = (T - 1) + n_copy  # steps whose input is a blank, all alike
    blank_targets = T - 1  # among them, those whose target is a blank
    p_blank = blank_targets / blank_inputs
    p_symbol = n_copy / blank_inputs / n_symbols
    # symbols and the delimiter as input: the target is a blank, for certain (loss 0)
    total = -(blank_targets * math.log(p_blank) + n_copy * math.log(p_symbol))
    return total / (T + 2 * n_copy)


SIGMOID_BOUND = number(
    "vanish-ex1",
    "vanish_ex1_bound",
    "the sigmoid's bound on σ_max",
    _sigmoid_bound(),
    0.01,
    hint="the bound is 1/γ, with γ the largest value of the activation's derivative; "
    "what is it for the sigmoid?",
)

CLIPPING_ANGLE = number(
    "vanish-ex3",
    "vanish_ex3_angle",
    "the angle of value clipping, in degrees",
    _value_clipping_angle(),
    0.5,
    hint="the angle between the clipped vector and g itself (not the x-axis), in "
    "degrees",
)

CLOCKLESS_CROSS_ENTROPY = number(
    "vanish-ex5",
    "vanish_ex5_cross_entropy",
    "no clock and no memory, T = 10, nats per step",
    _clockless_cross_entropy(10),
    0.01,
    hint="without a clock, all the steps whose input is a blank look alike: predict "
    "the mixture of their targets, and average over all T + 20 steps",
)

EXERCISES = [CLIP_GRAD_NORM, SIGMOID_BOUND, CLIPPING_ANGLE, CLOCKLESS_CROSS_ENTROPY]
