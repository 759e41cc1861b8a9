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

from companion.checks import check_floating, check_positive_int, check_tensor


def _check_model(model: nn.Module, name: str, x, length: str, feeds_back: bool) -> dict:
    """Check the layer's interface (with ``output_dim == input_dim`` if it
    ``feeds_back`` its predictions) and ``x (length, B, input_dim)``; return the named
    sizes."""
    for method in ("forward", "one_step", "hidden", "decode"):
        if not callable(getattr(model, method, None)):
            raise TypeError(
                f"expected model to be a recurrent layer with one_step, hidden "
                f"and decode, got {type(model).__name__}"
            )
    if feeds_back and getattr(model, "output_dim", None) != getattr(
        model, "input_dim", None
    ):
        raise ValueError(
            f"expected model to output what it reads (output_dim == input_dim), "
            f"got input_dim={model.input_dim}, output_dim={model.output_dim}"
        )
    dims = check_tensor(name, x, (length, "B", getattr(model, "input_dim", "D")))
    check_floating(name, x)
    return dims


def rollout(model: nn.Module, context: torch.Tensor, steps: int) -> torch.Tensor:
    """Read ``context (L, B, D)``, then forecast ``steps`` further steps:
    ``(steps, B, D)``.

    Prediction ``k`` (from 0) is for step ``L + k``; from ``k = 1`` on, the network
    reads its own previous prediction as if it were the observation.
    """
    _check_model(model, "context", context, "L", feeds_back=True)
    check_positive_int("steps", steps)
    _, state = model(context, return_state=True)
    prediction = model.decode(model.hidden(state))
    predictions = []
    for _ in range(steps):
        predictions.append(prediction)
        state = model.one_step(prediction, state)
        prediction = model.decode(model.hidden(state))
    return torch.stack(predictions)


def one_step_predictions(
    model: nn.Module, series: torch.Tensor, window: int
) -> torch.Tensor:
    """Forecast every step of ``series (T, B, D)`` from at most ``window`` previous
    steps.

    Returns ``(T - 1, B, D)``: row ``t - 1`` predicts step ``t``. Steps ``1..window``
    are predicted by one pass over the first ``window`` steps (as a training window
    starting at step 0 does); each later step ``t`` from the window of the ``window``
    steps before it."""
    steps = _check_model(model, "series", series, "T", feeds_back=False)["T"]
    check_positive_int("window", window)
    if steps < 2:
        raise ValueError(f"expected series of at least 2 steps, got {steps}")
    window = min(window, steps - 1)
    first = model.decode(model(series[:window]))  # steps 1..window
    later = steps - 1 - window  # steps window+1..T-1
    if later == 0:
        return first
    windows = series.unfold(0, window, 1)[1 : 1 + later]  # (later, B, D, window)
    flat = windows.permute(3, 0, 1, 2).flatten(1, 2)  # (window, later·B, D)
    last = model.decode(model(flat)[-1]).unflatten(0, (later, series.shape[1]))
    return torch.cat([first, last])
