"""Stacked and bidirectional LSTMs built from the companion's LSTM layer (chapter 5).

``StackedLSTM(D, H, O, num_layers, bidirectional, dropout)`` computes what
``nn.LSTM(D, H, num_layers, dropout=dropout, bidirectional=bidirectional)`` computes,
followed by a linear decoder, from ``num_layers × directions`` layers of
``companion.recurrent.LSTM`` (without their decoders):

* **Stacking.** Layer ``l`` reads the hidden states of layer ``l - 1``, all ``L`` of
  them, as its input sequence (Graves, Mohamed & Hinton 2013, "Speech recognition with
  deep recurrent neural networks"). Each layer starts from its own initial state.
* **Both directions** (Schuster & Paliwal 1997, "Bidirectional recurrent neural
  networks"). A second layer reads the sequence reversed, ``x_L, …, x_1``; its hidden
  states, put back in the order of time, are concatenated to the forward layer's, so the
  output at step ``t`` is ``[h→_t, h←_t]`` and summarises ``x_1 … x_t`` *and*
  ``x_t … x_L``. The next layer reads these ``2H`` features.
* **Dropout between layers**, as ``nn.LSTM``'s ``dropout``: in training mode, the
  input of every layer but the first goes through ``nn.functional.dropout``; the output
  of the last layer does not (Zaremba, Sutskever & Vinyals 2014, "Recurrent neural
  network regularization": dropout on the connections between layers, never on the
  recurrent ones).

A bidirectional layer reads the future: its output at step ``t`` depends on
``x_{t+1}, …, x_L``. It serves tasks where the whole input is known before any output is
needed (tagging, classifying, encoding a source sentence, chapter 7), never a causal
language model or generation: trained to predict ``x_{t+1}``, it would read it from the
backward direction. ``one_step`` therefore refuses a bidirectional stack.

Layout, as ``nn.LSTM``'s: ``layers[l * directions + d]`` is layer ``l``, direction ``d``
(0 forward, 1 backward), and the state ``(h, C)`` holds ``(num_layers × directions, B,
H)`` tensors in that order. Padding: the backward direction reads a padded batch from
its end, so on sequences of different lengths it starts on padding (``nn.LSTM`` needs a
``PackedSequence`` for that; this module has no such path)."""

import torch
import torch.nn.functional as F
from torch import nn

from companion.checks import Either, Float, Int, Is, Real, Rule, That, checked
from companion.recurrent import LSTM, check_torch_twin, lstm_state
from companion.rnn import SEQUENCE, STEP

LSTMState = tuple[torch.Tensor, torch.Tensor]
_TORCH_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
# The doors of the stack's sizes, state and outputs
SIZES = dict.fromkeys(("input_dim", "latent_dim", "output_dim", "num_layers"), Int())
STATE = lstm_state("self.num_lstms", "B", "self.latent_dim")
STATE_OR_NONE = lstm_state("self.num_lstms", "B", "self.latent_dim", optional=True)
OUTPUT = Float("B", "self.width", like="self")
ONE_WAY = That(
    lambda s: not s.bidirectional, "expected bidirectional=False (it reads the future)"
)


def _check_dropout(door) -> None:  # dropout acts between layers
    if door.args["dropout"] and door.args["num_layers"] == 1:
        raise ValueError("expected num_layers >= 2 for dropout (between layers), got 1")


