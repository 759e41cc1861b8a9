import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.data.sentences import pad_collate_fn
from companion.data.text import EOS_ID, PAD_ID, VOCAB_SIZE, string2code
from companion.language_model import (
    CharLM,
    bits_per_character,
    lm_loss,
    perplexity,
    shift_right,
    target_log_probs,
)
from companion.losses import masked_cross_entropy
from companion.rnn import RNN


def _model(seed=0, D=8, H=16):
    torch.manual_seed(seed)
    return CharLM(RNN(D, H, VOCAB_SIZE))


class LSTMLayer(nn.Module):
    """A layer with the book's interface and a tuple state (h, C), built on nn.LSTM."""

    def __init__(self, input_dim, latent_dim, output_dim):
        super().__init__()
        self.input_dim, self.latent_dim, self.output_dim = (
            input_dim,
            latent_dim,
            output_dim,
        )
        self.lstm = nn.LSTM(input_dim, latent_dim)
        self.decoder = nn.Linear(latent_dim, output_dim)

    def forward(self, x, state=None, return_state=False):
        hc = None if state is None else (state[0][None], state[1][None])
        states, (h, c) = self.lstm(x, hc)
        return (states, (h[0], c[0])) if return_state else states

    def decode(self, h):
        return self.decoder(h)


BATCH = pad_collate_fn([string2code("Hi there."), string2code("Ok!"), string2code("")])


def test_forward_shape_and_composition():
    model = _model()
    logits = model(BATCH)
    assert logits.shape == (*BATCH.shape, VOCAB_SIZE)
    expected = model.recurrent.decode(model.recurrent(model.embedding(BATCH)))
    torch.testing.assert_close(logits, expected)
    logits2, final = model(BATCH, return_state=True)
    torch.testing.assert_close(logits2, logits)
    assert final.shape == (BATCH.shape[1], 16)


def test_embedding_is_one_hot_times_matrix():
    model = _model()
    one_hot = F.one_hot(BATCH, VOCAB_SIZE).float()
    torch.testing.assert_close(model.embedding(BATCH), one_hot @ model.embedding.weight)


def test_pad_row_is_zero_and_gets_no_gradient():
    model = _model()
    assert torch.all(model.embedding.weight[PAD_ID] == 0)
    model(BATCH).sum().backward()
    assert torch.all(model.embedding.weight.grad[PAD_ID] == 0)
    assert model.embedding.weight.grad[EOS_ID].abs().sum() > 0


@pytest.mark.parametrize(
    "layer", [RNN(8, 16, VOCAB_SIZE), LSTMLayer(8, 16, VOCAB_SIZE)]
)
def test_step_by_step_equals_forward(layer):
    torch.manual_seed(0)
    model = CharLM(layer)
    inputs = shift_right(BATCH)
    expected = F.log_softmax(model(inputs), dim=-1)
    state, rows = None, []
    for tokens in inputs:
        log_probs, state = model.step(state, tokens)
        rows.append(log_probs)
    torch.testing.assert_close(torch.stack(rows), expected)


def test_shift_right_starts_with_eos():
    inputs = shift_right(BATCH)
    assert torch.all(inputs[0] == EOS_ID)
    assert torch.equal(inputs[1:], BATCH[:-1])
    assert torch.all(shift_right(BATCH, start_id=5)[0] == 5)


def test_lm_loss_is_masked_cross_entropy_of_shifted_inputs():
    model = _model()
    expected = masked_cross_entropy(model(shift_right(BATCH)), BATCH, PAD_ID)
    torch.testing.assert_close(lm_loss(model, BATCH), expected)


def test_lm_loss_learns_a_batch():
    model = _model(D=16, H=32)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    first = lm_loss(model, BATCH).item()
    for _ in range(60):
        optimizer.zero_grad()
        loss = lm_loss(model, BATCH)
        loss.backward()
        optimizer.step()
    assert loss.item() < first / 3


def test_bits_per_character_weights_every_character_equally():
    model = _model()
    batches = [
        pad_collate_fn([string2code("a short one"), string2code("hi")]),
        pad_collate_fn([string2code("x")]),
    ]
    targets, log_probs = [], []
    with torch.no_grad():
        for batch in batches:
            logits = model(shift_right(batch))
            keep = batch != PAD_ID
            chosen = F.log_softmax(logits, dim=-1).gather(-1, batch[..., None])[..., 0]
            log_probs.append(chosen[keep])
            targets.append(batch[keep])
    expected = -torch.cat(log_probs).mean().item() / math.log(2)
    assert sum(t.numel() for t in targets) == 12 + 3 + 2
    assert bits_per_character(model, batches) == pytest.approx(expected, rel=1e-5)
    mean_of_means = sum(lm_loss(model, b).item() for b in batches) / 2 / math.log(2)
    assert abs(mean_of_means - expected) > 1e-3  # the weighting matters here


def test_bits_per_character_restores_mode_and_keeps_no_graph():
    model = _model()
    seen = []

    def loss_fn(m, batch):
        seen.append((m.training, torch.is_grad_enabled()))
        return lm_loss(m, batch)

    bits_per_character(model, [BATCH], loss_fn)
    assert model.training and seen == [(False, False)]
    model.eval()
    bits_per_character(model, [BATCH], loss_fn)
    assert not model.training


