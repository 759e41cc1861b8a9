"""Attention in PyTorch, written out: scaled dot-product, multi-head, sinusoidal
positions.

The same computations as :mod:`companion.attention_numpy`, as autograd-friendly code and
an ``nn.Module``. Chapter 8 checks them against
``torch.nn.functional.scaled_dot_product_attention`` and ``torch.nn.MultiheadAttention``
with copied weights.

Sequences are ``(L, B, D)``; inside the heads the layout is ``(B, h, L, d_head)``, so
that one batched matrix product covers every head of every sequence.
``MultiHeadAttention.step`` attends from one new position over a cache of past keys and
values, which is how a decoder generates text one token at a time without recomputing
the prefix.

References: Vaswani et al., "Attention is all you need" (2017); Bahdanau et al., "Neural
machine translation by jointly learning to align and translate" (2015)."""

import math

import torch
from torch import nn

from companion.checks import (
    check_dtype,
    check_floating,
    check_positive_int,
    check_tensor,
)


def causal_mask(length: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Boolean ``(L, L)`` mask, ``True`` where query ``i`` may see key ``j``
    (``j <= i``).

    Same convention as ``F.scaled_dot_product_attention`` (``True`` = allowed); note
    that ``nn.MultiheadAttention`` uses the opposite one (``True`` = masked)."""
    check_positive_int("length", length)
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
):
    """``softmax(q k^T / sqrt(d_k), masked) v``; returns ``(output, weights)``.

    ``q (..., Lq, dk)``, ``k (..., Lk, dk)``, ``v (..., Lk, dv)`` with the same leading
    dimensions ``...`` and dtype → ``output (..., Lq, dv)``, ``weights (..., Lq, Lk)``.
    ``mask`` is boolean and broadcastable to ``(..., Lq, Lk)``, ``True`` where attending
    is allowed; masked scores become ``-inf`` before the softmax (a query whose keys are
    all masked gets NaN weights: unlike the NumPy version, this hot path does not
    check). ``dropout_p`` drops attention weights (training only: pass 0 at evaluation).

    For speed the leading dimensions are flattened into one batch and the mask is turned
    into an additive bias (0 or ``-inf``) that ``torch.baddbmm`` adds while it
    multiplies, so the ``Lq × Lk`` scores are written once before the softmax."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        check_tensor(name, t)
        check_floating(name, t)
        check_dtype(name, t, q.dtype)
        if t.dim() < 2:
            raise ValueError(
                f"expected {name} of shape (..., L, d), got {tuple(t.shape)}"
            )
    lead, (len_q, d_k), (len_k, d_v) = q.shape[:-2], q.shape[-2:], v.shape[-2:]
    if k.shape != (*lead, len_k, d_k):
        raise ValueError(
            f"expected k of shape {(*lead, len_k, d_k)}, got {tuple(k.shape)}"
        )
    if v.shape[:-2] != lead:
        raise ValueError(
            f"expected v of shape {(*lead, len_k, d_v)}, got {tuple(v.shape)}"
        )
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"expected dropout_p in [0, 1), got {dropout_p}")
    q3, k3, v3 = (
        q.reshape(-1, len_q, d_k),
        k.reshape(-1, len_k, d_k),
        v.reshape(-1, len_k, d_v),
    )
    scale = 1.0 / math.sqrt(d_k)
    if mask is None:
        scores = torch.bmm(q3 * scale, k3.transpose(1, 2))
    else:
        check_tensor("mask", mask)
        if mask.dtype != torch.bool:
            raise TypeError(f"expected a boolean mask, got {mask.dtype}")
        full = (*lead, len_q, len_k)
        if mask.dim() > len(full) or any(
            m not in (1, s) for m, s in zip(mask.shape[::-1], full[::-1], strict=False)
        ):
            raise ValueError(
                f"expected mask broadcastable to {full}, got {tuple(mask.shape)}"
            )
        bias = torch.zeros(mask.shape, dtype=q.dtype, device=q.device)
        bias.masked_fill_(~mask, float("-inf"))
        if bias.dim() > 2:
            bias = bias.expand(full).reshape(-1, len_q, len_k)
        scores = torch.baddbmm(bias, q3, k3.transpose(1, 2), alpha=scale)
    weights = torch.softmax(scores, dim=-1)
    if dropout_p > 0.0:
        weights = nn.functional.dropout(weights, dropout_p)
    out = torch.bmm(weights, v3)
    return out.reshape(*lead, len_q, d_v), weights.reshape(*lead, len_q, len_k)


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
    ``d_model`` must be even. No table, no maximum length: positions are computed on
    demand."""
    check_positive_int("length", length)
    if check_positive_int("d_model", d_model, minimum=2) % 2:
        raise ValueError(f"expected d_model to be even, got {d_model}")
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise TypeError(f"expected offset to be an int, got {offset!r}")
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

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0):
        super().__init__()
        check_positive_int("d_model", d_model)
        if d_model % check_positive_int("n_heads", n_heads):
            raise ValueError(
                f"expected n_heads to divide d_model={d_model}, got {n_heads}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"expected dropout in [0, 1), got {dropout}")
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

    def forward(
        self, x: torch.Tensor, causal: bool = False, need_weights: bool = False
    ):
        """``x (L, B, d_model)`` → ``(L, B, d_model)``, and the weights ``(B, h, L, L)``
        when ``need_weights``. With ``causal`` position ``t`` sees only positions
        ``<= t``."""
        dims = check_tensor("x", x, ("L", "B", self.d_model))
        check_dtype("x", x, self.in_proj.weight.dtype)
        length, batch = dims["L"], dims["B"]
        q, k, v = self._heads(x)
        mask = causal_mask(length, x.device) if causal else None
        p = self.dropout if self.training else 0.0
        out, weights = scaled_dot_product_attention(q, k, v, mask, dropout_p=p)
        out = self.out_proj(
            out.permute(2, 0, 1, 3).reshape(length, batch, self.d_model)
        )
        return (out, weights) if need_weights else out

    def step(
        self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None = None
    ):
        """Attend from one new position ``x (B, d_model)`` over itself and the cached
        past.

        ``cache = (k, v)``, each ``(B, h, t, d_head)`` for the ``t`` earlier positions
        (``None`` at ``t = 0``). Returns ``(y (B, d_model), (k, v))`` with the caches
        grown to ``t + 1``. No mask is needed: the cache only holds the past."""
        dims = check_tensor("x", x, ("B", self.d_model))
        check_dtype("x", x, self.in_proj.weight.dtype)
        q, k, v = self._heads(x.unsqueeze(0))
        if cache is not None:
            past_k, past_v = cache
            for name, t in (("cache k", past_k), ("cache v", past_v)):
                check_tensor(name, t, ("B", self.n_heads, "t", self.d_head), dims)
                check_dtype(name, t, q.dtype)
            k, v = torch.cat((past_k, k), dim=2), torch.cat((past_v, v), dim=2)
        out, _ = scaled_dot_product_attention(q, k, v)
        return self.out_proj(out.reshape(dims["B"], self.d_model)), (k, v)