class StackedLSTM(nn.Module):
    """``num_layers`` LSTM layers, in one or both directions, and a linear decoder.

    ``forward(x (L, B, D), state=None, return_state=False)`` → outputs
    ``(L, B, directions × H)`` (and the final ``(h, C)``, each
    ``(num_layers × directions, B, H)``), like ``nn.LSTM``; ``decode`` maps outputs to
    ``(…, output_dim)``. ``dropout`` in ``[0, 1]`` is applied between layers in training
    mode only, and needs ``num_layers >= 2``. ``num_lstms = num_layers × directions``
    counts the LSTM layers, ``width = directions × H`` is the size of an output."""

    @checked(_check_dropout, **SIZES, bidirectional=Is(bool), dropout=Real(0, 1))
    def __init__(
        self,
        input_dim: int,
        latent_dim: int,
        output_dim: int,
        num_layers: int = 2,
        bidirectional: bool = False,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.input_dim = input_dim
        self.latent_dim = latent_dim
        self.output_dim = output_dim
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = float(dropout)
        self.directions = 2 if bidirectional else 1
        self.num_lstms = num_layers * self.directions
        self.width = self.directions * latent_dim
        widths = [input_dim] + [self.width] * (num_layers - 1)
        self.layers = nn.ModuleList(  # no decoders: the stack has one
            LSTM(width, latent_dim, None)
            for width in widths
            for _ in range(self.directions)
        )
        self.decoder = nn.Linear(self.width, output_dim)

    def initial_state(self, batch_size: int, like: torch.Tensor) -> LSTMState:
        """Zero ``(h, C)``, each ``(num_layers × directions, B, H)``."""
        zeros = like.new_zeros(self.num_lstms, batch_size, self.latent_dim)
        return zeros, zeros.clone()

    @checked(x=SEQUENCE, state=STATE_OR_NONE)
    def forward(
        self,
        x: torch.Tensor,
        state: LSTMState | None = None,
        return_state: bool = False,
    ):
        """Run ``x (L, B, D)`` → outputs ``(L, B, directions × H)`` (and the final
        ``(h, C)``, each ``(num_layers × directions, B, H)``)."""
        h0, c0 = self.initial_state(x.shape[1], x) if state is None else state
        inputs, final_h, final_c = x, [], []
        for layer in range(self.num_layers):
            if layer:  # between two layers, as nn.LSTM's dropout
                inputs = F.dropout(inputs, self.dropout, self.training)
            outputs = []
            for direction in range(self.directions):
                k = layer * self.directions + direction
                seq = inputs.flip(0) if direction else inputs  # backward: x_L … x_1
                lstm = self.layers[k].forward.bare  # layer k, past its door
                states, (h, c) = lstm(seq, (h0[k], c0[k]), return_state=True)
                outputs.append(states.flip(0) if direction else states)
                final_h.append(h)
                final_c.append(c)
            inputs = torch.cat(outputs, dim=2)  # [h→_t, h←_t] at every step t
        final = (torch.stack(final_h), torch.stack(final_c))
        return (inputs, final) if return_state else inputs

    @checked(self=ONE_WAY, x=STEP, state=STATE)
    def one_step(self, x: torch.Tensor, state: LSTMState) -> LSTMState:
        """One step of a one-direction stack: ``x (B, D)`` and ``(h, C)``, each
        ``(num_layers, B, H)`` → the next ``(h, C)``. A bidirectional stack has no
        step: its backward direction starts from the end of the sequence."""
        (h0, c0), inputs, hs, cs = state, x, [], []
        for k, layer in enumerate(self.layers):
            if k:
                inputs = F.dropout(inputs, self.dropout, self.training)
            h, c = layer.one_step.bare(inputs, (h0[k], c0[k]))
            hs.append(h)
            cs.append(c)
            inputs = h
        return torch.stack(hs), torch.stack(cs)

    def hidden(self, state: LSTMState) -> torch.Tensor:
        """What the decoder reads of a final state ``(h, C)``: the top layer's ``h``,
        ``(B, H)``. With both directions, ``[h→_L, h←_1]`` ``(B, 2H)``: each
        direction's last step, the backward one's being step 1. (It is not
        ``outputs[-1] = [h→_L, h←_L]``, whose backward half has read ``x_L`` alone.)"""
        top = state[0][-self.directions :]  # (directions, B, H)
        return torch.cat(top.unbind(0), dim=1)

    @checked(h=Either(OUTPUT, Float("L", "B", "self.width", like="self")))
    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """Decode ``(B, directions × H)`` or ``(L, B, directions × H)`` outputs into
        ``(…, output_dim)``."""
        return self.decoder(h)

    def _suffixes(self):
        """``(k, suffix)`` for every layer: ``nn.LSTM`` names the weights of layer
        ``l`` backward ``weight_ih_l{l}_reverse``."""
        for layer in range(self.num_layers):
            for direction in range(self.directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                yield layer * self.directions + direction, suffix

    @checked(lstm=Rule(check_torch_twin))
    def load_torch(self, lstm: nn.LSTM) -> "StackedLSTM":
        """Copy the weights of an ``nn.LSTM`` of the same shape (sequence first, with
        biases, no projection) into the layers. Returns ``self``."""
        for k, suffix in self._suffixes():
            layer = self.layers[k]
            one = nn.LSTM(layer.input_dim, self.latent_dim).to(lstm.weight_ih_l0)
            with torch.no_grad():
                for name in _TORCH_WEIGHTS:
                    getattr(one, f"{name}_l0").copy_(getattr(lstm, name + suffix))
            layer.load_torch.bare(one)
        return self

    def to_torch(self) -> nn.LSTM:
        """An ``nn.LSTM`` computing the same outputs and states (without the decoder,
        and with the dropout probability, which only acts in training mode)."""
        lstm = nn.LSTM(
            self.input_dim,
            self.latent_dim,
            self.num_layers,
            dropout=self.dropout,
            bidirectional=self.bidirectional,
        ).to(self.decoder.weight)
        for k, suffix in self._suffixes():
            one = self.layers[k].to_torch()
            with torch.no_grad():
                for name in _TORCH_WEIGHTS:
                    getattr(lstm, name + suffix).copy_(getattr(one, f"{name}_l0"))
        return lstm
