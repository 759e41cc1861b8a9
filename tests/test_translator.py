"""The encoder–decoder Transformer: equal to ``nn.Transformer`` with copied weights
(outputs and gradients), greedy decoding against a step-by-step reference, chapter 6's
decoders, its size next to chapter 7's GRU with attention, and its doors."""

import warnings

import pytest
import torch
from torch import nn

from companion.attention import causal_mask
from companion.data.text import EOS_ID, PAD_ID
from companion.data.transduction import VOCAB_SIZE
from companion.decoding import greedy
from companion.language_model import shift_right
from companion.seq2seq import Seq2Seq, seq2seq_loss
from companion.training import count_parameters
from companion.translator import Translator, torch_parameter_pairs

D, HEADS, FF, ENC, DEC = 16, 4, 24, 2, 3


def _pair():
    """Our translator and an ``nn.Transformer`` with its weights, float64, eval."""
    torch.manual_seed(0)
    ours = Translator(VOCAB_SIZE, D, HEADS, ENC, DEC, FF).double().eval()
    with warnings.catch_warnings():  # no nested tensors with norm_first: we know
        warnings.simplefilter("ignore")
        theirs = nn.Transformer(D, HEADS, ENC, DEC, FF, dropout=0.0, norm_first=True)
    theirs = theirs.double().eval()
    with torch.no_grad():  # make ours differ from torch's init before the copy
        for p in ours.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return ours.load_torch(theirs), theirs


def _source(lengths=(5, 2, 4), seed=1):
    g = torch.Generator().manual_seed(seed)
    source = torch.randint(2, VOCAB_SIZE, (max(lengths), len(lengths)), generator=g)
    source[torch.arange(max(lengths))[:, None] >= torch.tensor(lengths)] = PAD_ID
    return source


