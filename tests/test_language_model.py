import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.data.sentences import pad_collate_fn
from companion.data.text import EOS_ID, PAD_ID, VOCAB_SIZE, string2code
from companion.language_model import CharLM, bits_per_character, lm_loss, shift_right
from companion.losses import masked_cross_entropy
from companion.rnn import RNN


def _model(seed=0, D=8, H=16):
    torch.manual_seed(seed)
    return CharLM(RNN(D, H, VOCAB_SIZE))


class LSTMLayer(nn.Module):
    """A layer with the book's interface and a tuple state (h, C), built on nn.LSTM."""

    def __init__(self, input_dim, latent_dim, output_dim):
        super().__init__()
        self.input_dim, self.latent_dim, self.output_dim = input_dim, latent_dim, output_dim
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


@pytest.mark.parametrize("layer", [RNN(8, 16, VOCAB_SIZE), LSTMLayer(8, 16, VOCAB_SIZE)])
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
    batches = [pad_collate_fn([string2code("a short one"), string2code("hi")]),
               pad_collate_fn([string2code("x")])]
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
    assert abs(mean_of_means - expected) > 1e-3         # the weighting matters here


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
    with pytest.raises(ValueError, match="at least one non-PAD"):
        bits_per_character(model, [])
    with pytest.raises(ValueError, match=r"expected batch of shape \(L, B\)"):
        bits_per_character(model, [BATCH[:, 0]])
    with pytest.raises(TypeError, match="integer"):
        bits_per_character(model, [BATCH.float()])


def test_rejects_bad_inputs():
    with pytest.raises(ValueError, match=r"output_dim == vocab_size = 97, got 10"):
        CharLM(RNN(8, 16, 10))
    with pytest.raises(TypeError, match="'input_dim' attribute"):
        CharLM(nn.Linear(3, 97))
    with pytest.raises(ValueError, match="expected vocab_size to be an int >= 2, got 1"):
        CharLM(RNN(8, 16, 1), vocab_size=1)
    with pytest.raises(TypeError, match="expected vocab_size to be an int >= 2"):
        CharLM(RNN(8, 16, 97), vocab_size=97.0)
    model = _model()
    with pytest.raises(TypeError, match="integer"):
        model(BATCH.float())
    with pytest.raises(ValueError, match=r"expected tokens of shape \(L, B\)"):
        model(BATCH[:, 0])
    with pytest.raises(ValueError, match=r"ids in \[0, 97\)"):
        model(BATCH + VOCAB_SIZE)
    with pytest.raises(ValueError, match=r"expected tokens of shape \(B,\)"):
        model.step(None, BATCH)
    with pytest.raises(ValueError, match=r"expected batch of shape \(L, B\)"):
        shift_right(BATCH[:, 0])