def test_int32_tokens_and_one_id_check_per_step(monkeypatch):
    import companion.checks as checks

    model = _model()
    torch.testing.assert_close(model(BATCH.int()), model(BATCH))
    calls, test = [], checks.Tensor.test

    def spy(spec, name, value, door):  # records every check of ids' values
        calls.extend([name] if spec.below is not None else [])
        return test(spec, name, value, door)

    monkeypatch.setattr(checks.Tensor, "test", spy)
    model.step(None, BATCH[0])
    assert calls == ["tokens"]  # the ids are read once per step, not once per layer


def test_perplexity_is_two_to_the_bits_and_uniform_gives_the_vocabulary_size():
    model = _model()
    batches = [BATCH, pad_collate_fn([string2code("x")])]
    bits = bits_per_character(model, batches)
    assert perplexity(model, batches) == pytest.approx(2**bits, rel=1e-5)
    with torch.no_grad():  # a constant decoder: every id equally likely
        model.recurrent.decoder.weight.zero_()
        model.recurrent.decoder.bias.zero_()
    assert perplexity(model, batches) == pytest.approx(VOCAB_SIZE, rel=1e-6)
    assert model.training


def test_perplexity_is_infinite_when_a_target_gets_probability_zero():
    class Certain(nn.Module):  # log-probabilities: all the mass on id 2
        def forward(self, tokens):
            log_p = torch.full((*tokens.shape, VOCAB_SIZE), -math.inf)
            log_p[..., 2] = 0.0
            return log_p

    assert perplexity(Certain(), [BATCH]) == math.inf


def test_target_log_probs_reads_the_targets_and_skips_padding():
    torch.manual_seed(1)
    scores = torch.randn(4, 2, 5)
    target = torch.tensor([[2, 3], [4, 0], [1, 0], [0, 0]])
    log_p = F.log_softmax(scores, dim=-1)
    expected = torch.stack(
        [log_p[0, 0, 2], log_p[0, 1, 3], log_p[1, 0, 4], log_p[2, 0, 1]]
    )
    torch.testing.assert_close(target_log_probs(scores, target, 0), expected)
    assert target_log_probs(scores, torch.zeros(4, 2, dtype=torch.long), 0).numel() == 0


MODEL = _model()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: CharLM(RNN(8, 16, 10)),
            ValueError,
            r"output_dim == vocab_size = 97, got 10",
        ),
        (
            lambda: CharLM(nn.Linear(3, 97)),
            TypeError,
            r"expected recurrent to be a recurrent layer .*decode.*, got Linear",
        ),
        (
            lambda: CharLM(RNN(8, 16, 1), vocab_size=1),
            ValueError,
            "expected vocab_size to be an int >= 2, got 1",
        ),
        (
            lambda: CharLM(RNN(8, 16, 97), vocab_size=97.0),
            TypeError,
            "vocab_size to be an int",
        ),
        (lambda: MODEL(BATCH.float()), TypeError, "integer"),
        (lambda: MODEL(BATCH.numpy()), TypeError, "torch.as_tensor"),
        (lambda: MODEL(BATCH[:, 0]), ValueError, r"expected tokens of shape \(L, B\)"),
        (lambda: MODEL(BATCH + VOCAB_SIZE), ValueError, r"ids in \[0, 97\)"),
        (
            lambda: MODEL.step(None, BATCH),
            ValueError,
            r"expected tokens of shape \(B,\)",
        ),
        (lambda: MODEL.step(None, BATCH[0].numpy()), TypeError, "torch.as_tensor"),
        (
            lambda: shift_right(BATCH[:, 0]),
            ValueError,
            r"expected batch of shape \(L, B\)",
        ),
        (lambda: shift_right(BATCH, start_id=-1), ValueError, "start_id"),
        (lambda: lm_loss(MODEL, BATCH.numpy()), TypeError, "torch.as_tensor"),
        (lambda: bits_per_character(MODEL, []), ValueError, "at least one non-PAD"),
        (
            lambda: bits_per_character(MODEL, [BATCH[:, 0]]),
            ValueError,
            r"expected batch of shape \(L, B\)",
        ),
        (lambda: bits_per_character(MODEL, [BATCH.float()]), TypeError, "integer"),
        (lambda: perplexity(MODEL, []), ValueError, "at least one non-PAD"),
        (lambda: perplexity(MODEL, [BATCH[:, 0]]), ValueError, r"of shape \(L, B\)"),
        (lambda: perplexity(MODEL, [BATCH.float()]), TypeError, "integer"),
        # a pad_id outside the vocabulary would count every position
        (lambda: perplexity(MODEL, [BATCH], pad_id=200), ValueError, "pad_id"),
        (lambda: bits_per_character(MODEL, [BATCH], pad_id=200), ValueError, "pad_id"),
        (
            lambda: perplexity(MODEL, [torch.cat([BATCH, BATCH[:1] + 150])]),
            ValueError,
            r"target to hold ids in \[0, 97\)",
        ),
        (lambda: perplexity("model", [BATCH]), TypeError, "model"),
        (lambda: bits_per_character(MODEL, [BATCH], loss_fn=3), TypeError, "loss_fn"),
        (lambda: MODEL.step(None, BATCH[0] + VOCAB_SIZE), ValueError, r"\[0, 97\)"),
        (lambda: MODEL(BATCH, torch.zeros(3, 15)), ValueError, r"h of shape"),
        (
            lambda: target_log_probs(torch.randn(2, 1, 5), torch.ones(2, 1).long(), 5),
            ValueError,
            "pad_id",
        ),
    ],
)
def test_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()
