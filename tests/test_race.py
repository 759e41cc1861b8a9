import pytest
import torch

from companion.data.sentences import pad_collate_fn
from companion.data.text import VOCAB_SIZE, string2code
from companion.language_model import CharLM, lm_loss
from companion.race import race
from companion.rnn import RNN

BATCHES = [pad_collate_fn([string2code("hello there"), string2code("abc")]),
           pad_collate_fn([string2code("general kenobi")])]


def _models():
    torch.manual_seed(0)
    return {"small": CharLM(RNN(4, 8, VOCAB_SIZE)), "large": CharLM(RNN(8, 64, VOCAB_SIZE))}


def test_race_spends_the_budget_and_records_curves():
    models, calls = _models(), []

    @torch.no_grad()
    def evaluate(model):
        calls.append(model)
        return float(lm_loss(model, BATCHES[0]))

    curves = race(models, BATCHES, evaluate, budget=0.05, every=0.02)
    assert set(curves) == {"small", "large"}
    for curve in curves.values():
        assert curve[0][:2] == (0.0, 0)
        seconds, steps, _ = zip(*curve, strict=True)
        assert seconds[-1] >= 0.05                        # each used its budget
        assert list(seconds) == sorted(seconds) and list(steps) == sorted(steps)
        assert steps[-1] >= 1
    assert sum(c is models["small"] for c in calls) == len(curves["small"])
    assert sum(c is models["large"] for c in calls) == len(curves["large"])


def test_race_trains():
    models = _models()

    @torch.no_grad()
    def evaluate(model):
        return float(lm_loss(model, BATCHES[0]))

    curves = race({"small": models["small"]}, BATCHES, evaluate, budget=0.3, every=0.3,
                  lr=0.05)
    assert curves["small"][-1][2] < curves["small"][0][2] - 0.5


def test_race_rejects_bad_arguments():
    models = _models()

    def evaluate(model):
        return 0.0

    with pytest.raises(TypeError, match="non-empty dict"):
        race({}, BATCHES, evaluate)
    with pytest.raises(TypeError, match=r"models\['m'\] to be an nn.Module"):
        race({"m": 3}, BATCHES, evaluate)
    with pytest.raises(ValueError, match="train_batches"):
        race(models, [], evaluate)
    with pytest.raises(TypeError, match="evaluate to be callable"):
        race(models, BATCHES, None)
    for name in ("budget", "every", "lr", "clip"):
        with pytest.raises(ValueError, match=f"expected {name} to be a positive number"):
            race(models, BATCHES, evaluate, **{name: 0})
