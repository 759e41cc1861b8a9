"""Chapter 9's exercises: the scan's combine operator
(graded), the zero-order hold (graded), and which models generate with a state of
constant size (a checked answer).

``combine`` is checked against the composition of affine maps and against the loop,
through a Hillis–Steele scan built on the student's operator; ``zoh`` against the exact
solution of ``h' = A h + B x`` over a step, integrated finely."""

import torch

from companion.scan import sequential_scan
from companion.workbook.runner import Exercise, Failure, Property, compare

F64 = torch.float64


def _pairs(shape, n=3, seed=0, positive=False):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        a = torch.rand(shape, generator=g, dtype=F64) * 1.6 - 0.8
        b = torch.randn(shape, generator=g, dtype=F64)
        out.append((a.abs() + 0.1 if positive else a, b))
    return out


def _combined(candidate, first, second, case):
    got = candidate(first, second)
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise Failure(
            case,
            "a pair (a, b)",
            type(got).__name__,
            "return the composed step as a pair (a, b)",
        )
    return got


def _composes(candidate):
    """Applying the combined step to h equals applying first, then second."""
    for shape, seed in (((), 1), ((2, 3), 2)):
        (a1, b1), (a2, b2), (h, _) = _pairs(shape, seed=seed)
        case = f"first = (a₁, b₁), second = (a₂, b₂), shape {shape}"
        a, b = _combined(candidate, (a1, b1), (a2, b2), case)
        compare(
            case,
            torch.as_tensor(a) * h + torch.as_tensor(b),
            a2 * (a1 * h + b1) + b2,
            atol=1e-12,
            rtol=1e-12,
            what="a h + b of the combined step",
            hint="first then second is h ↦ a₂ (a₁ h + b₁) + b₂: expand it and read "
            "off the factor of h and the constant",
        )


def _order(candidate):
    """``first`` is applied first: the operator is not commutative."""
    one, two = (
        (torch.tensor(2.0, dtype=F64), torch.tensor(1.0, dtype=F64)),
        (
            torch.tensor(3.0, dtype=F64),
            torch.tensor(5.0, dtype=F64),
        ),
    )
    case = "first = (2, 1) (h ↦ 2h + 1), second = (3, 5) (h ↦ 3h + 5)"
    a, b = _combined(candidate, one, two, case)
    compare(
        case,
        torch.stack([torch.as_tensor(a), torch.as_tensor(b)]),
        torch.tensor([6.0, 8.0], dtype=F64),
        atol=1e-12,
        what="(a, b)",
        hint="h ↦ 3 (2h + 1) + 5 = 6h + 8: the second step multiplies the first's "
        "offset, not the other way round",
    )


def _associative(candidate):
    for shape, seed in (((4,), 3), ((2, 2, 3), 4)):
        x, y, z = _pairs(shape, seed=seed)
        case = f"three random steps x, y, z of shape {shape}"
        left = _combined(candidate, _combined(candidate, x, y, case), z, case)
        right = _combined(candidate, x, _combined(candidate, y, z, case), case)
        for name, u, v in zip(("a", "b"), left, right, strict=True):
            compare(
                case,
                u,
                v,
                atol=1e-12,
                rtol=1e-12,
                what=f"{name} of combine(combine(x, y), z) against combine(x, "
                "combine(y, z))",
            )


def _scan(candidate):
    """A Hillis–Steele scan built on the candidate equals the loop, L = 1 … 13."""
    for L in (1, 2, 5, 8, 13):
        g = torch.Generator().manual_seed(L)
        a = torch.rand(L, 2, 3, generator=g, dtype=F64) * 1.6 - 0.8
        b = torch.randn(L, 2, 3, generator=g, dtype=F64)
        offset = 1
        A, H = a, b
        while offset < L:
            new_a, new_b = _combined(
                candidate,
                (A[:-offset], H[:-offset]),
                (A[offset:], H[offset:]),
                f"L={L}",
            )
            A = torch.cat([A[:offset], torch.as_tensor(new_a)])
            H = torch.cat([H[:offset], torch.as_tensor(new_b)])
            offset *= 2
        compare(
            f"a, b (L={L}, B=2, D=3), the scan of Hillis and Steele on your operator",
            H,
            sequential_scan(a, b),
            atol=1e-10,
            rtol=1e-10,
            what="h",
            hint="the scan combines position t - 2^k (the earlier steps, first) "
            "with position t (second)",
        )


def _gradients(candidate):
    (a1, b1), (a2, b2) = _pairs((3,), n=2, seed=5)
    inputs = [t.clone().requires_grad_() for t in (a1, b1, a2, b2)]
    case = "loss = Σ (a + b) of the combined step, shape (3,)"
    a, b = _combined(candidate, tuple(inputs[:2]), tuple(inputs[2:]), case)
    total = torch.as_tensor(a).sum() + torch.as_tensor(b).sum()
    if not total.requires_grad:
        raise Failure(case, "a result that carries a gradient", "no graph")
    got = torch.autograd.grad(total, inputs, allow_unused=True)
    want = (a2, a2, a1 + b1, torch.ones(3, dtype=F64))
    for name, g, w in zip(("a₁", "b₁", "a₂", "b₂"), got, want, strict=True):
        if g is None:
            raise Failure(case, f"a gradient for {name}", "none")
        compare(case, g, w, atol=1e-12, what=f"the gradient of {name}")


