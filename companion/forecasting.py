"""Forecasting with a recurrent network trained one step ahead (chapter 2).

``rollout`` forecasts several steps by feeding each prediction back as the next input
(the network is its own input, so one network serves every horizon).
``one_step_predictions`` forecasts every step of a long series from windows no longer
than the training ones, so that the network is never asked to read a state after more
steps than it was trained on.

Both work with any recurrent layer with the book's interface
(``forward(x, state, return_state)``, ``one_step``, ``hidden``, ``decode``) whose output
size equals its input size.

Reference: the course handout TP3 (AMAL, Sorbonne).
"""

import torch
from torch import nn

from companion.checks import Float, Has, Int, checked

_LAYER = Has("one_step", "hidden", "decode", label="a recurrent layer")


def _check_feeds_back(door) -> None:
    """``model`` reads the context's ``D`` values per step and outputs as many."""
    model = door.args["model"]
    if not model.input_dim == door.dims["D"] == model.output_dim:
        raise ValueError(
            "expected context (L, B, D) and model with input_dim = output_dim = D, got "
            f"D={door.dims['D']}, {model.input_dim=}, {model.output_dim=}"
        )


def _check_two_steps(door) -> None:
    if door.dims["T"] < 2:
        raise ValueError(f"expected series of at least 2 steps, got {door.dims['T']}")


@checked(_check_feeds_back, model=_LAYER, context=Float("L", "B", "D"), steps=Int())
def rollout(model: nn.Module, context: torch.Tensor, steps: int) -> torch.Tensor:
    """Read ``context (L, B, D)``, then forecast ``steps`` further steps:
    ``(steps, B, D)``.

    Prediction ``k`` (from 0) is for step ``L + k``; from ``k = 1`` on, the network
    reads its own previous prediction as if it were the observation, so ``model``
    must output what it reads (``output_dim == input_dim``).
    """
    _, state = model(context, return_state=True)
    prediction = model.decode(model.hidden(state))
    predictions = []
    for _ in range(steps):
        predictions.append(prediction)
        state = model.one_step(prediction, state)
        prediction = model.decode(model.hidden(state))
    return torch.stack(predictions)


@checked(_check_two_steps, model=_LAYER, series=Float("T", "B", "D"), window=Int())
def one_step_predictions(
    model: nn.Module, series: torch.Tensor, window: int
) -> torch.Tensor:
    """Forecast every step of ``series (T, B, D)`` from at most ``window`` previous
    steps.

    Returns ``(T - 1, B, D)``: row ``t - 1`` predicts step ``t``. Steps ``1..window``
    are predicted by one pass over the first ``window`` steps (as a training window
    starting at step 0 does); each later step ``t`` from the window of the ``window``
    steps before it. A series of one step has no step to predict: ``T >= 2``."""
    steps = len(series)
    window = min(window, steps - 1)
    first = model.decode(model(series[:window]))  # steps 1..window
    later = steps - 1 - window  # steps window+1..T-1
    if later == 0:
        return first
    windows = series.unfold(0, window, 1)[1 : 1 + later]  # (later, B, D, window)
    flat = windows.permute(3, 0, 1, 2).flatten(1, 2)  # (window, later·B, D)
    last = model.decode(model(flat)[-1]).unflatten(0, (later, series.shape[1]))
    return torch.cat([first, last])
