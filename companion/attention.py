"""Attention in PyTorch, written out: scaled dot-product, multi-head, sinusoidal
positions, and the additive and multiplicative scores of the encoder–decoder.

This is attention's one home. The same computations as
:mod:`companion.attention_numpy`, as autograd-friendly code and ``nn.Module``\\ s.
Chapter 8 checks them against ``torch.nn.functional.scaled_dot_product_attention`` and
``torch.nn.MultiheadAttention`` with copied weights; chapter 7's encoder–decoder
(:mod:`companion.seq2seq`) imports ``Attention``, the scores of Bahdanau et al.
(*additive*) and Luong et al. (*dot*, *general*), which are one query over the keys of
a source.

Sequences are ``(L, B, D)``; inside the heads the layout is ``(B, h, L, d_head)``, so
that one batched matrix product covers every head of every sequence.
``MultiHeadAttention.step`` attends from one new position over a cache of past keys and
values, which is how a decoder generates text one token at a time without recomputing
the prefix.

References: Vaswani et al., "Attention is all you need" (2017); Bahdanau, Cho, Bengio,
"Neural machine translation by jointly learning to align and translate" (ICLR 2015);
Luong, Pham, Manning, "Effective approaches to attention-based neural machine
translation" (EMNLP 2015)."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from companion.checks import Float, Int, Mask, OneOf, Pair, Real, Seq, That, checked

_DROPOUT = Real(0, 1, high_open=True)
_FLOAT = "expected {name} to be a floating-point dtype, got {value}"
_DTYPE = That(lambda t: getattr(t, "is_floating_point", 0) is True, _FLOAT, TypeError)
_Q = Float(..., "Lq", "dk")
_K = Float(..., "Lk", "dk")
_V = Float(..., "Lk", "dv")
_KV = Float("B", "self.n_heads", "t", "self.d_head", like="self")
_CACHE = Pair(
    _KV, _KV, parts=("cache k", "cache v"), label="a pair (k, v)", optional=True
)
_QUERY = Float("B", "self.query_dim")
_KEYS = Float("S", "B", "self.key_dim", like="query")


def _check_qkv(door) -> None:
    """``q``, ``k``, ``v`` of one dtype, no empty size (at least one key)."""
    q, k, v = (door.args[name] for name in "qkv")
    dtypes = q.dtype, k.dtype, v.dtype
    if len(set(dtypes)) > 1:
        raise TypeError(f"expected q, k, v of one dtype, got {dtypes}")
    if 0 in (*q.shape, *k.shape, *v.shape):
        raise ValueError(f"expected at least one key, no empty size, got k {k.shape}")


def _check_scores(door) -> None:
    """``attention_dim`` only for the additive score; ``dot`` needs equal sizes."""
    score, extra = door.args["score"], door.args["attention_dim"]
    Int(optional=True).check("attention_dim", extra, door)
    if score != "additive" and extra is not None:
        raise ValueError(f"expected attention_dim=None for {score}, got {extra}")
    if score == "dot" and (q := door.args["query_dim"]) != (k := door.args["key_dim"]):
        raise ValueError(f"expected query_dim == key_dim (dot), got {q}, {k}")


def _check_padding(door) -> None:
    """``mask``: a ``True`` (a real position) in every column."""
    if (mask := door.args["mask"]) is not None and not bool(mask.any(0).all()):
        raise ValueError("expected a True in each column of mask, got padding only")


@checked(length=Int())
def causal_mask(length: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Boolean ``(L, L)`` mask, ``True`` where query ``i`` may see key ``j``
    (``j <= i``).

    Same convention as ``F.scaled_dot_product_attention`` (``True`` = allowed); note
    that ``nn.MultiheadAttention`` uses the opposite one (``True`` = masked)."""
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()


