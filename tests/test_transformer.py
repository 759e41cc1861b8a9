"""The decoder-only Transformer LM: shapes, causality, cached steps, decoders,
learning."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.data.text import EOS_ID, VOCAB_SIZE, string2code
from companion.decoding import greedy
from companion.transformer import DecoderBlock, FeedForward, TransformerLM


def _tokens(length, batch, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(2, VOCAB_SIZE, (length, batch), generator=g)


def test_forward_shapes_and_attention_maps():
    torch.manual_seed(0)
    lm = TransformerLM(d_model=16, n_heads=2, n_layers=3, d_ff=32)
    logits, maps = lm(_tokens(7, 4), need_weights=True)
    assert logits.shape == (7, 4, VOCAB_SIZE)
    assert len(maps) == 3 and maps[0].shape == (4, 2, 7, 7)
    assert torch.all(maps[1][..., 0, 1:] == 0)  # the first position sees only itself


def test_feed_forward_and_block_shapes():
    assert FeedForward(8, 32)(torch.zeros(3, 2, 8)).shape == (3, 2, 8)
    y, w = DecoderBlock(8, 2, 16)(torch.randn(5, 2, 8), need_weights=True)
    assert y.shape == (5, 2, 8) and w.shape == (2, 2, 5, 5)


@settings(max_examples=12, deadline=None)
@given(length=st.integers(2, 12), data=st.data(), seed=st.integers(0, 1000))
def test_logits_never_depend_on_future_tokens(length, data, seed):
    torch.manual_seed(seed)
    lm = TransformerLM(d_model=16, n_heads=2, n_layers=2, d_ff=32).eval()
    tokens = _tokens(length, 3, seed)
    t = data.draw(st.integers(0, length - 2))
    changed = tokens.clone()
    changed[t + 1 :] = (changed[t + 1 :] + 1 - 2) % (
        VOCAB_SIZE - 2
    ) + 2  # another letter
    before, after = lm(tokens), lm(changed)
    torch.testing.assert_close(after[: t + 1], before[: t + 1], rtol=0, atol=1e-6)
    assert not torch.allclose(after[t + 1 :], before[t + 1 :])


def test_step_equals_forward():
    torch.manual_seed(0)
    lm = TransformerLM(d_model=16, n_heads=4, n_layers=2, d_ff=32).eval()
    tokens = _tokens(9, 2)
    expected = torch.log_softmax(lm(tokens), dim=-1)
    state = None
    for t in range(9):
        log_probs, state = lm.step(state, tokens[t])
        torch.testing.assert_close(log_probs, expected[t], rtol=1e-5, atol=1e-5)
    assert len(state) == 4 and state[0].shape == (2, 4, 9, 4)


def test_plugs_into_chapter_6_greedy_decoder():
    torch.manual_seed(0)
    lm = TransformerLM(d_model=16, n_heads=2, n_layers=1, d_ff=32).eval()
    start = string2code("The ")
    with torch.no_grad():
        hyp = greedy(lm.step, start, EOS_ID, 6, bos_id=EOS_ID)
        tokens = torch.cat(
            [torch.tensor([EOS_ID]), start, torch.tensor(hyp.tokens[:-1])]
        )
        expected = torch.log_softmax(lm(tokens[:, None])[:, 0], -1).argmax(-1)[
            len(start) :
        ]
    assert list(hyp.tokens) == expected.tolist()


def test_learns_a_periodic_text():
    torch.manual_seed(0)
    lm = TransformerLM(d_model=32, n_heads=2, n_layers=1, d_ff=64)
    text = string2code("abcd" * 16)
    x, y = text[:-1, None], text[1:, None]
    optimizer = torch.optim.Adam(lm.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(lm(x)[:, 0], y[:, 0])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] > math.log(VOCAB_SIZE) - 1.5 and losses[-1] < 0.1


LM = TransformerLM(d_model=8, n_heads=2, n_layers=1, d_ff=16)
_, STATE = LM.step(None, torch.zeros(2, dtype=torch.long))
BAD_INPUTS = [
    # constructors
    (
        lambda: TransformerLM(d_model=7, n_heads=1),
        ValueError,
        "d_model to be a multiple of 2, got 7",
    ),
    (  # was a ZeroDivisionError: the block's attention checks its sizes first
        lambda: TransformerLM(n_heads=0),
        ValueError,
        "n_heads to be an int >= 1, got 0",
    ),
    (lambda: TransformerLM(n_layers=0), ValueError, "n_layers to be an int >= 1"),
    (lambda: TransformerLM(vocab_size=97.0), TypeError, "vocab_size to be an int"),
    (lambda: TransformerLM(d_ff=0), ValueError, "d_ff to be an int >= 1"),
    (lambda: FeedForward(8, 0), ValueError, "d_ff to be an int >= 1"),
    # forward
    (lambda: LM(torch.zeros(3, 2)), TypeError, "integer"),
    (
        lambda: LM(torch.zeros(3, 2, dtype=torch.long).numpy()),
        TypeError,
        "torch.as_tensor",
    ),
    (
        lambda: LM(torch.zeros(3, dtype=torch.long)),
        ValueError,
        r"tokens of shape \(L, B\)",
    ),
    (lambda: LM(torch.full((3, 2), 97)), ValueError, r"ids in \[0, 97\)"),
    (lambda: LM(torch.full((3, 2), -1)), ValueError, r"ids in \[0, 97\)"),
    (
        lambda: LM(torch.zeros(0, 2, dtype=torch.long)),
        ValueError,
        "tokens with at least one time step",
    ),
    # step
    (
        lambda: LM.step(None, torch.zeros(2, 2, dtype=torch.long)),
        ValueError,
        r"tokens of shape \(B,\)",
    ),
    (
        lambda: LM.step((torch.zeros(2, 2, 1, 4),), torch.zeros(2, dtype=torch.long)),
        ValueError,
        "tuple of 2 tensors",
    ),
    (
        lambda: LM.step(STATE, torch.zeros(3, dtype=torch.long)),
        ValueError,
        r"state of shape \(3, h, t, d\)",
    ),
    (
        lambda: LM.step(
            tuple(t.detach().numpy() for t in STATE), torch.zeros(2, dtype=torch.long)
        ),
        TypeError,
        "torch.as_tensor",
    ),
    (
        lambda: LM.step(
            tuple(t.double() for t in STATE), torch.zeros(2, dtype=torch.long)
        ),
        TypeError,
        "torch.float32.*torch.float64",
    ),
    # a block on its own checks its cache like the attention it holds
    (
        lambda: LM.blocks[0].step(torch.zeros(2, 8), (STATE[0], STATE[1].double())),
        TypeError,
        "cache v of dtype",
    ),
    (
        lambda: LM.blocks[0](torch.zeros(3, 2, 7)),
        ValueError,
        r"x of shape \(L, B, 8\)",
    ),
]


@pytest.mark.parametrize(("call", "error", "pattern"), BAD_INPUTS)
def test_bad_inputs_give_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
