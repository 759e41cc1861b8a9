import pytest
import torch

from companion.clipping import clip_grad_norm, clip_grad_value


def model_with_grads(seed=0, scale=10.0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
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


def test_clipping_validation():
    w = torch.zeros(2, requires_grad=True)
    for bad in (0, -1.0, "1", True):
        with pytest.raises(ValueError, match="positive number"):
            clip_grad_norm([w], bad)
        with pytest.raises(ValueError, match="positive number"):
            clip_grad_value([w], bad)
    with pytest.raises(TypeError, match="tensors"):
        clip_grad_norm([1.0], 1.0)
