"""Chapter 6's hidden checks."""

import math

import torch

from companion.workbook import ch06
from companion.workbook.runner import Failure, Property, compare


def _beam_more(candidate):
    for V, maxlen, seed, width, start in (
        (3, 4, 11, 2, (1,)),
        (6, 3, 12, 4, (5, 2)),
        (2, 6, 13, 3, (1,)),
        (4, 1, 14, 3, (2,)),
        (5, 4, 28, 2, (2,)),
        (4, 5, 26, 3, (2,)),
    ):
        model = ch06.TableModel(V, seed)
        case, _, hyps = ch06.beam_case(candidate, model, "random", start, width, maxlen)
        want = ch06.reference_hypotheses(model, start, 0, maxlen, width)
        ch06.compare_ranking(case, hyps, want)


def _beam_other_eos(candidate):
    model = ch06.TableModel(4, 15)
    for width in (2, 64):
        case, _, hyps = ch06.beam_case(candidate, model, "random", (1,), width, 3, 2)
        ch06.check_endings(case, hyps, 2, 3)
        want = ch06.reference_hypotheses(model, (1,), 2, 3, width)
        ch06.compare_ranking(case, hyps, want, "eos_id is an argument, not always 0")


def _beam_prompt(candidate):
    model = ch06.TableModel(3, 16)
    case, _, hyps = ch06.beam_case(
        candidate, model, "random", (2, 1), 27, 3, 0, 0.0, bos_id=0
    )
    want = ch06.ranking(model, (0, 2, 1), 0, 3)
    ch06.compare_ranking(case, hyps, want, "the model reads bos_id, then start")


def _beam_alpha_more(candidate):
    model = ch06.TableModel(2, 17)
    case, prompt, hyps = ch06.beam_case(
        candidate, model, "random", (1,), 32, 5, alpha=0.7
    )
    ch06.compare_ranking(case, hyps, ch06.ranking(model, prompt, 0, 5, 0.7))


def _nucleus_more(candidate):
    for shape, p, seed in (
        ((3, 50), 0.9, 20),
        ((2, 2, 30), 0.99, 21),
        ((4, 8), 0.4, 22),
    ):
        log_probs = ch06.rows(shape, seed)
        case = f"log_probs of shape {shape}, p={p:g}"
        want = ch06.expected_nucleus(log_probs, p)
        compare(case, candidate(log_probs.clone(), p), want, atol=1e-9, rtol=1e-9)


def _nucleus_edges(candidate):
    one = torch.zeros(1, dtype=torch.float64)
    ch06.nucleus_case(candidate, one, 0.5, "a row of one symbol")
    row = ch06.rows((7,), 23)
    row[[0, 3]] = -math.inf
    row = torch.log_softmax(row, dim=0)
    for p in (0.5, 0.95):
        ch06.nucleus_case(candidate, row, p, "a row with impossible symbols")


def _nucleus_float32(candidate):
    log_probs = ch06.rows((5, 9), 24, dtype=torch.float32)
    got = candidate(log_probs.clone(), 0.85)
    case = "float32 log_probs B=5, V=9, p=0.85"
    want = ch06.expected_nucleus(log_probs, 0.85)
    compare(case, got, want, atol=1e-5)
    if got.dtype != torch.float32:
        raise Failure(case, "a float32 result", str(got.dtype), "keep the dtype")


HIDDEN = {
    "dec-beam-search": [
        Property("hidden: more tables, widths and prompts", _beam_more),
        Property("hidden: an EOS id other than 0", _beam_other_eos),
        Property("hidden: bos_id and a prompt of two symbols", _beam_prompt),
        Property("hidden: length_penalty 0.7", _beam_alpha_more),
    ],
    "dec-nucleus": [
        Property("hidden: larger vocabularies and batches", _nucleus_more),
        Property("hidden: one symbol, impossible symbols", _nucleus_edges),
        Property("hidden: float32", _nucleus_float32),
    ],
}
