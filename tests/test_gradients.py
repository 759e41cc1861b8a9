import math

import pytest
import torch

from companion.gradients import rescale_spectral_radius, spectral_radius, state_gradient_norms
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
    norms = state_gradient_norms(rnn, torch.zeros(80, 2, 3)).double()
    slope = float((norms[-1].log() - norms[40].log()) / 39)
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
