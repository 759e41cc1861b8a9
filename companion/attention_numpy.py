"""The Transformer's parts in NumPy, forward only: attention, heads, positions, a
decoder block.

Everything here is the textbook computation written out, so that chapter 8 can check it
line by line against the PyTorch modules of :mod:`companion.attention` and
:mod:`companion.transformer` (same parameter names, so a torch ``state_dict`` loads
straight into the NumPy block).

* ``scaled_dot_product_attention``: ``softmax(Q K^T / sqrt(d_k) + mask) V`` with the
  mask applied as ``-inf`` *before* a max-shifted softmax, so a masked key gets a weight
  of exactly 0;
* ``MultiHeadAttention``: ``h`` heads of size ``d_model / h`` in one packed projection;
* ``positional_encoding``: the sinusoids of Vaswani et al.;
* ``LayerNorm``, ``FeedForward`` and a **pre-norm** ``DecoderBlock`` ``x + MHA(LN(x))``
  then ``x + FF(LN(x))`` (Xiong et al. 2020: the residual path stays an identity, so a
  deep stack trains without learning-rate warm-up).

Sequences are ``(L, B, D)`` as everywhere in the book. Weights are drawn with variance
``1 / fan_in``, so the attention scores of a fresh model have unit scale whatever
``d_model``.

References: Vaswani et al., "Attention is all you need" (2017); Ba et al., "Layer
normalization" (2016); Xiong et al., "On layer normalization in the Transformer
architecture" (2020)."""

import numpy as np

from companion.checks import check_array, check_positive_int, check_shape


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``:
    ``exp(x - max x) / sum exp(x - max x)``.

    Entries equal to ``-inf`` get probability exactly 0. Any shape; returns the same
    shape."""
    check_array("x", x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def causal_mask(length: int) -> np.ndarray:
    """Boolean ``(L, L)`` mask, ``True`` where query ``i`` may look at key ``j``
    (``j <= i``).

    The convention is that of ``torch.nn.functional.scaled_dot_product_attention``:
    ``True`` means *allowed*."""
    check_positive_int("length", length)
    return np.tril(np.ones((length, length), dtype=bool))


def scaled_dot_product_attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None
):
    """Attention of queries ``q (..., Lq, dk)`` over keys ``k (..., Lk, dk)`` and values
    ``v (..., Lk, dv)``; returns ``(output (..., Lq, dv), weights (..., Lq, Lk))``.

    ``mask`` is boolean, broadcastable to ``(..., Lq, Lk)``, ``True`` where attending is
    allowed; the other scores are set to ``-inf`` before the softmax. A query whose keys
    are all masked has no defined output and raises ``ValueError``."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        check_array(name, t)
        if t.ndim < 2:
            raise ValueError(f"expected {name} of shape (..., L, d), got {t.shape}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"expected k of shape (..., Lk, {q.shape[-1]}), got {k.shape}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"expected v of shape (..., {k.shape[-2]}, dv), got {v.shape}")
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        if mask.dtype != bool:
            raise TypeError(f"expected a boolean mask, got {mask.dtype}")
        try:
            mask = np.broadcast_to(mask, scores.shape)
        except ValueError as err:
            raise ValueError(
                f"expected mask broadcastable to {scores.shape}, got {mask.shape}"
            ) from err
        if not mask.any(axis=-1).all():
            raise ValueError(
                "expected every query to see at least one key, got a masked row"
            )
        scores = np.where(mask, scores, -np.inf)
    weights = softmax(scores, axis=-1)
    return weights @ v, weights


def positional_encoding(length: int, d_model: int) -> np.ndarray:
    """Sinusoidal positions ``(L, d_model)``: ``PE[p, 2i] = sin(p / 10000^(2i/d))`` and
    ``PE[p, 2i+1] = cos(p / 10000^(2i/d))``; ``d_model`` must be even."""
    check_positive_int("length", length)
    if check_positive_int("d_model", d_model, minimum=2) % 2:
        raise ValueError(f"expected d_model to be even, got {d_model}")
    position = np.arange(length)[:, None]
    frequency = 10000.0 ** (-np.arange(0, d_model, 2) / d_model)
    pe = np.empty((length, d_model))
    pe[:, 0::2] = np.sin(position * frequency)
    pe[:, 1::2] = np.cos(position * frequency)
    return pe


def _check_last_dim(name: str, x: np.ndarray, size: int) -> None:
    """Raise unless ``x`` is a floating array of shape ``(..., size)``."""
    check_array(name, x)
    if x.ndim < 1 or x.shape[-1] != size:
        raise ValueError(f"expected {name} of shape (..., {size}), got {x.shape}")


class Module:
    """A minimal parameter container: named arrays in ``_params``, named sub-modules in
    ``_children``, and flat ``state_dict`` keys (``"attn.in_proj.weight"``) like
    PyTorch's."""

    def __init__(self):
        self._params: dict[str, np.ndarray] = {}
        self._children: dict[str, Module] = {}

    def state_dict(self) -> dict[str, np.ndarray]:
        """Every parameter under its dotted name."""
        state = dict(self._params)
        for name, child in self._children.items():
            state.update(
                {f"{name}.{key}": value for key, value in child.state_dict().items()}
            )
        return state

    def load_state_dict(self, state: dict) -> None:
        """Copy arrays (NumPy, or anything ``np.asarray`` reads) into the parameters, in
        float64. The keys must be exactly those of ``state_dict()`` with the same
        shapes."""
        own = self.state_dict()
        if set(state) != set(own):
            missing, extra = (
                sorted(set(own) - set(state)),
                sorted(set(state) - set(own)),
            )
            raise ValueError(
                f"expected keys {sorted(own)}, missing {missing}, unexpected {extra}"
            )
        for key, value in state.items():
            value = np.asarray(value, dtype=np.float64)
            if value.shape != own[key].shape:
                raise ValueError(
                    f"expected {key} of shape {own[key].shape}, got {value.shape}"
                )
            own[key][...] = value


