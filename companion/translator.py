"""The Transformer as translator: an encoder–decoder with cross-attention, for chapter
7's transduction tasks, built from chapter 8's pieces.

Vaswani et al. introduced the Transformer on translation: an *encoder* of self-attention
blocks reads the source, a *decoder* of causal self-attention blocks writes the target,
and between the two, in every decoder block, **cross-attention**: queries from the
target, keys and values from the encoder's states. Chapter 8 builds the decoder-only
half (:mod:`companion.transformer`); this module adds the rest and reuses its pieces:
``MultiHeadAttention`` (its parameters, its cached ``step``), ``FeedForward``,
``scaled_dot_product_attention``, ``causal_mask`` and ``sinusoidal_positions``.

* ``attend``: multi-head attention of queries over another sequence's keys and values,
  with a ``MultiHeadAttention``'s weights (``nn.MultiheadAttention``'s packing of
  ``in_proj``, rows ``[Q; K; V]``), and a mask for padding.
* ``EncoderBlock``: pre-norm self-attention over the source, padding masked.
* ``CrossDecoderBlock``: pre-norm causal self-attention, cross-attention, feed-forward.
* ``Translator``: embeddings and sinusoidal positions, the two stacks, each closed by a
  ``LayerNorm`` (as ``nn.Transformer(norm_first=True)``), and a linear output layer. It
  has the interface of chapter 7's ``Seq2Seq``: ``encode``, ``forward(source, inputs)``
  (teacher forcing, so ``seq2seq_loss`` and ``fit`` train it), ``generate`` (greedy,
  with cached keys and values) and ``step_function`` for chapter 6's decoders.

Sequences are ``(L, B, …)`` with the course's ids, ``PAD`` 0 and ``EOS`` 1, and the
decoder's first input is ``EOS``. Masks are boolean, ``True`` where a key may be seen
(the opposite of ``nn.Transformer``'s ``*_key_padding_mask``). The public entry points
of ``Translator`` check their arguments at the door; the blocks run bare behind it.

References: Vaswani et al., "Attention is all you need" (2017); Xiong et al., "On layer
normalization in the Transformer architecture" (2020); the Annotated Transformer (Rush,
2018)."""

from types import SimpleNamespace
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from companion.attention import (
    MultiHeadAttention,
    causal_mask,
    scaled_dot_product_attention,
    sinusoidal_positions,
)
from companion.checks import Ids, Int, Is, checked
from companion.data.text import EOS_ID, PAD_ID
from companion.seq2seq import _INPUTS, _SOURCE, _START, _check_source
from companion.transformer import FeedForward


def attend(attn: MultiHeadAttention, x, source, mask=None):
    """Queries from ``x (Lq, B, d)``, keys and values from ``source (Lk, B, d)``, with
    the weights of ``attn``; ``mask`` broadcasts to ``(B, h, Lq, Lk)``, ``True`` =
    seen. Returns ``(Lq, B, d)`` and the weights ``(B, h, Lq, Lk)``. With
    ``source = x`` it is self-attention."""
    d, h, d_head = attn.d_model, attn.n_heads, attn.d_head
    (len_q, batch, _), len_k = x.shape, len(source)
    w_q, w_kv = attn.in_proj.weight.split([d, 2 * d])
    b_q, b_kv = attn.in_proj.bias.split([d, 2 * d])
    q = F.linear(x, w_q, b_q).reshape(len_q, batch, h, d_head).permute(1, 2, 0, 3)
    kv = F.linear(source, w_kv, b_kv).reshape(len_k, batch, 2, h, d_head)
    k, v = kv.permute(2, 1, 3, 0, 4).unbind(0)  # each (B, h, Lk, d_head)
    p = attn.dropout if attn.training else 0.0
    out, weights = scaled_dot_product_attention.bare(q, k, v, mask, dropout_p=p)
    return attn.out_proj(out.permute(2, 0, 1, 3).reshape(len_q, batch, d)), weights


def key_mask(real: torch.Tensor) -> torch.Tensor:
    """``real (L, B)`` (``True`` on symbols) → ``(B, 1, 1, L)``, a mask over keys."""
    return real.T[:, None, None, :]


