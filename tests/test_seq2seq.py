"""The encoder–decoder of chapter 7: BiGRU against nn.GRU, attention, masks,
decoding."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from companion.attention import Attention
from companion.data.text import EOS_ID, PAD_ID
from companion.decoding import beam_search, greedy
from companion.language_model import shift_right
from companion.seq2seq import BiGRU, Seq2Seq, reverse_padded, seq2seq_loss

V, S, B = 12, 6, 3
LENGTHS = torch.tensor([6, 2, 4])


def _source():
    """A (S, B) batch of ids in [2, V), ending with EOS then PAD, of lengths LENGTHS."""
    ids = torch.randint(2, V, (S, B), generator=torch.Generator().manual_seed(0))
    steps = torch.arange(S)[:, None]
    ids = torch.where(steps == LENGTHS - 1, EOS_ID, ids)
    return torch.where(steps < LENGTHS, ids, PAD_ID)


def _mask():
    return torch.arange(S)[:, None] < LENGTHS


def test_reverse_padded_reverses_within_lengths_and_is_an_involution():
    x = torch.arange(S)[:, None].expand(S, B)
    flipped = reverse_padded(x, LENGTHS)
    assert flipped[:, 0].tolist() == [5, 4, 3, 2, 1, 0]
    assert flipped[:, 1].tolist() == [1, 0, 2, 3, 4, 5]
    assert flipped[:, 2].tolist() == [3, 2, 1, 0, 4, 5]
    y = torch.randn(S, B, 4)
    assert torch.equal(reverse_padded(reverse_padded(y, LENGTHS), LENGTHS), y)


def test_bigru_equals_bidirectional_nn_gru_on_packed_sequences():
    torch.manual_seed(0)
    theirs = nn.GRU(5, 7, bidirectional=True).double()
    ours = BiGRU(5, 7).double().load_torch(theirs)
    x = torch.randn(S, B, 5, dtype=torch.float64, requires_grad=True)
    states, final = ours(x, LENGTHS)
    out, h_n = theirs(pack_padded_sequence(x, LENGTHS, enforce_sorted=False))
    expected, _ = pad_packed_sequence(out, total_length=S)
    assert states.shape == (S, B, 14) and final.shape == (B, 14)
    torch.testing.assert_close(states, expected)
    torch.testing.assert_close(final, torch.cat([h_n[0], h_n[1]], dim=1))
    weights = torch.randn(S, B, 14, dtype=torch.float64)
    ours_grads = torch.autograd.grad((states * weights).sum(), [x, *ours.parameters()])
    theirs_grads = torch.autograd.grad((expected * weights).sum(), [x])
    torch.testing.assert_close(ours_grads[0], theirs_grads[0])
    assert all(g is not None for g in ours_grads)


def test_bigru_has_no_unused_parameters():
    names = {name for name, _ in BiGRU(5, 7).named_parameters()}
    assert not any("decoder" in name for name in names) and len(names) == 8


@pytest.mark.parametrize("attention", [None, *Attention.SCORES])
def test_seq2seq_shapes_teacher_forcing_and_free_running_agree(attention):
    torch.manual_seed(0)
    model = Seq2Seq(V, 6, 4, 8, attention=attention)
    source = _source()
    target = torch.randint(2, V, (5, B))
    logits, weights = model(source, shift_right(target), return_weights=True)
    assert logits.shape == (5, B, V)
    assert (weights is None) == (attention is None)
    tokens, free_logits, free_weights = model.generate(source, 5)
    assert tokens.shape == (5, B) and free_logits.shape == (5, B, V)
    # fed its own argmax, teacher forcing gives back the free-running logits
    forced = model(source, shift_right(tokens))
    torch.testing.assert_close(forced, free_logits)
    if attention is not None:
        assert weights.shape == (5, S, B) and torch.all(free_weights[:, ~_mask()] == 0)
    loss = seq2seq_loss(model, (source, target))
    loss.backward()
    assert loss.item() > 0 and all(p.grad is not None for p in model.parameters())


def test_padding_does_not_change_a_sequence_output():
    torch.manual_seed(0)
    model = Seq2Seq(V, 6, 4, 8, attention="additive")
    source = _source()
    inputs = torch.randint(2, V, (4, B))
    batch = model(source, inputs)
    for b in range(B):
        alone = model(source[: LENGTHS[b], b : b + 1], inputs[:, b : b + 1])
        torch.testing.assert_close(alone[:, 0], batch[:, b])


@pytest.mark.parametrize("attention", [None, "dot"])
def test_chapter6_decoders_run_on_the_step_function(attention):
    torch.manual_seed(0)
    model = Seq2Seq(V, 6, 4, 8, attention=attention).eval()
    source = _source()[:, 0]
    step = model.step_function(source)
    empty = torch.tensor([], dtype=torch.long)
    with torch.no_grad():
        g = greedy(step, empty, EOS_ID, 7, bos_id=EOS_ID)
        tokens, logits, _ = model.generate(source[:, None], 7)
        beams = beam_search(step, empty, EOS_ID, 7, 4, bos_id=EOS_ID)
        log_probs, _ = step(None, torch.tensor([EOS_ID, EOS_ID]))
    written = tokens[:, 0].tolist()
    cut = written[: written.index(EOS_ID) + 1] if EOS_ID in written else written
    assert g.tokens == tuple(cut)
    assert g.log_prob == pytest.approx(
        float(
            logits[: len(cut), 0].log_softmax(-1).gather(1, tokens[: len(cut)]).sum()
        ),
        abs=1e-5,
    )
    assert len(beams) == 4 and beams[0].log_prob >= beams[-1].log_prob
    torch.testing.assert_close(log_probs.logsumexp(-1), torch.zeros(2))


def _model():
    return Seq2Seq(V, 6, 4, 8, attention="dot")


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: BiGRU(5, 7)(torch.zeros(S, B, 5), torch.tensor([6, 0, 4])),
            ValueError,
            "lengths",
        ),
        (
            lambda: BiGRU(5, 7)(torch.zeros(S, B, 5), torch.tensor([6.0, 2, 4])),
            TypeError,
            "integer",
        ),
        (lambda: BiGRU(5, 7)(torch.zeros(S, B, 4), LENGTHS), ValueError, "x of shape"),
        (lambda: BiGRU(5, 7).load_torch(nn.GRU(5, 7)), ValueError, "bidirectional"),
        (
            lambda: BiGRU(5, 7).load_torch(nn.LSTM(5, 7, bidirectional=True)),
            TypeError,
            "nn.GRU",
        ),
        (
            lambda: BiGRU(5, 7).load_torch(nn.GRU(5, 6, bidirectional=True)),
            ValueError,
            "hidden_size",
        ),
        (lambda: Seq2Seq(1, 6, 4, 8), ValueError, "vocab_size"),
        (
            lambda: Seq2Seq(V, 6, 4, 8, attention="dot", attention_dim=3),
            ValueError,
            "attention_dim",
        ),
        (lambda: Seq2Seq(V, 6, 4, 8, attention_dim=3), ValueError, "without attention"),
        (lambda: _model()(_source().float(), _source()), TypeError, "source"),
        (
            lambda: _model()(_source() + V, _source()),
            ValueError,
            r"source to hold ids in \[0, 12\)",
        ),
        (
            lambda: _model()(torch.zeros(S, B, dtype=torch.long), _source()),
            ValueError,
            "start with a real symbol",
        ),
        (
            lambda: _model()(_source(), torch.zeros(4, B + 1, dtype=torch.long)),
            ValueError,
            "inputs of shape",
        ),
        (lambda: _model().generate(_source(), 0), ValueError, "steps"),
        (  # the start symbol is an id of the vocabulary
            lambda: _model().generate(_source(), 3, start_id=200),
            ValueError,
            r"start_id in \[0, 12\), got 200",
        ),
        (  # a PAD inside a column: its key would be zeroed, yet attended to
            lambda: _model().encode(torch.tensor([[2, 3], [PAD_ID, 4], [5, EOS_ID]])),
            ValueError,
            "PAD only at the end",
        ),
        (
            lambda: _model()(torch.tensor([[2], [PAD_ID], [EOS_ID]]), _source()[:, :1]),
            ValueError,
            "PAD only at the end",
        ),
        (
            lambda: _model().encode(torch.zeros(0, B, dtype=torch.long)),
            ValueError,
            "source with at least one S",
        ),
        (
            lambda: _model().step_function(_source()),
            ValueError,
            r"source of shape \(S,\)",
        ),
    ],
)
def test_bad_arguments_are_rejected(call, error, message):
    with pytest.raises(error, match=message):
        call()
