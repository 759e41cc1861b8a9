"""Tests of the Tiny Recursive Model: shapes, where gradients flow, halting, depth."""

import pytest
import torch

from companion.training import count_parameters
from companion.trm import (
    TRM,
    MixerBlock,
    OnePass,
    SingleStateTRM,
    blocks_applied,
    tiny_net,
)

L, B, D, V, C = 6, 5, 8, 4, 3


def model(**kwargs) -> TRM:
    torch.manual_seed(0)
    return TRM(V, L, C, dim=D, **kwargs)


def tokens() -> torch.Tensor:
    return torch.randint(V, (L, B))


def test_mixer_block_and_net_keep_the_shape_and_mix_positions():
    block = MixerBlock(L, D)
    u = torch.randn(L, B, D)
    assert block(u).shape == (L, B, D)
    v = u.clone()
    v[0] += 1.0  # changing one position changes the others through the position MLP
    assert not torch.allclose(block(u)[1:], block(v)[1:])
    assert len(tiny_net(L, D, n_layers=3)) == 3


def test_forward_shapes_and_detached_state():
    trm = model()
    logits, halt, state = trm(tokens())
    assert logits.shape == (L, B, C) and halt.shape == (B,)
    assert logits.requires_grad and halt.requires_grad
    for s in state:
        assert s.shape == (L, B, D)
        assert not s.requires_grad and s.grad_fn is None


def recursion_calls(trm):
    """Run deep recursion from fresh (y0, z0) that require grad, and back-propagate.

    Returns whether grad mode was on at each network call, and (y0, z0) to inspect
    .grad."""
    calls = []
    hook = trm.net.register_forward_hook(
        lambda *_: calls.append(torch.is_grad_enabled())
    )
    y0 = torch.randn(L, B, D, requires_grad=True)
    z0 = torch.randn(L, B, D, requires_grad=True)
    y, _ = trm.deep_recursion(trm.embed(tokens()), y0, z0)
    y.sum().backward()
    hook.remove()
    return calls, y0, z0


def test_no_gradient_flows_through_the_first_T_minus_1_rounds():
    for T in (1, 3):
        calls, y0, z0 = recursion_calls(model(n=2, T=T))
        # n + 1 network calls per round; only the last round records a graph
        assert calls == [False] * (T - 1) * 3 + [True] * 3
        if T == 1:
            assert y0.grad is not None and z0.grad is not None
        else:
            assert y0.grad is None and z0.grad is None


def test_full_backprop_records_a_graph_in_every_round():
    trm = model(n=2, T=3, full_backprop=True)
    calls, y0, z0 = recursion_calls(trm)
    assert calls == [True] * 9
    assert y0.grad is not None and z0.grad is not None
    with torch.no_grad():  # an outer no_grad still wins
        assert not trm.deep_recursion(trm.embed(tokens()), y0, z0)[0].requires_grad


def test_effective_depth_counts_the_blocks_applied():
    for n, T, layers in ((2, 2, 2), (1, 3, 1), (6, 3, 2)):
        trm = TRM(V, L, C, dim=D, n=n, T=T, n_layers=layers)
        assert blocks_applied(trm) == trm.effective_depth == T * (n + 1) * layers
        assert (
            blocks_applied(SingleStateTRM(V, L, C, dim=D, n=n, T=T)) == T * (n + 1) * 2
        )
        assert not trm.net[0]._forward_hooks, "the counting hooks are removed"
    assert blocks_applied(OnePass(V, L, C, dim=D, n_layers=3)) == 3


def test_blocks_applied_counts_by_hooks_not_by_formula():
    class Shallow(TRM):  # a variant whose recursion skips the answer update
        def latent_recursion(self, x, y, z):
            for _ in range(self.n):
                z = self.net(x + y + z)
            return y, z

    shallow = Shallow(V, L, C, dim=D, n=2, T=2)
    assert blocks_applied(shallow) == 2 * 2 * 2 < shallow.effective_depth


def test_single_state_variant_keeps_parameters_depth_and_gradient_window():
    torch.manual_seed(0)
    single = SingleStateTRM(V, L, C, dim=D, n=2, T=3)
    assert count_parameters(single) == count_parameters(model(n=2, T=3))
    calls, y0, z0 = recursion_calls(single)
    assert calls == [False] * 6 + [True] * 3  # n + 1 calls per round, as in TRM
    assert y0.grad is None and z0.grad is None
    x, z = single.embed(tokens()), torch.randn(L, B, D)
    by_hand = z
    for _ in range(3):
        by_hand = single.net(x + by_hand)
    y_out, z_out = single.latent_recursion(x, torch.randn(L, B, D), z)
    assert torch.equal(y_out, by_hand) and torch.equal(z_out, by_hand)  # y is ignored
    _, _, (y, z) = single(tokens())
    assert torch.equal(y, z) and not y.requires_grad


