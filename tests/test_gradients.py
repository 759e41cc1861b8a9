import math

import pytest
import torch

from companion.gradients import (
    late_slope,
    rescale_spectral_radius,
    spectral_radius,
    state_gradient_norms,
    with_recurrent_matrix,
)
from companion.rnn import RNN


def test_spectral_radius_of_known_matrices():
    assert spectral_radius(torch.diag(torch.tensor([0.5, -2.0, 1.0]))) == pytest.approx(2.0)
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


def test_rescale_and_radius_validation():
    with pytest.raises(ValueError, match="non-negative radius"):
        rescale_spectral_radius(torch.eye(3), -1.0)
    with pytest.raises(ValueError, match="nilpotent"):
        rescale_spectral_radius(torch.zeros(3, 3), 1.0)
    with pytest.raises(ValueError, match=r"expected W of shape \(H, H\)"):
        spectral_radius(torch.ones(3, 4))
    with pytest.raises(TypeError, match="floating-point"):
        spectral_radius(torch.eye(3, dtype=torch.long))


def linear_regime_rnn(radius, H=10, seed=0):
    torch.manual_seed(seed)
    rnn = RNN(3, H, 2)
    with torch.no_grad():
        rnn.W_h.copy_(rescale_spectral_radius(rnn.W_h, radius))
        rnn.b_h.zero_()
    return rnn


def test_state_gradient_norms_match_matrix_powers_at_the_origin():
    """With zero input and bias the states stay at 0, tanh' = 1, and the gradient k steps
    back is exactly (W_h^T)^k applied to the last one."""
    rnn = linear_regime_rnn(0.9)
    L, B = 12, 4
    norms = state_gradient_norms(rnn, torch.zeros(L, B, 3))
    assert norms.shape == (L,)
    g_last = rnn.decoder.weight.sum(0).detach().expand(B, -1)  # ∂(sum of outputs)/∂h_T
    W = rnn.W_h.detach()
    expected = torch.stack([(g_last @ torch.linalg.matrix_power(W, k)).norm() for k in range(L)])
    torch.testing.assert_close(norms, expected, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("radius", [0.6, 1.4])
def test_linear_regime_slope_is_log_radius(radius):
    rnn = linear_regime_rnn(radius, H=16)
    norms = state_gradient_norms(rnn, torch.zeros(80, 2, 3))
    slope = late_slope(norms)
    assert slope == pytest.approx(math.log(radius), abs=0.03)


def test_spectral_norm_bounds_the_tanh_rnn():
    """‖diag(1 - h²)‖ ≤ 1, so the gradient k steps back is at most ‖W_h‖₂^k times the last."""
    torch.manual_seed(3)
    rnn = RNN(3, 12, 1)
    x = torch.randn(30, 5, 3)
    norms = state_gradient_norms(rnn, x)
    bound = norms[0] * torch.linalg.matrix_norm(rnn.W_h.detach(), 2) ** torch.arange(30)
    assert (norms <= bound * (1 + 1e-5)).all()


def test_state_gradient_norms_custom_loss_and_validation():
    rnn = linear_regime_rnn(1.0)
    norms = state_gradient_norms(rnn, torch.zeros(5, 2, 3), loss_fn=lambda h: h[:, 0].sum())
    assert norms[0] == pytest.approx(math.sqrt(2))  # ∂L/∂h_T = e_0 for each of the 2 sequences
    with pytest.raises(ValueError, match="scalar"):
        state_gradient_norms(rnn, torch.zeros(5, 2, 3), loss_fn=lambda h: h)
    with pytest.raises(ValueError, match=r"expected x of shape \(L, B, 3\)"):
        state_gradient_norms(rnn, torch.zeros(5, 3))
    with pytest.raises(TypeError, match="floating-point"):
        state_gradient_norms(rnn, torch.zeros(5, 2, 3, dtype=torch.long))


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
    with pytest.raises(ValueError, match=r"expected W of shape \(10, 10\)"):
        with_recurrent_matrix(rnn, torch.eye(4))
    with pytest.raises(TypeError, match="floating-point"):
        with_recurrent_matrix(rnn, torch.eye(10, dtype=torch.long))
    with pytest.raises(TypeError, match="companion.rnn.RNN"):
        with_recurrent_matrix(torch.nn.Linear(2, 2), W)


def test_late_slope_of_geometric_sequences():
    for rate in (0.5, 1.0, 1.3):
        norms = 3.0 * rate ** torch.arange(21, dtype=torch.float64)
        assert late_slope(norms) == pytest.approx(math.log(rate), abs=1e-9)
    # only the second half counts: a transient in the first half is ignored
    norms = torch.cat([torch.full((10,), 50.0), 0.9 ** torch.arange(10.0)])
    assert late_slope(norms) == pytest.approx(math.log(0.9), abs=1e-6)
    with pytest.raises(ValueError, match="length >= 3"):
        late_slope(torch.ones(2))
    with pytest.raises(ValueError, match="positive"):
        late_slope(torch.tensor([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match=r"expected norms of shape \(K,\)"):
        late_slope(torch.ones(3, 2))
    with pytest.raises(TypeError, match="floating-point"):
        late_slope(torch.ones(3, dtype=torch.long))
