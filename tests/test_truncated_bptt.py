import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from companion.data.text import VOCAB_SIZE
from companion.language_model import CharLM
from companion.recurrent import LSTM
from companion.rnn import RNN
from companion.truncated_bptt import (
    chunked_forward,
    detach_state,
    last_chunk_input_gradients,
    stream_batches,
    stream_losses,
    train_on_streams,
)


def _model(layer=RNN, seed=0):
    torch.manual_seed(seed)
    return CharLM(layer(8, 16, VOCAB_SIZE))


def _ids(n, seed=0):
    return torch.randint(
        2, VOCAB_SIZE, (n,), generator=torch.Generator().manual_seed(seed)
    )


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 300), streams=st.integers(1, 9), length=st.integers(1, 12))
def test_stream_batches_are_the_text_viewed_as_streams(n, streams, length):
    codes = torch.arange(n)
    if n < streams * length + 1:
        with pytest.raises(ValueError, match="at least"):
            stream_batches(codes, streams, length)
        return
    chunks = stream_batches(codes, streams, length)
    S = len(chunks) * length
    assert n - 1 - streams * S < streams * length  # fewer than one chunk left over
    inputs = torch.cat([x for x, _ in chunks])
    targets = torch.cat([y for _, y in chunks])
    assert all(x.shape == (length, streams) for x, _ in chunks)
    assert torch.equal(inputs, codes[: streams * S].view(streams, S).T)
    assert torch.equal(targets, inputs + 1)  # the next id of the text, everywhere


def test_detach_state_keeps_values_and_drops_history():
    w = torch.ones(3, requires_grad=True)
    h, c = 2 * w, 3 * w
    assert detach_state(None) is None
    single = detach_state(h)
    pair = detach_state((h, c))
    assert single.grad_fn is None and torch.equal(single, h)
    assert isinstance(pair, tuple) and all(s.grad_fn is None for s in pair)
    assert torch.equal(pair[1], c)


@pytest.mark.parametrize("layer", [RNN, LSTM])
@pytest.mark.parametrize("detach", [True, False])
def test_chunked_forward_has_the_values_of_one_pass(layer, detach):
    model = _model(layer).recurrent
    x = torch.randn(23, 3, 8)
    expected, expected_state = model(x, return_state=True)
    outputs, state = chunked_forward(model, x, 5, detach=detach)
    torch.testing.assert_close(outputs, expected)
    torch.testing.assert_close(state, expected_state)


def _gradients(model, logits, targets):
    loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum")
    return torch.autograd.grad(loss, list(model.parameters()))


@pytest.mark.parametrize("layer", [RNN, LSTM])
def test_gradients_full_without_detach_truncated_with_it(layer):
    model = _model(layer)
    codes = _ids(13 * 2 + 1)
    x, y = codes[:-1].view(2, 13).T, codes[1:].view(2, 13).T  # (L, B) = (13, 2)
    full = _gradients(model, model(x), y)
    carried = _gradients(model, chunked_forward(model, x, 4, detach=False)[0], y)
    truncated = _gradients(model, chunked_forward(model, x, 4)[0], y)
    # the truncated gradient, computed another way: each chunk from a constant state
    with torch.no_grad():
        starts = [None] + [model(x[:t], return_state=True)[1] for t in (4, 8, 12)]
    by_chunk = [
        _gradients(model, model(x[t : t + 4], start), y[t : t + 4])
        for t, start in zip((0, 4, 8, 12), starts, strict=True)
    ]
    for i, (f, c, t) in enumerate(zip(full, carried, truncated, strict=True)):
        torch.testing.assert_close(c, f)
        torch.testing.assert_close(t, sum(g[i] for g in by_chunk))
    differs = [(t - f).abs().max() > 1e-6 for f, t in zip(full, truncated, strict=True)]
    assert any(differs)


