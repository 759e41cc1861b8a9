import math

import pytest
import torch

from companion.gradients import (
    clip_grad_norm,
    clip_grad_value,
    late_slope,
    rescale_spectral_radius,
    spectral_radius,
    state_gradient_norms,
    with_recurrent_matrix,
)
from companion.rnn import RNN


def test_spectral_radius_of_known_matrices():
    assert spectral_radius(torch.diag(torch.tensor([0.5, -2.0, 1.0]))) == pytest.approx(
        2.0
    )
    rotation = torch.tensor([[0.0, -1.0], [1.0, 0.0]]) * 0.7  # eigenvalues ±0.7i
    assert spectral_radius(rotation) == pytest.approx(0.7)
    nilpotent = torch.tensor([[0.0, 5.0], [0.0, 0.0]])
    assert spectral_radius(nilpotent) == 0.0


def test_spectral_radius_is_limit_of_power_norms():
    torch.manual_seed(0)
    W = torch.randn(6, 6, dtype=torch.float64) / 3
    k = 200
    gelfand = torch.linalg.matrix_norm(torch.linalg.matrix_power(W, k), 2) ** (1 / k)
    assert float(gelfand) == pytest.approx(spectral_radius(W), rel=0.02)


@pytest.mark.parametrize("radius", [0.5, 1.0, 1.5])
def test_rescale_spectral_radius(radius):
    torch.manual_seed(1)
    W = torch.randn(8, 8)
    V = rescale_spectral_radius(W, radius)
    assert spectral_radius(V) == pytest.approx(radius, rel=1e-5)
    ratio = V / W
    torch.testing.assert_close(ratio, torch.full_like(W, float(ratio[0, 0])))
    assert not V.requires_grad


def linear_regime_rnn(radius, H=10, seed=0):
    torch.manual_seed(seed)
    rnn = RNN(3, H, 2)
    with torch.no_grad():
        rnn.W_h.copy_(rescale_spectral_radius(rnn.W_h, radius))
        rnn.b_h.zero_()
    return rnn


def test_state_gradient_norms_match_matrix_powers_at_the_origin():
    """With zero input and bias the states stay at 0, tanh' = 1, and the gradient k
    steps back is exactly (W_h^T)^k applied to the last one."""
    rnn = linear_regime_rnn(0.9)
    L, B = 12, 4
    norms = state_gradient_norms(rnn, torch.zeros(L, B, 3))
    assert norms.shape == (L,)
    g_last = rnn.decoder.weight.sum(0).detach().expand(B, -1)  # ∂(sum of outputs)/∂h_T
    W = rnn.W_h.detach()
    expected = torch.stack(
        [(g_last @ torch.linalg.matrix_power(W, k)).norm() for k in range(L)]
    )
    torch.testing.assert_close(norms, expected, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("radius", [0.6, 1.4])
def test_linear_regime_slope_is_log_radius(radius):
    rnn = linear_regime_rnn(radius, H=16)
    norms = state_gradient_norms(rnn, torch.zeros(80, 2, 3))
    slope = late_slope(norms)
    assert slope == pytest.approx(math.log(radius), abs=0.03)


def test_spectral_norm_bounds_the_tanh_rnn():
    """‖diag(1 - h²)‖ ≤ 1, so the gradient k steps back is at most ‖W_h‖₂^k times the
    last."""
    torch.manual_seed(3)
    rnn = RNN(3, 12, 1)
    x = torch.randn(30, 5, 3)
    norms = state_gradient_norms(rnn, x)
    bound = norms[0] * torch.linalg.matrix_norm(rnn.W_h.detach(), 2) ** torch.arange(30)
    assert (norms <= bound * (1 + 1e-5)).all()


def test_state_gradient_norms_custom_loss():
    rnn = linear_regime_rnn(1.0)
    norms = state_gradient_norms(
        rnn, torch.zeros(5, 2, 3), loss_fn=lambda h: h[:, 0].sum()
    )
    assert norms[0] == pytest.approx(
        math.sqrt(2)
    )  # ∂L/∂h_T = e_0 for each of the 2 sequences


def test_state_gradient_norms_leaves_parameter_grads_alone():
    rnn = linear_regime_rnn(0.9)
    state_gradient_norms(rnn, torch.randn(6, 2, 3))
    assert all(p.grad is None for p in rnn.parameters())


def test_with_recurrent_matrix_copies_and_replaces():
    rnn = linear_regime_rnn(0.9)
    before = {k: v.clone() for k, v in rnn.state_dict().items()}
    W = torch.eye(10) * 0.5
    model = with_recurrent_matrix(rnn, W, zero_bias=True)
    torch.testing.assert_close(model.W_h.detach(), W)
    assert float(model.b_h.detach().abs().max()) == 0.0
    torch.testing.assert_close(model.W_i.detach(), rnn.W_i.detach())
    for k, v in rnn.state_dict().items():  # the original is unchanged
        torch.testing.assert_close(v, before[k])
    torch.manual_seed(0)
    rnn = RNN(3, 10, 2)
    kept = with_recurrent_matrix(rnn, W)
    torch.testing.assert_close(kept.b_h.detach(), rnn.b_h.detach())


def test_late_slope_of_geometric_sequences():
    for rate in (0.5, 1.0, 1.3):
        norms = 3.0 * rate ** torch.arange(21, dtype=torch.float64)
        assert late_slope(norms) == pytest.approx(math.log(rate), abs=1e-9)
    # only the second half counts: a transient in the first half is ignored
    norms = torch.cat([torch.full((10,), 50.0), 0.9 ** torch.arange(10.0)])
    assert late_slope(norms) == pytest.approx(math.log(0.9), abs=1e-6)


def model_with_grads(seed=0, scale=10.0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)
    )
    (model(torch.randn(7, 4)) * scale).pow(2).sum().backward()
    return model


