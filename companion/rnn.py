"""The recurrent network of the course: one class, three uses (chapter 2).

``h_t = tanh(W_i x_t + W_h h_{t-1} + b_h)`` and a linear decoder
``y_t = W_d h_t + b_d``. The interface is the course's: ``one_step(x, h)``,
``forward(x, h=None)``, ``decode(h)``. Every recurrent layer of the book (``RNN`` here,
the LSTM and GRU of chapter 5) shares it, so training and generation code does not care
which one it gets:

* ``one_step(x, state) -> state``: one time step, ``x (B, D)``;
* ``forward(x, state=None, return_state=False)``: ``x (L, B, D)`` → hidden states
  ``(L, B, H)`` (and the final state when ``return_state`` is true);
* ``hidden(state) -> (B, H)``: the part of the state the decoder reads (the state itself
  for the RNN, ``h`` of ``(h, C)`` for the LSTM);
* ``decode(h)``: ``(B, H)`` or ``(L, B, H)`` → ``(B, O)`` or ``(L, B, O)``.

References: Elman, "Finding structure in time" (1990); the course handout TP3 (AMAL,
Sorbonne)."""

import math

import torch
from torch import nn

from companion.checks import Either, Float, Int, Seq, checked


class RNN(nn.Module):
    """Elman RNN with a linear decoder.

    Parameters: ``W_i (H, D)``, ``W_h (H, H)``, ``b_h (H,)`` and the decoder
    ``W_d (O, H)``, ``b_d (O,)``; all initialised uniformly in ``±1/sqrt(H)`` like
    PyTorch's."""

    @checked(input_dim=Int(), latent_dim=Int(), output_dim=Int())
    def __init__(self, input_dim: int, latent_dim: int, output_dim: int):
        super().__init__()
        self.input_dim, self.latent_dim = input_dim, latent_dim
        self.output_dim = output_dim
        bound = 1 / math.sqrt(latent_dim)
        self.W_i = nn.Parameter(
            torch.empty(latent_dim, input_dim).uniform_(-bound, bound)
        )
        self.W_h = nn.Parameter(
            torch.empty(latent_dim, latent_dim).uniform_(-bound, bound)
        )
        self.b_h = nn.Parameter(torch.empty(latent_dim).uniform_(-bound, bound))
        self.decoder = nn.Linear(latent_dim, output_dim)
        nn.init.uniform_(self.decoder.weight, -bound, bound)
        nn.init.uniform_(self.decoder.bias, -bound, bound)

    def initial_state(self, batch_size: int, like: torch.Tensor) -> torch.Tensor:
        """A zero state ``(B, H)`` with the dtype and device of ``like``."""
        return like.new_zeros(batch_size, self.latent_dim)

    @checked(
        x=Seq("B", "self.input_dim"), h=Float("B", "self.latent_dim", like="self")
    )
    def one_step(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step: ``x (B, D)``, ``h (B, H)`` → next ``h (B, H)``."""
        return torch.tanh(x @ self.W_i.T + h @ self.W_h.T + self.b_h)

    @checked(
        x=Seq("L", "B", "self.input_dim"),
        h=Float("B", "self.latent_dim", like="self", optional=True),
    )
    def forward(
        self, x: torch.Tensor, h: torch.Tensor | None = None, return_state: bool = False
    ):
        """Run the whole sequence: ``x (L, B, D)`` → hidden states ``(L, B, H)``.

        ``h (B, H)`` is the initial state (zeros when ``None``). With ``return_state``
        the result is ``(states, h_L)``. The input projections of all steps are computed
        in one matrix product before the loop; the loop only adds ``W_h h_{t-1}``."""
        if h is None:
            h = self.initial_state(x.shape[1], x)
        projected = x @ self.W_i.T + self.b_h
        states = []
        for p_t in projected.unbind(0):
            h = torch.tanh(p_t + h @ self.W_h.T)
            states.append(h)
        states = torch.stack(states)
        return (states, h) if return_state else states

    @staticmethod
    def hidden(state: torch.Tensor) -> torch.Tensor:
        """The hidden vector ``(B, H)`` of a state (for the RNN, the state itself)."""
        return state

    @checked(
        h=Either(
            Float("B", "self.latent_dim", like="self"),
            Float("L", "B", "self.latent_dim", like="self"),
        )
    )
    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """Decode ``(B, H)`` or ``(L, B, H)`` hidden states into ``(…, output_dim)``
        outputs."""
        return self.decoder(h)
