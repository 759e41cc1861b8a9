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
et al. 2020) with a final layer norm before the output layer. ``TransformerLM`` checks
its tokens and state at its door; the blocks and their attention run bare behind it.

References: Vaswani et al., "Attention is all you need" (2017); Radford et al.,
"Language models are unsupervised multitask learners" (2019); Xiong et al., "On layer
normalization in the Transformer architecture" (2020)."""

import torch
from torch import nn

from companion.attention import _CACHE, MultiHeadAttention, sinusoidal_positions
from companion.checks import Float, Ids, Int, Seq, checked
from companion.data.text import PAD_ID, VOCAB_SIZE


def _check_state(door) -> None:
    """``state``: ``None`` or the ``2 n_layers`` caches ``(B, h, t, d_head)``."""
    state, n = door.args["state"], 2 * len(door.owner.blocks)
    if state is not None and (type(state) is not tuple or len(state) != n):
        got = f"{len(state)} tensors" if isinstance(state, tuple) else type(state)
        raise ValueError(f"expected state: None or a tuple of {n} tensors, got {got}")
    for t in state or ():
        Float(door.dims["B"], "h", "t", "d", like="self").check("state", t, door)


class FeedForward(nn.Module):
    """Position-wise ``lin2(dropout(relu(lin1(x))))``: ``d_model → d_ff → d_model``."""

    @checked(d_model=Int(), d_ff=Int())
    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        self.lin1, self.lin2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x (..., d_model)`` → ``(..., d_model)``, each position independently (no
        door: ``nn.Linear`` names a wrong last size)."""
        return self.lin2(self.dropout(torch.relu(self.lin1(x))))


class DecoderBlock(nn.Module):
    """Pre-norm block: ``x + drop(MHA(LN1(x), causal))`` then ``x + drop(FF(LN2(x)))``.

    Parameter names match :class:`companion.attention_numpy.DecoderBlock`, so the NumPy
    block loads this block's ``state_dict``."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        attn = MultiHeadAttention(d_model, n_heads, dropout)  # its door checks them
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, attn.d_head
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = attn
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.dropout = nn.Dropout(dropout)

    @checked(x=Seq("L", "B", "self.d_model"))
    def forward(self, x: torch.Tensor, need_weights: bool = False):
        """``x (L, B, d_model)`` → ``(L, B, d_model)`` (and the attention weights
        ``(B, h, L, L)`` with ``need_weights``)."""
        attended, weights = self.attn.forward.bare(
            self.ln1(x), causal=True, need_weights=True
        )
        x = x + self.dropout(attended)
        x = x + self.dropout(self.ff(self.ln2(x)))
        return (x, weights) if need_weights else x

    @checked(x=Seq("B", "self.d_model"), cache=_CACHE)
    def step(
        self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None = None
    ):
        """One position ``x (B, d_model)`` after the cached ones →
        ``(y (B, d_model), cache)``, ``cache`` as in ``MultiHeadAttention.step``."""
        attended, cache = self.attn.step.bare(self.ln1(x), cache)
        x = x + self.dropout(attended)
        return x + self.dropout(self.ff(self.ln2(x))), cache


class TransformerLM(nn.Module):
    """Character-level decoder-only Transformer language model.

    ``nn.Embedding(vocab_size, d_model, padding_idx=PAD_ID)`` plus sinusoidal positions,
    then ``n_layers`` pre-norm blocks, a final ``LayerNorm`` and
    ``nn.Linear(d_model, vocab_size)``."""

    @checked(vocab_size=Int(), d_model=Int(2, multiple_of=2), n_layers=Int())
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
        self.vocab_size, self.d_model = vocab_size, d_model
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=PAD_ID)
        self.blocks = nn.ModuleList(
            DecoderBlock(d_model, n_heads, d_ff, dropout) for _ in range(n_layers)
        )
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)
        self.dropout = nn.Dropout(dropout)

    @checked(tokens=Ids("L", "B", below="self.vocab_size", nonempty="L"))
    def forward(self, tokens: torch.Tensor, need_weights: bool = False):
        """``tokens (L, B)`` → ``logits (L, B, V)``; with ``need_weights`` also the list
        of attention weights of every block, each ``(B, h, L, L)``."""
        positions = sinusoidal_positions.bare(
            len(tokens),
            self.d_model,
            dtype=self.embedding.weight.dtype,
            device=tokens.device,
        )
        x = self.dropout(self.embedding(tokens) + positions[:, None, :])
        maps = []
        for block in self.blocks:
            x, weights = block.forward.bare(x, need_weights=True)
            maps.append(weights)
        logits = self.head(self.ln_f(x))
        return (logits, maps) if need_weights else logits

    @checked(_check_state, tokens=Ids("B", below="self.vocab_size"))
    def step(self, state: tuple[torch.Tensor, ...] | None, tokens: torch.Tensor):
        """Feed one token per sequence, ``tokens (B,)``, after those the ``state``
        remembers.

        ``state`` is ``None`` at the start, then the tuple ``(k_1, v_1, …, k_n, v_n)``
        of key and value caches ``(B, h, t, d_head)``. Returns
        ``(log_probs (B, V), new_state)``: the distribution of the next token, equal to
        ``log_softmax(forward(prefix))[-1]``."""
        if state is None:
            caches, position = [None] * len(self.blocks), 0
        else:
            caches = list(zip(state[0::2], state[1::2], strict=True))
            position = state[0].shape[2]
        x = self.embedding(tokens) + sinusoidal_positions.bare(
            1,
            self.d_model,
            offset=position,
            dtype=self.embedding.weight.dtype,
            device=tokens.device,
        )
        new_state = []
        for block, cache in zip(self.blocks, caches, strict=True):
            x, (k, v) = block.step.bare(x, cache)
            new_state += [k, v]
        log_probs = torch.log_softmax(self.head(self.ln_f(x)), dim=-1)
        return log_probs, tuple(new_state)