def test_last_chunk_gradient_stops_at_the_boundary_only_when_detached():
    model = _model()
    codes = _ids(12 * 3 + 1, seed=1)
    x, y = codes[:-1].view(3, 12).T, codes[1:].view(3, 12).T
    detached = last_chunk_input_gradients(model, x, y, 4)
    kept = last_chunk_input_gradients(model, x, y, 4, detach=False)
    assert detached.shape == (12,)
    assert torch.all(detached[:8] == 0) and torch.all(detached[8:] > 0)
    assert torch.all(kept > 0)
    torch.testing.assert_close(detached[8:], kept[8:])


class Recorder(nn.Module):
    """A CharLM that records the initial state it is given at every call."""

    def __init__(self):
        super().__init__()
        self.lm = _model()
        self.given = []

    def forward(self, tokens, state=None, return_state=False):
        self.given.append(state)
        return self.lm(tokens, state, return_state)


@pytest.mark.parametrize("carry", [True, False])
def test_train_on_streams_carries_the_detached_state_or_resets_it(carry):
    model = Recorder()
    chunks = stream_batches(_ids(3 * 4 * 3 + 1), 3, 4)  # 3 chunks of (4, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    losses = train_on_streams(model, chunks, optimizer, 7, carry=carry)
    assert len(losses) == 7 and all(isinstance(v, float) for v in losses)
    after = list(model.parameters())
    assert any(not torch.equal(a, p) for a, p in zip(before, after, strict=True))
    restarts = {0, 3, 6}  # a new pass over the chunks starts from zeros
    for step, state in enumerate(model.given):
        if carry and step not in restarts:
            assert state is not None and state.grad_fn is None
            assert state.shape == (3, 16)
        else:
            assert state is None


