"""Long texts read in order: stream batches and truncated BPTT with a carried state
(chapter 4b).

A text of ``N`` ids is cut into ``B`` parallel streams of equal length ``S``, one per
column of the batch; each stream is read in consecutive chunks of ``K`` ids, so chunk
``k`` of every stream follows chunk ``k - 1`` of the same stream in the text. This is
the "sequential partitioning" of Zhang et al., *Dive into Deep Learning* (the chapter
on language models), and the batching of Karpathy's char-rnn (2015). The model's
final state on chunk ``k`` is the initial state of chunk ``k + 1``, *detached* from the
graph: the forward pass sees the whole past, the gradient flows back at most ``K``
steps (truncated backpropagation through time, Williams & Peng 1990).

* ``stream_batches``: the chunks ``(inputs (K, B), targets (K, B))`` of a text;
* ``detach_state``: a state (a tensor, or a tuple such as the LSTM's ``(h, C)``) cut
  from the graph;
* ``chunked_forward``: a model run over a long sequence chunk by chunk, the state
  carried, detached or not;
* ``last_chunk_input_gradients``: how far back the gradient of one chunk's loss
  reaches;
* ``train_on_streams``: truncated BPTT with a carried state, or with the state reset at
  every chunk;
* ``stream_losses``: the loss of every character of a text read as streams.

The models are those of the book: a ``forward(x, state=None, return_state=False)`` that
returns ``(outputs, final_state)`` with ``return_state``, such as
``companion.language_model.CharLM``."""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import Optimizer
from tqdm import tqdm

from companion.checks import All, Has, Ids, Int, Is, Real, Rule, Tensor, That, checked
from companion.seeding import eval_mode

Chunk = tuple[torch.Tensor, torch.Tensor]


_MODEL = Is(nn.Module, label="a torch.nn.Module")
_OPTIMIZER = Is(Optimizer, label="a torch.optim.Optimizer")
_CHUNKS = All(
    Is(Sequence, label="a list of (inputs, targets) pairs"),
    That(len, "expected at least one (inputs, targets) pair, got none"),
)
_CLIP = Real(0, low_open=True, optional=True)


def _check_enough(door) -> None:
    codes, n = door.args["codes"], door.args["n_streams"] * door.args["chunk_length"]
    if len(codes) <= n:
        raise ValueError(
            f"expected codes of at least n_streams * chunk_length + 1 = {n + 1} ids, "
            f"got {len(codes)}"
        )


@checked(_check_enough, codes=Ids("N"), n_streams=Int(), chunk_length=Int())
def stream_batches(
    codes: torch.Tensor, n_streams: int, chunk_length: int
) -> list[Chunk]:
    """Cut ``codes (N,)`` into ``n_streams`` streams read in chunks of ``chunk_length``.

    With ``B = n_streams``, ``K = chunk_length``, ``n = (N - 1) // (B K)`` chunks and
    ``S = n K``, stream ``b`` holds ``codes[b S : (b + 1) S]`` and chunk ``k`` is the
    pair ``(inputs, targets)``, each ``(K, B)``, with
    ``inputs[j, b] = codes[b S + k K + j]`` and ``targets[j, b]`` the id that follows
    it. The last ``N - 1 - B S`` ids serve as no input (fewer than ``B K`` of
    them)."""
    n_chunks = (len(codes) - 1) // (n_streams * chunk_length)
    S = n_chunks * chunk_length
    starts = torch.arange(n_streams) * S  # (B,) where each stream begins
    offsets = torch.arange(chunk_length)  # (K,) positions inside a chunk
    chunks = []
    for k in range(n_chunks):
        index = starts[None, :] + k * chunk_length + offsets[:, None]  # (K, B)
        chunks.append((codes[index], codes[index + 1]))
    return chunks


def _check_state(state, door) -> str | None:
    parts = state if isinstance(state, tuple | list) else [state]
    if state is not None and not all(isinstance(s, torch.Tensor) for s in parts):
        return f"expected state to be a tensor or a tuple of tensors, got {state!r:.40}"