@checked(_check_qkv, q=_Q, k=_K, v=_V, mask=Mask(..., "Lq", "Lk"), dropout_p=_DROPOUT)
def scaled_dot_product_attention(q, k, v, mask=None, dropout_p=0.0):
    """``softmax(q k^T / sqrt(d_k)) v`` over the keys a boolean ``mask`` allows
    (``True``); returns ``(output (..., Lq, dv), weights (..., Lq, Lk))``.

    ``q (..., Lq, dk)``, ``k (..., Lk, dk)``, ``v (..., Lk, dv)`` tensors of one dtype;
    ``mask`` broadcastable to ``(..., Lq, Lk)``; ``dropout_p`` drops weights (training
    only). The leading dimensions become one batch and the mask an additive bias (0 or
    ``-inf``) that ``torch.baddbmm`` adds while it multiplies. A query whose keys are
    all masked gets NaN weights; any other bad argument is named by the door."""
    *lead, len_q, d_k = q.shape
    len_k, d_v = v.shape[-2:]
    q, k, v = (t.reshape(-1, *t.shape[-2:]) for t in (q, k, v))  # (B', L, d)
    if mask is None:
        scores = torch.bmm(q / math.sqrt(d_k), k.transpose(1, 2))
    else:  # the mask as a bias, 0 or -inf, that baddbmm adds while it multiplies
        bias = q.new_zeros(mask.shape).masked_fill_(~mask, -math.inf)
        bias = bias.expand(*lead, len_q, len_k).reshape(-1, len_q, len_k)
        scores = torch.baddbmm(bias, q, k.transpose(1, 2), alpha=1 / math.sqrt(d_k))
    weights = torch.softmax(scores, dim=-1)
    if dropout_p > 0:
        weights = F.dropout(weights, dropout_p)
    out = torch.bmm(weights, v)
    return out.reshape(*lead, len_q, d_v), weights.reshape(*lead, len_q, len_k)


