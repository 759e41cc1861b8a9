import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from companion import backprop as bp

X, T = bp.XOR_INPUTS, bp.XOR_TARGETS


@pytest.fixture
def params():
    return bp.init_params(np.random.default_rng(0))


def test_forward_shapes_single_and_population(params):
    cache = bp.forward(params, X)
    assert cache["H"].shape == (4, 2) and cache["Y"].shape == (4, 1)
    population = bp.init_params(np.random.default_rng(1), population=7)
    cache = bp.forward(population, X)
    assert cache["H"].shape == (7, 4, 2) and cache["Y"].shape == (7, 4, 1)
    assert bp.squared_error(cache["Y"], T).shape == (7,)


def test_population_rows_equal_single_networks():
    population = bp.init_params(np.random.default_rng(2), population=3)
    losses, grads = bp.loss_and_gradient(population, X, T)
    for s in range(3):
        single = {k: v[s] for k, v in population.items()}
        loss, grad = bp.loss_and_gradient(single, X, T)
        assert losses[s] == pytest.approx(loss)
        for name in bp.PARAM_NAMES:
            np.testing.assert_allclose(grads[name][s], grad[name])


def test_sigmoid_is_stable_and_correct():
    z = np.array([-1000.0, -1.0, 0.0, 2.0, 1000.0])
    expected = 1 / (1 + np.exp(-np.clip(z, -700, 700)))
    np.testing.assert_allclose(bp.sigmoid(z), expected, rtol=1e-12, atol=1e-300)
    assert np.all(np.isfinite(bp.sigmoid(z)))


def test_hand_gradient_matches_finite_differences(params):
    _, hand = bp.loss_and_gradient(params, X, T)
    numeric = bp.numerical_gradient(params, X, T)
    for name in bp.PARAM_NAMES:
        np.testing.assert_allclose(hand[name], numeric[name], atol=1e-6)


def test_hand_gradient_matches_autograd_float64():
    population = bp.init_params(np.random.default_rng(3), population=10, scale=2.0)
    _, hand = bp.loss_and_gradient(population, X, T)
    auto = bp.autograd_gradient(population, X, T)
    for name in bp.PARAM_NAMES:
        torch.testing.assert_close(hand[name], auto[name], atol=1e-12, rtol=1e-9)


def test_a_wrong_gradient_would_be_caught(params):
    _, hand = bp.loss_and_gradient(params, X, T)
    numeric = bp.numerical_gradient(params, X, T)
    assert np.abs(2 * hand["W2"] - numeric["W2"]).max() > 1e-6


def test_train_solves_xor_and_decreases_loss():
    start = bp.init_params(np.random.default_rng(3))
    trained, losses = bp.train(start, X, T, lr=2.0, epochs=3000)
    assert losses.shape == (3001,)
    assert losses[-1] < losses[0] and bp.solved(trained, X, T)
    assert not np.shares_memory(trained["W1"], start["W1"])


def test_train_logs_to_writer(params):
    class Recorder:
        def __init__(self):
            self.calls = []

        def add_scalar(self, tag, value, step):
            self.calls.append((tag, value, step))

    writer = Recorder()
    _, losses = bp.train(params, X, T, lr=0.5, epochs=5, writer=writer)
    assert [c[2] for c in writer.calls] == list(range(6))
    np.testing.assert_allclose([c[1] for c in writer.calls], losses)


def test_uniform_init_is_in_unit_interval():
    p = bp.init_params(np.random.default_rng(0), population=100, kind="uniform01")
    assert all((v >= 0).all() and (v <= 1).all() for v in p.values())
    assert p["W1"].shape == (100, 2, 2)


def test_solved_detects_wrong_outputs(params):
    assert bp.solved(params, X, T) == bool(
        ((bp.forward(params, X)["Y"] > 0.5) == (T > 0.5)).all()
    )
    flipped = {k: v.copy() for k, v in params.items()}
    flipped["W2"][:] = 0.0
    flipped["b2"][:] = 10.0  # every output near 1: wrong on the two zeros of XOR
    assert not bp.solved(flipped, X, T)


