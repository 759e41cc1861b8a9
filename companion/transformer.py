"""A decoder-only Transformer: the pre-norm block and a character-level language model.

``TransformerLM`` has the interface of chapter 4's ``CharLM``, so the training code and
chapter 6's decoders take either model:

* ``forward(tokens (L, B) long) -> logits (L, B, V)``, position ``t`` seeing tokens
  ``<= t``;
* ``step(state, tokens (B,) long) -> (log_probs (B, V), state)``, ``state=None`` at the
  start. The state is a tuple of key and value caches, two per block, each
  ``(B, h, t, d_head)`` (batch first, like every state in the book), so a step costs
  ``O(t)`` and not ``O(t^2)``.

Positions are the fixed sinusoids of Vaswani et al.; blocks are pre-norm (GPT-2, Xiong
et al.
2020) with a final layer norm before the output layer.

References: Vaswani et al., "Attention is all you need" (2017); Radford et al.,
"Language models are unsupervised multitask learners" (2019); Xiong et al., "On layer
normalization in the Transformer architecture" (2020)."""

import torch
from torch import nn

from companion.attention import MultiHeadAttention, sinusoidal_positions
from companion.checks import check_dtype, check_ids, check_positive_int, check_tensor
from companion.data.text import PAD_ID, VOCAB_SIZE


class FeedForward(nn.Module):
    """Position-wise ``lin2(dropout(relu(lin1(x))))``: ``d_model → d_ff → d_model``."""

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        check_positive_int("d_model", d_model)
        check_positive_int("d_ff", d_ff)
        self.lin1, self.lin2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (..., d_model)`` → ``(..., d_model)``, each position independently."""
        return self.lin2(self.dropout(torch.relu(self.lin1(x))))


class DecoderBlock(nn.Module):
    """Pre-norm block: ``x + drop(MHA(LN1(x), causal))`` then ``x + drop(FF(LN2(x)))``.

    Parameter names match :class:`companion.attention_numpy.DecoderBlock`, so the NumPy
    block loads this block's ``state_dict``."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, need_weights: bool = False):
        """``x (L, B, d_model)`` → ``(L, B, d_model)`` (and the attention weights
        ``(B, h, L, L)`` with ``need_weights``)."""
        attended, weights = self.attn(self.ln1(x), causal=True, need_weights=True)
        x = x + self.dropout(attended)
        x = x + self.dropout(self.ff(self.ln2(x)))
        return (x, weights) if need_weights else x

    def step(
        self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None = None
    ):
        """One position ``x (B, d_model)`` after the cached ones →
        ``(y (B, d_model), cache)``."""
        attended, cache = self.attn.step(self.ln1(x), cache)
        x = x + self.dropout(attended)
        return x + self.dropout(self.ff(self.ln2(x))), cache


class TransformerLM(nn.Module):
    """Character-level decoder-only Transformer language model.

    ``nn.Embedding(vocab_size, d_model, padding_idx=PAD_ID)`` plus sinusoidal positions,
    then ``n_layers`` pre-norm blocks, a final ``LayerNorm`` and
    ``nn.Linear(d_model, vocab_size)``."""

    def __init__(
        self,
        vocab_size: int = VOCAB_SIZE,
        d_model: int = 64,
        n_heads: int = 4,
        n_layers: int = 2,
        d_ff: int = 256,
        dropout: float = 0.0,
    ):
        super().__init__()
        check_positive_int("vocab_size", vocab_size)
        check_positive_int("n_layers", n_layers)
        if check_positive_int("d_model", d_model) % 2:
            raise ValueError(
                f"expected an even d_model (sinusoidal positions), got {d_model}"
            )
        self.vocab_size, self.d_model = vocab_size, d_model
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=PAD_ID)
        self.blocks = nn.ModuleList(
            DecoderBlock(d_model, n_heads, d_ff, dropout) for _ in range(n_layers)
        )
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        self.dropout = nn.Dropout(dropout)

    def _check_tokens(self, tokens: torch.Tensor, spec) -> dict:
        dims = check_tensor("tokens", tokens, spec)
        check_ids("tokens", tokens, self.vocab_size)
        return dims

    def forward(self, tokens: torch.Tensor, need_weights: bool = False):
        """``tokens (L, B)`` → ``logits (L, B, V)``; with ``need_weights`` also the list
        of attention weights of every block, each ``(B, h, L, L)``."""
        length = self._check_tokens(tokens, ("L", "B"))["L"]
        positions = sinusoidal_positions(
            length,
            self.d_model,
            dtype=self.embedding.weight.dtype,
            device=tokens.device,
        )
        x = self.dropout(self.embedding(tokens) + positions[:, None, :])
        maps = []
        for block in self.blocks:
            x, weights = block(x, need_weights=True)
            maps.append(weights)
        logits = self.head(self.ln_f(x))
        return (logits, maps) if need_weights else logits

    def step(self, state: tuple[torch.Tensor, ...] | None, tokens: torch.Tensor):
        """Feed one token per sequence, ``tokens (B,)``, after those the ``state``
        remembers.

        ``state`` is ``None`` at the start, then the tuple ``(k_1, v_1, …, k_n, v_n)``
        of key and value caches ``(B, h, t, d_head)``. Returns
        ``(log_probs (B, V), new_state)``: the distribution of the next token, equal to
        ``log_softmax(forward(prefix))[-1]``."""
        batch = self._check_tokens(tokens, ("B",))["B"]
        if state is None:
            caches, position = [None] * len(self.blocks), 0
        else:
            if not isinstance(state, tuple) or len(state) != 2 * len(self.blocks):
                raise ValueError(
                    f"expected state to be a tuple of {2 * len(self.blocks)} "
                    f"tensors (k, v per block) or None, got {type(state).__name__}"
                )
            for t in state:
                check_tensor("state", t, (batch, "h", "t", "d"))
                check_dtype("state", t, self.embedding.weight.dtype)
            caches, position = (
                list(zip(state[0::2], state[1::2], strict=True)),
                state[0].shape[2],
            )
        x = self.embedding(tokens) + sinusoidal_positions(
            1,
            self.d_model,
            offset=position,
            dtype=self.embedding.weight.dtype,
            device=tokens.device,
        )
        new_state = []
        for block, cache in zip(self.blocks, caches, strict=True):
            x, (k, v) = block.step(x, cache)
            new_state += [k, v]
        log_probs = torch.log_softmax(self.head(self.ln_f(x)), dim=-1)
        return log_probs, tuple(new_state)