def test_state_is_detached_between_supervision_steps():
    trm = model(T=1)  # with T = 1 gradient would reach the input state if not detached
    y0 = torch.randn(L, B, D, requires_grad=True)
    z0 = torch.randn(L, B, D, requires_grad=True)
    x = tokens()
    logits1, _, state = trm(x, (y0, z0))
    logits2, _, _ = trm(x, state)
    logits2.sum().backward()
    assert y0.grad is None and z0.grad is None
    logits1.sum().backward()
    assert y0.grad is not None  # the first step itself is differentiable in its input


def test_solve_halts_early_and_matches_unroll():
    trm = model(n_sup=4)
    x = tokens()
    with torch.no_grad():
        trm.halt_head.bias.fill_(100.0)  # always confident: stop after one step
    answer, steps = trm.solve(x)
    assert (steps == 1).all()
    assert torch.equal(answer, trm.unroll(x, 1)[0][0])
    with torch.no_grad():
        trm.halt_head.bias.fill_(-100.0)  # never confident: use every step
    answer, steps = trm.solve(x, n_steps=3)
    assert (steps == 3).all()
    assert torch.equal(answer, trm.unroll(x, 3)[0][-1])
    with torch.no_grad():
        trm.halt_head.weight.zero_()
        trm.halt_head.bias.fill_(1.0)  # sigmoid(1) ≈ 0.73: halts at 0.5, not at 0.9
    assert (trm.solve(x, threshold=0.5)[1] == 1).all()
    assert (trm.solve(x, threshold=0.9)[1] == 4).all()
    with pytest.raises(ValueError, match=r"threshold to be a real number in \(0, 1\)"):
        trm.solve(x, threshold=1.0)
    with pytest.raises(TypeError, match="threshold to be a real number"):
        trm.solve(x, threshold="0.5")


def test_one_pass_baseline_has_the_same_parameters_but_the_halting_head():
    trm, base = model(), OnePass(V, L, C, dim=D)
    assert count_parameters(base) == count_parameters(trm) - (D + 1)
    assert count_parameters(trm.halt_head) == D + 1
    assert base(tokens()).shape == (L, B, C)


TRM_ = model()
YZ = torch.zeros(L, B, D)
BAD_INPUTS = [
    # constructors
    (lambda: TRM(V, L, C, n=0), ValueError, "n to be an int >= 1"),
    (lambda: TRM(V, L, C, T=True), TypeError, "T to be an int >= 1"),
    (lambda: TRM(V, L, C, full_backprop=1), TypeError, "full_backprop to be a bool"),
    (lambda: MixerBlock(L, D, expansion=0), ValueError, "expansion to be an int >= 1"),
    (lambda: MixerBlock(L, 8.0), TypeError, "dim to be an int >= 1"),
    # forward, solve
    (
        lambda: TRM_(torch.zeros(B, L, dtype=torch.long)),
        ValueError,
        rf"tokens of shape \({L}, B\)",
    ),
    (lambda: TRM_(torch.zeros(L, B)), TypeError, "integer dtype"),
    (lambda: TRM_(tokens().numpy()), TypeError, "torch.as_tensor"),
    (lambda: TRM_(torch.full((L, B), V)), ValueError, rf"ids in \[0, {V}\)"),
    (
        lambda: TRM_(tokens(), (torch.zeros(L, B + 1, D), YZ)),
        ValueError,
        rf"y of shape \({L}, B, {D}\) with B={B}",
    ),
    (
        lambda: TRM_(tokens(), (YZ, torch.zeros(L, B - 1, D))),
        ValueError,
        rf"z of shape \({L}, B, {D}\) with B={B}",
    ),
    (
        lambda: TRM_(tokens(), (YZ.double(), YZ)),
        TypeError,
        "torch.float32.*torch.float64",
    ),
    (lambda: TRM_.solve(tokens(), n_steps=0), ValueError, "n_steps to be an int >= 1"),
    (
        lambda: TRM_.solve(tokens(), threshold=0.0),
        ValueError,
        r"threshold to be a real number in \(0, 1\)",
    ),
    (
        lambda: TRM_.solve(tokens(), threshold=True),
        TypeError,
        "threshold to be a real number",
    ),
    (lambda: TRM_.unroll(tokens(), n_steps=1.0), TypeError, "n_steps to be an int"),
    (lambda: TRM_.unroll(tokens().float()), TypeError, "integer dtype"),
    (
        lambda: TRM_(tokens(), (YZ, YZ[:, :, :-1])),
        ValueError,
        rf"z of shape \({L}, B, {D}\) with B={B}",
    ),
    (lambda: TRM_(tokens(), YZ), TypeError, r"state to be \(y, z\), got Tensor"),
    (lambda: OnePass(V, L, 0), ValueError, "num_classes to be an int >= 1"),
    (lambda: TRM(V, L, C, n_sup=0), ValueError, "n_sup to be an int >= 1"),
    (lambda: tiny_net(L, D, n_layers=0), ValueError, "n_layers to be an int >= 1"),
    (lambda: blocks_applied(tiny_net(L, D)), TypeError, "model to be a TRM or OnePass"),
]


@pytest.mark.parametrize(("call", "error", "pattern"), BAD_INPUTS)
def test_bad_inputs_give_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
