import math

import pytest
import torch

from companion.data.sentences import pad_collate_fn
from companion.data.text import PAD_ID, VOCAB_SIZE, string2code
from companion.language_model import CharLM, lm_loss
from companion.recurrent import LSTM
from companion.regularisation import DropoutCharLM, tie_weights
from companion.training import count_parameters

BATCH = pad_collate_fn([string2code("Hi there."), string2code("Ok!"), string2code("")])


def _pair(dropout, D=8, H=16):
    """A ``CharLM`` and a ``DropoutCharLM`` with the same weights."""
    torch.manual_seed(0)
    plain = CharLM(LSTM(D, H, VOCAB_SIZE))
    dropped = DropoutCharLM(LSTM(D, H, VOCAB_SIZE), dropout)
    dropped.load_state_dict(plain.state_dict())
    return plain, dropped


def test_dropout_model_in_eval_mode_is_the_plain_model():
    plain, dropped = _pair(0.5)
    dropped.eval()
    torch.testing.assert_close(dropped(BATCH), plain(BATCH))
    torch.testing.assert_close(lm_loss(dropped, BATCH), lm_loss(plain, BATCH))


def test_dropout_zero_trains_as_the_plain_model():
    plain, dropped = _pair(0.0)
    torch.testing.assert_close(dropped.train()(BATCH), plain.train()(BATCH))


def test_dropout_drops_the_inputs_and_the_decoded_states_in_training():
    _, dropped = _pair(0.5)
    dropped.train()
    torch.manual_seed(1)
    first = dropped(BATCH)
    torch.manual_seed(1)
    torch.testing.assert_close(dropped(BATCH), first)  # one mask per seed
    x = dropped.embedding(BATCH)
    torch.manual_seed(1)
    mask_in = dropped.dropout(torch.ones_like(x))
    states = dropped.recurrent(x * mask_in)
    mask_out = dropped.dropout(torch.ones_like(states))
    expected = dropped.recurrent.decode(states * mask_out)
    torch.testing.assert_close(first, expected)
    assert set(mask_in.unique().tolist()) == {
        0.0,
        2.0,
    }  # kept entries scaled by 1/(1-p)


def test_dropout_model_steps_like_its_forward():
    _, dropped = _pair(0.3)
    dropped.eval()
    logits = dropped(BATCH)
    state = None
    for t in range(BATCH.shape[0]):
        log_probs, state = dropped.step(state, BATCH[t])
        torch.testing.assert_close(log_probs, logits[t].log_softmax(-1))


@pytest.mark.parametrize("dropout", [-0.1, 1.0, 1.5])
def test_dropout_outside_zero_one_is_named(dropout):
    with pytest.raises(ValueError, match="expected dropout to be a real number"):
        DropoutCharLM(LSTM(8, 16, VOCAB_SIZE), dropout)


def test_tied_model_shares_one_matrix_and_saves_v_times_h_parameters():
    torch.manual_seed(0)
    untied = CharLM(LSTM(16, 16, VOCAB_SIZE))
    before = count_parameters(untied)
    tied = tie_weights(untied)
    assert tied is untied
    assert tied.recurrent.decoder.weight is tied.embedding.weight
    assert count_parameters(tied) == before - VOCAB_SIZE * 16
    weight = tied.embedding.weight
    assert weight.abs().max() <= 1 / math.sqrt(16)
    assert torch.all(weight[PAD_ID] == 0)


def test_tied_gradient_is_the_sum_of_both_uses():
    torch.manual_seed(0)
    tied = tie_weights(CharLM(LSTM(16, 16, VOCAB_SIZE)))
    untied = CharLM(LSTM(16, 16, VOCAB_SIZE))
    untied.load_state_dict(tied.state_dict())  # two copies of the shared matrix
    untied.recurrent.decoder.weight.data.copy_(tied.embedding.weight.data)
    torch.testing.assert_close(untied(BATCH), tied(BATCH))
    lm_loss(tied, BATCH).backward()
    lm_loss(untied, BATCH).backward()
    both = untied.embedding.weight.grad + untied.recurrent.decoder.weight.grad
    torch.testing.assert_close(tied.embedding.weight.grad, both)


def test_tying_needs_equal_sizes_and_a_charlm():
    with pytest.raises(ValueError, match="D = 8, H = 16"):
        tie_weights(CharLM(LSTM(8, 16, VOCAB_SIZE)))
    with pytest.raises(TypeError, match="expected model to be a CharLM"):
        tie_weights(LSTM(16, 16, VOCAB_SIZE))