COMBINE = Exercise(
    label="lr-combine",
    name="combine",
    reference="companion.scan.combine",
    question="the scan's combine operator",
    points=2,
    properties=[
        Property("the combined step is first, then second", _composes),
        Property("the order: (2, 1) then (3, 5) is (6, 8)", _order),
        Property("associative on random triples", _associative),
        Property("a scan on it equals the loop", _scan),
        Property("gradients through it", _gradients),
    ],
)


# ---- lr-zoh: the zero-order hold ------------------------------------------------


def _exact(A, B, delta, h, x, n=4000):
    """``h' = A h + B x`` integrated over ``delta`` by ``n`` midpoint (RK2) steps."""
    dt = delta / n
    for _ in range(n):
        mid = h + dt / 2 * (A * h + B * x)
        h = h + dt * (A * mid + B * x)
    return h


def _ssm_case(seed, shape=(3, 4)):
    g = torch.Generator().manual_seed(seed)
    A = -(torch.rand(shape, generator=g, dtype=F64) * 4 + 0.2)
    B = torch.randn(shape, generator=g, dtype=F64)
    delta = torch.rand(shape[0], 1, generator=g, dtype=F64) * 0.9 + 0.1
    h = torch.randn(shape, generator=g, dtype=F64)
    x = torch.randn(shape[0], 1, generator=g, dtype=F64)
    return A, B, delta, h, x


def _pair(candidate, A, B, delta, case):
    got = candidate(A, B, delta)
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise Failure(case, "a pair (A_bar, B_bar)", type(got).__name__)
    return [torch.as_tensor(t) for t in got]


def _zoh_exact(candidate):
    for seed in (1, 2):
        A, B, delta, h, x = _ssm_case(seed)
        case = "A (3, 4) in [-4.2, -0.2], B (3, 4), Δ (3, 1) in [0.1, 1]"
        A_bar, B_bar = _pair(candidate, A, B, delta, case)
        compare(
            case + ", x constant over the step",
            A_bar * h + B_bar * x,
            _exact(A, B, delta, h, x),
            atol=1e-7,
            rtol=1e-6,
            what="Ā h + B̄ x against h' = A h + B x integrated over Δ",
            hint="solve h' = A h + B x with x constant: h(Δ) = e^{ΔA} h(0) + "
            "∫₀^Δ e^{(Δ-s)A} ds B x",
        )


def _zoh_small_step(candidate):
    A, B, _, _, _ = _ssm_case(3)
    delta = torch.full((3, 1), 1e-4, dtype=F64)
    case = "Δ = 1e-4: a tiny step"
    A_bar, B_bar = _pair(candidate, A, B, delta, case)
    compare(case, A_bar, 1 + delta * A, atol=1e-7, what="Ā ≈ 1 + Δ A")
    compare(case, B_bar, delta * B, atol=1e-7, rtol=1e-3, what="B̄ ≈ Δ B")


def _zoh_stable(candidate):
    A, B, _, _, _ = _ssm_case(4)
    delta = torch.full((3, 1), 50.0, dtype=F64)
    case = "Δ = 50: a long step, Δ A down to -210"
    A_bar, B_bar = _pair(candidate, A, B, delta, case)
    if not bool(((A_bar >= 0) & (A_bar < 1)).all()) or not bool(
        torch.isfinite(B_bar).all()
    ):
        raise Failure(
            case,
            "0 <= Ā < 1 and a finite B̄",
            f"Ā in [{float(A_bar.min()):.3g}, {float(A_bar.max()):.3g}]",
            "exp(Δ A) of a negative Δ A never leaves [0, 1); Euler's 1 + Δ A does",
        )
    compare(case, B_bar, -B / A, atol=1e-8, what="B̄ → -B / A (the steady state)")


ZOH = Exercise(
    label="lr-zoh",
    name="zoh",
    reference="companion.ssm.zoh",
    question="the zero-order hold of a diagonal SSM",
    points=2,
    properties=[
        Property("exact for an input held over the step", _zoh_exact),
        Property("a tiny step is Euler's step", _zoh_small_step),
        Property("a long step stays stable", _zoh_stable),
    ],
)


# ---- lr-memory: which models generate with a state of constant size -------------

MODELS = ("RNN", "LSTM", "GRU", "minGRU", "minLSTM", "SSM", "Transformer")
CONSTANT = frozenset({"RNN", "LSTM", "GRU", "minGRU", "minLSTM", "SSM"})


def _memory(value):
    hint = (
        "a model's memory per token is constant when what it carries from one token "
        "to the next has a fixed shape; count what `step` returns after t tokens"
    )
    if isinstance(value, str) or not isinstance(value, set | frozenset | list | tuple):
        raise Failure("your answer", "a set of names", repr(value)[:60], hint)
    unknown = sorted(set(value) - set(MODELS))
    if unknown:
        raise Failure("your answer", f"names among {MODELS}", str(unknown), hint)
    if set(value) != CONSTANT:
        raise Failure("your answer", "another set", f"{len(set(value))} names", hint)


MEMORY = Exercise(
    "lr-memory",
    "lr_memory_models",
    "",
    "which models generate with O(1) memory per token",
    1,
    [Property("the set of models", _memory)],
    "answer",
    CONSTANT,
)

EXERCISES = [COMBINE, ZOH, MEMORY]
