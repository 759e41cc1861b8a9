"""Associative recall: what a fixed-size state cannot hold (chapter 9).

Multi-query associative recall (MQAR; Arora et al., "Zoology", 2023), in the form used
here: a sequence stores ``n_pairs`` pairs ``(key, value)``, one pair per position,
then asks ``n_queries`` of the stored keys again, one per position; at each query the
model must output the value stored with that key. Keys are distinct within a sequence
and drawn from ``n_keys``, values from ``n_values``; a model that remembers nothing is
right with probability ``1 / n_values``.

A position is read as the sum of a key embedding and a value embedding (a query has
the extra value id ``n_values``: "no value"), so that one layer of attention can solve
the task: the query's key matches the stored key, whose position holds the value. A
recurrent model must instead write all the pairs into its state as they pass, and read
the right one back: with a state too small for ``n_pairs`` pairs, it cannot.

``RecallModel`` wraps any sequence mixer ``(L, B, d) → (L, B, d)``: causal attention
(``CausalAttention``) or a selective SSM (``companion.ssm.SelectiveSSM``)."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from companion.attention import MultiHeadAttention
from companion.checks import Ids, Int, Is, checked


@dataclass(frozen=True)
class RecallBatch:
    """``keys``, ``values`` ``(L, B)`` (value ``n_values`` at the queries),
    ``targets (L, B)`` (the value to recall at a query, ``-1`` elsewhere)."""

    keys: torch.Tensor
    values: torch.Tensor
    targets: torch.Tensor


@checked(
    n_pairs=Int(),
    n_queries=Int(),
    batch_size=Int(),
    n_keys=Int(minimum=1),
    n_values=Int(2),
    generator=Is(torch.Generator, optional=True),
)
def recall_batch(
    n_pairs: int,
    n_queries: int,
    batch_size: int,
    n_keys: int,
    n_values: int,
    generator: torch.Generator | None = None,
) -> RecallBatch:
    """A batch of ``batch_size`` sequences of ``n_pairs + n_queries`` positions."""
    if n_keys < n_pairs:
        raise ValueError(f"expected n_keys >= n_pairs = {n_pairs}, got {n_keys}")
    B = batch_size
    noise = torch.rand(B, n_keys, generator=generator)
    keys = noise.argsort(dim=1)[:, :n_pairs]  # distinct keys per sequence
    values = torch.randint(n_values, (B, n_pairs), generator=generator)
    asked = torch.randint(n_pairs, (B, n_queries), generator=generator)
    query_keys = keys.gather(1, asked)
    answers = values.gather(1, asked)
    no_value = torch.full((B, n_queries), n_values)
    ignore = torch.full((B, n_pairs), -1)
    return RecallBatch(
        keys=torch.cat([keys, query_keys], 1).T.contiguous(),
        values=torch.cat([values, no_value], 1).T.contiguous(),
        targets=torch.cat([ignore, answers], 1).T.contiguous(),
    )


class CausalAttention(nn.Module):
    """One causal multi-head attention layer as a mixer ``(L, B, d) → (L, B, d)``."""

    def __init__(self, d_model: int, n_heads: int = 1):
        super().__init__()
        self.attention = MultiHeadAttention(d_model, n_heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attention(x, causal=True)


class RecallModel(nn.Module):
    """``x = E_key[key] + E_value[value]``, ``x ← x + mixer(LayerNorm(x))``, then a
    linear head to ``n_values`` scores."""

    @checked(n_keys=Int(), n_values=Int(2), d_model=Int(), mixer=Is(nn.Module))
    def __init__(self, n_keys: int, n_values: int, d_model: int, mixer: nn.Module):
        super().__init__()
        self.n_keys, self.n_values = n_keys, n_values
        self.key_embedding = nn.Embedding(n_keys, d_model)
        self.value_embedding = nn.Embedding(n_values + 1, d_model)
        self.norm, self.mixer = nn.LayerNorm(d_model), mixer
        self.head = nn.Linear(d_model, n_values)

    @checked(
        keys=Ids("L", "B", below="self.n_keys", nonempty="L"),
        values=Ids("L", "B"),
    )
    def forward(self, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """``keys``, ``values (L, B)`` → scores ``(L, B, n_values)``."""
        x = self.key_embedding(keys) + self.value_embedding(values)
        x = x + self.mixer(self.norm(x))
        return self.head(x)


def recall_loss(model: RecallModel, batch: RecallBatch) -> torch.Tensor:
    """Cross-entropy at the queries."""
    scores = model(batch.keys, batch.values)
    targets = batch.targets.flatten()
    return F.cross_entropy(scores.flatten(0, 1), targets, ignore_index=-1)


@torch.no_grad()
def recall_accuracy(model: RecallModel, batch: RecallBatch) -> float:
    """The share of queries whose value the model gets right (argmax)."""
    scores = model(batch.keys, batch.values)
    asked = batch.targets >= 0
    return float((scores.argmax(-1)[asked] == batch.targets[asked]).float().mean())
