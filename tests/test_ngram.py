import math

import pytest
import torch

from companion.data.sentences import pad_collate_fn
from companion.data.text import EOS_ID, VOCAB_SIZE, string2code
from companion.language_model import bits_per_character, lm_loss, shift_right
from companion.ngram import CharNGram


def batch_of(*sentences):
    return pad_collate_fn([string2code(s) for s in sentences])  # EOS, then PAD


def test_every_context_gives_a_distribution():
    model = CharNGram(3).fit([batch_of("abab.", "abc.")])
    for history in (
        [EOS_ID, EOS_ID],
        [EOS_ID] + string2code("ab").tolist(),
        string2code("zz").tolist(),
    ):
        p = model.probabilities(history)
        assert p.shape == (VOCAB_SIZE,) and abs(p.sum() - 1) < 1e-12 and (p > 0).all()


def test_witten_bell_by_hand():
    # order 2 on "aab" + EOS: contexts () and the previous symbol
    model = CharNGram(2).fit([batch_of("aab")])
    a, b = string2code("ab").tolist()
    unigram = model.counts[()]
    assert unigram == {a: 2, b: 1, EOS_ID: 1}
    p0 = 1 / VOCAB_SIZE
    p1 = {s: (unigram.get(s, 0) + 3 * p0) / (4 + 3) for s in (a, b, EOS_ID)}
    # after "a": a once, b once -> 2 distinct continuations, 2 occurrences
    expected_b = (1 + 2 * p1[b]) / (2 + 2)
    assert math.isclose(model.probabilities([a])[b], expected_b, rel_tol=1e-12)


def test_forward_fits_lm_loss_and_higher_orders_learn_more():
    text = ["the cat sat on the mat.", "the cat ate the rat.", "a cat sat."] * 5
    batch = batch_of(*text)
    bits = {
        n: bits_per_character(CharNGram(n).fit([batch]), [batch]) for n in (1, 3, 5)
    }
    assert bits[5] < bits[3] < bits[1] < math.log2(VOCAB_SIZE)
    logp = CharNGram(3).fit([batch])(shift_right(batch))
    assert logp.shape == (*batch.shape, VOCAB_SIZE)
    assert torch.allclose(logp.exp().sum(-1), torch.ones(batch.shape), atol=1e-5)
    assert math.isfinite(float(lm_loss(CharNGram(2).fit([batch]), batch)))


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: CharNGram(0), ValueError),
        (lambda: CharNGram(2.5), TypeError),
        (lambda: CharNGram(3, vocab_size=1), ValueError),
        (lambda: CharNGram(3, start_id=VOCAB_SIZE), ValueError),
        (lambda: CharNGram(3).fit([torch.zeros(3, 2)]), TypeError),
        (lambda: CharNGram(3).fit([torch.full((3, 2), VOCAB_SIZE)]), ValueError),
        (lambda: CharNGram(3).fit([torch.zeros(3, dtype=torch.long)]), ValueError),
        (lambda: CharNGram(3).fit([]), ValueError),
        (lambda: CharNGram(3)(torch.ones(3, 2, dtype=torch.long)), RuntimeError),
        (
            lambda: CharNGram(3).fit([batch_of("ab")])(torch.ones(3, 2).long().numpy()),
            TypeError,
        ),
    ],
)
def test_bad_inputs(build, error):
    with pytest.raises(error):
        build()
