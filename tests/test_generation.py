"""Tests of companion.generation: text in, text out (chapter 4's generation until EOS,
chapter 2's fixed-length generation) and the diversity metrics."""

import math

import pytest
import torch
from torch import nn

from companion.data.text import (
    EOS_ID,
    LETTRE2ID,
    PAD_ID,
    VOCAB_SIZE,
    code2string,
    string2code,
)
from companion.decoding import greedy, sample
from companion.generation import (
    distinct_n,
    generate,
    generate_fixed_length,
    generate_many,
    repetition_rate,
)
from companion.language_model import CharLM
from companion.rnn import RNN


class ScriptedLM(nn.Module):
    """Step t (counted from the first read) puts its mass on script[t]; records what it
    reads."""

    def __init__(self, script, pad_bonus=False):
        super().__init__()
        self.script, self.pad_bonus, self.read = script, pad_bonus, []

    def step(self, state, tokens):
        t = 0 if state is None else state
        self.read.append(tokens.clone())
        scores = torch.full((tokens.shape[0], VOCAB_SIZE), -20.0)
        scores[:, self.script[min(t, len(self.script) - 1)]] = 0.0
        if self.pad_bonus:
            scores[:, PAD_ID] = 5.0
        return scores.log_softmax(dim=1), t + 1


class CoinLM(nn.Module):
    """Writes 'a' with probability 3/4 and ends with probability 1/4, at every step."""

    def step(self, state, tokens):
        log_probs = torch.full((tokens.shape[0], VOCAB_SIZE), -torch.inf)
        log_probs[:, LETTRE2ID["a"]] = math.log(0.75)
        log_probs[:, EOS_ID] = math.log(0.25)
        return log_probs, None


IDS = [LETTRE2ID[c] for c in "abc"]


def test_generate_stops_at_eos_or_maxlen():
    assert generate(ScriptedLM(IDS + [EOS_ID]), EOS_ID, argmax=True) == "abc"
    assert generate(ScriptedLM(IDS + [EOS_ID]), EOS_ID, maxlen=2, argmax=True) == "ab"
    assert generate(ScriptedLM(IDS + [EOS_ID]), EOS_ID, maxlen=0) == ""
    assert generate(ScriptedLM(IDS), EOS_ID, maxlen=7, argmax=True) == "abccccc"


def test_generate_reads_eos_then_prompt_then_its_output():
    model = ScriptedLM([EOS_ID, EOS_ID, LETTRE2ID["z"], EOS_ID])
    assert generate(model, EOS_ID, start="hé", argmax=True) == "hez"
    read = [int(t[0]) for t in model.read]
    assert read == [EOS_ID, LETTRE2ID["h"], LETTRE2ID["e"], LETTRE2ID["z"]]


def test_generate_never_produces_pad():
    assert (
        generate(ScriptedLM(IDS + [EOS_ID], pad_bonus=True), EOS_ID, argmax=True)
        == "abc"
    )
    assert generate(ScriptedLM(IDS + [EOS_ID], pad_bonus=True), EOS_ID) == "abc"


def test_generated_lengths_follow_the_distribution_and_are_reproducible():
    texts = generate_many(
        CoinLM(), 4000, EOS_ID, maxlen=60, generator=torch.Generator().manual_seed(0)
    )
    assert set("".join(texts)) == {"a"}
    mean = sum(map(len, texts)) / len(texts)
    assert mean == pytest.approx(3.0, abs=0.25)  # geometric: 0.75 / 0.25
    again = generate_many(
        CoinLM(), 4000, EOS_ID, maxlen=60, generator=torch.Generator().manual_seed(0)
    )
    assert again == texts
    assert (
        generate_many(CoinLM(), 50, EOS_ID, maxlen=5, temperature=0.05)
        == ["aaaaa"] * 50
    )
    tiny = generate_many(CoinLM(), 5, EOS_ID, maxlen=5, temperature=1e-40)
    assert tiny == ["aaaaa"] * 5


def test_generate_is_a_wrapper_of_greedy_and_sample_and_restores_the_mode():
    torch.manual_seed(1)
    model = CharLM(RNN(8, 16, VOCAB_SIZE)).train()
    start = string2code("The ")
    texts = generate_many(
        model,
        5,
        EOS_ID,
        start="The ",
        maxlen=40,
        temperature=0.8,
        generator=torch.Generator().manual_seed(2),
    )
    assert model.training
    model.eval()
    g = greedy(model.step, start, EOS_ID, 40, bos_id=EOS_ID)
    text = "The " + code2string([t for t in g.tokens if t != EOS_ID])
    assert generate(model, EOS_ID, start="The ", maxlen=40, argmax=True) == text
    hyps = sample(
        model.step,
        start,
        EOS_ID,
        40,
        num_samples=5,
        temperature=0.8,
        generator=torch.Generator().manual_seed(2),
        bos_id=EOS_ID,
    )
    assert texts == [
        "The " + code2string([t for t in h.tokens if t != EOS_ID]) for h in hyps
    ]


@pytest.fixture
def one_hot_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(VOCAB_SIZE, 8, bias=False), RNN(8, 16, VOCAB_SIZE))


