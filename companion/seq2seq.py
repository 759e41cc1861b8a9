"""Encoder–decoder networks, with and without attention (chapter 7).

An *encoder* reads the source ``x_1 … x_S`` into states, a *decoder* writes the target
one symbol at a time, each step reading the symbol written before (Sutskever, Vinyals &
Le 2014; Cho et al. 2014). Everything is built from the companion's GRU layer
(``companion.recurrent.GRU``, its ``one_step`` and ``forward``):

* ``BiGRU``: two GRU layers, one reading the source left to right, one right to left
  (each sequence reversed within its own length, so padding is never read before a real
  symbol); their states are concatenated, ``(S, B, 2E)``. ``load_torch`` copies an
  ``nn.GRU(bidirectional=True)``.
* ``Attention`` (from :mod:`companion.attention`, attention's one home, next to
  chapter 8's scaled dot-product): at each decoder step, a distribution over source
  positions, ``α = softmax(score(s, h_j))`` with ``PAD`` positions masked to exactly 0,
  and the context ``c = Σ_j α_j h_j``. The scores: Bahdanau, Cho & Bengio's (2015)
  *additive* ``v^T tanh(W_q s + W_k h_j)``, and Luong, Pham & Manning's (2015) *dot*
  ``s^T h_j`` and *general* ``s^T W h_j``.
* ``Seq2Seq``: embedding, ``BiGRU`` encoder, a GRU decoder started from
  ``s_0 = tanh(W_b [→h_S ; ←h_1] + b_b)``. Without attention the decoder sees the source
  only through ``s_0``: a fixed-size bottleneck. With attention (Bahdanau's order) step
  ``t`` computes ``c_t`` from ``s_{t-1}``, reads ``[y_{t-1} ; c_t]`` and writes from
  Luong's attentional state ``tanh(W_c [s_t ; c_t])``.

Sequences are ``(L, B, …)`` and use the course's ids, ``PAD`` 0 and ``EOS`` 1. The
decoder's first input is ``EOS`` (the course has no begin symbol), as in chapter 4's
language model. ``Seq2Seq.step_function`` gives chapter 6's decoders
(``companion.decoding``) the interface
``step(state, tokens (B,)) -> (log_probs (B, V), state)``, with batch-first state
tensors.

References: Sutskever, Vinyals, Le, "Sequence to sequence learning with neural networks"
(NeurIPS 2014); Cho et al., "Learning phrase representations using RNN encoder-decoder
for statistical machine translation" (EMNLP 2014); Bahdanau, Cho, Bengio, "Neural
machine translation by jointly learning to align and translate" (ICLR 2015); Luong,
Pham, Manning, "Effective approaches to attention-based neural machine translation"
(EMNLP 2015)."""

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from companion.attention import Attention
from companion.checks import Ids, Int, Is, Seq, checked
from companion.data.text import PAD_ID
from companion.language_model import shift_right
from companion.losses import masked_cross_entropy
from companion.recurrent import GRU

_SOURCE = Ids("S", "B", below="self.vocab_size", nonempty="S")
_INPUTS = Ids("T", "B", below="self.vocab_size")
_START = Int(0, below="self.vocab_size")


def _check_lengths(door) -> None:
    """``lengths (B,)`` in ``[1, S]``."""
    lengths, steps = door.args["lengths"], door.dims["S"]
    if bool((lengths < 1).any() or (lengths > steps).any()):
        raise ValueError(f"expected lengths in [1, {steps}], got {lengths.tolist()}")


def _check_bidirectional(door) -> None:
    """``gru``: one layer, both directions, biases, sequence first."""
    gru = door.args["gru"]
    if gru.num_layers != 1 or not gru.bidirectional or gru.batch_first or not gru.bias:
        raise ValueError("expected a one-layer bidirectional nn.GRU, biases, seq first")


def _check_dim(door) -> None:
    """``attention_dim`` only with an attention."""
    if door.args["attention"] is None and door.args["attention_dim"] is not None:
        raise ValueError("expected attention_dim=None without attention")