class Linear(Module):
    """``y = x W^T + b`` with ``W (out, in)``, ``b (out,)``; ``W ~ N(0, 1/in)``,
    ``b = 0``."""

    def __init__(self, d_in: int, d_out: int, rng: np.random.Generator):
        super().__init__()
        check_positive_int("d_in", d_in)
        check_positive_int("d_out", d_out)
        self.weight = rng.normal(0.0, 1.0 / np.sqrt(d_in), size=(d_out, d_in))
        self.bias = np.zeros(d_out)
        self._params = {"weight": self.weight, "bias": self.bias}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``x (..., in)`` → ``(..., out)``."""
        _check_last_dim("x", x, self.weight.shape[1])
        return x @ self.weight.T + self.bias


class LayerNorm(Module):
    """Normalise the last dimension to mean 0 and variance 1, then scale and shift:
    ``weight * (x - mean) / sqrt(var + eps) + bias`` (biased variance, as in
    PyTorch)."""

    def __init__(self, d: int, eps: float = 1e-5):
        super().__init__()
        check_positive_int("d", d)
        if not eps > 0:
            raise ValueError(f"expected eps > 0, got {eps}")
        self.eps = eps
        self.weight, self.bias = np.ones(d), np.zeros(d)
        self._params = {"weight": self.weight, "bias": self.bias}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``x (..., d)`` → ``(..., d)``."""
        _check_last_dim("x", x, self.weight.shape[0])
        mean = x.mean(axis=-1, keepdims=True)
        var = x.var(axis=-1, keepdims=True)
        return self.weight * (x - mean) / np.sqrt(var + self.eps) + self.bias


class FeedForward(Module):
    """Position-wise ``lin2(relu(lin1(x)))``: ``d_model → d_ff → d_model``."""

    def __init__(self, d_model: int, d_ff: int, rng: np.random.Generator):
        super().__init__()
        check_positive_int("d_model", d_model)
        check_positive_int("d_ff", d_ff)
        self.lin1, self.lin2 = Linear(d_model, d_ff, rng), Linear(d_ff, d_model, rng)
        self._children = {"lin1": self.lin1, "lin2": self.lin2}

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``x (..., d_model)`` → ``(..., d_model)``, each position independently."""
        return self.lin2(np.maximum(self.lin1(x), 0.0))


class MultiHeadAttention(Module):
    """Self-attention with ``n_heads`` heads of size ``d_model / n_heads``.

    ``in_proj`` maps ``x`` to the stacked ``[Q; K; V]`` (``3 d_model`` outputs), each
    split into heads; ``out_proj`` mixes the concatenated heads. The last attention
    weights ``(B, h, L, L)`` are kept in ``self.weights`` for plotting."""

    def __init__(self, d_model: int, n_heads: int, rng: np.random.Generator):
        super().__init__()
        check_positive_int("d_model", d_model)
        if d_model % check_positive_int("n_heads", n_heads):
            raise ValueError(
                f"expected n_heads to divide d_model={d_model}, got {n_heads}"
            )
        self.d_model, self.n_heads = d_model, n_heads
        self.in_proj = Linear(d_model, 3 * d_model, rng)
        self.out_proj = Linear(d_model, d_model, rng)
        self._children = {"in_proj": self.in_proj, "out_proj": self.out_proj}
        self.weights: np.ndarray | None = None

    def __call__(self, x: np.ndarray, causal: bool = False) -> np.ndarray:
        """``x (L, B, d_model)`` → ``(L, B, d_model)``; with ``causal`` position ``t``
        only sees positions ``<= t``."""
        check_array("x", x)
        dims = check_shape("x", x, ("L", "B", self.d_model))
        length, batch = dims["L"], dims["B"]
        d_head = self.d_model // self.n_heads
        # (L, B, 3D) -> 3 x (B, h, L, d_head)
        q, k, v = (
            part.reshape(length, batch, self.n_heads, d_head).transpose(1, 2, 0, 3)
            for part in np.split(self.in_proj(x), 3, axis=-1)
        )
        mask = causal_mask(length) if causal else None
        out, self.weights = scaled_dot_product_attention(q, k, v, mask)
        out = out.transpose(2, 0, 1, 3).reshape(length, batch, self.d_model)
        return self.out_proj(out)


class DecoderBlock(Module):
    """Pre-norm decoder block: ``x + MHA(LN1(x), causal)`` then ``x + FF(LN2(x))``.

    Pre-norm rather than the original post-norm ``LN(x + f(x))``: the sum ``x + f(x)``
    is never normalised, so gradients reach the first layers through an identity path
    and training is stable without warm-up (Xiong et al. 2020); GPT-2 made the same
    choice."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, rng: np.random.Generator):
        super().__init__()
        self.ln1, self.ln2 = LayerNorm(d_model), LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads, rng)
        self.ff = FeedForward(d_model, d_ff, rng)
        self._children = {
            "ln1": self.ln1,
            "attn": self.attn,
            "ln2": self.ln2,
            "ff": self.ff,
        }

    def __call__(self, x: np.ndarray, causal: bool = True) -> np.ndarray:
        """``x (L, B, d_model)`` → ``(L, B, d_model)``."""
        x = x + self.attn(self.ln1(x), causal=causal)
        return x + self.ff(self.ln2(x))