def test_fixed_length_greedy_takes_the_best_character_never_pad_or_eos(one_hot_model):
    model = one_hot_model
    text = generate_fixed_length(model, "Ab", 6, argmax=True)
    assert text.startswith("Ab") and len(text) == 8
    for k in range(2, 8):
        x = nn.functional.one_hot(string2code(text[:k]), VOCAB_SIZE).float()[:, None]
        with torch.no_grad():
            scores = model[1].decode(model(x)[-1])[0]
        assert string2code(text[k]).item() == int(scores[2:].argmax()) + 2
    with torch.no_grad():
        model[1].decoder.bias[EOS_ID] = 100.0  # EOS would win every argmax
    text = generate_fixed_length(model, "x", 5, argmax=True)
    assert len(text) == 6 and all(
        c in code2string(torch.arange(2, VOCAB_SIZE)) for c in text
    )


def test_fixed_length_sampling_is_reproducible_and_follows_the_temperature(
    one_hot_model,
):
    def draw(seed, **kw):
        return generate_fixed_length(
            one_hot_model,
            "The ",
            40,
            generator=torch.Generator().manual_seed(seed),
            **kw,
        )

    assert draw(0) == draw(0) and draw(0) != draw(1)
    assert len(draw(0)) == 44 and draw(0).startswith("The ")
    greedy_text = generate_fixed_length(one_hot_model, "The ", 40, argmax=True)
    assert draw(3, temperature=1e-4) == greedy_text
    assert draw(3, temperature=1e-40) == greedy_text  # the limit T -> 0, not NaN
    assert generate_fixed_length(one_hot_model, "Hello", 0) == "Hello"
    assert len(generate_fixed_length(one_hot_model, "", 7, argmax=True)) == 7


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda m: generate(nn.Linear(2, 2), EOS_ID), TypeError, "step"),
        (lambda m: generate(CoinLM(), EOS_ID, maxlen=-1), ValueError, "maxlen"),
        (lambda m: generate(CoinLM(), EOS_ID, maxlen=3.0), TypeError, "maxlen"),
        (
            lambda m: generate(CoinLM(), EOS_ID, temperature=0.0),
            ValueError,
            "temperature",
        ),
        (lambda m: generate(CoinLM(), EOS_ID, start=3), TypeError, "str"),
        (lambda m: generate(CoinLM(), VOCAB_SIZE), ValueError, "eos_id in"),
        (
            lambda m: generate(CoinLM(), 200),
            ValueError,
            r"eos_id in \[0, 97\), got 200",
        ),
        (lambda m: generate(CoinLM(), EOS_ID, pad_id=-1), ValueError, "pad_id"),
        (lambda m: generate(CoinLM, EOS_ID), TypeError, "nn.Module with a step"),
        (
            lambda m: generate(CoinLM(), EOS_ID, pad_id=EOS_ID),
            ValueError,
            "other than eos_id",
        ),
        (
            lambda m: generate_many(CoinLM(), 0, EOS_ID),
            ValueError,
            "n to be an int >= 1",
        ),
        (
            lambda m: generate_many(CoinLM(), 2.0, EOS_ID),
            TypeError,
            "n to be an int >= 1",
        ),
        (
            lambda m: generate_fixed_length(m[1], "a", 3),
            TypeError,
            r"nn.Sequential\(embed, rnn\)",
        ),
        (
            lambda m: generate_fixed_length(
                nn.Sequential(nn.Linear(5, 8), m[1]), "a", 3
            ),
            ValueError,
            r"nn.Linear\(97, E\)",
        ),
        (
            lambda m: generate_fixed_length(
                nn.Sequential(m[0], nn.Linear(8, VOCAB_SIZE)), "a", 3
            ),
            TypeError,
            "recurrent layer",
        ),
        (
            lambda m: generate_fixed_length(
                nn.Sequential(m[0], RNN(8, 16, VOCAB_SIZE - 2)), "a", 3
            ),
            ValueError,
            r"model\[1\] to score the 97 ids .*, got 95",
        ),
        (lambda m: generate_fixed_length(m, 3, 3), TypeError, "start to be a str"),
        (
            lambda m: generate_fixed_length(m, "a", -1),
            ValueError,
            "length to be an int >= 0",
        ),
        (
            lambda m: generate_fixed_length(m, "a", 3, temperature=0.0),
            ValueError,
            "temperature",
        ),
    ],
)
def test_text_generation_rejects_bad_arguments(one_hot_model, call, error, message):
    with pytest.raises(error, match=message):
        call(one_hot_model)


def test_distinct_n_and_repetition_rate():
    assert distinct_n(["abab"], 2) == 2 / 3
    assert distinct_n(["abc", "abc"], 3) == 1 / 2
    assert distinct_n(["a"], 2) == 0.0
    assert distinct_n([(1, 2), (2, 1)], 1) == 1 / 2
    assert repetition_rate("the the the ", 4) == 5 / 9
    assert repetition_rate("abcdef", 2) == 0.0
    assert repetition_rate("ab", 3) == 0.0
    assert repetition_rate((1, 1, 1), 1) == 2 / 3


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: distinct_n("abc", 2), TypeError, "list of sequences"),
        (lambda: distinct_n(["abc"], 0), ValueError, "n to be an int >= 1"),
        (lambda: repetition_rate(3, 2), TypeError, "str, list or tuple"),
        (lambda: repetition_rate("abc", 0), ValueError, "n to be an int >= 1"),
    ],
)
def test_metrics_reject_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
