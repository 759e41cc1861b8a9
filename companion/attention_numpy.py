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

from companion.checks import Array, Int, Real, checked


def _check_qkv(door) -> None:
    """``q (..., Lq, dk)``, ``k (..., Lk, dk)``, ``v (..., Lk, dv)``, ``Lk >= 1``; a
    boolean mask, broadcastable to ``(..., Lq, Lk)``, that leaves every query a key."""
    q, k, v, mask = (door.args[name] for name in ("q", "k", "v", "mask"))
    if q.ndim < 2:
        raise ValueError(f"expected q of shape (..., L, d), got {q.shape}")
    if k.ndim < 2 or k.shape[-1] != q.shape[-1] or k.shape[-2] == 0:
        raise ValueError(
            f"expected k of shape (..., Lk, {q.shape[-1]}), Lk >= 1, got {k.shape}"
        )
    if v.ndim < 2 or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"expected v of shape (..., {k.shape[-2]}, dv), got {v.shape}")
    if mask is None:
        return
    if getattr(mask, "dtype", None) != np.bool_:
        raise TypeError(f"expected a boolean mask, got {getattr(mask, 'dtype', mask)}")
    shape = (*np.broadcast_shapes(q.shape[:-2], k.shape[:-2]), q.shape[-2], k.shape[-2])
    try:
        mask = np.broadcast_to(mask, shape)
    except ValueError as error:
        raise ValueError(f"expected mask broadcastable to {shape}") from error
    if not mask.any(axis=-1).all():
        raise ValueError("expected a key for every query, got a masked row")


def _check_state(door) -> None:
    """``state``: exactly the keys of ``state_dict()``, each of its shape."""
    own, state = door.owner.state_dict(), door.args["state"]
    if set(state) != set(own):
        missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        raise ValueError(f"expected keys {sorted(own)}, missing {missing}, got {extra}")
    for key, value in state.items():
        if (got := np.shape(value)) != own[key].shape:
            raise ValueError(f"expected {key} of shape {own[key].shape}, got {got}")


@checked(x=Array())
def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``:
    ``exp(x - max x) / sum exp(x - max x)``.

    Entries equal to ``-inf`` get probability exactly 0. Any shape; returns the same
    shape."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


@checked(length=Int())
def causal_mask(length: int) -> np.ndarray:
    """Boolean ``(L, L)`` mask, ``True`` where query ``i`` may look at key ``j``
    (``j <= i``).

    The convention is that of ``torch.nn.functional.scaled_dot_product_attention``:
    ``True`` means *allowed*."""
    return np.tril(np.ones((length, length), dtype=bool))


@checked(_check_qkv, q=Array(), k=Array(), v=Array())
def scaled_dot_product_attention(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None
):
    """Attention of queries ``q (..., Lq, dk)`` over keys ``k (..., Lk, dk)`` and values
    ``v (..., Lk, dv)``; returns ``(output (..., Lq, dv), weights (..., Lq, Lk))``.

    ``mask`` is boolean, broadcastable to ``(..., Lq, Lk)``, ``True`` where attending is
    allowed; the other scores are set to ``-inf`` before the softmax. The door rejects a
    query whose keys are all masked (its output is not defined) and ``Lk = 0``."""
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    weights = softmax.bare(scores, axis=-1)
    return weights @ v, weights


@checked(length=Int(), d_model=Int(2, multiple_of=2))
def positional_encoding(length: int, d_model: int) -> np.ndarray:
    """Sinusoidal positions ``(L, d_model)``: ``PE[p, 2i] = sin(p / 10000^(2i/d))`` and
    ``PE[p, 2i+1] = cos(p / 10000^(2i/d))``; ``d_model`` must be even."""
    position = np.arange(length)[:, None]
    frequency = 10000.0 ** (-np.arange(0, d_model, 2) / d_model)
    pe = np.empty((length, d_model))
    pe[:, 0::2] = np.sin(position * frequency)
    pe[:, 1::2] = np.cos(position * frequency)
    return pe


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

    @checked(_check_state)
    def load_state_dict(self, state: dict) -> None:
        """Copy arrays (NumPy, or anything ``np.asarray`` reads) into the parameters, in
        float64. The keys must be exactly those of ``state_dict()`` with the same
        shapes."""
        own = self.state_dict()
        for key, value in state.items():
            own[key][...] = np.asarray(value, dtype=np.float64)


class Linear(Module):
    """``y = x W^T + b`` with ``W (out, in)``, ``b (out,)``; ``W ~ N(0, 1/in)``,
    ``b = 0``."""

    @checked(d_in=Int(), d_out=Int())
    def __init__(self, d_in: int, d_out: int, rng: np.random.Generator):
        super().__init__()
        self.d_in, self.weight = d_in, rng.normal(0, 1 / np.sqrt(d_in), (d_out, d_in))
        self.bias = np.zeros(d_out)
        self._params = {"weight": self.weight, "bias": self.bias}

    @checked(x=Array(..., "self.d_in"))
    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``x (..., in)`` → ``(..., out)``."""
        return x @ self.weight.T + self.bias


class LayerNorm(Module):
    """Normalise the last dimension to mean 0 and variance 1, then scale and shift:
    ``weight * (x - mean) / sqrt(var + eps) + bias`` (biased variance, as in
    PyTorch)."""

    @checked(d=Int(), eps=Real(0, low_open=True))
    def __init__(self, d: int, eps: float = 1e-5):
        super().__init__()
        self.d, self.eps = d, eps
        self.weight, self.bias = np.ones(d), np.zeros(d)
        self._params = {"weight": self.weight, "bias": self.bias}

    @checked(x=Array(..., "self.d"))
    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``x (..., d)`` → ``(..., d)``."""
        mean = x.mean(axis=-1, keepdims=True)
        var = x.var(axis=-1, keepdims=True)
        return self.weight * (x - mean) / np.sqrt(var + self.eps) + self.bias


class FeedForward(Module):
    """Position-wise ``lin2(relu(lin1(x)))``: ``d_model → d_ff → d_model``."""

    @checked(d_model=Int(), d_ff=Int())
    def __init__(self, d_model: int, d_ff: int, rng: np.random.Generator):
        super().__init__()
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

    @checked(n_heads=Int(size="h"), d_model=Int(multiple_of="h"))
    def __init__(self, d_model: int, n_heads: int, rng: np.random.Generator):
        super().__init__()
        self.d_model, self.n_heads = d_model, n_heads
        self.in_proj = Linear(d_model, 3 * d_model, rng)
        self.out_proj = Linear(d_model, d_model, rng)
        self._children = {"in_proj": self.in_proj, "out_proj": self.out_proj}
        self.weights: np.ndarray | None = None

    @checked(x=Array("L", "B", "self.d_model"))
    def __call__(self, x: np.ndarray, causal: bool = False) -> np.ndarray:
        """``x (L, B, d_model)`` → ``(L, B, d_model)``; with ``causal`` position ``t``
        only sees positions ``<= t``."""
        length, batch, _ = x.shape
        d_head = self.d_model // self.n_heads
        # (L, B, 3D) -> 3 x (B, h, L, d_head)
        q, k, v = (
            part.reshape(length, batch, self.n_heads, d_head).transpose(1, 2, 0, 3)
            for part in np.split(self.in_proj(x), 3, axis=-1)
        )
        mask = causal_mask.bare(length) if causal else None
        out, self.weights = scaled_dot_product_attention.bare(q, k, v, mask)
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
