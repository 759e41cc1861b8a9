import pytest
import torch
from torch import nn

from companion.data.text import EOS_ID, LETTRE2ID, PAD_ID, VOCAB_SIZE, code2string, string2code
from companion.generation import generate, generate_many
from companion.language_model import CharLM
from companion.rnn import RNN


class ScriptedLM(nn.Module):
    """Step t (counted from the first read) puts its mass on script[t]; records what it reads."""

    def __init__(self, script, pad_bonus=False):
        super().__init__()
        self.script, self.pad_bonus, self.read = script, pad_bonus, []

    def step(self, state, tokens):
        t = 0 if state is None else state
        self.read.append(tokens.clone())
        log_probs = torch.full((tokens.shape[0], VOCAB_SIZE), -20.0)
        log_probs[:, self.script[min(t, len(self.script) - 1)]] = 0.0
        if self.pad_bonus:
            log_probs[:, PAD_ID] = 5.0
        return log_probs, t + 1


class CoinLM(nn.Module):
    """Writes 'a' with probability 3/4 and ends with probability 1/4, at every step."""

    def step(self, state, tokens):
        log_probs = torch.full((tokens.shape[0], VOCAB_SIZE), -torch.inf)
        log_probs[:, LETTRE2ID["a"]] = torch.log(torch.tensor(0.75))
        log_probs[:, EOS_ID] = torch.log(torch.tensor(0.25))
        return log_probs, None


IDS = [LETTRE2ID[c] for c in "abc"]


def test_stops_at_eos_or_maxlen():
    assert generate(ScriptedLM(IDS + [EOS_ID]), EOS_ID, greedy=True) == "abc"
    assert generate(ScriptedLM(IDS + [EOS_ID]), EOS_ID, maxlen=2, greedy=True) == "ab"
    assert generate(ScriptedLM(IDS + [EOS_ID]), EOS_ID, maxlen=0) == ""
    assert generate(ScriptedLM(IDS), EOS_ID, maxlen=7, greedy=True) == "abccccc"


def test_reads_eos_then_prompt_then_its_output():
    model = ScriptedLM([EOS_ID, EOS_ID, LETTRE2ID["z"], EOS_ID])
    assert generate(model, EOS_ID, start="hé", greedy=True) == "hez"
    read = [int(t[0]) for t in model.read]
    assert read == [EOS_ID, LETTRE2ID["h"], LETTRE2ID["e"], LETTRE2ID["z"]]


def test_never_produces_pad():
    assert generate(ScriptedLM(IDS + [EOS_ID], pad_bonus=True), EOS_ID, greedy=True) == "abc"
    assert generate(ScriptedLM(IDS + [EOS_ID], pad_bonus=True), EOS_ID) == "abc"


def test_sampling_follows_the_distribution_and_is_reproducible():
    texts = generate_many(CoinLM(), 4000, EOS_ID, maxlen=60,
                          generator=torch.Generator().manual_seed(0))
    assert set("".join(texts)) == {"a"}
    mean = sum(map(len, texts)) / len(texts)
    assert mean == pytest.approx(3.0, abs=0.25)  # geometric: 0.75 / 0.25
    again = generate_many(CoinLM(), 4000, EOS_ID, maxlen=60,
                          generator=torch.Generator().manual_seed(0))
    assert again == texts


def test_low_temperature_is_greedy():
    texts = generate_many(CoinLM(), 50, EOS_ID, maxlen=5, temperature=0.05)
    assert texts == ["aaaaa"] * 50


def test_with_char_lm_restores_training_mode():
    torch.manual_seed(0)
    model = CharLM(RNN(8, 16, VOCAB_SIZE))
    model.train()
    texts = generate_many(model, 5, EOS_ID, start="The", maxlen=30)
    assert model.training
    assert all(t.startswith("The") and len(t) <= 33 for t in texts)
    greedy = generate(model, EOS_ID, start="The", maxlen=30, greedy=True)
    assert greedy == generate(model, EOS_ID, start="The", maxlen=30, greedy=True)


def test_rejects_bad_arguments():
    with pytest.raises(TypeError, match="step"):
        generate(nn.Linear(2, 2), EOS_ID)
    with pytest.raises(ValueError, match="maxlen"):
        generate(CoinLM(), EOS_ID, maxlen=-1)
    with pytest.raises(ValueError, match="temperature > 0"):
        generate(CoinLM(), EOS_ID, temperature=0.0)
    with pytest.raises(ValueError, match="n to be an int >= 1"):
        generate_many(CoinLM(), 0, EOS_ID)
    with pytest.raises(TypeError, match="n to be an int >= 1"):
        generate_many(CoinLM(), 2.0, EOS_ID)
    with pytest.raises(TypeError, match="maxlen to be an int >= 0"):
        generate(CoinLM(), EOS_ID, maxlen=3.0)


def test_is_a_wrapper_of_the_decoders_of_chapter_6():
    """generate and companion.decoding decode the same model the same way."""
    from companion.decoding import greedy, sample

    torch.manual_seed(1)
    model = CharLM(RNN(8, 16, VOCAB_SIZE)).eval()
    start = string2code("The ")
    g = greedy(model.step, start, EOS_ID, 40, bos_id=EOS_ID)
    text = "The " + code2string([t for t in g.tokens if t != EOS_ID])
    assert generate(model, EOS_ID, start="The ", maxlen=40, greedy=True) == text
    hyps = sample(model.step, start, EOS_ID, 40, num_samples=5, temperature=0.8,
                  generator=torch.Generator().manual_seed(2), bos_id=EOS_ID)
    texts = generate_many(model, 5, EOS_ID, start="The ", maxlen=40, temperature=0.8,
                          generator=torch.Generator().manual_seed(2))
    assert texts == ["The " + code2string([t for t in h.tokens if t != EOS_ID]) for h in hyps]
