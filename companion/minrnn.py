"""minGRU and minLSTM: recurrent layers whose gates read the input only (chapter 9).

Feng et al., "Were RNNs all we needed?" (2024), strip the GRU and the LSTM of every
dependence of their gates on ``h_{t-1}``. What is left is a linear recurrence
``h_t = a_t ⊙ h_{t-1} + b_t`` whose ``a_t`` and ``b_t`` depend on ``x_t`` alone, so
all ``L`` of them are computed at once and ``h`` follows by a scan::

    minGRU:   z_t = σ(W_z x_t + b_z),  h̃_t = g(W_h x_t + b_h)
              h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t
    minLSTM:  f_t = σ(W_f x_t + b_f),  i_t = σ(W_i x_t + b_i),  h̃_t = g(W_h x_t + b_h)
              h_t = (f_t ⊙ h_{t-1} + i_t ⊙ h̃_t) / (f_t + i_t)

``g(x) = x + 1/2`` for ``x ≥ 0`` and ``σ(x)`` below keeps ``h̃`` positive, so every
``h_t`` is positive and the scan runs in log space (``companion.scan.log_linear_scan``):
``log(1 - z) = -softplus(k)``, ``log z = -softplus(-k)``, and for the minLSTM's
normalised gates ``log(f / (f + i)) = -softplus(d)``, ``log(i / (f + i)) =
-softplus(-d)`` with ``d = softplus(-k_f) - softplus(-k_i)``.

Two modes compute the same function: ``"sequential"`` loops ``one_step`` (the equations
above, as written: generation runs this way, one token at a time, with a state of ``H``
numbers), ``"parallel"`` computes the log-coefficients of all steps and scans them
(training runs this way). The layers share the interface of ``companion.rnn.RNN``
(``one_step``, ``forward``, ``hidden``, ``decode``), so ``CharLM`` and
``train_on_task`` take them; a state ``h (B, H)`` given to ``forward`` must be
positive, as the layer's own states are (the parallel mode takes its log)."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from companion.checks import All, Float, Int, OneOf, That, checked
from companion.rnn import HIDDEN, SEQUENCE, STEP, RecurrentLayer, linear_decoder
from companion.scan import log_linear_scan

MODES = ("parallel", "sequential")
_POSITIVE = That(  # the parallel mode takes log h
    lambda h: h is None or bool((h > 0).all()),
    "expected h with positive entries (a log is taken), got a value <= 0",
)
_STATE = All(Float("B", "self.latent_dim", like="self", optional=True), _POSITIVE)
_SIZES = dict(input_dim=Int(), latent_dim=Int(), output_dim=Int(optional=True))


def g(x: torch.Tensor) -> torch.Tensor:
    """``x + 1/2`` for ``x ≥ 0``, ``σ(x)`` below: positive, continuous, ``≈ x`` for
    large ``x``."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: torch.Tensor) -> torch.Tensor:
    """``log g(x)``, computed without taking the log of a tiny number."""
    return torch.where(x >= 0, (F.relu(x) + 0.5).log(), -F.softplus(-x))


class MinimalRNN(RecurrentLayer):
    """What minGRU and minLSTM share: one projection ``W (nH, D)``, ``b (nH,)`` of the
    input to ``n`` blocks of ``H`` (gates and candidate), the decoder, and ``forward``
    in its two modes. A subclass writes ``one_step`` (the equations) and
    ``log_coefficients`` (the same step as ``log a``, ``log b``)."""

    BLOCKS = 2

    @checked(**_SIZES, mode=OneOf(*MODES))
    def __init__(self, input_dim, latent_dim, output_dim, mode: str = "parallel"):
        super().__init__(input_dim, latent_dim, output_dim)
        self.mode = mode
        bound = 1 / math.sqrt(input_dim)
        n = self.BLOCKS * latent_dim
        self.W = nn.Parameter(torch.empty(n, input_dim).uniform_(-bound, bound))
        self.b = nn.Parameter(torch.empty(n).uniform_(-bound, bound))
        self.decoder = linear_decoder(latent_dim, output_dim)

    def project(self, x: torch.Tensor):
        """The ``n`` blocks of ``W x + b``, each ``(…, H)``."""
        return (x @ self.W.T + self.b).chunk(self.BLOCKS, dim=-1)

    @checked(x=SEQUENCE, h=_STATE, mode=OneOf(None, *MODES))
    def forward(self, x, h=None, return_state: bool = False, mode=None):
        """``x (L, B, D)`` → states ``(L, B, H)`` (and the last, ``(B, H)``, with
        ``return_state``), from ``h (B, H)`` (zeros when ``None``), in ``mode``
        (``self.mode`` when ``None``)."""
        if (mode or self.mode) == "sequential":
            h = self.initial_state(x.shape[1], x) if h is None else h
            states = []
            for x_t in x.unbind(0):
                h = self.one_step.bare(x_t, h)
                states.append(h)
            states = torch.stack(states)
        else:
            log_a, log_b = self.log_coefficients(x)
            log_h0 = None if h is None else h.log()
            states = log_linear_scan.bare(log_a, log_b, log_h0).exp()
        return (states, states[-1]) if return_state else states


class MinGRU(MinimalRNN):
    """minGRU: ``h_t = (1 - z_t) h_{t-1} + z_t g(h̃_t)``, gates from ``x_t`` only.
    Parameters ``W (2H, D)``, ``b (2H,)`` (rows: ``z``, then ``h̃``) and the decoder:
    ``2H(D + 1)`` in the recurrence, against the GRU's ``3H(D + H + 2)``."""

    BLOCKS = 2

    @checked(x=STEP, h=HIDDEN)
    def one_step(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step: ``x (B, D)``, ``h (B, H)`` → next ``h (B, H)``."""
        k, candidate = self.project(x)
        z = torch.sigmoid(k)
        return (1 - z) * h + z * g(candidate)

    def log_coefficients(self, x: torch.Tensor):
        """``log a = log(1 - z)`` and ``log b = log z + log g(h̃)``, each
        ``(L, B, H)``."""
        k, candidate = self.project(x)
        return -F.softplus(k), -F.softplus(-k) + log_g(candidate)


class MinLSTM(MinimalRNN):
    """minLSTM: ``h_t = (f_t h_{t-1} + i_t g(h̃_t)) / (f_t + i_t)``, gates from
    ``x_t`` only. Parameters ``W (3H, D)``, ``b (3H,)`` (rows: ``f``, ``i``, ``h̃``)
    and the decoder."""

    BLOCKS = 3

    @checked(x=STEP, h=HIDDEN)
    def one_step(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step: ``x (B, D)``, ``h (B, H)`` → next ``h (B, H)``."""
        k_f, k_i, candidate = self.project(x)
        f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
        return (f * h + i * g(candidate)) / (f + i)

    def log_coefficients(self, x: torch.Tensor):
        """``log(f / (f + i))`` and ``log(i / (f + i)) + log g(h̃)``, each
        ``(L, B, H)``."""
        k_f, k_i, candidate = self.project(x)
        d = F.softplus(-k_f) - F.softplus(-k_i)  # log(i / f)
        return -F.softplus(d), -F.softplus(-d) + log_g(candidate)
