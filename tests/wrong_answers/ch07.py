"""Wrong answers to chapter 7's exercises."""

# The answer cell's class with `scores` and `attend` written: each wrong answer below
# replaces one of the two bodies.
_CLASS = """
import math

import torch
from torch import nn


class Attention(nn.Module):
    SCORES = ("additive", "dot", "general")

    def __init__(self, score, query_dim, key_dim, attention_dim=None):
        super().__init__()
        self.score_name, self.query_dim, self.key_dim = score, query_dim, key_dim
        if score == "additive":
            attention_dim = query_dim if attention_dim is None else attention_dim
            self.W_q = nn.Linear(query_dim, attention_dim, bias=False)
            self.W_k = nn.Linear(key_dim, attention_dim)
            self.v = nn.Linear(attention_dim, 1, bias=False)
        if score == "general":
            self.W = nn.Linear(key_dim, query_dim, bias=False)

    def project_keys(self, keys):
        if self.score_name == "additive":
            return self.W_k(keys)
        return self.W(keys) if self.score_name == "general" else keys

    def scores(self, query, projected):
SCORES_BODY

    def attend(self, query, keys, projected, mask):
ATTEND_BODY

    def forward(self, query, keys, mask=None, projected=None):
        projected = self.project_keys(keys) if projected is None else projected
        return self.attend(query, keys, projected, mask)
"""

SCORES = """\
        if self.score_name == "additive":
            return self.v(torch.tanh(projected + self.W_q(query))).squeeze(-1)
        return (projected * query).sum(-1)"""

ATTEND = """\
        scores = self.scores(query, projected)
        if mask is not None:
            scores = scores.masked_fill(~mask, -math.inf)
        weights = torch.softmax(scores, dim=0)
        return (weights.unsqueeze(-1) * keys).sum(0), weights"""


def _attention(scores=SCORES, attend=ATTEND):
    return _CLASS.replace("SCORES_BODY", scores).replace("ATTEND_BODY", attend)


WRONG = {
    "seq2seq-attention": {
        "the mask never applies (001: masked_fill's result thrown away)": _attention(
            attend=ATTEND.replace(
                "scores = scores.masked_fill(~mask, -math.inf)",
                "scores.masked_fill(~mask, -math.inf)",
            )
        ),
        "weights of PAD zeroed after the softmax, not renormalised": _attention(
            attend="""\
        weights = torch.softmax(self.scores(query, projected), dim=0)
        if mask is not None:
            weights = weights * mask
        return (weights.unsqueeze(-1) * keys).sum(0), weights"""
        ),
        "softmax over the batch (dim 1)": _attention(
            attend=ATTEND.replace("dim=0", "dim=1")
        ),
        "the mask read the other way (True = padding)": _attention(
            attend=ATTEND.replace("masked_fill(~mask", "masked_fill(mask")
        ),
        "additive score without the tanh": _attention(
            scores=SCORES.replace(
                "torch.tanh(projected + self.W_q(query))", "projected + self.W_q(query)"
            )
        ),
        "dot score scaled by 1/sqrt(d)": _attention(
            scores=SCORES.replace(
                "return (projected * query).sum(-1)",
                "return (projected * query).sum(-1) / math.sqrt(query.shape[-1])",
            )
        ),
        "context from the projected keys": _attention(
            attend=ATTEND.replace(
                "(weights.unsqueeze(-1) * keys)", "(weights.unsqueeze(-1) * projected)"
            )
        ),
    },
    "seq2seq-ex4": {
        "0, as with the mask": "seq2seq_ex4_weight = 0.0\n",
        "the total weight of the three PAD positions": ("seq2seq_ex4_weight = 0.568\n"),
        "uniform, 1/5": "seq2seq_ex4_weight = 0.2\n",
        "1/3": "seq2seq_ex4_weight = 1 / 3\n",
    },
}
