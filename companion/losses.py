"""Losses for sequences of different lengths: the masked cross-entropy of chapter 4.

A padded batch holds ``PAD`` ids after the end of each short sentence. Those positions are
not data: the loss must average only over the others,

``loss = sum_{t,b} m_{t,b} * (-log p_theta(y_{t,b} | ...)) / sum_{t,b} m_{t,b}``,
``m_{t,b} = [y_{t,b} != pad_id]``,

which is what ``F.cross_entropy(..., ignore_index=pad_id)`` computes. The course (AMAL TP4,
question 2) asks for it with a binary mask and no Python loop; here it is.
"""

import torch
import torch.nn.functional as F

from companion.checks import check_floating, check_integer, check_shape


def check_ids(name: str, ids: torch.Tensor, vocab_size: int) -> None:
    """Raise ``ValueError`` unless every entry of the integer tensor ``ids`` is in ``[0, V)``.

    ``V`` is ``vocab_size``; an empty tensor passes, a non-integer one raises ``TypeError``.
    The message names ``name``, the expected range and the range found, e.g.
    ``expected tokens ids in [0, 97), got values in [0, 120]``.
    """
    check_integer(name, ids)
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(f"expected {name} ids in [0, {vocab_size}), got values in "
                         f"[{int(ids.min())}, {int(ids.max())}]")


def masked_cross_entropy(logits: torch.Tensor, target: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Mean cross-entropy over the positions whose target is not ``pad_id``.

    ``logits (L, B, V)`` are unnormalised scores, ``target (L, B)`` integer ids in
    ``[0, V)``. Returns a scalar tensor (in nats). Every position is scored in one call,
    then multiplied by the mask ``target != pad_id``; nothing loops in Python. As long as
    they are finite, the values of ``logits`` at masked positions change neither the result
    nor its gradient (an ``inf`` or ``nan`` there leaves the result alone but makes the
    gradient at that position ``nan``).

    Raises ``TypeError`` for a non-float ``logits`` or a non-integer ``target``, and
    ``ValueError`` for mismatched shapes, ids outside ``[0, V)`` or a target made only of
    padding (the mean over no position is undefined).
    """
    check_floating("logits", logits)
    check_integer("target", target)
    dims = check_shape("logits", logits, ("L", "B", "V"))
    check_shape("target", target, ("L", "B"), dims)
    vocab = dims["V"]
    if not isinstance(pad_id, int) or isinstance(pad_id, bool):
        raise TypeError(f"expected pad_id to be an int, got {type(pad_id).__name__}")
    check_ids("target", target, vocab)
    mask = target != pad_id
    count = mask.sum()
    if int(count) == 0:
        raise ValueError(f"expected at least one target different from pad_id={pad_id}, "
                         "got only padding")
    per_position = F.cross_entropy(logits.reshape(-1, vocab), target.reshape(-1),
                                   reduction="none").view_as(target)
    return torch.where(mask, per_position, 0.0).sum() / count
