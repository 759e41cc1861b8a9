"""Encoder–decoder networks, with and without attention (chapter 7).

An *encoder* reads the source ``x_1 … x_S`` into states, a *decoder* writes the target
one symbol at a time, each step reading the symbol written before (Sutskever, Vinyals &
Le 2014; Cho et al. 2014). Everything is built from the companion's GRU layer
(``companion.recurrent.GRU``, its ``one_step`` and ``forward``):

* ``BiGRU``: two GRU layers, one reading the source left to right, one right to left
  (each sequence reversed within its own length, so padding is never read before a real
  symbol); their states are concatenated, ``(S, B, 2E)``. ``load_torch`` copies an
  ``nn.GRU(bidirectional=True)``.
* ``Attention``: at each decoder step, a distribution over source positions,
  ``α = softmax(score(s, h_j))`` with ``PAD`` positions masked to exactly 0, and the
  context ``c = Σ_j α_j h_j``. The scores: Bahdanau, Cho & Bengio's (2015) *additive*
  ``v^T tanh(W_q s + W_k h_j)``, and Luong, Pham & Manning's (2015) *dot* ``s^T h_j``
  and *general* ``s^T W h_j``.
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

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from companion.checks import (
    check_floating,
    check_ids,
    check_integer,
    check_positive_int,
    check_shape,
    check_tensor,
)
from companion.data.text import PAD_ID
from companion.language_model import shift_right
from companion.losses import masked_cross_entropy
from companion.recurrent import GRU


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
    left. The layers' own linear read-outs are removed: an encoder only hands on its
    states."""

    def __init__(self, input_dim: int, latent_dim: int):
        super().__init__()
        self.input_dim, self.latent_dim = input_dim, latent_dim
        self.forward_layer = GRU(input_dim, latent_dim, 1)
        self.backward_layer = GRU(input_dim, latent_dim, 1)
        del self.forward_layer.decoder, self.backward_layer.decoder

    def forward(self, x: torch.Tensor, lengths: torch.Tensor):
        """``x (S, B, D)``, ``lengths (B,)`` → states ``(S, B, 2H)``, final ``(B, 2H)``.

        ``states[j] = [→h_j ; ←h_j]`` on real positions and 0 on padding (as
        ``nn.utils.rnn.pad_packed_sequence`` gives); ``final = [→h_{len-1} ; ←h_0]``,
        the last state of each direction."""
        check_floating("x", x)
        dims = check_shape("x", x, ("S", "B", self.input_dim))
        check_tensor("lengths", lengths, ("B",), dims)
        check_integer("lengths", lengths)
        if bool((lengths < 1).any() or (lengths > dims["S"]).any()):
            raise ValueError(
                f"expected lengths in [1, {dims['S']}], got values in "
                f"[{int(lengths.min())}, {int(lengths.max())}]"
            )
        forward_states = self.forward_layer(x)
        backward_states = reverse_padded(
            self.backward_layer(reverse_padded(x, lengths)), lengths
        )
        mask = torch.arange(dims["S"], device=x.device)[:, None] < lengths  # (S, B)
        states = torch.cat([forward_states, backward_states], dim=2) * mask[..., None]
        last = forward_states.gather(
            0, (lengths - 1).view(1, -1, 1).expand(1, -1, self.latent_dim)
        )[0]
        return states, torch.cat([last, backward_states[0]], dim=1)

    def load_torch(self, gru: nn.GRU) -> "BiGRU":
        """Copy a one-layer ``nn.GRU(bidirectional=True)`` (sequence first); returns
        ``self``.

        The ``…_reverse`` weights go to ``backward_layer``; each direction is handed to
        ``GRU.load_torch`` as a one-direction ``nn.GRU``.
        """
        if not isinstance(gru, nn.GRU):
            raise TypeError(f"expected a torch.nn.GRU, got {type(gru).__name__}")
        if (gru.num_layers, gru.bidirectional, gru.batch_first, gru.bias) != (
            1,
            True,
            False,
            True,
        ):
            raise ValueError(
                "expected a one-layer, bidirectional nn.GRU with biases and "
                "batch_first=False"
            )
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


