"""Non-recurrent baselines that a recurrent network has to beat (chapter 2).

* ``MeanMaxClassifier``: multinomial logistic regression on the mean and the maximum of
  each input dimension over the sequence. It sees how busy a window is, not how the flow
  moves, so a recurrent classifier that reads the order of the values should beat it.
* ``persistence_forecast``: tomorrow's weather is today's; the next value is the last
  one.
* ``seasonal_forecast``: the mean day; the value at a slot is its mean over the
  training days. It knows the clock, which a network reading a window of flows must
  infer, so a forecaster that "learned the daily shape" should beat it.
* ``unigram_entropy``: the loss (in nats per symbol) of a model that predicts every
  character with its corpus frequency, ignoring the context; a language model must go
  below it.
"""

import torch
from torch import nn

from companion.checks import Float, Ids, Int, Real, Seq, checked

_X = Seq("L", "B", "self.input_dim")
_LABELS = Ids("B", below="self.num_classes")


def _features(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x.mean(dim=0), x.amax(dim=0)], dim=1)


@checked(x=Float("L", "B", "D", nonempty="L"))
def mean_max_features(x: torch.Tensor) -> torch.Tensor:
    """Summary features of sequences: ``x (L, B, D)`` → ``(B, 2D)``, the means then the
    maxima."""
    return _features(x)


def _at_least_two(door) -> None:
    if door.dims["B"] < 2:
        raise ValueError(f"expected at least 2 sequences, got {door.dims['B']}")


class MeanMaxClassifier(nn.Module):
    """Logistic regression on ``mean_max_features``, standardised with the training
    statistics.

    ``fit(x (L, B, D), labels (B,))`` trains it to convergence with L-BFGS (a convex
    problem, so the result does not depend on the seed); ``forward(x (L, B, D))``
    returns logits ``(B, num_classes)``. ``fit`` needs at least two sequences (for the
    standard deviations)."""

    @checked(input_dim=Int(), num_classes=Int())
    def __init__(self, input_dim: int, num_classes: int):
        super().__init__()
        self.input_dim, self.num_classes = input_dim, num_classes
        self.register_buffer("mean", torch.zeros(2 * input_dim))
        self.register_buffer("std", torch.ones(2 * input_dim))
        self.linear = nn.Linear(2 * input_dim, num_classes)

    @checked(x=_X)
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)`` for sequences ``x (L, B, D)``."""
        return self.linear((_features(x) - self.mean) / self.std)

    @checked(_at_least_two, x=_X, labels=_LABELS, steps=Int(), weight_decay=Real(0))
    def fit(
        self,
        x: torch.Tensor,
        labels: torch.Tensor,
        steps: int = 100,
        weight_decay: float = 1e-4,
    ) -> "MeanMaxClassifier":
        """Fit on ``x (L, B, D)`` and integer ``labels (B,)`` in
        ``[0, num_classes)``."""
        labels = labels.long()
        features = _features(x)
        self.mean.copy_(features.mean(dim=0))
        self.std.copy_(features.std(dim=0).clamp_min(1e-8))
        features = (features - self.mean) / self.std
        optimizer = torch.optim.LBFGS(
            self.linear.parameters(), max_iter=steps, line_search_fn="strong_wolfe"
        )

        def closure():
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(self.linear(features), labels)
            loss = loss + weight_decay * self.linear.weight.pow(2).sum()
            loss.backward()
            return loss

        optimizer.step(closure)
        return self


@checked(x=Float("L", "B", ..., nonempty="L"))
def persistence_forecast(x: torch.Tensor) -> torch.Tensor:
    """Predict ``x_{t+1}`` by ``x_t``: inputs ``x (L, B, D)`` → predictions
    ``(L, B, D)``.

    Aligned with ``ForecastMetroDataset``, whose targets are the inputs shifted by one
    step, the forecast of every step is simply the input of that step."""
    return x.clone()


@checked(history=Float("D", "T", ..., nonempty="D"), slots=Ids(below="T"))
def seasonal_forecast(history: torch.Tensor, slots: torch.Tensor) -> torch.Tensor:
    """The mean day of ``history (D, T, ...)`` read at ``slots`` (integer tensor of any
    shape, values in ``[0, T)``): ``slots.shape + history.shape[2:]``.

    For metro flows ``(D, T, S, C)`` the forecast of slot ``t`` of any day is the mean,
    over the ``D`` training days, of slot ``t`` of each station and direction, whatever
    the flows before ``t``."""
    return history.mean(dim=0)[slots.long()]


def _check_codes(door) -> None:
    if door.args["codes"].numel() == 0:
        raise ValueError("expected at least one code, got an empty tensor")


@checked(_check_codes, vocab_size=Int(size="V"), codes=Ids(below="V"))
def unigram_entropy(codes: torch.Tensor, vocab_size: int) -> float:
    """Entropy in nats of the symbol frequencies of ``codes`` (any shape, ids <
    ``vocab_size``, at least one).

    It is the cross-entropy reached by the best context-free model, the one that always
    predicts the corpus frequencies.
    """
    p = (
        torch.bincount(codes.flatten().long(), minlength=vocab_size).double()
        / codes.numel()
    )
    p = p[p > 0]
    return float(-(p * p.log()).sum())
