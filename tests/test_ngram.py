import math

import pytest
import torch

from companion.data.sentences import pad_collate_fn
from companion.data.text import EOS_ID, PAD_ID, VOCAB_SIZE, string2code
from companion.generation import generate_many
from companion.language_model import bits_per_character, lm_loss, shift_right
from companion.ngram import CharNGram
from companion.seeding import generator


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


@pytest.mark.parametrize("order", [1, 2, 4])
def test_step_by_step_equals_forward(order):
    batch = batch_of("the cat sat.", "a cat.", "tea")
    model = CharNGram(order).fit([batch_of("the cat sat on the mat.", "a tea.")])
    inputs = shift_right(batch)
    state, rows = None, []
    for tokens in inputs:
        log_probs, state = model.step(state, tokens)
        rows.append(log_probs)
        assert state.shape == (3, order - 1)
    expected = model(inputs)
    keep = inputs != PAD_ID  # forward skips PAD in the history, step reads it
    keep[0] = True
    torch.testing.assert_close(torch.stack(rows)[keep], expected[keep])


def test_probabilities_are_cached_read_only_and_refitting_forgets_them():
    model = CharNGram(2).fit([batch_of("ab.")])
    a = string2code("a").tolist()
    first = model.probabilities(a)
    assert model.probabilities([EOS_ID, *a]) is first  # same context, same array
    with pytest.raises(ValueError, match="read-only"):
        first[0] = 1.0
    model.fit([batch_of("aaaa.")])  # counts add up; the cache must be rebuilt
    assert model.probabilities(a)[a[0]] > first[a[0]]


def test_generate_many_writes_sentences_from_the_training_text():
    model = CharNGram(4).fit([batch_of("the cat sat.", "the mat sat.")])
    texts = generate_many(model, 20, EOS_ID, maxlen=60, generator=generator(0))
    assert len(texts) == 20 and all(len(t) < 60 for t in texts)  # all stop by EOS
    again = generate_many(model, 20, EOS_ID, maxlen=60, generator=generator(0))
    assert texts == again
    # greedy: the most frequent continuation, ties to the smaller id ("c" < "m")
    assert generate_many(model, 1, EOS_ID, maxlen=60, argmax=True) == ["the cat sat."]


FITTED = CharNGram(3).fit([batch_of("ab")])
TOKENS = torch.tensor([2, 3])


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
        (lambda: CharNGram(3).step(None, TOKENS), RuntimeError),
        (lambda: FITTED.step(None, TOKENS[None]), ValueError),
        (lambda: FITTED.step(None, TOKENS + VOCAB_SIZE), ValueError),
        (lambda: FITTED.step(torch.ones(2, 1).long(), TOKENS), ValueError),
        (lambda: FITTED.step(torch.ones(3, 2).long(), TOKENS), ValueError),
        (lambda: FITTED.step(torch.ones(2, 2).float(), TOKENS), TypeError),
        (lambda: FITTED.step(None, TOKENS.numpy()), TypeError),
        (lambda: CharNGram(3, pad_id=VOCAB_SIZE), ValueError),
        (lambda: CharNGram(3).count(torch.zeros(3, 2)), TypeError),
        # characters, or ids out of the vocabulary, are not a history of ids
        (lambda: FITTED.probabilities("ab"), TypeError),
        (lambda: FITTED.probabilities(list("ab")), TypeError),
        (lambda: FITTED.probabilities([2.0, 3.0]), TypeError),
        (lambda: FITTED.probabilities(TOKENS), TypeError),
        (lambda: FITTED.probabilities([2, VOCAB_SIZE]), ValueError),
        (lambda: FITTED.probabilities([-1]), ValueError),
    ],
)
def test_bad_inputs(build, error):
    with pytest.raises(error):
        build()