@checked(state=Rule(_check_state, TypeError))
def detach_state(state):
    """``state`` cut from the autograd graph: a tensor, or a tuple of tensors (the
    LSTM's ``(h, C)``), each ``(B, H)``; ``None`` stays ``None``. Same values, no
    history."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(s.detach() for s in state)


@checked(model=_MODEL, x=Tensor("L", "B", ..., nonempty="L"), chunk_length=Int())
def chunked_forward(
    model: nn.Module,
    x: torch.Tensor,
    chunk_length: int,
    state=None,
    detach: bool = True,
):
    """Run ``model`` over ``x (L, B, …)`` in chunks of ``chunk_length`` steps, the final
    state of each chunk being the initial state of the next.

    Returns ``(outputs (L, B, …), final_state)``, the chunks' outputs concatenated in
    time. With ``detach`` the state is cut from the graph between chunks (truncated
    BPTT): the values are those of ``model(x, state)`` either way, only the gradient
    changes."""
    outputs = []
    for piece in x.split(chunk_length):
        out, state = model(piece, state, return_state=True)
        outputs.append(out)
        state = detach_state(state) if detach else state
    return torch.cat(outputs), state


def _check_charlm(model, door) -> None:
    """A ``CharLM``: its vocabulary size names ``V`` for the ids."""
    Has("embedding", "recurrent", label="a CharLM").check("model", model, door)
    door.dims["V"] = model.embedding.num_embeddings


_CHARLM = Rule(_check_charlm)
_IDS = Ids("L", "B", below="V")


@checked(model=_CHARLM, inputs=_IDS, targets=_IDS, chunk_length=Int(1, maximum="L"))
def last_chunk_input_gradients(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    chunk_length: int,
    detach: bool = True,
) -> torch.Tensor:
    """Norm of the gradient of the last chunk's loss with respect to each input,
    ``(L,)``.

    ``model`` is a ``CharLM`` (``embedding``, ``recurrent``); ``inputs`` and ``targets``
    are ids ``(L, B)``. The embedded inputs become a leaf of the graph, the recurrent
    layer runs over them with ``chunked_forward``, and entry ``t`` of the result is
    ``‖∂ℓ/∂x_t‖``, where ``ℓ`` is the mean cross-entropy of the last ``chunk_length``
    positions (the last chunk when ``chunk_length`` divides ``L``; ``chunk_length``
    is at most ``L``)."""
    x = model.embedding(inputs).detach().requires_grad_(True)  # (L, B, D)
    states, _ = chunked_forward(model.recurrent, x, chunk_length, detach=detach)
    last = slice(len(inputs) - chunk_length, None)
    logits = model.recurrent.decode(states[last])  # (K, B, V)
    loss = F.cross_entropy(logits.flatten(0, 1), targets[last].flatten())
    (gradient,) = torch.autograd.grad(loss, x)
    return gradient.norm(dim=(1, 2))


@checked(model=_MODEL, chunks=_CHUNKS, optimizer=_OPTIMIZER, updates=Int(), clip=_CLIP)
def train_on_streams(
    model: nn.Module,
    chunks: Sequence[Chunk],
    optimizer: Optimizer,
    updates: int,
    carry: bool = True,
    clip: float | None = 1.0,
    desc: str | None = None,
) -> list[float]:
    """Train ``model`` for ``updates`` steps, one per chunk of ``chunks``, in order.

    ``chunks`` are ``(inputs (K, B), targets (K, B))`` from ``stream_batches``, read
    again from the start when ``updates`` exceeds their number (the state restarts from
    zeros there). With ``carry`` the final state of a chunk, detached, is the initial
    state of the next (truncated BPTT with a carried state); without it, every chunk
    starts from zeros. ``clip`` rescales the gradient to that norm when larger. Returns
    the training loss (nats per character) of every update."""
    model.train()
    losses, state = [], None
    for step in tqdm(range(updates), desc=desc, leave=False):
        inputs, targets = chunks[step % len(chunks)]
        if step % len(chunks) == 0:
            state = None  # a new pass over the text starts from zeros
        logits, final = model(inputs, state if carry else None, return_state=True)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        optimizer.zero_grad()
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        state = detach_state(final)
        losses.append(float(loss.detach()))
    return losses


@checked(model=_MODEL, chunks=_CHUNKS)
def stream_losses(
    model: nn.Module, chunks: Sequence[Chunk], carry: bool = True
) -> torch.Tensor:
    """Cross-entropy (nats) of every target of ``chunks``, ``(n_chunks, K, B)``.

    The chunks are read in order, in evaluation mode; with ``carry`` each starts from
    the final state of the previous one (the streams are read as one long text each),
    without it from zeros. ``.mean() / ln 2`` is the loss in bits per character."""
    losses, state = [], None
    with eval_mode(model):
        for inputs, targets in chunks:
            logits, final = model(inputs, state if carry else None, return_state=True)
            loss = F.cross_entropy(
                logits.flatten(0, 1), targets.flatten(), reduction="none"
            )
            losses.append(loss.view(targets.shape))
            state = final
    return torch.stack(losses)