class EncoderBlock(nn.Module):
    """Pre-norm: ``x + drop(MHA(LN1(x)))``, then ``x + drop(FF(LN2(x)))``; the layer
    ``nn.TransformerEncoderLayer(norm_first=True)`` computes."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads, dropout)  # its door checks
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        """``x (S, B, d)``, ``mask`` over keys (``key_mask``) → ``(S, B, d)``."""
        h = self.ln1(x)
        x = x + self.dropout(attend(self.attn, h, h, mask)[0])
        return x + self.dropout(self.ff(self.ln2(x)))


class CrossDecoderBlock(nn.Module):
    """Pre-norm: causal self-attention, cross-attention over the encoder's states,
    feed-forward, each ``y + drop(sublayer(LN(y)))``; the layer
    ``nn.TransformerDecoderLayer(norm_first=True)`` computes."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        self.ln1, self.ln2, self.ln3 = (nn.LayerNorm(d_model) for _ in range(3))
        self.attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.cross = MultiHeadAttention(d_model, n_heads, dropout)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, y, memory, self_mask=None, memory_mask=None):
        """``y (T, B, d)``, ``memory (S, B, d)`` → ``(T, B, d)`` and the cross-attention
        weights ``(B, h, T, S)``; ``self_mask`` (causal, and padding) broadcasts to
        ``(B, h, T, T)``, ``memory_mask`` to ``(B, h, T, S)``."""
        h = self.ln1(y)
        y = y + self.dropout(attend(self.attn, h, h, self_mask)[0])
        attended, weights = attend(self.cross, self.ln2(y), memory, memory_mask)
        y = y + self.dropout(attended)
        return y + self.dropout(self.ff(self.ln3(y))), weights

    def step(self, y, cache, memory, memory_mask=None):
        """One position ``y (B, d)`` after those in ``cache`` (the ``(k, v)`` of
        ``MultiHeadAttention.step``, ``None`` at first) → ``y (B, d)``, the grown
        cache and the cross-attention weights ``(B, h, 1, S)``."""
        attended, cache = self.attn.step.bare(self.ln1(y), cache)
        y = y + self.dropout(attended)
        attended, weights = attend(self.cross, self.ln2(y)[None], memory, memory_mask)
        y = y + self.dropout(attended[0])
        return y + self.dropout(self.ff(self.ln3(y))), cache, weights


class Memory(NamedTuple):
    """What the encoder hands the decoder: ``states (S, B, d)`` and ``mask (S, B)``,
    ``True`` on real source positions."""

    states: torch.Tensor
    mask: torch.Tensor