def _check_source(door) -> None:
    """``source (S, B)`` or ``(S,)``: in each column, symbols, then only ``PAD``."""
    pad = door.args["source"] == PAD_ID
    if bool(pad[0].any()):
        raise ValueError("expected every source column to start with a real symbol")
    if bool((pad[:-1] & ~pad[1:]).any()):
        raise ValueError("expected source columns with PAD only at the end, got a gap")


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each column of ``x (L, B, …)`` within its length ``lengths (B,)``.

    Positions ``t >= lengths[b]`` (padding) stay where they are, so the result is again
    a padded batch, and ``reverse_padded`` is its own inverse."""
    steps = torch.arange(x.shape[0], device=x.device)[:, None]
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)  # (L, B)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(0, index)


class BiGRU(nn.Module):
    """A bidirectional GRU made of two companion ``GRU`` layers; states ``(S, B, 2H)``.

    ``forward_layer`` reads each sequence left to right, ``backward_layer`` right to
    left. The layers have no linear read-out (``output_dim=None``): an encoder only
    hands on its states."""

    def __init__(self, input_dim: int, latent_dim: int):
        super().__init__()
        self.input_dim, self.latent_dim = input_dim, latent_dim
        self.forward_layer = GRU(input_dim, latent_dim, None)
        self.backward_layer = GRU(input_dim, latent_dim, None)

    @checked(_check_lengths, x=Seq("S", "B", "self.input_dim"), lengths=Ids("B"))
    def forward(self, x: torch.Tensor, lengths: torch.Tensor):
        """``x (S, B, D)``, ``lengths (B,)`` → states ``(S, B, 2H)``, final ``(B, 2H)``.

        ``states[j] = [→h_j ; ←h_j]`` on real positions and 0 on padding (as
        ``nn.utils.rnn.pad_packed_sequence`` gives); ``final = [→h_{len-1} ; ←h_0]``,
        the last state of each direction. The door checks ``x`` and that every length
        lies in ``[1, S]``; the layers run bare behind it."""
        forward_states = self.forward_layer.forward.bare(x)
        backward_states = reverse_padded(
            self.backward_layer.forward.bare(reverse_padded(x, lengths)), lengths
        )
        mask = torch.arange(x.shape[0], device=x.device)[:, None] < lengths  # (S, B)
        states = torch.cat([forward_states, backward_states], dim=2) * mask[..., None]
        last = forward_states.gather(
            0, (lengths - 1).view(1, -1, 1).expand(1, -1, self.latent_dim)
        )[0]
        return states, torch.cat([last, backward_states[0]], dim=1)

    @checked(_check_bidirectional, gru=Is(nn.GRU, label="a torch.nn.GRU"))
    def load_torch(self, gru: nn.GRU) -> "BiGRU":
        """Copy a one-layer ``nn.GRU(bidirectional=True)`` (sequence first); returns
        ``self``.

        The ``…_reverse`` weights go to ``backward_layer``; each direction is handed to
        ``GRU.load_torch`` as a one-direction ``nn.GRU``.
        """
        for layer, suffix in (
            (self.forward_layer, ""),
            (self.backward_layer, "_reverse"),
        ):
            one = nn.GRU(gru.input_size, gru.hidden_size).to(gru.weight_ih_l0)
            with torch.no_grad():
                for name in (
                    "weight_ih_l0",
                    "weight_hh_l0",
                    "bias_ih_l0",
                    "bias_hh_l0",
                ):
                    getattr(one, name).copy_(getattr(gru, name + suffix))
            layer.load_torch(one)
        return self


class Memory(NamedTuple):
    """What the encoder hands the decoder: ``keys (S, B, 2 latent_dim)``, their
    ``projected`` part of the score (or ``None`` without attention), ``mask (S, B)``
    (``True`` on real source positions) and the decoder's first state
    ``s0 (B, decoder_latent_dim)``."""

    keys: torch.Tensor
    projected: torch.Tensor | None
    mask: torch.Tensor
    s0: torch.Tensor


class Seq2Seq(nn.Module):
    """A ``BiGRU`` encoder and a GRU decoder, with ``attention`` in
    ``(None,) + Attention.SCORES``.

    Sizes: ``vocab_size`` ids on both sides, ``embed_dim`` for each embedding,
    ``latent_dim`` for the encoder's GRUs (per direction), ``decoder_latent_dim`` for
    the decoder's GRU. The decoder GRU's own read-out (``self.decoder.decode``) turns
    its state (without attention) or the attentional state ``tanh(W_c [s_t ; c_t])``
    (with attention) into logits."""

    @checked(_check_dim, vocab_size=Int(2), embed_dim=Int(), decoder_latent_dim=Int())
    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        latent_dim: int,
        decoder_latent_dim: int,
        attention: str | None = None,
        attention_dim: int | None = None,
    ):
        super().__init__()
        self.vocab_size, self.latent_dim = vocab_size, latent_dim
        self.decoder_latent_dim = decoder_latent_dim
        self.source_embedding = nn.Embedding(vocab_size, embed_dim)
        self.encoder = BiGRU(embed_dim, latent_dim)
        self.bridge = nn.Linear(2 * latent_dim, decoder_latent_dim)
        self.target_embedding = nn.Embedding(vocab_size, embed_dim)
        self.attention = None
        if attention is None:
            self.decoder = GRU(embed_dim, decoder_latent_dim, vocab_size)
        else:
            keys = 2 * latent_dim
            self.attention = Attention(
                attention, decoder_latent_dim, keys, attention_dim
            )
            self.decoder = GRU(embed_dim + keys, decoder_latent_dim, vocab_size)
            self.combine = nn.Linear(decoder_latent_dim + keys, decoder_latent_dim)

    @checked(_check_source, source=_SOURCE)
    def encode(self, source: torch.Tensor) -> Memory:
        """Read ``source (S, B)`` (ids, ``PAD`` at the end of short columns) into a
        ``Memory``.

        The door rejects a column that starts with ``PAD`` or has a ``PAD`` before a
        symbol (its key would be zeroed yet attended to)."""
        mask = source != PAD_ID
        keys, final = self.encoder.forward.bare(
            self.source_embedding(source), mask.sum(0)
        )
        projected = (
            None if self.attention is None else self.attention.project_keys(keys)
        )
        return Memory(keys, projected, mask, torch.tanh(self.bridge(final)))

    def decode_step(self, memory: Memory, s: torch.Tensor, tokens: torch.Tensor):
        """One decoder step: state ``s (B, H)``, previous symbols ``tokens (B,)`` →
        ``logits (B, V)``, the next state ``(B, H)`` and the attention
        ``weights (S, B)`` (``None`` without attention).

        No door: the loops of ``forward``, ``generate`` and ``step_function`` call it
        with what their own doors checked, and it calls the GRU's bare step."""
        y = self.target_embedding(tokens)
        if self.attention is None:
            s = self.decoder.one_step.bare(y, s)
            return self.decoder.decode.bare(s), s, None
        context, weights = self.attention.attend(
            s, memory.keys, memory.projected, memory.mask
        )  # query: s_{t-1}
        s = self.decoder.one_step.bare(torch.cat([y, context], dim=1), s)
        out = torch.tanh(self.combine(torch.cat([s, context], dim=1)))
        return self.decoder.decode.bare(out), s, weights

    @checked(_check_source, source=_SOURCE, inputs=_INPUTS)
    def forward(
        self, source: torch.Tensor, inputs: torch.Tensor, return_weights: bool = False
    ):
        """Teacher forcing: ``source (S, B)`` and the decoder's ``inputs (T, B)`` (the
        true previous symbols, ``shift_right(target)``) → ``logits (T, B, V)``, and the
        attention weights ``(T, S, B)`` with ``return_weights``."""
        memory = self.encode.bare(source)
        s, logits, weights = memory.s0, [], []
        for tokens in inputs.unbind(0):
            out, s, w = self.decode_step(memory, s, tokens)
            logits.append(out)
            weights.append(w)
        logits = torch.stack(logits)
        if not return_weights:
            return logits
        return logits, None if self.attention is None else torch.stack(weights)

    @checked(_check_source, source=_SOURCE, steps=Int(), start_id=_START)
    def generate(self, source: torch.Tensor, steps: int, start_id: int = 1):
        """Free running: ``steps`` greedy steps, each fed the symbol written before.

        Returns ``tokens (T, B)`` (the argmax at each step, ``T = steps``, not cut at
        ``EOS``), ``logits (T, B, V)`` and the weights ``(T, S, B)`` (``None`` without
        attention). The first input is ``start_id`` (``EOS``), an id of the vocabulary.
        """
        memory = self.encode.bare(source)
        s = memory.s0
        tokens = source.new_full((source.shape[1],), start_id)
        written, logits, weights = [], [], []
        for _ in range(steps):
            out, s, w = self.decode_step(memory, s, tokens)
            tokens = out.argmax(dim=1)
            written.append(tokens)
            logits.append(out)
            weights.append(w)
        weights = None if self.attention is None else torch.stack(weights)
        return torch.stack(written), torch.stack(logits), weights

    @checked(_check_source, source=Ids("S", below="self.vocab_size", nonempty="S"))
    def step_function(self, source: torch.Tensor):
        """Chapter 6's interface for one source ``(S,)``: ``step(state, tokens (B,))`` →
        ``(log_probs (B, V), state)``.

        ``state=None`` encodes the source once; the state is a dict of batch-first
        tensors (the decoder state and the memory, transposed) that the decoders reorder
        with ``index_select`` as they keep, copy or drop hypotheses."""
        column = source[:, None]

        def step(state, tokens):
            if state is None:
                memory = self.encode.bare(column)
                projected = (
                    memory.keys if memory.projected is None else memory.projected
                )
                state = {
                    "s": memory.s0,
                    "keys": memory.keys.transpose(0, 1),
                    "projected": projected.transpose(0, 1),
                    "mask": memory.mask.T,
                }
                state = {
                    k: v.expand(len(tokens), *v.shape[1:]) for k, v in state.items()
                }
            memory = Memory(
                state["keys"].transpose(0, 1),
                state["projected"].transpose(0, 1),
                state["mask"].T,
                state["s"],
            )
            logits, s, _ = self.decode_step(memory, state["s"], tokens)
            return F.log_softmax(logits, dim=-1), {**state, "s": s}

        return step


def seq2seq_loss(
    model: Seq2Seq, batch: tuple[torch.Tensor, torch.Tensor]
) -> torch.Tensor:
    """Teacher-forced masked cross-entropy (nats per target symbol) of a
    ``(source (S, B), target (T, B))`` batch; the signature fits
    ``companion.training.fit``. Its door is those of the model (``source``, ``inputs``)
    and of ``masked_cross_entropy`` (``target``), each crossed once."""
    source, target = batch
    return masked_cross_entropy(model(source, shift_right(target)), target, PAD_ID)