POPULATION = bp.init_params(np.random.default_rng(0), population=2)


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        # init_params(rng, population, kind, scale)
        (
            lambda p: bp.init_params(np.random.default_rng(0), kind="xavier"),
            ValueError,
            "kind",
        ),
        (lambda p: bp.init_params(0), TypeError, "rng"),
        (
            lambda p: bp.init_params(np.random.default_rng(0), population=0),
            ValueError,
            "population",
        ),
        (
            lambda p: bp.init_params(np.random.default_rng(0), scale=-1.0),
            ValueError,
            "scale",
        ),
        # forward(params, X), squared_error(Y, T), solved(params, X, T)
        (lambda p: bp.forward(p, X[:, :1]), ValueError, "X"),
        (lambda p: bp.forward(p, X.astype(int)), TypeError, "X"),
        (lambda p: bp.forward({**p, "W2": np.zeros((2, 2))}, X), ValueError, "W2"),
        (lambda p: bp.forward({"W1": p["W1"]}, X), ValueError, "missing"),
        (
            lambda p: bp.forward({**p, "W1": [[1.0, 0.0], [0.0, 1.0]]}, X),
            TypeError,
            "W1",
        ),
        (lambda p: bp.squared_error(bp.forward(p, X)["Y"], T.ravel()), ValueError, "T"),
        (lambda p: bp.squared_error(np.zeros(4), T), ValueError, "Y"),
        (lambda p: bp.solved(p, X, T.ravel()), ValueError, "T"),
        # train(params, X, T, lr, epochs, writer)
        (lambda p: bp.train(p, X, T, lr=0.0, epochs=1), ValueError, "lr"),
        (lambda p: bp.train(p, X, T, lr=float("nan"), epochs=1), ValueError, "lr"),
        (lambda p: bp.train(p, X, T, lr=0.1, epochs=-1), ValueError, "epochs"),
        (lambda p: bp.train(p, X, T, lr=0.1, epochs=True), TypeError, "epochs"),
        (
            lambda p: bp.train(POPULATION, X, T, lr=0.1, epochs=1, writer=object()),
            ValueError,
            "one network",
        ),
        # numerical_gradient and plot_xor_decision take one network
        (lambda p: bp.numerical_gradient(POPULATION, X, T), ValueError, "one network"),
        (lambda p: bp.plot_xor_decision(POPULATION, X, T), ValueError, "one network"),
        (lambda p: bp.plot_xor_decision(p, X, T.ravel()), ValueError, "T"),
        (
            lambda p: bp.plot_xor_decision(p, X, T, legend="inside"),
            ValueError,
            "legend",
        ),
        # a step of 0 divides by 0; a one-row target would broadcast silently
        (lambda p: bp.numerical_gradient(p, X, T, eps=0.0), ValueError, "eps"),
        (
            lambda p: bp.backward(p, bp.forward(p, X), T[:1]),
            ValueError,
            r"T of shape \(N, 1\) with N=4, got \(1, 1\)",
        ),
        (
            lambda p: bp.init_params(np.random.default_rng(0), population=True),
            TypeError,
            "population",
        ),
        (lambda p: bp.autograd_gradient(p, X, T[:3]), ValueError, "T"),
        (
            lambda p: bp.loss_and_gradient(p, X.astype(np.float32).tolist(), T),
            TypeError,
            "X",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(params, call, error, name):
    with pytest.raises(error, match=name):
        call(params)


def test_decision_plot_draws_regions_lines_and_points(params):
    fig, ax = plt.subplots()
    bp.plot_xor_decision(params, bp.XOR_INPUTS, bp.XOR_TARGETS, ax=ax, title="t")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["hidden unit 1", "hidden unit 2"]
    assert len(ax.collections) >= 3  # filled regions, boundary, two scatters
    assert ax.get_title() == "t"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"output > 0.5", "output < 0.5", "target 1", "target 0"} <= set(legend)
    plt.close(fig)


@pytest.mark.parametrize("legend", ["right", "below"])
def test_decision_plot_legend_hides_no_point(params, legend):
    fig, ax = plt.subplots(layout="constrained")
    bp.plot_xor_decision(params, bp.XOR_INPUTS, bp.XOR_TARGETS, ax=ax, legend=legend)
    fig.canvas.draw()
    (box,) = [lg.get_window_extent() for lg in [ax.get_legend(), *fig.legends] if lg]
    assert not box.overlaps(ax.get_window_extent())  # off the square, so off the data
    points = ax.transData.transform(bp.XOR_INPUTS)  # (1, 1) included
    assert not any(box.contains(*p) for p in points)
    plt.close(fig)


def test_decision_plot_without_legend(params):
    fig, ax = plt.subplots()
    bp.plot_xor_decision(params, bp.XOR_INPUTS, bp.XOR_TARGETS, ax=ax, legend=None)
    assert ax.get_legend() is None and fig.legends == []
    plt.close(fig)