class Attention(nn.Module):
    """Attention of one query ``(B, Dq)`` over keys ``(S, B, Dk)``, which are also the
    values.

    ``score``: ``"additive"`` (Bahdanau) ``v^T tanh(W_q q + W_k k_j + b)`` with an
    ``attention_dim``-wide hidden layer (default ``query_dim``); ``"dot"`` (Luong)
    ``q^T k_j``, which needs ``query_dim == key_dim``; ``"general"`` (Luong)
    ``q^T W k_j``. The keys' part of a score does not depend on the query, so
    ``project_keys`` computes it once per source and every decoder step reuses it."""

    SCORES = ("additive", "dot", "general")

    def __init__(
        self, score: str, query_dim: int, key_dim: int, attention_dim: int | None = None
    ):
        super().__init__()
        if score not in self.SCORES:
            raise ValueError(f"expected score in {self.SCORES}, got {score!r}")
        check_positive_int("query_dim", query_dim)
        check_positive_int("key_dim", key_dim)
        self.score_name, self.query_dim, self.key_dim = score, query_dim, key_dim
        if score == "additive":
            attention_dim = query_dim if attention_dim is None else attention_dim
            check_positive_int("attention_dim", attention_dim)
            self.W_q = nn.Linear(query_dim, attention_dim, bias=False)
            self.W_k = nn.Linear(key_dim, attention_dim)
            self.v = nn.Linear(attention_dim, 1, bias=False)
        elif attention_dim is not None:
            raise ValueError(
                f"expected attention_dim=None for the {score!r} score, got "
                f"{attention_dim!r}"
            )
        if score == "dot" and query_dim != key_dim:
            raise ValueError(
                f"expected query_dim == key_dim for the dot score, got "
                f"{query_dim} and {key_dim}"
            )
        if score == "general":
            self.W = nn.Linear(key_dim, query_dim, bias=False)

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        """The query-free part of the score: ``W_k k + b`` (additive), ``W k`` (general)
        or ``k`` itself (dot); ``keys (S, B, Dk)`` → ``(S, B, ·)``."""
        if self.score_name == "additive":
            return self.W_k(keys)
        return self.W(keys) if self.score_name == "general" else keys

    def scores(self, query: torch.Tensor, projected: torch.Tensor) -> torch.Tensor:
        """Unnormalised scores ``(S, B)`` of ``query (B, Dq)`` against ``projected``."""
        if self.score_name == "additive":
            return self.v(torch.tanh(projected + self.W_q(query))).squeeze(-1)
        return (projected * query).sum(-1)

    def forward(
        self,
        query: torch.Tensor,
        keys: torch.Tensor,
        mask: torch.Tensor | None = None,
        projected: torch.Tensor | None = None,
    ):
        """``query (B, Dq)``, ``keys (S, B, Dk)`` → ``context (B, Dk)``,
        ``weights (S, B)``.

        ``mask (S, B)`` is boolean, ``True`` on real positions: masked scores become
        ``-inf``, so their weights are exactly 0 and the others sum to 1. Every column
        needs one real position. ``projected`` is ``project_keys(keys)``, when already
        computed."""
        check_floating("query", query)
        check_floating("keys", keys)
        dims = check_shape("query", query, ("B", self.query_dim))
        check_shape("keys", keys, ("S", "B", self.key_dim), dims)
        if mask is not None:
            check_tensor("mask", mask, ("S", "B"), dims)
            if mask.dtype != torch.bool:
                raise TypeError(f"expected a boolean mask, got {mask.dtype}")
            if not bool(mask.any(0).all()):
                raise ValueError(
                    "expected every column of mask to have a True (real) "
                    "position, got a column of padding only"
                )
        projected = self.project_keys(keys) if projected is None else projected
        return self.attend(query, keys, projected, mask)

    def attend(self, query, keys, projected, mask):
        """``forward`` without its checks, for the decoder's loop."""
        scores = self.scores(query, projected)
        if mask is not None:
            scores = scores.masked_fill(~mask, -math.inf)
        weights = torch.softmax(scores, dim=0)  # (S, B), over positions
        context = (weights.unsqueeze(-1) * keys).sum(0)  # Σ_j α_j h_j, (B, Dk)
        return context, weights


class Memory(NamedTuple):
    """What the encoder hands the decoder: ``keys (S, B, 2E)``, their ``projected`` part
    of the score (or ``None`` without attention), ``mask (S, B)`` (``True`` on real
    source positions) and the decoder's first state ``s0 (B, H)``."""

    keys: torch.Tensor
    projected: torch.Tensor | None
    mask: torch.Tensor
    s0: torch.Tensor