@pytest.mark.parametrize("padding", [False, True], ids=["no-padding", "padding"])
@pytest.mark.parametrize("causal", [True, False], ids=["causal", "not-causal"])
def test_equal_to_torch_transformer_outputs_and_gradients(padding, causal):
    ours, theirs = _pair()
    g = torch.Generator().manual_seed(2)
    S, T, B = 5, 4, 3
    x = torch.randn(S, B, D, dtype=torch.float64, generator=g, requires_grad=True)
    y = torch.randn(T, B, D, dtype=torch.float64, generator=g, requires_grad=True)
    probe = torch.randn(T, B, D, dtype=torch.float64, generator=g)
    src_real = torch.arange(S)[:, None] < torch.tensor(
        [5, 2, 4] if padding else [S] * B
    )
    tgt_real = torch.arange(T)[:, None] < torch.tensor(
        [4, 1, 3] if padding else [T] * B
    )

    memory = ours.encoder_states(x, src_real)
    out, _ = ours.decoder_states(y, memory, src_real, tgt_real, causal=causal)
    expected = theirs(
        x,
        y,
        tgt_mask=~causal_mask(T) if causal else None,  # True: masked
        src_key_padding_mask=~src_real.T if padding else None,
        tgt_key_padding_mask=~tgt_real.T if padding else None,
        memory_key_padding_mask=~src_real.T if padding else None,
    )
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-12)

    pairs = torch_parameter_pairs(ours, theirs)
    assert len(pairs) == len(list(theirs.parameters()))  # every torch parameter
    ours_params, theirs_params = zip(*pairs, strict=True)
    ours_grads = torch.autograd.grad((out * probe).sum(), [x, y, *ours_params])
    theirs_grads = torch.autograd.grad((expected * probe).sum(), [x, y, *theirs_params])
    for a, b in zip(ours_grads, theirs_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_target_padding_mask_changes_only_padding_rows():
    ours, _ = _pair()
    source, target = _source(), _source((4, 1, 3), seed=3)
    inputs = shift_right(target)
    memory = ours.encode(source)
    y = ours.embed(ours.target_embedding, inputs)
    plain, _ = ours.decoder_states(y, memory.states, memory.mask)
    masked, _ = ours.decoder_states(y, memory.states, memory.mask, inputs != PAD_ID)
    real = inputs != PAD_ID
    torch.testing.assert_close(plain[real], masked[real], rtol=1e-12, atol=1e-12)
    assert not torch.allclose(plain[~real], masked[~real])


def test_greedy_generation_matches_a_step_by_step_reference():
    ours, _ = _pair()
    source, steps = _source(), 6
    tokens, logits, weights = ours.generate(source, steps)
    prefix = torch.full((1, source.shape[1]), EOS_ID)
    for t in range(steps):  # the reference: the whole prefix again at every step
        full = ours(source, prefix)
        torch.testing.assert_close(logits[t], full[-1], rtol=1e-10, atol=1e-12)
        assert torch.equal(tokens[t], full[-1].argmax(1))
        prefix = torch.cat([prefix, full[-1].argmax(1)[None]])
    _, maps = ours(source, prefix[:-1], return_weights=True)
    assert weights.shape == maps.shape == (DEC, HEADS, steps, 5, 3)
    torch.testing.assert_close(weights, maps, rtol=1e-10, atol=1e-12)
    assert torch.all(maps[..., 2:, 1] == 0)  # the second source has 2 symbols
    torch.testing.assert_close(maps.sum(3), torch.ones_like(maps.sum(3)))


def test_chapter6_greedy_on_the_step_function_matches_generate():
    ours, _ = _pair()
    source = _source()[:, 0]
    step = ours.step_function(source)
    hypothesis = greedy(
        step, torch.tensor([], dtype=torch.long), EOS_ID, 6, bos_id=EOS_ID
    )
    tokens, _, _ = ours.generate(source[:, None], len(hypothesis.tokens))
    assert tuple(tokens[:, 0].tolist()) == hypothesis.tokens


def test_trains_with_chapter7s_loss():
    torch.manual_seed(0)
    model = Translator(VOCAB_SIZE, 16, 2, 1, 1, 32)
    source = _source((6, 3, 5, 6), seed=4)
    target = source.flip(0)  # any fixed target: the loss must fall
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = seq2seq_loss(model, (source, target))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_default_size_is_close_to_chapter7s_gru_with_attention():
    """Chapter 7's attention model, ``Seq2Seq(12, 16, 32, 64, attention="dot")``, has
    51,212 parameters; the default translator (d 32, 4 heads, 2 + 2 blocks, d_ff 96)
    52,364, within 3 %."""
    gru = count_parameters(Seq2Seq(VOCAB_SIZE, 16, 32, 64, attention="dot"))
    translator = count_parameters(Translator(VOCAB_SIZE))
    assert (gru, translator) == (51212, 52364)
    assert abs(translator / gru - 1) < 0.03


def _model():
    return Translator(VOCAB_SIZE, 8, 2, 1, 1, 16)


BAD = [
    (lambda: Translator(1), ValueError, "vocab_size"),
    (lambda: Translator(VOCAB_SIZE, d_model=31), ValueError, "d_model"),
    (lambda: Translator(VOCAB_SIZE, d_model=30, n_heads=4), ValueError, "d_model"),
    (lambda: Translator(VOCAB_SIZE, encoder_layers=0), ValueError, "encoder_layers"),
    (lambda: Translator(VOCAB_SIZE, d_ff=0), ValueError, "d_ff"),
    (lambda: _model()(_source().float(), _source()), TypeError, "source"),
    (lambda: _model()(_source() + VOCAB_SIZE, _source()), ValueError, "source"),
    (lambda: _model()(_source().flip(0), _source()), ValueError, "real symbol"),
    (lambda: _model()(_source()[:0], _source()), ValueError, "source"),
    (lambda: _model()(_source(), _source()[:, :2]), ValueError, "inputs"),
    (lambda: _model().encode(_source()[:, 0]), ValueError, "source"),
    (lambda: _model().generate(_source(), 0), ValueError, "steps"),
    (lambda: _model().generate(_source(), 3, VOCAB_SIZE), ValueError, "start_id"),
    (lambda: _model().step_function(_source()), ValueError, "source"),
    (lambda: _model().load_torch(nn.Linear(2, 2)), TypeError, "transformer"),
]


@pytest.mark.parametrize(("call", "error", "named"), BAD)
def test_bad_input_is_named_at_the_door(call, error, named):
    with pytest.raises(error, match=named):
        call()
