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


def masked_cross_entropy(logits: torch.Tensor, target: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Mean cross-entropy over the positions whose target is not ``pad_id``.

    ``logits (L, B, V)`` are unnormalised scores, ``target (L, B)`` integer ids in
    ``[0, V)``. Returns a scalar tensor (in nats). Every position is scored in one call,
    then multiplied by the mask ``target != pad_id``; nothing loops in Python. The values
    of ``logits`` at masked positions do not change the result (nor its gradient).

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
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= vocab):
        raise ValueError(f"expected target ids in [0, {vocab}), got values in "
                         f"[{int(target.min())}, {int(target.max())}]")
    mask = target != pad_id
    count = mask.sum()
    if int(count) == 0:
        raise ValueError(f"expected at least one target different from pad_id={pad_id}, "
                         "got only padding")
    per_position = F.cross_entropy(logits.reshape(-1, vocab), target.reshape(-1),
                                   reduction="none").view_as(target)
    return torch.where(mask, per_position, 0.0).sum() / count