def grads(model):
    return [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e6])
def test_clip_grad_norm_equals_torch(max_norm):
    ours, ref = model_with_grads(), model_with_grads()
    n_ours = clip_grad_norm(ours.parameters(), max_norm)
    n_ref = torch.nn.utils.clip_grad_norm_(ref.parameters(), max_norm)
    torch.testing.assert_close(n_ours, n_ref)
    for a, b in zip(grads(ours), grads(ref), strict=True):
        torch.testing.assert_close(a, b)


def test_clip_grad_norm_keeps_direction_and_sets_norm():
    model = model_with_grads()
    before = torch.cat([g.flatten() for g in grads(model)])
    norm = clip_grad_norm(model.parameters(), 0.5)
    after = torch.cat([g.flatten() for g in grads(model)])
    torch.testing.assert_close(norm, before.norm())
    torch.testing.assert_close(after.norm(), torch.tensor(0.5))
    torch.testing.assert_close(after, before * (0.5 / before.norm()))


def test_clip_grad_norm_leaves_small_gradients_alone():
    model = model_with_grads(scale=1e-3)
    before = grads(model)
    clip_grad_norm(model.parameters(), 100.0)
    for a, b in zip(before, grads(model), strict=True):
        assert torch.equal(a, b)


def test_clip_grad_norm_single_tensor_and_no_grad():
    w = torch.zeros(3, requires_grad=True)
    assert float(clip_grad_norm(w, 1.0)) == 0.0
    w.grad = torch.tensor([3.0, 0.0, 4.0])
    assert float(clip_grad_norm(w, 1.0)) == pytest.approx(5.0)
    torch.testing.assert_close(w.grad, torch.tensor([0.6, 0.0, 0.8]))


@pytest.mark.parametrize("clip_value", [0.01, 0.5])
def test_clip_grad_value_equals_torch(clip_value):
    ours, ref = model_with_grads(1), model_with_grads(1)
    clip_grad_value(ours.parameters(), clip_value)
    torch.nn.utils.clip_grad_value_(ref.parameters(), clip_value)
    for a, b in zip(grads(ours), grads(ref), strict=True):
        torch.testing.assert_close(a, b)
        assert a.abs().max() <= clip_value


def test_clip_grad_value_turns_the_direction():
    w = torch.zeros(2, requires_grad=True)
    w.grad = torch.tensor([10.0, 1.0])
    clip_grad_value(w, 1.0)
    torch.testing.assert_close(w.grad, torch.tensor([1.0, 1.0]))  # 45°, was about 6°


@pytest.mark.parametrize("bad", [float("inf"), float("nan")])
def test_clip_grad_norm_refuses_non_finite_gradients(bad):
    """Rescaling by θ / ‖g‖ = 0 would turn an infinite coordinate into NaN: raise
    instead, and leave the gradients as they were."""
    w = torch.zeros(3, requires_grad=True)
    w.grad = torch.tensor([1.0, bad, 2.0])
    with pytest.raises(RuntimeError, match="finite"):
        clip_grad_norm(w, 1.0)
    assert w.grad[0] == 1.0 and w.grad[2] == 2.0


RNN_3_10 = RNN(3, 10, 2)
W = torch.zeros(2, requires_grad=True)
W_INF = torch.zeros(2, requires_grad=True)
W_INF.grad = torch.tensor([1.0, float("inf")])


