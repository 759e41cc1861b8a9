"""Fixed-length generation: reads the start, feeds each character back, never PAD or EOS."""

import pytest
import torch
from torch import nn

from companion.char_generation import generate_fixed
from companion.data.text import EOS_ID, VOCAB_SIZE, code2string, string2code
from companion.rnn import RNN


@pytest.fixture
def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(VOCAB_SIZE, 8, bias=False), RNN(8, 16, VOCAB_SIZE))


def _scores_after(model, text):
    """Scores for the character following ``text``, by a full forward pass."""
    codes = string2code(text)
    x = nn.functional.one_hot(codes, VOCAB_SIZE).float()[:, None]
    with torch.no_grad():
        return model[1].decode(model(x)[-1])[0]


def test_greedy_takes_the_best_character_each_time(model):
    text = generate_fixed(model, "Ab", 6, greedy=True)
    assert text.startswith("Ab") and len(text) == 8
    for k in range(2, 8):
        scores = _scores_after(model, text[:k])
        assert string2code(text[k]).item() == int(scores[2:].argmax()) + 2


def test_greedy_never_produces_pad_or_eos(model):
    with torch.no_grad():
        model[1].decoder.bias[EOS_ID] = 100.0  # EOS would win every argmax
    text = generate_fixed(model, "x", 5, greedy=True)
    assert len(text) == 6 and all(c in code2string(torch.arange(2, VOCAB_SIZE)) for c in text)


def test_sampling_is_reproducible_and_follows_the_temperature(model):
    draw = lambda seed, **kw: generate_fixed(  # noqa: E731
        model, "The ", 40, generator=torch.Generator().manual_seed(seed), **kw)
    assert draw(0) == draw(0) and draw(0) != draw(1)
    assert len(draw(0)) == 44 and draw(0).startswith("The ")
    # A tiny temperature makes sampling greedy.
    assert draw(3, temperature=1e-4) == generate_fixed(model, "The ", 40, greedy=True)


def test_empty_start_and_zero_length(model):
    assert generate_fixed(model, "Hello", 0) == "Hello"
    assert len(generate_fixed(model, "", 7, greedy=True)) == 7


def test_validation_errors(model):
    with pytest.raises(TypeError, match=r"nn.Sequential\(embed, rnn\)"):
        generate_fixed(model[1], "a", 3)
    with pytest.raises(ValueError, match=r"nn.Linear\(97, E\)"):
        generate_fixed(nn.Sequential(nn.Linear(5, 8), model[1]), "a", 3)
    with pytest.raises(TypeError, match="recurrent layer"):
        generate_fixed(nn.Sequential(model[0], nn.Linear(8, VOCAB_SIZE)), "a", 3)
    with pytest.raises(TypeError, match="start to be a str"):
        generate_fixed(model, 3, 3)
    with pytest.raises(ValueError, match="expected length to be an int >= 0, got -1"):
        generate_fixed(model, "a", -1)
    with pytest.raises(ValueError, match="temperature > 0"):
        generate_fixed(model, "a", 3, temperature=0.0)