def test_train_on_streams_without_clipping():
    model = _model()
    chunks = stream_batches(_ids(2 * 4 * 2 + 1), 2, 4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    assert len(train_on_streams(model, chunks, optimizer, 3, clip=None)) == 3


def test_stream_losses_restore_the_mode_even_after_an_error():
    model = _model()
    model.train()
    bad = [(torch.zeros(3, 2, dtype=torch.long), torch.zeros(4, 2, dtype=torch.long))]
    with pytest.raises(ValueError, match="batch_size"):  # logits (3·2) vs targets (4·2)
        stream_losses(model, bad)
    assert model.training and torch.is_grad_enabled()


def test_stream_losses_read_each_stream_as_one_text():
    model = _model()
    model.train()
    codes = _ids(4 * 5 * 3 + 1, seed=2)
    chunks = stream_batches(codes, 4, 5)  # 3 chunks of (5, 4)
    x = torch.cat([c[0] for c in chunks])
    y = torch.cat([c[1] for c in chunks])
    whole = F.cross_entropy(model(x).flatten(0, 1), y.flatten(), reduction="none")
    carried = stream_losses(model, chunks)
    assert carried.shape == (3, 5, 4) and model.training
    torch.testing.assert_close(carried.flatten(0, 1), whole.view(15, 4).detach())
    reset = stream_losses(model, chunks, carry=False)
    first = F.cross_entropy(
        model(chunks[1][0]).flatten(0, 1), chunks[1][1].flatten(), reduction="none"
    )
    torch.testing.assert_close(reset[1], first.view(5, 4).detach())
    torch.testing.assert_close(reset[0], carried[0])  # both start from zeros


_CHUNKS = stream_batches(torch.arange(40), 2, 3)


def _zeros(*shape):
    return torch.zeros(shape, dtype=torch.long)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: stream_batches([1, 2, 3], 1, 1), TypeError, r"codes to be a torch"),
        (
            lambda: stream_batches(torch.zeros(9, 2, dtype=torch.long), 1, 1),
            ValueError,
            r"codes of shape \(N,\)",
        ),
        (lambda: stream_batches(torch.zeros(9), 1, 1), TypeError, r"integer dtype"),
        (
            lambda: stream_batches(torch.arange(9), 0, 1),
            ValueError,
            r"n_streams to be an int >= 1, got 0",
        ),
        (
            lambda: stream_batches(torch.arange(9), 1, 2.0),
            TypeError,
            r"chunk_length to be an int >= 1",
        ),
        (
            lambda: stream_batches(torch.arange(8), 2, 4),
            ValueError,
            r"at least n_streams \* chunk_length \+ 1 = 9 ids, got 8",
        ),
        (lambda: detach_state([1.0]), TypeError, r"tensor or a tuple of tensors"),
        (
            lambda: chunked_forward(lambda x: x, torch.zeros(3, 1, 8), 2),
            TypeError,
            r"model to be a torch.nn.Module",
        ),
        (
            lambda: chunked_forward(RNN(8, 4, 2), torch.zeros(3), 2),
            ValueError,
            r"x of shape \(L, B, \.\.\.\), got \(3,\)",
        ),
        (
            lambda: chunked_forward(RNN(8, 4, 2), torch.zeros(3, 1, 8), 0),
            ValueError,
            r"chunk_length to be an int >= 1, got 0",
        ),
        (
            lambda: last_chunk_input_gradients(
                RNN(8, 4, 2), torch.zeros(3, 1, dtype=torch.long), None, 1
            ),
            TypeError,
            r"model to be a CharLM \(with embedding, recurrent\), got RNN",
        ),
        (
            lambda: last_chunk_input_gradients(
                _model(), torch.zeros(4, 2, dtype=torch.long), torch.zeros(4, 3), 2
            ),
            ValueError,
            r"targets of shape \(L, B\) with L=4, B=2, got \(4, 3\)",
        ),
        (
            lambda: train_on_streams(_model(), [], None, 1),
            ValueError,
            r"at least one \(inputs, targets\) pair, got none",
        ),
        (
            lambda: train_on_streams(_model(), _CHUNKS, "adam", 1),
            TypeError,
            r"optimizer to be a torch.optim.Optimizer, got str",
        ),
        (
            lambda: train_on_streams(
                _model(), _CHUNKS, torch.optim.SGD(_model().parameters(), 0.1), 0
            ),
            ValueError,
            r"updates to be an int >= 1, got 0",
        ),
        (
            lambda: train_on_streams(
                _model(),
                _CHUNKS,
                torch.optim.SGD(_model().parameters(), 0.1),
                1,
                clip=0.0,
            ),
            ValueError,
            r"clip to be a real number in \(0, inf\]",
        ),
        (
            lambda: stream_losses("model", _CHUNKS),
            TypeError,
            r"model to be a torch.nn.Module, got str",
        ),
        (
            lambda: stream_losses(_model(), iter(_CHUNKS)),
            TypeError,
            r"chunks to be a list of \(inputs, targets\) pairs, got list_iterator",
        ),
        # issue 27: a probe longer than the sequence scored only its last positions
        (
            lambda: last_chunk_input_gradients(
                _model(), torch.zeros(5, 2, dtype=torch.long), _zeros(5, 2), 8
            ),
            ValueError,
            r"chunk_length in \[1, 5\], got 8",
        ),
        (
            lambda: last_chunk_input_gradients(
                _model(), torch.full((4, 2), VOCAB_SIZE), _zeros(4, 2), 2
            ),
            ValueError,
            rf"inputs to hold ids in \[0, {VOCAB_SIZE}\)",
        ),
        (
            lambda: last_chunk_input_gradients(
                _model(), torch.zeros(4, 2), _zeros(4, 2), 2
            ),
            TypeError,
            "inputs to have an integer dtype",
        ),
        (
            lambda: chunked_forward(RNN(8, 4, 2), torch.zeros(0, 1, 8), 2),
            ValueError,
            r"x with at least one time step, got shape \(0, 1, 8\)",
        ),
        (
            lambda: chunked_forward(RNN(8, 4, 2), [[0.0] * 8], 2),
            TypeError,
            "x to be a torch.Tensor",
        ),
        (lambda: detach_state((torch.zeros(1), "h")), TypeError, "tuple of tensors"),
        (
            lambda: train_on_streams(
                _model(),
                _CHUNKS,
                torch.optim.SGD(_model().parameters(), 0.1),
                1,
                clip="1",
            ),
            TypeError,
            "clip",
        ),
    ],
)
def test_bad_inputs_raise_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
