"""Non-recurrent baselines that a recurrent network has to beat (chapter 2).

* ``MeanMaxClassifier``: multinomial logistic regression on the mean and the maximum of each
  input dimension over the sequence. It sees how busy a window is, not how the flow moves,
  so a recurrent classifier that reads the order of the values should beat it.
* ``persistence_forecast``: tomorrow's weather is today's; the next value is the last one.
* ``unigram_entropy``: the loss (in nats per symbol) of a model that predicts every character
  with its corpus frequency, ignoring the context; a language model must go below it.
"""

import torch
from torch import nn

from companion.checks import check_floating, check_integer, check_positive_int, check_shape


def mean_max_features(x: torch.Tensor) -> torch.Tensor:
    """Summary features of sequences: ``x (L, B, D)`` → ``(B, 2D)``, the means then the maxima."""
    check_floating("x", x)
    check_shape("x", x, ("L", "B", "D"))
    return torch.cat([x.mean(dim=0), x.amax(dim=0)], dim=1)


class MeanMaxClassifier(nn.Module):
    """Logistic regression on ``mean_max_features``, standardised with the training statistics.

    ``fit(x (L, B, D), labels (B,))`` trains it to convergence with L-BFGS (a convex problem,
    so the result does not depend on the seed); ``forward(x (L, B, D))`` returns logits
    ``(B, num_classes)``.
    """

    def __init__(self, input_dim: int, num_classes: int):
        super().__init__()
        check_positive_int("input_dim", input_dim)
        check_positive_int("num_classes", num_classes)
        self.input_dim, self.num_classes = input_dim, num_classes
        self.register_buffer("mean", torch.zeros(2 * input_dim))
        self.register_buffer("std", torch.ones(2 * input_dim))
        self.linear = nn.Linear(2 * input_dim, num_classes)

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        check_floating("x", x)
        check_shape("x", x, ("L", "B", self.input_dim))
        return (mean_max_features(x) - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)`` for sequences ``x (L, B, D)``."""
        return self.linear(self._features(x))

    def fit(self, x: torch.Tensor, labels: torch.Tensor, steps: int = 100,
            weight_decay: float = 1e-4) -> "MeanMaxClassifier":
        """Fit on ``x (L, B, D)`` and integer ``labels (B,)`` in ``[0, num_classes)``."""
        dims = check_shape("x", x, ("L", "B", self.input_dim))
        check_positive_int("steps", steps)
        check_integer("labels", labels)
        check_shape("labels", labels, ("B",), dims)
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"expected labels in [0, {self.num_classes}), got values from "
                             f"{int(labels.min())} to {int(labels.max())}")
        features = mean_max_features(x)
        self.mean.copy_(features.mean(dim=0))
        self.std.copy_(features.std(dim=0).clamp_min(1e-8))
        features = (features - self.mean) / self.std
        optimizer = torch.optim.LBFGS(self.linear.parameters(), max_iter=steps,
                                      line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(self.linear(features), labels)
            loss = loss + weight_decay * self.linear.weight.pow(2).sum()
            loss.backward()
            return loss

        optimizer.step(closure)
        return self


def persistence_forecast(x: torch.Tensor) -> torch.Tensor:
    """Predict ``x_{t+1}`` by ``x_t``: inputs ``x (L, B, D)`` → predictions ``(L, B, D)``.

    Aligned with ``ForecastMetroDataset``, whose targets are the inputs shifted by one step,
    the forecast of every step is simply the input of that step.
    """
    check_floating("x", x)
    if x.dim() < 2:
        raise ValueError(f"expected x of shape (L, B, ...), got {tuple(x.shape)}")
    return x.clone()


def unigram_entropy(codes: torch.Tensor, vocab_size: int) -> float:
    """Entropy in nats of the symbol frequencies of ``codes`` (any shape, ids < ``vocab_size``).

    It is the cross-entropy reached by the best context-free model, the one that always
    predicts the corpus frequencies.
    """
    check_integer("codes", codes)
    if codes.numel() == 0:
        raise ValueError("expected at least one code, got an empty tensor")
    if codes.min() < 0 or codes.max() >= vocab_size:
        raise ValueError(f"expected codes in [0, {vocab_size}), got values from "
                         f"{int(codes.min())} to {int(codes.max())}")
    p = torch.bincount(codes.flatten(), minlength=vocab_size).double() / codes.numel()
    p = p[p > 0]
    return float(-(p * p.log()).sum())
