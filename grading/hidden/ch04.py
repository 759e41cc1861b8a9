"""Chapter 4's hidden checks."""

import torch
from torch import nn

from companion.data.text import EOS_ID, VOCAB_SIZE, string2code
from companion.generation import generate_many
from companion.workbook import ch04
from companion.workbook.runner import Failure, Property, compare


def _collate_more(candidate):
    for lengths, pad_id, eos_id in (([7, 1, 1, 3], 0, 1), ([2], 9, 3), ([1, 1], 4, 2)):
        case, got, want = ch04._collate_case(candidate, lengths, pad_id, eos_id, seed=7)
        compare(case, got, want, atol=0, rtol=0, what="batch")


def _loss_more(candidate):
    for lengths, vocab, pad_id in (([1], 3, 0), ([6, 6, 6], 11, 10), ([2, 9, 1], 5, 2)):
        case, logits, target, got = ch04._loss_case(
            candidate, lengths, vocab, pad_id, seed=5
        )
        compare(case, got, ch04._reference_loss(logits, target, pad_id), what="loss")


def _loss_float32(candidate):
    logits, target = ch04._batch([3, 2, 4], seed=9)
    logits = logits.float()
    got = candidate(logits, target, 0)
    want = ch04._reference_loss(logits, target, 0)
    case = "float32 logits L=4, B=3, V=7"
    compare(case, got, want, atol=1e-5)
    if got.dtype != torch.float32:
        raise Failure(case, "a float32 loss", str(got.dtype), "keep the logits' dtype")


class _Coin(nn.Module):
    """After EOS, ``a`` or ``b`` with probability 1/2 each, then EOS."""

    def step(self, state, tokens):
        log_probs = torch.full((len(tokens), VOCAB_SIZE), -30.0, dtype=torch.float64)
        a, b = string2code("ab").tolist()
        first = tokens == EOS_ID
        log_probs[first, a] = log_probs[first, b] = 0.0
        log_probs[~first, EOS_ID] = 0.0
        return torch.log_softmax(log_probs, dim=1), state

    def __repr__(self):
        return "a model that writes 'a' or 'b' (probability 1/2 each), then EOS"


def _gen_more_greedy(candidate):
    ch04._gen_greedy(candidate, seeds=(2, 3), starts=("a", "Hello, "), maxlen=40)
    ch04._gen_greedy(candidate, seeds=(4,), starts=("x",), maxlen=1)


def _gen_samples(candidate):
    case, got = ch04._generated(
        candidate, _Coin(), 40, "", 5, generator=ch04._sampler()
    )
    if set(got) != {"a", "b"}:
        raise Failure(
            case,
            "both 'a' and 'b' among 40 samples",
            f"{sorted(set(got))}",
            "draw each of the n sentences, do not copy one",
        )
    model = ch04._TinyRNN(5)
    texts = [
        ch04._generated(candidate, model, 3, "", 15, generator=ch04._sampler(3))[1]
        for _ in range(2)
    ]
    if texts[0] != texts[1]:
        raise Failure(
            f"{model!r}, n=3, maxlen=15, twice with generator seeded 3",
            "the same texts twice",
            f"{texts[0]} then {texts[1]}",
            "draw with torch.multinomial(..., generator=generator)",
        )


def _gen_temperature(candidate):
    model = ch04._TinyRNN(6)
    case, got = ch04._generated(
        candidate, model, 2, "", 20, temperature=1e-4, generator=ch04._sampler()
    )
    want = generate_many(model, 2, EOS_ID, "", 20, argmax=True)
    ch04._expect_texts(
        case,
        got,
        want,
        "sample from softmax(log_probs / temperature): T -> 0 is greedy",
    )


def _gen_normalised_prompt(candidate):
    model = ch04._Successor()
    case, got = ch04._generated(candidate, model, 1, "Hé\n", 3, argmax=True)
    want = generate_many(model, 1, EOS_ID, "Hé\n", 3, argmax=True)
    ch04._expect_texts(case, got, want, "the text begins with normalize(start)")


HIDDEN = {
    "sent-pad-collate": [Property("hidden: more batches and ids", _collate_more)],
    "sent-masked-ce": [
        Property("hidden: more sizes and pad ids", _loss_more),
        Property("hidden: float32 logits", _loss_float32),
    ],
    "sent-generate": [
        Property(
            "hidden: greedy on other models, prompts and maxlen", _gen_more_greedy
        ),
        Property("hidden: n samples, each drawn, with the generator", _gen_samples),
        Property("hidden: a tiny temperature is greedy", _gen_temperature),
        Property("hidden: the prompt normalised", _gen_normalised_prompt),
    ],
}
