"""Generating sentences until EOS (chapter 4, AMAL TP4 question 3).

A language model with ``step(state, tokens (B,)) -> (log_probs (B, V), state)`` (``CharLM``
of ``companion.language_model``, or chapter 8's Transformer) writes one character at a time:
it reads ``EOS`` (the book's start-of-sentence convention, since the course has no BOS
symbol), then the prompt, then each character it produced, and stops at the first ``EOS`` it
produces or after ``maxlen`` characters. Each character is the most probable one (greedy) or
drawn from ``softmax(log_probs / temperature)``. ``PAD`` is not a character, so it is never
produced. Both functions are thin wrappers over ``greedy`` and ``sample`` of chapter 6's
``companion.decoding`` (which also holds beam search and nucleus sampling), turning strings
into ids and back: the same model decodes the same way in chapters 4 and 6.
"""

import torch
from torch import nn

from companion.checks import check_positive_int
from companion.data.text import EOS_ID, PAD_ID, code2string, normalize, string2code
from companion.decoding import greedy as greedy_decode
from companion.decoding import sample


def generate_many(model: nn.Module, n: int, eos_id: int = EOS_ID, start: str = "",
                  maxlen: int = 200, *, greedy: bool = False, temperature: float = 1.0,
                  pad_id: int = PAD_ID, generator: torch.Generator | None = None) -> list[str]:
    """Generate ``n`` sentences in one batch and return their texts.

    Each text is the normalised ``start`` followed by at most ``maxlen`` generated characters;
    the final ``EOS`` is not part of it. A continuation of exactly ``maxlen`` characters is
    one that was cut off before ``EOS`` came. ``pad_id`` is never produced. ``generator``
    makes sampling reproducible without touching the global seed. The model is run in
    ``eval`` mode without gradients and put back in its previous mode.
    """
    if not hasattr(model, "step"):
        raise TypeError(f"expected a model with a step(state, tokens) method, got "
                        f"{type(model).__name__}")
    check_positive_int("n", n, minimum=1)
    check_positive_int("maxlen", maxlen, minimum=0)
    if not greedy and not temperature > 0:
        raise ValueError(f"expected temperature > 0, got {temperature!r}")
    prompt = normalize(start)
    if maxlen == 0:
        return [prompt] * n
    ids, forbid = string2code(prompt), (pad_id,)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            if greedy:
                hyps = [greedy_decode(model.step, ids, eos_id, maxlen, bos_id=eos_id,
                                      forbid=forbid)] * n
            else:
                hyps = sample(model.step, ids, eos_id, maxlen, num_samples=n,
                              temperature=temperature, generator=generator, bos_id=eos_id,
                              forbid=forbid)
    finally:
        model.train(was_training)
    return [prompt + code2string([t for t in h.tokens if t != eos_id]) for h in hyps]


def generate(model: nn.Module, eos_id: int = EOS_ID, start: str = "", maxlen: int = 200, *,
             greedy: bool = False, temperature: float = 1.0, pad_id: int = PAD_ID,
             generator: torch.Generator | None = None) -> str:
    """One sentence: ``start`` continued until ``EOS`` or ``maxlen`` characters (see above)."""
    return generate_many(model, 1, eos_id, start, maxlen, greedy=greedy,
                         temperature=temperature, pad_id=pad_id, generator=generator)[0]