@pytest.mark.parametrize(
    ("call", "error", "names"),
    [
        # spectral_radius(W), rescale_spectral_radius(W, radius)
        (lambda: spectral_radius(torch.ones(3, 4)), ValueError, "W"),
        (lambda: spectral_radius(torch.eye(3, dtype=torch.long)), TypeError, "W"),
        (lambda: spectral_radius([[1.0, 0.0], [0.0, 1.0]]), TypeError, "W"),
        (lambda: rescale_spectral_radius(torch.eye(3), -1.0), ValueError, "radius"),
        (lambda: rescale_spectral_radius(torch.eye(3), "1"), TypeError, "radius"),
        (
            lambda: rescale_spectral_radius(torch.zeros(3, 3), 1.0),
            ValueError,
            "nilpotent",
        ),
        # with_recurrent_matrix(rnn, W)
        (lambda: with_recurrent_matrix(RNN_3_10, torch.eye(4)), ValueError, "W"),
        (
            lambda: with_recurrent_matrix(RNN_3_10, torch.eye(10, dtype=torch.long)),
            TypeError,
            "W",
        ),
        (
            lambda: with_recurrent_matrix(torch.nn.Linear(2, 2), torch.eye(2)),
            TypeError,
            "rnn",
        ),
        # late_slope(norms)
        (lambda: late_slope(torch.ones(2)), ValueError, "norms"),
        (lambda: late_slope(torch.tensor([1.0, 0.0, 1.0])), ValueError, "norms"),
        (lambda: late_slope(torch.ones(3, 2)), ValueError, "norms"),
        (lambda: late_slope(torch.ones(3, dtype=torch.long)), TypeError, "norms"),
        (lambda: late_slope([1.0, 0.5, 0.25]), TypeError, "norms"),
        # an overflowed norm has no slope (it used to give -inf or nan)
        (lambda: late_slope(torch.tensor([1.0, math.inf, 2.0])), ValueError, "norms"),
        (lambda: late_slope(torch.tensor([1.0, 2.0, math.inf])), ValueError, "finite"),
        (lambda: late_slope(torch.tensor([1.0, math.nan, 2.0])), ValueError, "norms"),
        # state_gradient_norms(layer, x, loss_fn)
        (lambda: state_gradient_norms(RNN_3_10, torch.zeros(5, 3)), ValueError, "x"),
        (
            lambda: state_gradient_norms(
                RNN_3_10, torch.zeros(5, 2, 3, dtype=torch.long)
            ),
            TypeError,
            "x",
        ),
        (
            lambda: state_gradient_norms(RNN_3_10, torch.zeros(5, 2, 3).numpy()),
            TypeError,
            "x",
        ),
        (
            lambda: state_gradient_norms(torch.nn.Linear(3, 3), torch.zeros(5, 2, 3)),
            TypeError,
            "recurrent layer",
        ),
        (
            lambda: state_gradient_norms(
                RNN_3_10, torch.zeros(5, 2, 3), loss_fn=lambda h: h
            ),
            ValueError,
            "loss_fn",
        ),
        (
            lambda: state_gradient_norms(RNN_3_10, torch.zeros(5, 2, 3), loss_fn=3),
            TypeError,
            "loss_fn",
        ),
        (
            lambda: state_gradient_norms(
                RNN_3_10, torch.zeros(5, 2, 3), loss_fn=lambda h: 1.0
            ),
            ValueError,
            "loss_fn",
        ),
        (
            lambda: state_gradient_norms(RNN_3_10, torch.zeros(5, 2, 3).double()),
            TypeError,
            "x of dtype torch.float32",
        ),
        (
            lambda: state_gradient_norms(RNN_3_10, torch.zeros(5, 2, 4)),
            ValueError,
            r"x of shape \(L, B, 3\)",
        ),
        (
            lambda: state_gradient_norms(RNN_3_10, torch.zeros(0, 2, 3)),
            ValueError,
            "at least one time step",
        ),
        (lambda: rescale_spectral_radius(torch.eye(3), math.inf), ValueError, "radius"),
        # clip_grad_norm(parameters, max_norm), clip_grad_value(parameters, clip_value)
        *[
            (lambda bad=bad: clip_grad_norm([W], bad), error, "max_norm")
            for bad, error in (
                (0, ValueError),
                (-1.0, ValueError),
                (float("inf"), ValueError),
                ("1", TypeError),
                (True, TypeError),
            )
        ],
        *[
            (lambda bad=bad: clip_grad_value([W], bad), error, "clip_value")
            for bad, error in ((0, ValueError), (-1.0, ValueError), ("1", TypeError))
        ],
        (lambda: clip_grad_norm([1.0], 1.0), TypeError, "parameters"),
        (lambda: clip_grad_norm([W_INF], 1.0), RuntimeError, "finite"),
        (lambda: clip_grad_value([W, "w"], 1.0), TypeError, "parameters"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, names):
    with pytest.raises(error, match=names):
        call()
