"""Generating sentences until EOS (chapter 4, AMAL TP4 question 3).

A language model with ``step(state, tokens (B,)) -> (log_probs (B, V), state)`` (``CharLM``
of ``companion.language_model``, or chapter 7's Transformer) writes one character at a time:
it reads ``EOS`` (the book's start-of-sentence convention, since the course has no BOS
symbol), then the prompt, then each character it produced, and stops at the first ``EOS`` it
produces or after ``maxlen`` characters. Each character is the most probable one (greedy) or
drawn from ``softmax(log_probs / temperature)``. ``PAD`` is not a character, so it is never
produced. Beam search and nucleus sampling are chapter 6's ``companion.decoding``.
"""

import torch
from torch import nn

from companion.data.text import EOS_ID, PAD_ID, code2string, normalize, string2code


def generate_many(model: nn.Module, n: int, eos_id: int = EOS_ID, start: str = "",
                  maxlen: int = 200, *, greedy: bool = False, temperature: float = 1.0,
                  pad_id: int = PAD_ID, generator: torch.Generator | None = None) -> list[str]:
    """Generate ``n`` sentences in one batch and return their texts.

    Each text is the normalised ``start`` followed by at most ``maxlen`` generated characters;
    the final ``EOS`` is not part of it. A continuation of exactly ``maxlen`` characters is
    one that was cut off before ``EOS`` came. ``generator`` makes sampling reproducible
    without touching the global seed. The model is run in ``eval`` mode without gradients and
    put back in its previous mode.
    """
    if not hasattr(model, "step"):
        raise TypeError(f"expected a model with a step(state, tokens) method, got "
                        f"{type(model).__name__}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"expected n to be a positive int, got {n!r}")
    if not isinstance(maxlen, int) or maxlen < 0:
        raise ValueError(f"expected maxlen to be a non-negative int, got {maxlen!r}")
    if not greedy and not temperature > 0:
        raise ValueError(f"expected temperature > 0, got {temperature!r}")
    prompt = normalize(start)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            continuation = _continue(model, n, eos_id, string2code(prompt), maxlen, greedy,
                                     temperature, pad_id, generator)
    finally:
        model.train(was_training)
    return [prompt + code2string(ids) for ids in continuation]


def generate(model: nn.Module, eos_id: int = EOS_ID, start: str = "", maxlen: int = 200, *,
             greedy: bool = False, temperature: float = 1.0, pad_id: int = PAD_ID,
             generator: torch.Generator | None = None) -> str:
    """One sentence: ``start`` continued until ``EOS`` or ``maxlen`` characters (see above)."""
    return generate_many(model, 1, eos_id, start, maxlen, greedy=greedy,
                         temperature=temperature, pad_id=pad_id, generator=generator)[0]


def _continue(model, n, eos_id, prompt_ids, maxlen, greedy, temperature, pad_id, generator):
    """The generated ids of each of the ``n`` sequences, ``EOS`` excluded: a list of 1-D tensors."""
    state, log_probs = None, None
    for token in torch.cat([torch.tensor([eos_id]), prompt_ids]):
        log_probs, state = model.step(state, token.repeat(n))
    produced, done = [], torch.zeros(n, dtype=torch.bool)
    for _ in range(maxlen):
        log_probs = log_probs.clone()
        log_probs[:, pad_id] = -torch.inf
        if greedy:
            token = log_probs.argmax(dim=-1)
        else:
            probs = torch.softmax(log_probs / temperature, dim=-1)
            token = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        token = torch.where(done, pad_id, token)
        produced.append(token)
        done |= token == eos_id
        if bool(done.all()):
            break
        log_probs, state = model.step(state, token)
    if not produced:
        return [torch.empty(0, dtype=torch.long) for _ in range(n)]
    ids = torch.stack(produced, dim=1)  # (n, T)
    return [row[(row != eos_id) & (row != pad_id)] for row in ids]
