import numpy as np
import pytest
import torch

from companion.data.sentences import pad_collate_fn
from companion.data.text import EOS_ID, VOCAB_SIZE, string2code
from companion.language_model import CharLM, shift_right
from companion.recurrent import GRU, LSTM
from companion.rnn import RNN
from companion.units import (
    best_unit,
    character_features,
    character_states,
    coloured_text,
    current_character_correlation,
    unit_correlations,
)

SENTENCES = ["The cat sat.", "Hi!", "A longer one, with a comma."]


@pytest.mark.parametrize("cell", [RNN, GRU, LSTM])
def test_states_equal_the_layer_forward_at_each_character(cell):
    torch.manual_seed(0)
    model = CharLM(cell(6, 10, VOCAB_SIZE))
    states = character_states(model, SENTENCES)
    assert list(states) == (["h", "C"] if cell is LSTM else ["h"])
    batch = pad_collate_fn([string2code(s) for s in SENTENCES])
    with torch.no_grad():
        hidden = model.recurrent(model.embedding(shift_right(batch)))
    for b, s in enumerate(SENTENCES):
        assert states["h"][b].shape == (len(s), 10)
        # the state after character j is the layer's output at input j + 1
        torch.testing.assert_close(states["h"][b], hidden[1 : len(s) + 1, b])


def test_lstm_cell_states_end_on_the_final_state():
    torch.manual_seed(1)
    model = CharLM(LSTM(6, 10, VOCAB_SIZE))
    inputs = torch.cat([torch.tensor([EOS_ID]), string2code(SENTENCES[2])])
    with torch.no_grad():  # EOS, then every character of the sentence
        _, (h, c) = model.recurrent(model.embedding(inputs[:, None]), return_state=True)
    states = character_states(model, [SENTENCES[2]])
    torch.testing.assert_close(states["C"][0][-1], c[0])
    torch.testing.assert_close(states["h"][0][-1], h[0])


def test_features_by_hand():
    features = character_features("ab  cd e")
    assert features["position in sentence"].tolist() == list(range(8))
    assert features["position in word"].tolist() == [1, 2, 0, 0, 1, 2, 0, 1]


def test_unit_correlations_are_pearson_and_best_unit_reads_the_sign_off():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    units = np.stack(
        [
            rng.normal(size=200),
            -3 * y + 0.1 * rng.normal(size=200),
            y + rng.normal(size=200),
        ],
        axis=1,
    )
    r = unit_correlations(torch.tensor(units), torch.tensor(y))
    expected = [np.corrcoef(units[:, k], y)[0, 1] for k in range(3)]
    np.testing.assert_allclose(r.numpy(), expected, rtol=1e-10)
    assert best_unit(torch.tensor(units), torch.tensor(y)) == 1  # r close to -1
    constant = torch.cat([torch.ones(200, 1), torch.tensor(units)], dim=1)
    assert torch.isnan(unit_correlations(constant, torch.tensor(y))[0])
    assert best_unit(constant, torch.tensor(y)) == 2


def test_current_character_correlation():
    chars = torch.tensor([2, 3, 4, 2, 3, 4, 2])
    # a function of the character: the baseline predicts it exactly
    feature = torch.tensor([0.0, 1, 5, 0, 1, 5, 0])
    assert current_character_correlation(chars, feature, chars, feature) == (
        pytest.approx(1.0)
    )
    # a character never seen in the fitting set gets the overall mean
    unseen = torch.tensor([2, 9, 4])
    r = current_character_correlation(chars, feature, unseen, torch.tensor([0, 2, 5.0]))
    prediction = np.array([0, feature.mean(), 5])
    assert r == pytest.approx(abs(np.corrcoef(prediction, [0, 2, 5])[0, 1]))


def test_coloured_text_colours_escapes_and_scales():
    out = coloured_text("a<b", torch.tensor([1.0, 0.0, -0.5]))
    assert out.count("<span") == 3 and "&lt;" in out
    assert "rgb(255, 0, 0)" in out  # the largest positive value: full red
    assert "rgb(255, 255, 255)" in out  # 0: white
    assert "rgb(128, 128, 255)" in out  # half the scale, negative: light blue
    assert "rgb(255, 128, 128)" in coloured_text("a", [1.0], vmax=2.0)
    assert "rgb(255, 255, 255)" in coloured_text("a", [0.0])  # all zeros: white


MODEL = CharLM(RNN(4, 5, VOCAB_SIZE))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: character_states(RNN(4, 5, 97), SENTENCES), TypeError, "CharLM"),
        (lambda: character_states(MODEL, "a sentence"), TypeError, "list of str"),
        (lambda: character_states(MODEL, []), ValueError, "non-empty"),
        (lambda: character_states(MODEL, ["ok", ""]), ValueError, "non-empty str"),
        (lambda: character_features(3), TypeError, "sentence to be a str"),
        (
            lambda: unit_correlations(torch.ones(5), torch.ones(5)),
            ValueError,
            r"activations of shape \(N, H\)",
        ),
        (
            lambda: unit_correlations(torch.ones(5, 2), torch.ones(4)),
            ValueError,
            "feature of shape",
        ),
        (
            lambda: unit_correlations(torch.ones(1, 2), torch.ones(1)),
            ValueError,
            "at least 2",
        ),
        (lambda: best_unit(np.ones((5, 2)), torch.ones(5)), TypeError, "torch.Tensor"),
        (
            lambda: current_character_correlation(
                torch.tensor([2, 3]), torch.ones(3), torch.tensor([2]), torch.ones(1)
            ),
            ValueError,
            "feature_fit of shape",
        ),
        (
            lambda: current_character_correlation(
                torch.tensor([2.0, 3]), torch.ones(2), torch.tensor([2]), torch.ones(1)
            ),
            TypeError,
            "integer",
        ),
        (lambda: coloured_text(["a"], [1.0]), TypeError, "text to be a str"),
        (lambda: coloured_text("ab", [1.0]), ValueError, r"values of shape \(2,\)"),
        (lambda: coloured_text("a", [float("nan")]), ValueError, "finite"),
        (lambda: coloured_text("a", [1.0], vmax=0), ValueError, "vmax"),
        (lambda: coloured_text("a", [1.0], vmax="1"), TypeError, "vmax"),
        # every correlation would be nan: no unit to choose
        (
            lambda: best_unit(torch.randn(5, 3), torch.ones(5)),
            ValueError,
            "a feature and at least one unit that vary",
        ),
        (
            lambda: best_unit(torch.ones(5, 3), torch.arange(5.0)),
            ValueError,
            "a feature and at least one unit that vary",
        ),
        (
            lambda: current_character_correlation(
                torch.tensor([2, -1]),
                torch.ones(2),
                torch.tensor([2, 3]),
                torch.ones(2),
            ),
            ValueError,
            "ids >= 0",
        ),
        (
            lambda: current_character_correlation(
                torch.tensor([2, 3]), torch.ones(2), torch.tensor([2]), torch.ones(1)
            ),
            ValueError,
            "2 evaluation characters",
        ),
    ],
)
def test_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()
