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

from companion.checks import (
    check_dtype,
    check_positive_int,
    check_real,
    check_sequence,
    check_tensor,
)
from companion.recurrent import LSTM

LSTMState = tuple[torch.Tensor, torch.Tensor]
_TORCH_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class StackedLSTM(nn.Module):
    """``num_layers`` LSTM layers, in one or both directions, and a linear decoder.

    ``forward(x (L, B, D), state=None, return_state=False)`` → outputs
    ``(L, B, directions × H)`` (and the final ``(h, C)``, each
    ``(num_layers × directions, B, H)``), like ``nn.LSTM``; ``decode`` maps outputs to
    ``(…, output_dim)``. ``dropout`` in ``[0, 1]`` is applied between layers in training
    mode only, and needs ``num_layers >= 2``."""

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
        for name, value in (
            ("input_dim", input_dim),
            ("latent_dim", latent_dim),
            ("output_dim", output_dim),
            ("num_layers", num_layers),
        ):
            check_positive_int(name, value)
        if not isinstance(bidirectional, bool):
            raise TypeError(
                f"expected bidirectional to be a bool, got {bidirectional!r}"
            )
        dropout = check_real("dropout", dropout, 0, 1)
        if dropout and num_layers == 1:
            raise ValueError(
                "expected num_layers >= 2 with dropout, which acts between layers; "
                f"got num_layers=1 and dropout={dropout}"
            )
        self.input_dim, self.latent_dim, self.output_dim = (
            input_dim,
            latent_dim,
            output_dim,
        )
        self.num_layers, self.bidirectional, self.dropout = (
            num_layers,
            bidirectional,
            dropout,
        )
        self.directions = 2 if bidirectional else 1
        widths = [input_dim] + [self.directions * latent_dim] * (num_layers - 1)
        self.layers = nn.ModuleList(  # no decoders: the stack has one
            LSTM(width, latent_dim, None)
            for width in widths
            for _ in range(self.directions)
        )
        self.decoder = nn.Linear(self.directions * latent_dim, output_dim)

    def initial_state(self, batch_size: int, like: torch.Tensor) -> LSTMState:
        """Zero ``(h, C)``, each ``(num_layers × directions, B, H)``."""
        zeros = like.new_zeros(len(self.layers), batch_size, self.latent_dim)
        return zeros, zeros.clone()

    def _check_state(self, state, dims: dict) -> LSTMState:
        if not isinstance(state, tuple | list) or len(state) != 2:
            raise TypeError(
                f"expected an LSTM state (h, C), got {type(state).__name__}"
            )
        spec = (len(self.layers), "B", self.latent_dim)
        for name, tensor in zip(("h", "C"), state, strict=True):
            check_tensor(name, tensor, spec, dims)
            check_dtype(name, tensor, self.decoder.weight.dtype)
        return tuple(state)

    def forward(
        self,
        x: torch.Tensor,
        state: LSTMState | None = None,
        return_state: bool = False,
    ):
        """Run ``x (L, B, D)`` → outputs ``(L, B, directions × H)`` (and the final
        ``(h, C)``, each ``(num_layers × directions, B, H)``)."""
        dims = check_sequence(
            "x", x, ("L", "B", self.input_dim), self.decoder.weight.dtype
        )
        h0, c0 = (
            self.initial_state(dims["B"], x)
            if state is None
            else self._check_state(state, dims)
        )
        inputs, final_h, final_c = x, [], []
        for layer in range(self.num_layers):
            if layer:  # between two layers, as nn.LSTM's dropout
                inputs = F.dropout(inputs, self.dropout, self.training)
            outputs = []
            for direction in range(self.directions):
                k = layer * self.directions + direction
                seq = inputs.flip(0) if direction else inputs  # backward: x_L … x_1
                states, (h, c) = self.layers[k](seq, (h0[k], c0[k]), return_state=True)
                outputs.append(states.flip(0) if direction else states)
                final_h.append(h)
                final_c.append(c)
            inputs = torch.cat(outputs, dim=2)  # [h→_t, h←_t] at every step t
        final = (torch.stack(final_h), torch.stack(final_c))
        return (inputs, final) if return_state else inputs

    def one_step(self, x: torch.Tensor, state: LSTMState) -> LSTMState:
        """One step of a one-direction stack: ``x (B, D)`` and ``(h, C)``, each
        ``(num_layers, B, H)`` → the next ``(h, C)``. A bidirectional stack has no
        step: its backward direction starts from the end of the sequence."""
        if self.bidirectional:
            raise ValueError(
                "expected a one-direction stack for one_step, got bidirectional=True: "
                "its backward direction reads the future, x_{t+1} … x_L"
            )
        dims = check_sequence("x", x, ("B", self.input_dim), self.decoder.weight.dtype)
        h0, c0 = self._check_state(state, dims)
        inputs, hs, cs = x, [], []
        for k, layer in enumerate(self.layers):
            if k:
                inputs = F.dropout(inputs, self.dropout, self.training)
            h, c = layer.one_step(inputs, (h0[k], c0[k]))
            hs.append(h)
            cs.append(c)
            inputs = h
        return torch.stack(hs), torch.stack(cs)

    def hidden(self, state: LSTMState) -> torch.Tensor:
        """The top layer's hidden vector ``(B, H)`` of a one-direction state."""
        return state[0][-1]

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """Decode ``(B, directions × H)`` or ``(L, B, directions × H)`` outputs into
        ``(…, output_dim)``."""
        width = self.directions * self.latent_dim
        check_tensor("h", h)
        if h.dim() not in (2, 3) or h.shape[-1] != width:
            raise ValueError(
                f"expected h of shape (B, {width}) or (L, B, {width}), "
                f"got {tuple(h.shape)}"
            )
        check_dtype("h", h, self.decoder.weight.dtype)
        return self.decoder(h)

    def _suffixes(self):
        """``(k, suffix)`` for every layer: ``nn.LSTM`` names the weights of layer
        ``l`` backward ``weight_ih_l{l}_reverse``."""
        for layer in range(self.num_layers):
            for direction in range(self.directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                yield layer * self.directions + direction, suffix

    def load_torch(self, lstm: nn.LSTM) -> "StackedLSTM":
        """Copy the weights of an ``nn.LSTM`` of the same shape (sequence first, with
        biases, no projection) into the layers. Returns ``self``."""
        if not isinstance(lstm, nn.LSTM):
            raise TypeError(f"expected a torch.nn.LSTM, got {type(lstm).__name__}")
        ours = (
            self.input_dim,
            self.latent_dim,
            self.num_layers,
            self.bidirectional,
            False,
            True,
            0,
        )
        theirs = (
            lstm.input_size,
            lstm.hidden_size,
            lstm.num_layers,
            lstm.bidirectional,
            lstm.batch_first,
            lstm.bias,
            lstm.proj_size,
        )
        if ours != theirs:
            fields = (
                "(input_size, hidden_size, num_layers, bidirectional, batch_first, "
                "bias, proj_size)"
            )
            raise ValueError(
                f"expected an nn.LSTM with {fields} = {ours}, got {theirs}"
            )
        for k, suffix in self._suffixes():
            layer = self.layers[k]
            one = nn.LSTM(layer.input_dim, self.latent_dim).to(lstm.weight_ih_l0)
            with torch.no_grad():
                for name in _TORCH_WEIGHTS:
                    getattr(one, f"{name}_l0").copy_(getattr(lstm, name + suffix))
            layer.load_torch(one)
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
