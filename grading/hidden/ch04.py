"""Chapter 4's hidden checks."""

import torch

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


HIDDEN = {
    "sent-pad-collate": [Property("hidden: more batches and ids", _collate_more)],
    "sent-masked-ce": [
        Property("hidden: more sizes and pad ids", _loss_more),
        Property("hidden: float32 logits", _loss_float32),
    ],
}