class Seq2Seq(nn.Module):
    """A ``BiGRU`` encoder and a GRU decoder, with ``attention`` in
    ``(None,) + SCORES``.

    Sizes: ``vocab_size`` ids on both sides, ``embed_dim`` for each embedding,
    ``encoder_dim`` per direction, ``decoder_dim`` for the decoder state. The decoder
    GRU's own read-out (``self.decoder.decode``) turns its state (without attention) or
    the attentional state ``tanh(W_c [s_t ; c_t])`` (with attention) into logits."""

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        encoder_dim: int,
        decoder_dim: int,
        attention: str | None = None,
        attention_dim: int | None = None,
    ):
        super().__init__()
        check_positive_int("vocab_size", vocab_size, minimum=2)
        check_positive_int("embed_dim", embed_dim)
        check_positive_int("encoder_dim", encoder_dim)
        check_positive_int("decoder_dim", decoder_dim)
        self.vocab_size = vocab_size
        self.source_embedding = nn.Embedding(vocab_size, embed_dim)
        self.encoder = BiGRU(embed_dim, encoder_dim)
        self.bridge = nn.Linear(2 * encoder_dim, decoder_dim)
        self.target_embedding = nn.Embedding(vocab_size, embed_dim)
        if attention is None:
            if attention_dim is not None:
                raise ValueError(
                    f"expected attention_dim=None without attention, got "
                    f"{attention_dim!r}"
                )
            self.attention = None
            self.decoder = GRU(embed_dim, decoder_dim, vocab_size)
        else:
            self.attention = Attention(
                attention, decoder_dim, 2 * encoder_dim, attention_dim
            )
            self.decoder = GRU(embed_dim + 2 * encoder_dim, decoder_dim, vocab_size)
            self.combine = nn.Linear(decoder_dim + 2 * encoder_dim, decoder_dim)

    def _check_source(self, source: torch.Tensor) -> dict:
        check_ids("source", source, self.vocab_size)
        dims = check_shape("source", source, ("S", "B"))
        if bool((source[0] == PAD_ID).any()):
            raise ValueError(
                "expected every source column to start with a real symbol, got "
                "one starting with PAD"
            )
        return dims

    def encode(self, source: torch.Tensor) -> Memory:
        """Read ``source (S, B)`` (ids, ``PAD`` at the end of short columns) into a
        ``Memory``."""
        self._check_source(source)
        mask = source != PAD_ID
        keys, final = self.encoder(self.source_embedding(source), mask.sum(0))
        projected = (
            None if self.attention is None else self.attention.project_keys(keys)
        )
        return Memory(keys, projected, mask, torch.tanh(self.bridge(final)))

    def decode_step(self, memory: Memory, s: torch.Tensor, tokens: torch.Tensor):
        """One decoder step: state ``s (B, H)``, previous symbols ``tokens (B,)`` →
        ``logits (B, V)``, the next state ``(B, H)`` and the attention
        ``weights (S, B)`` (``None`` without attention)."""
        y = self.target_embedding(tokens)
        if self.attention is None:
            s = self.decoder.one_step(y, s)
            return self.decoder.decode(s), s, None
        context, weights = self.attention.attend(
            s, memory.keys, memory.projected, memory.mask
        )  # query: s_{t-1}
        s = self.decoder.one_step(torch.cat([y, context], dim=1), s)
        out = torch.tanh(self.combine(torch.cat([s, context], dim=1)))
        return self.decoder.decode(out), s, weights

    def forward(
        self, source: torch.Tensor, inputs: torch.Tensor, return_weights: bool = False
    ):
        """Teacher forcing: ``source (S, B)`` and the decoder's ``inputs (T, B)`` (the
        true previous symbols, ``shift_right(target)``) → ``logits (T, B, V)``, and the
        attention weights ``(T, S, B)`` with ``return_weights``."""
        dims = self._check_source(source)
        check_ids("inputs", inputs, self.vocab_size)
        check_shape("inputs", inputs, ("T", "B"), dims)
        memory = self.encode(source)
        s, logits, weights = memory.s0, [], []
        for tokens in inputs.unbind(0):
            out, s, w = self.decode_step(memory, s, tokens)
            logits.append(out)
            weights.append(w)
        logits = torch.stack(logits)
        if not return_weights:
            return logits
        return logits, None if self.attention is None else torch.stack(weights)

    def generate(self, source: torch.Tensor, steps: int, start_id: int = 1):
        """Free running: ``steps`` greedy steps, each fed the symbol written before.

        Returns ``tokens (T, B)`` (the argmax at each step, ``T = steps``, not cut at
        ``EOS``), ``logits (T, B, V)`` and the weights ``(T, S, B)`` (``None`` without
        attention). The first input is ``start_id`` (``EOS``).
        """
        self._check_source(source)
        check_positive_int("steps", steps)
        memory = self.encode(source)
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

    def step_function(self, source: torch.Tensor):
        """Chapter 6's interface for one source ``(S,)``: ``step(state, tokens (B,))`` →
        ``(log_probs (B, V), state)``.

        ``state=None`` encodes the source once; the state is a dict of batch-first
        tensors (the decoder state and the memory, transposed) that the decoders reorder
        with ``index_select`` as they keep, copy or drop hypotheses."""
        check_ids("source", source, self.vocab_size)
        check_shape("source", source, ("S",))
        column = source[:, None]
        self._check_source(column)

        def step(state, tokens):
            if state is None:
                memory = self.encode(column)
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
    ``companion.training.fit``."""
    source, target = batch
    return masked_cross_entropy(model(source, shift_right(target)), target, PAD_ID)
