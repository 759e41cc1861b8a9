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

from companion.checks import Float, Ids, Int, checked

# The doors of scores and their targets: scores (L, B, V), target ids and pad_id in
# [0, V); ``companion.language_model`` shares them
SCORES = Float("L", "B", "V")
TARGET = Ids("L", "B", below="V")
VOCAB_ID = Int(0, below="V")


def _check_target(door) -> None:
    target, pad_id = door.args["target"], door.args["pad_id"]
    if not (target != pad_id).any():
        raise ValueError(
            f"expected at least one target other than pad_id={pad_id}, "
            f"got none (target of shape {tuple(target.shape)})"
        )


@checked(_check_target, logits=SCORES, target=TARGET, pad_id=VOCAB_ID)
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

    The door rejects a float ``target`` or integer ``logits``, mismatched shapes, ids
    or ``pad_id`` outside ``[0, V)`` (a ``pad_id`` that cannot occur would switch the
    mask off), and a target made only of padding, or empty (the mean over no position
    is undefined)."""
    nll = F.cross_entropy(
        logits.flatten(0, 1), target.flatten().long(), reduction="none"
    )
    mask = (target != pad_id).flatten()
    return torch.where(mask, nll, 0.0).sum() / mask.sum()


maskedCrossEntropy = masked_cross_entropy  # the name the TP4 handout uses
