"""Wrong answers to chapter 8's exercises; 001's two mask bugs among them."""

_RIGHT = """
import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None, dropout_p=0.0):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, -math.inf)
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
"""

MASKING = "scores = scores.masked_fill(~mask, -math.inf)"

WRONG = {
    "tf-attention": {
        "001: the mask never applies (masked_fill's result thrown away)": (
            _RIGHT.replace(MASKING, "scores.masked_fill(~mask, -math.inf)")
        ),
        "001: a NumPy masked array inside the softmax": """
import numpy as np
import torch


def scaled_dot_product_attention(q, k, v, mask=None, dropout_p=0.0):
    q, k, v = (t.detach().numpy() for t in (q, k, v))
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        hidden = np.broadcast_to(~mask.numpy(), scores.shape)
        scores = np.ma.masked_array(scores, mask=hidden)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = e / e.sum(axis=-1, keepdims=True)
    weights = np.asarray(weights)  # strip the mask to multiply: the raw data
    return torch.from_numpy(weights @ v), torch.from_numpy(weights)
""",
        "the causal mask off by one: the diagonal masked too": _RIGHT.replace(
            MASKING,
            "future = torch.ones(scores.shape[-2:], dtype=torch.bool).triu(0)\n"
            "        scores = scores.masked_fill(future, -math.inf)",
        ),
        "no 1/sqrt(d_k) scale": _RIGHT.replace(" / math.sqrt(q.shape[-1])", ""),
        "scaled by 1/d_k": _RIGHT.replace("math.sqrt(q.shape[-1])", "q.shape[-1]"),
        "softmax over the queries (dim -2)": _RIGHT.replace("dim=-1", "dim=-2"),
        "future weights zeroed after the softmax": """
import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None, dropout_p=0.0):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights * mask
    return weights @ v, weights
""",
    },
    "tf-ex1": {
        "the variance, not the standard deviation": "tf_ex1_std = 256\n",
        "after the division by sqrt(d_k)": "tf_ex1_std = 1.0\n",
        "1 / sqrt(d_k)": "tf_ex1_std = 1 / 16\n",
    },
    "tf-ex4": {
        "N itself": "tf_ex4_ratio = 200\n",
        "the masked half left out: (N + 2) / 3": "tf_ex4_ratio = 202 / 3\n",
        "N / 2": "tf_ex4_ratio = 100\n",
        "N³/3 against N², forgetting the 1/2": "tf_ex4_ratio = 200 / 3\n",
    },
}
