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

``RecurrentLayer`` holds what the layers share word for word: the sizes, the zero
state, ``hidden`` and ``decode``. Each model writes its own ``one_step`` and
``forward``: the recurrence is what tells them apart. ``one_step``, ``forward`` and
``decode`` check their arguments at the door (``companion.checks``); inside the package
they are called through ``.bare``. ``hidden`` and ``initial_state`` check nothing.

References: Elman, "Finding structure in time" (1990); the course handout TP3 (AMAL,
Sorbonne)."""

import math

import torch
from torch import nn

from companion.checks import Either, Float, Int, Seq, That, checked

# The doors of the interface, the same for every layer: x_t (B, D), x (L, B, D) with at
# least one step, h (B, H), and h (B, H) or (L, B, H) to decode, in the dtype of the
# layer's parameters; a layer made with output_dim=None has no decoder.
STEP = Seq("B", "self.input_dim")
SEQUENCE = Seq("L", "B", "self.input_dim")
HIDDEN = Float("B", "self.latent_dim", like="self")
HIDDEN_OR_NONE = Float("B", "self.latent_dim", like="self", optional=True)
HIDDENS = Either(HIDDEN, Float("L", "B", "self.latent_dim", like="self"))
DECODER = That(lambda m: m.output_dim, "expected a decoder, got output_dim=None")


def linear_decoder(latent_dim: int, output_dim: int | None) -> nn.Linear | None:
    """The decoder ``y = W_d h + b_d``: ``nn.Linear(H, O)`` initialised uniformly in
    ``±1/sqrt(H)`` like the recurrent weights; ``None`` when ``output_dim`` is ``None``
    (a layer inside a larger network)."""
    if output_dim is None:
        return None
    bound = 1 / math.sqrt(latent_dim)
    decoder = nn.Linear(latent_dim, output_dim)
    nn.init.uniform_(decoder.weight, -bound, bound)
    nn.init.uniform_(decoder.bias, -bound, bound)
    return decoder


class RecurrentLayer(nn.Module):
    """What every recurrent layer of the book shares: the sizes ``input_dim`` (D),
    ``latent_dim`` (H) and ``output_dim`` (O), a zero initial state, ``hidden`` and the
    decoder. A subclass creates its weights and its ``decoder`` (``linear_decoder``),
    and writes its own ``one_step`` and ``forward``."""

    def __init__(self, input_dim: int, latent_dim: int, output_dim: int | None):
        super().__init__()
        self.input_dim = input_dim
        self.latent_dim = latent_dim
        self.output_dim = output_dim

    def initial_state(self, batch_size: int, like: torch.Tensor) -> torch.Tensor:
        """A zero state ``(B, H)`` with the dtype and device of ``like``."""
        return like.new_zeros(batch_size, self.latent_dim)

    @staticmethod
    def hidden(state: torch.Tensor) -> torch.Tensor:
        """The hidden vector ``(B, H)`` of a state (the state itself, but for the
        LSTM's ``(h, C)``)."""
        return state

    @checked(self=DECODER, h=HIDDENS)
    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """Decode ``(B, H)`` or ``(L, B, H)`` hidden states into ``(…, output_dim)``
        outputs."""
        return self.decoder(h)


class RNN(RecurrentLayer):
    """Elman RNN with a linear decoder.

    Parameters: ``W_i (H, D)``, ``W_h (H, H)``, ``b_h (H,)`` and the decoder
    ``W_d (O, H)``, ``b_d (O,)``; all initialised uniformly in ``±1/sqrt(H)`` like
    PyTorch's."""

    @checked(input_dim=Int(), latent_dim=Int(), output_dim=Int())
    def __init__(self, input_dim: int, latent_dim: int, output_dim: int):
        super().__init__(input_dim, latent_dim, output_dim)
        bound = 1 / math.sqrt(latent_dim)
        self.W_i = nn.Parameter(
            torch.empty(latent_dim, input_dim).uniform_(-bound, bound)
        )
        self.W_h = nn.Parameter(
            torch.empty(latent_dim, latent_dim).uniform_(-bound, bound)
        )
        self.b_h = nn.Parameter(torch.empty(latent_dim).uniform_(-bound, bound))
        self.decoder = linear_decoder(latent_dim, output_dim)

    @checked(x=STEP, h=HIDDEN)
    def one_step(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step: ``x (B, D)``, ``h (B, H)`` → next ``h (B, H)``."""
        return torch.tanh(x @ self.W_i.T + h @ self.W_h.T + self.b_h)

    @checked(x=SEQUENCE, h=HIDDEN_OR_NONE)
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
