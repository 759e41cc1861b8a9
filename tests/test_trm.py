"""Tests of the Tiny Recursive Model: shapes, where gradients flow, halting,
training."""

import pytest
import torch

from companion.training import count_parameters
from companion.trm import (
    TRM,
    MixerBlock,
    OnePass,
    PuzzleBatches,
    SingleStateTRM,
    cell_loss,
    deep_supervision_step,
    exact_and_cell_accuracy,
    one_pass_loss,
    supervision_loss,
    tiny_net,
    train_trm,
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
    blocks = []
    for n, T, layers in ((2, 2, 2), (1, 3, 1), (6, 3, 2)):
        trm = TRM(V, L, C, dim=D, n=n, T=T, n_layers=layers)
        blocks.clear()
        for block in trm.net:
            block.register_forward_hook(lambda *_: blocks.append(1))
        with torch.no_grad():
            trm(tokens())
        assert trm.effective_depth == len(blocks) == T * (n + 1) * layers


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


def test_deep_supervision_step_updates_once_per_step():
    trm = model(n_sup=3)
    optimizer = torch.optim.SGD(trm.parameters(), lr=0.1)
    steps = []
    optimizer.register_step_post_hook(lambda *_: steps.append(1))
    target = torch.randint(C, (L, B))
    losses = deep_supervision_step(trm, optimizer, tokens(), target)
    assert len(losses) == 3 and len(steps) == 3
    assert all(isinstance(v, float) for v in losses)
    assert len(deep_supervision_step(trm, optimizer, tokens(), target, n_sup=1)) == 1


def test_training_learns_to_copy():
    torch.manual_seed(0)
    x = torch.randint(C, (200, L))
    trm = TRM(C, L, C, dim=16, n=1, T=1, n_sup=2)
    history = train_trm(
        trm, PuzzleBatches(x, x, 50), epochs=15, lr=1e-2, progress=False
    )
    assert history[-1] < 0.5 * history[0]
    preds, halts = trm.unroll(x.T)
    assert preds.shape == (2, L, 200) and halts.shape == (2, 200)
    exact, cells = exact_and_cell_accuracy(preds[-1], x.T)
    assert exact > 0.9 and cells > 0.95


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
    with pytest.raises(ValueError, match=r"threshold in \(0, 1\)"):
        trm.solve(x, threshold=1.0)
    with pytest.raises(TypeError, match=r"threshold to be a float"):
        trm.solve(x, threshold="0.5")


def test_one_pass_baseline_has_the_same_parameters_but_the_halting_head():
    trm, base = model(), OnePass(V, L, C, dim=D)
    assert count_parameters(base) == count_parameters(trm) - (D + 1)
    assert count_parameters(trm.halt_head) == D + 1
    assert base(tokens()).shape == (L, B, C)


def test_cell_loss_and_one_pass_loss():
    torch.manual_seed(0)
    logits, target = torch.randn(L, B, C), torch.randint(C, (L, B))
    by_hand = -torch.log_softmax(logits, -1).gather(-1, target[..., None]).mean()
    torch.testing.assert_close(cell_loss(logits, target), by_hand)
    base = OnePass(V, L, C, dim=D)
    x = tokens()
    torch.testing.assert_close(
        one_pass_loss(base, (x, target)), cell_loss(base(x), target)
    )


def test_supervision_loss_halting_target():
    target = torch.randint(C, (L, B))
    perfect = 50.0 * torch.nn.functional.one_hot(target, C).float()
    confident, unsure = torch.full((B,), 20.0), torch.full((B,), -20.0)
    assert supervision_loss(perfect, confident, target) < 1e-6
    assert supervision_loss(perfect, unsure, target) > 9.0  # 0.5 × BCE(−20, 1) ≈ 10


def test_exact_and_cell_accuracy():
    ok = torch.zeros(L, B, dtype=torch.long)
    wrong = ok.clone()
    wrong[0, :2] = 1  # two puzzles with one wrong cell each
    assert exact_and_cell_accuracy(wrong, ok) == pytest.approx(
        ((B - 2) / B, 1 - 2 / (L * B))
    )


TRM_ = model()
LOGITS, TARGET, OK = (
    torch.randn(L, B, C),
    torch.randint(C, (L, B)),
    torch.zeros(L, B).long(),
)
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
        rf"y of shape \({L}, {B}, {D}\)",
    ),
    (
        lambda: TRM_(tokens(), (YZ, torch.zeros(L, B - 1, D))),
        ValueError,
        rf"z of shape \({L}, {B}, {D}\)",
    ),
    (
        lambda: TRM_(tokens(), (YZ.double(), YZ)),
        TypeError,
        "torch.float32.*torch.float64",
    ),
    (lambda: TRM_.solve(tokens(), n_steps=0), ValueError, "n_steps to be an int >= 1"),
    # losses
    (lambda: cell_loss(LOGITS, TARGET.T), ValueError, r"target of shape \(L, B\)"),
    (lambda: cell_loss(LOGITS[0], TARGET), ValueError, r"logits of shape \(L, B, C\)"),
    (lambda: cell_loss(LOGITS, TARGET.float()), TypeError, "integer dtype"),
    (lambda: cell_loss(LOGITS, TARGET.numpy()), TypeError, "torch.as_tensor"),
    (
        lambda: supervision_loss(LOGITS, torch.zeros(B), TARGET.T),
        ValueError,
        r"target of shape \(L, B\)",
    ),
    (
        lambda: supervision_loss(LOGITS, torch.zeros(B + 1), TARGET),
        ValueError,
        r"halt_logit of shape \(B,\)",
    ),
    # data and metrics
    (
        lambda: PuzzleBatches(
            torch.zeros(4, L).long(), torch.zeros(4, L + 1).long(), 2
        ),
        ValueError,
        r"targets of shape \(N, L\)",
    ),
    (
        lambda: PuzzleBatches(
            torch.zeros(4, L).long().numpy(), torch.zeros(4, L).long(), 2
        ),
        TypeError,
        "torch.as_tensor",
    ),
    (
        lambda: exact_and_cell_accuracy(OK, torch.zeros(L, B + 1).long()),
        ValueError,
        rf"target of shape \(L, B\) with L={L}, B={B}",
    ),
    (
        lambda: exact_and_cell_accuracy(OK[0], OK[0]),
        ValueError,
        r"predictions of shape \(L, B\)",
    ),
    (
        lambda: exact_and_cell_accuracy(OK.float(), OK),
        TypeError,
        "predictions to have an integer dtype",
    ),
]


@pytest.mark.parametrize(("call", "error", "pattern"), BAD_INPUTS)
def test_bad_inputs_give_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_puzzle_batches_cover_the_data_in_L_B_layout():
    x = torch.arange(10 * L).view(10, L)
    batches = PuzzleBatches(x, x + 1, 4)
    assert len(batches) == 3
    pairs = list(batches)
    assert all(torch.equal(tgt, tok + 1) for tok, tgt in pairs)
    seen = [tok for tok, _ in pairs]
    assert [t.shape for t in seen] == [(L, 4), (L, 4), (L, 2)]
    assert sorted(torch.cat([t.T for t in seen])[:, 0].tolist()) == x[:, 0].tolist()
