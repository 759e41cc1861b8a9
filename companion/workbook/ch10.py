"""Chapter 10's exercises: TRM's latent recursion (graded), and the checkable answer of
``trm-ex3`` (how many times the network is applied to a puzzle that never halts).

The latent recursion is a method of ``TRM``; the answer cell writes it as a function
of ``self`` (a ``TRM``, of which it uses ``self.n`` and ``self.net``), so the checks
call it on a ``TRM`` and on stand-ins whose network counts and records its calls."""

from types import SimpleNamespace

import torch
from torch import nn

from companion.trm import TRM
from companion.workbook.runner import (
    Exercise,
    Failure,
    Property,
    compare,
    number,
    sizes,
)


def trm(seq_len=4, dim=8, n=2, T=2, seed=0, dtype=torch.float64) -> TRM:
    """A small ``TRM``, its weights drawn from ``seed``."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = TRM(5, seq_len, 3, dim=dim, n=n, T=T)
    return model.to(dtype)


def states(seq_len, batch, dim, seed=0, dtype=torch.float64):
    """Random ``x, y, z``, each ``(L, B, D)``."""
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(seq_len, batch, dim, generator=g, dtype=dtype) for _ in range(3)
    ]


def reference(model, x, y, z):
    return TRM.latent_recursion(model, x, y, z)


def _describe(n, L, B, D):
    return f"n={n}, x, y, z of shape (L, B, D) with {sizes(L=L, B=B, D=D)}"


def run_case(candidate, n=2, L=4, B=3, D=8, seed=0):
    """``candidate`` and the reference on the same ``TRM`` and the same ``x, y, z``:
    the case, the model, the inputs, what came back and what should have."""
    model = trm(L, D, n, seed=seed)
    x, y, z = states(L, B, D, seed)
    copies = [t.clone() for t in (x, y, z)]
    got = candidate(model, x, y, z)
    case = _describe(n, L, B, D)
    for name, t, c in zip("xyz", (x, y, z), copies, strict=True):
        if not torch.equal(t, c):
            raise Failure(case, f"{name} left unchanged", "modified in place")
    if not isinstance(got, tuple | list) or len(got) != 2:
        kind = type(got).__name__ + (
            f" of length {len(got)}" if isinstance(got, tuple | list) else ""
        )
        raise Failure(case, "a pair (y, z)", kind, "return y, z (y first)")
    return case, model, (x, y, z), tuple(got), reference(model, *copies)


def _shapes(candidate):
    for n, L, B, D in ((2, 4, 3, 8), (1, 5, 1, 6)):
        case, _, _, got, want = run_case(candidate, n, L, B, D)
        for name, g, w in zip("yz", got, want, strict=True):
            if not isinstance(g, torch.Tensor) or g.shape != w.shape:
                shape = tuple(g.shape) if isinstance(g, torch.Tensor) else type(g)
                raise Failure(case, f"{name} of shape {tuple(w.shape)}", f"{shape}")


class Recorder(nn.Module):
    """A stand-in for the network: ``u ↦ tanh(u W)``, recording every input."""

    def __init__(self, dim: int, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        w = torch.randn(dim, dim, generator=g, dtype=torch.float64) / dim**0.5
        self.weight = nn.Parameter(w)
        self.inputs = []

    def forward(self, u):
        self.inputs.append(u.detach().clone())
        return torch.tanh(u @ self.weight)


def stand_in(n: int, dim: int, seed: int = 0):
    """A ``self`` with ``n`` and a recording network ``net``, as a ``TRM`` has."""
    return SimpleNamespace(n=n, net=Recorder(dim, seed))


def expected_inputs(net, n, x, y, z) -> list:
    """What the network should be given, call by call: ``x + y + z`` n times (z
    updated after each), then ``y + z``."""
    inputs = []
    with torch.no_grad():
        for _ in range(n):
            inputs.append(x + y + z)
            z = torch.tanh((x + y + z) @ net.weight)
        inputs.append(y + z)
    return inputs


def _calls(candidate):
    for n in (1, 2, 5):
        model = stand_in(n, 6)
        x, y, z = states(3, 2, 6, seed=n)
        candidate(model, x, y, z)
        calls = len(model.net.inputs)
        if calls != n + 1:
            raise Failure(
                _describe(n, 3, 2, 6),
                f"{n + 1} calls of self.net (n for z, one for y)",
                f"{calls}",
                "n updates of z, then one update of y, each one call of self.net",
            )


NAMES = [
    "update {k} of z, from x + y + z",
    "the update of y, from y + z with the last z",
]


def _order(candidate):
    for n in (2, 3):
        model = stand_in(n, 6, seed=1)
        x, y, z = states(3, 2, 6, seed=10 + n)
        candidate(model, x, y, z)
        want = expected_inputs(model.net, n, x, y, z)
        got = model.net.inputs
        case = _describe(n, 3, 2, 6) + ", a stand-in network u ↦ tanh(u W)"
        if len(got) != len(want):
            raise Failure(case, f"{len(want)} calls of self.net", f"{len(got)}")
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            what = NAMES[0].format(k=k + 1) if k < n else NAMES[1]
            compare(
                case + f"; call {k + 1} of self.net ({what})",
                g,
                w,
                atol=1e-12,
                rtol=1e-9,
                what="its input",
                hint="z ← net(x + y + z), n times, each with the latest z; then y ← "
                "net(y + z): y never sees x",
            )


def _values(candidate):
    for n, L, B, D, seed in ((2, 4, 3, 8, 0), (3, 6, 2, 4, 1)):
        case, _, _, got, want = run_case(candidate, n, L, B, D, seed)
        case += f", a TRM's network (seed {seed})"
        for name, g, w in zip("yz", got, want, strict=True):
            compare(case, g, w, atol=1e-10, rtol=1e-8, what=name)


def _gradients(candidate):
    n, L, B, D = 2, 4, 2, 6
    model = trm(L, D, n, seed=3)
    case = _describe(n, L, B, D) + ", loss = Σ y·a + Σ z·b for fixed random a, b"
    grads = []
    for fn in (candidate, reference):
        model.zero_grad()
        x, y, z = (t.requires_grad_() for t in states(L, B, D, seed=3))
        a, b = states(L, B, D, seed=4)[:2]
        y_new, z_new = fn(model, x, y, z)
        if not (y_new.requires_grad and z_new.requires_grad):
            raise Failure(
                case,
                "y and z that carry a gradient",
                "no graph",
                "no torch.no_grad() and no detach: the last latent recursion is the "
                "one back-propagated",
            )
        ((y_new * a).sum() + (z_new * b).sum()).backward()
        weight = model.net[0].features[0].weight.grad
        grads.append([x.grad, y.grad, z.grad, weight])
    names = ("x.grad", "y.grad", "z.grad", "net[0].features[0].weight.grad")
    for name, g, w in zip(names, *grads, strict=True):
        if g is None:
            raise Failure(case, f"a gradient {name}", "none")
        compare(case, g, w, atol=1e-10, rtol=1e-8, what=name)


LATENT_RECURSION = Exercise(
    label="trm-latent-recursion",
    name="latent_recursion",
    reference="companion.trm.TRM.latent_recursion",
    question="TRM's latent recursion",
    points=2,
    properties=[
        Property("returns (y, z), each (L, B, D); inputs unchanged", _shapes),
        Property("n + 1 calls of the network", _calls),
        Property("z from x + y + z, n times, then y from y + z", _order),
        Property("values against TRM.latent_recursion", _values),
        Property("gradients against TRM.latent_recursion", _gradients),
    ],
)


# ---- trm-ex3: counting the calls ---------------------------------------------------


def _network_calls(n=6, T=3, n_sup=16) -> int:
    """The applications of the network to a puzzle that never halts, counted by a hook
    on the network of a ``TRM`` with the paper's sizes (and a small dimension)."""
    model = TRM(5, 16, 4, dim=8, n=n, T=T, n_sup=n_sup)
    calls = []
    hook = model.net.register_forward_hook(lambda *_: calls.append(1))
    model.unroll(torch.zeros(16, 1, dtype=torch.long))
    hook.remove()
    return len(calls)


NETWORK_CALLS = number(
    "trm-ex3",
    "trm_ex3_calls",
    "network applications over 16 supervision steps",
    _network_calls(),
    0.5,
    hint="count calls of the network, not layers: n + 1 per latent recursion, T "
    "recursions per supervision step, N_sup steps",
)

EXERCISES = [LATENT_RECURSION, NETWORK_CALLS]
