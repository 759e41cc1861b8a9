"""Losses for sequences of different lengths: the masked cross-entropy of chapter 4.

A padded batch holds ``PAD`` ids after the end of each short sentence. Those positions
are not data: the loss must average only over the others,

``loss = sum_{t,b} m_{t,b} * (-log p_theta(y_{t,b} | ...)) / sum_{t,b} m_{t,b}``,
``m_{t,b} = [y_{t,b} != pad_id]``,

which is what ``F.cross_entropy(..., ignore_index=pad_id)`` computes. The course (AMAL
TP4, question 2) asks for it with a binary mask and no Python loop, under the name
``maskedCrossEntropy``, kept here as an alias; here it is."""

import torch
import torch.nn.functional as F

from companion.checks import check_floating, check_ids, check_positive_int, check_tensor


def masked_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, pad_id: int
) -> torch.Tensor:
    """Mean cross-entropy over the positions whose target is not ``pad_id``.

    ``logits (L, B, V)`` are unnormalised scores, ``target (L, B)`` integer ids in
    ``[0, V)`` (any integer dtype), ``pad_id`` an id in ``[0, V)``. Returns a scalar
    tensor (in nats). Every position is scored in one call, then multiplied by the mask
    ``target != pad_id``; nothing loops in Python. As long as they are finite, the
    values of ``logits`` at masked positions change neither the result nor its gradient
    (an ``inf`` or ``nan`` there leaves the result alone but makes the gradient at that
    position ``nan``).

    Raises ``TypeError`` for something other than a float ``logits`` tensor and an
    integer ``target`` tensor, and ``ValueError`` for mismatched shapes, ids or
    ``pad_id`` outside ``[0, V)`` (a ``pad_id`` that cannot occur would switch the mask
    off), or a target made only of padding, or empty (the mean over no position is
    undefined).
    """
    dims = check_tensor("logits", logits, ("L", "B", "V"))
    check_floating("logits", logits)
    check_tensor("target", target, ("L", "B"), dims)
    vocab = dims["V"]
    check_ids("target", target, vocab)
    check_positive_int("pad_id", pad_id, minimum=0)
    if pad_id >= vocab:
        raise ValueError(
            f"expected pad_id in [0, {vocab}) (V = logits.shape[-1]), got {pad_id}"
        )
    mask = target != pad_id
    count = mask.sum()
    if int(count) == 0:
        raise ValueError(
            f"expected at least one target other than pad_id={pad_id}, "
            f"got none (target of shape {tuple(target.shape)})"
        )
    per_position = F.cross_entropy(
        logits.reshape(-1, vocab), target.reshape(-1).long(), reduction="none"
    ).view_as(target)
    return torch.where(mask, per_position, 0.0).sum() / count


maskedCrossEntropy = masked_cross_entropy  # the name the TP4 handout uses