@checked(length=Int(), d_model=Int(2, multiple_of=2), offset=Int(0), dtype=_DTYPE)
def sinusoidal_positions(
    length: int,
    d_model: int,
    *,
    offset: int = 0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Sinusoidal encodings ``(L, d_model)`` of positions ``offset … offset + L - 1``.

    ``PE[p, 2i] = sin(p / 10000^(2i/d))``, ``PE[p, 2i+1] = cos(p / 10000^(2i/d))``;
    ``d_model`` must be even, ``offset >= 0`` and ``dtype`` floating (an integer table
    would round every entry to 0 or ±1). No table, no maximum length: positions are
    computed on demand."""
    position = torch.arange(offset, offset + length, dtype=torch.float64, device=device)
    frequency = 10000.0 ** (
        -torch.arange(0, d_model, 2, dtype=torch.float64, device=device) / d_model
    )
    angles = position[:, None] * frequency
    pe = torch.stack((angles.sin(), angles.cos()), dim=-1).reshape(length, d_model)
    return pe.to(dtype)


class MultiHeadAttention(nn.Module):
    """Multi-head self-attention on ``(L, B, d_model)`` sequences.

    ``in_proj = nn.Linear(d, 3d)`` gives the stacked ``[Q; K; V]`` projections (the
    packing of ``nn.MultiheadAttention``'s ``in_proj_weight``),
    ``out_proj = nn.Linear(d, d)`` mixes the heads. Initialisation as in
    ``nn.MultiheadAttention``: Xavier-uniform ``in_proj``, zero biases, so that fresh
    attention scores have unit scale whatever ``d_model``."""

    @checked(n_heads=Int(size="h"), d_model=Int(multiple_of="h"), dropout=_DROPOUT)
    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0):
        super().__init__()
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_model // n_heads
        self.dropout = dropout
        self.in_proj = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        nn.init.xavier_uniform_(self.in_proj.weight)
        nn.init.zeros_(self.in_proj.bias)
        nn.init.zeros_(self.out_proj.bias)

    def _heads(self, x: torch.Tensor):
        """``x (L, B, d)`` → ``q, k, v``, each ``(B, h, L, d_head)``."""
        length, batch, _ = x.shape
        qkv = self.in_proj(x).reshape(length, batch, 3, self.n_heads, self.d_head)
        return qkv.permute(2, 1, 3, 0, 4).unbind(0)

    @checked(x=Seq("L", "B", "self.d_model"))
    def forward(
        self, x: torch.Tensor, causal: bool = False, need_weights: bool = False
    ):
        """``x (L, B, d_model)`` → ``(L, B, d_model)``, and the weights ``(B, h, L, L)``
        when ``need_weights``. With ``causal`` position ``t`` sees only positions
        ``<= t``."""
        length, batch, _ = x.shape
        q, k, v = self._heads(x)
        mask = causal_mask.bare(length, x.device) if causal else None
        p = self.dropout if self.training else 0.0
        out, weights = scaled_dot_product_attention.bare(q, k, v, mask, dropout_p=p)
        out = self.out_proj(
            out.permute(2, 0, 1, 3).reshape(length, batch, self.d_model)
        )
        return (out, weights) if need_weights else out

    @checked(x=Seq("B", "self.d_model"), cache=_CACHE)
    def step(
        self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None = None
    ):
        """Attend from one new position ``x (B, d_model)`` over itself and the cached
        past.

        ``cache = (k, v)``, each ``(B, h, t, d_head)`` for the ``t`` earlier positions
        (``None`` at ``t = 0``). Returns ``(y (B, d_model), (k, v))`` with the caches
        grown to ``t + 1``. No mask is needed: the cache only holds the past."""
        q, k, v = self._heads(x.unsqueeze(0))
        if cache is not None:
            past_k, past_v = cache
            k, v = torch.cat((past_k, k), dim=2), torch.cat((past_v, v), dim=2)
        out, _ = scaled_dot_product_attention.bare(q, k, v)
        return self.out_proj(out.reshape(x.shape[0], self.d_model)), (k, v)


class Attention(nn.Module):
    """Attention of one query ``(B, Dq)`` over keys ``(S, B, Dk)``, which are also the
    values (chapter 7's decoder state over the encoder states).

    ``score``: ``"additive"`` (Bahdanau) ``v^T tanh(W_q q + W_k k_j + b)`` with an
    ``attention_dim``-wide hidden layer (default ``query_dim``); ``"dot"`` (Luong)
    ``q^T k_j``, which needs ``query_dim == key_dim``; ``"general"`` (Luong)
    ``q^T W k_j``. The keys' part of a score does not depend on the query, so
    ``project_keys`` computes it once per source and every decoder step reuses it. The
    dot score is ``scaled_dot_product_attention`` with one query and no ``1/sqrt(d)``.
    """

    SCORES = ("additive", "dot", "general")

    @checked(_check_scores, score=OneOf(*SCORES), query_dim=Int(), key_dim=Int())
    def __init__(
        self, score: str, query_dim: int, key_dim: int, attention_dim: int | None = None
    ):
        super().__init__()
        self.score_name, self.query_dim, self.key_dim = score, query_dim, key_dim
        if score == "additive":
            attention_dim = query_dim if attention_dim is None else attention_dim
            self.W_q = nn.Linear(query_dim, attention_dim, bias=False)
            self.W_k = nn.Linear(key_dim, attention_dim)
            self.v = nn.Linear(attention_dim, 1, bias=False)
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

    @checked(_check_padding, query=_QUERY, keys=_KEYS, mask=Mask("S", "B"))
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
        projected = self.project_keys(keys) if projected is None else projected
        return self.attend(query, keys, projected, mask)

    def attend(self, query, keys, projected, mask):
        """``forward`` without its door, for the decoder's loop."""
        scores = self.scores(query, projected)
        if mask is not None:
            scores = scores.masked_fill(~mask, -math.inf)
        weights = torch.softmax(scores, dim=0)  # (S, B), over positions
        context = (weights.unsqueeze(-1) * keys).sum(0)  # Σ_j α_j h_j, (B, Dk)
        return context, weights