class Translator(nn.Module):
    """An encoder–decoder Transformer with chapter 7's ``Seq2Seq`` interface.

    ``vocab_size`` ids on both sides, each with its ``nn.Embedding(padding_idx=PAD)``
    plus sinusoidal positions; ``encoder_layers`` ``EncoderBlock``\\ s and
    ``decoder_layers`` ``CrossDecoderBlock``\\ s of width ``d_model``, ``n_heads``
    heads and a ``d_ff``-wide feed-forward; ``encoder_norm`` and ``decoder_norm`` close
    the stacks; ``head`` writes the logits."""

    @checked(
        vocab_size=Int(2),
        d_model=Int(2, multiple_of=2),
        encoder_layers=Int(),
        decoder_layers=Int(),
    )
    def __init__(
        self,
        vocab_size: int,
        d_model: int = 32,
        n_heads: int = 4,
        encoder_layers: int = 2,
        decoder_layers: int = 2,
        d_ff: int = 96,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.vocab_size, self.d_model = vocab_size, d_model
        self.source_embedding = nn.Embedding(vocab_size, d_model, padding_idx=PAD_ID)
        self.target_embedding = nn.Embedding(vocab_size, d_model, padding_idx=PAD_ID)
        sizes = d_model, n_heads, d_ff, dropout
        self.encoder = nn.ModuleList(
            EncoderBlock(*sizes) for _ in range(encoder_layers)
        )
        self.decoder = nn.ModuleList(
            CrossDecoderBlock(*sizes) for _ in range(decoder_layers)
        )
        self.encoder_norm, self.decoder_norm = (
            nn.LayerNorm(d_model),
            nn.LayerNorm(d_model),
        )
        self.head = nn.Linear(d_model, vocab_size)
        self.dropout = nn.Dropout(dropout)

    def embed(self, embedding: nn.Embedding, tokens: torch.Tensor, offset: int = 0):
        """``tokens (L, B)`` → ``(L, B, d)``: embeddings plus the positions
        ``offset …``."""
        weight = embedding.weight
        positions = sinusoidal_positions.bare(
            len(tokens),
            self.d_model,
            offset=offset,
            dtype=weight.dtype,
            device=weight.device,
        )
        return self.dropout(embedding(tokens) + positions[:, None, :])

    def encoder_states(self, x: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """The encoder stack on ``x (S, B, d)`` with ``real (S, B)`` → ``(S, B, d)``:
        ``nn.Transformer.encoder``."""
        for block in self.encoder:
            x = block(x, key_mask(real))
        return self.encoder_norm(x)

    def decoder_states(self, y, memory, source_real, target_real=None, causal=True):
        """The decoder stack on ``y (T, B, d)`` over ``memory (S, B, d)``
        (``nn.Transformer.decoder``) → ``(T, B, d)`` and the cross-attention weights
        ``(D, B, h, T, S)`` of its ``D`` blocks. ``target_real (T, B)`` masks the
        target's padding too; ``forward`` needs no such mask, as padding comes after the
        symbols and the causal mask already hides it from them."""
        self_mask = causal_mask.bare(len(y), y.device) if causal else None
        if target_real is not None:
            padding = key_mask(target_real)
            self_mask = padding if self_mask is None else self_mask & padding
        maps = []
        for block in self.decoder:
            y, weights = block(y, memory, self_mask, key_mask(source_real))
            maps.append(weights)
        return self.decoder_norm(y), torch.stack(maps)

    @checked(transformer=Is(nn.Transformer, label="a torch.nn.Transformer"))
    def load_torch(self, transformer: nn.Transformer) -> "Translator":
        """Copy the stacks of ``nn.Transformer(norm_first=True)`` with as many layers
        of each kind and the same sizes (its final norms too; the embeddings and
        ``head``, which it lacks, stay); returns ``self``."""
        with torch.no_grad():
            for ours, theirs in torch_parameter_pairs(self, transformer):
                ours.copy_(theirs)
        return self

    @checked(_check_source, source=_SOURCE)
    def encode(self, source: torch.Tensor) -> Memory:
        """Read ``source (S, B)`` (ids, ``PAD`` at the end of short columns) into a
        ``Memory``."""
        real = source != PAD_ID
        x = self.embed(self.source_embedding, source)
        return Memory(self.encoder_states(x, real), real)

    @checked(_check_source, source=_SOURCE, inputs=_INPUTS)
    def forward(self, source, inputs, return_weights: bool = False):
        """Teacher forcing: ``source (S, B)`` and the decoder's ``inputs (T, B)``
        (``shift_right(target)``) → ``logits (T, B, V)``; with ``return_weights`` also
        the cross-attention weights ``(D, h, T, S, B)`` of every decoder block and
        head (``weights[-1].mean(0)`` is ``(T, S, B)``, chapter 7's layout)."""
        memory = self.encode.bare(source)
        y = self.embed(self.target_embedding, inputs)
        states, maps = self.decoder_states(y, memory.states, memory.mask)
        logits = self.head(states)
        return (logits, maps.permute(0, 2, 3, 4, 1)) if return_weights else logits

    def decode_step(self, memory: Memory, caches: list, tokens: torch.Tensor, t: int):
        """One step at position ``t``: ``tokens (B,)`` after the ``caches`` (one
        ``(k, v)`` or ``None`` per block) → ``logits (B, V)``, the grown caches and the
        cross-attention weights ``(D, h, S, B)``. No door: its callers' doors check."""
        y = self.embed(self.target_embedding, tokens[None], offset=t)[0]
        grown, maps = [], []
        for block, cache in zip(self.decoder, caches, strict=True):
            y, cache, weights = block.step(
                y, cache, memory.states, key_mask(memory.mask)
            )
            grown.append(cache)
            maps.append(weights[:, :, 0])
        logits = self.head(self.decoder_norm(y))
        return logits, grown, torch.stack(maps).permute(0, 2, 3, 1)

    @checked(_check_source, source=_SOURCE, steps=Int(), start_id=_START)
    def generate(self, source: torch.Tensor, steps: int, start_id: int = EOS_ID):
        """Free running: ``steps`` greedy steps, each fed the symbol written before.

        Returns ``tokens (T, B)`` (not cut at ``EOS``), ``logits (T, B, V)`` and the
        cross-attention weights ``(D, h, T, S, B)``, ``T = steps``, as ``Seq2Seq``'s
        ``generate``. Keys and values of the target's past are cached."""
        memory = self.encode.bare(source)
        tokens = source.new_full((source.shape[1],), start_id)
        caches = [None] * len(self.decoder)
        written, logits, maps = [], [], []
        for t in range(steps):
            out, caches, weights = self.decode_step(memory, caches, tokens, t)
            tokens = out.argmax(dim=1)
            written.append(tokens)
            logits.append(out)
            maps.append(weights)
        return torch.stack(written), torch.stack(logits), torch.stack(maps, dim=2)

    @checked(_check_source, source=Ids("S", below="self.vocab_size", nonempty="S"))
    def step_function(self, source: torch.Tensor):
        """Chapter 6's interface for one source ``(S,)``: ``step(state, tokens (B,))`` →
        ``(log_probs (B, V), state)``; the state is a dict of batch-first tensors (the
        memory and the caches) that the decoders reorder with ``index_select``."""

        def step(state, tokens):
            if state is None:
                memory = self.encode.bare(source[:, None])
                batch = len(tokens)
                state = {
                    "states": memory.states.transpose(0, 1).expand(batch, -1, -1),
                    "mask": memory.mask.T.expand(batch, -1),
                    "caches": [None] * len(self.decoder),
                }
            memory = Memory(state["states"].transpose(0, 1), state["mask"].T)
            caches = state["caches"]
            t = 0 if caches[0] is None else caches[0][0].shape[2]
            logits, caches, _ = self.decode_step(memory, caches, tokens, t)
            return F.log_softmax(logits, dim=-1), {**state, "caches": caches}

        return step


def torch_parameter_pairs(translator: Translator, transformer: nn.Transformer):
    """``(ours, theirs)`` for every parameter of ``nn.Transformer``'s stacks: ``ln1,
    ln2, ln3`` are its ``norm1, norm2, norm3``, ``attn`` its ``self_attn``, ``cross``
    its ``multihead_attn`` (``in_proj`` its ``in_proj_weight`` and ``in_proj_bias``),
    ``ff.lin1, ff.lin2`` its ``linear1, linear2``."""
    modules = [
        (translator.encoder_norm, transformer.encoder.norm),
        (translator.decoder_norm, transformer.decoder.norm),
    ]
    stacks = (
        (translator.encoder, transformer.encoder.layers, ("attn", "self_attn")),
        (translator.decoder, transformer.decoder.layers, ("attn", "self_attn")),
        (translator.decoder, transformer.decoder.layers, ("cross", "multihead_attn")),
    )
    for blocks, layers, (ours, theirs) in stacks:
        for block, layer in zip(blocks, layers, strict=True):
            a, b = getattr(block, ours), getattr(layer, theirs)
            modules.append((a.out_proj, b.out_proj))
            modules.append(
                (
                    a.in_proj,
                    SimpleNamespace(weight=b.in_proj_weight, bias=b.in_proj_bias),
                )
            )
    for blocks, layers in (
        (translator.encoder, transformer.encoder.layers),
        (translator.decoder, transformer.decoder.layers),
    ):
        for block, layer in zip(blocks, layers, strict=True):
            modules += [(block.ff.lin1, layer.linear1), (block.ff.lin2, layer.linear2)]
            for i in range(1, 4 if hasattr(block, "ln3") else 3):
                modules.append((getattr(block, f"ln{i}"), getattr(layer, f"norm{i}")))
    return [(a.weight, b.weight) for a, b in modules] + [
        (a.bias, b.bias) for a, b in modules
    ]
