"""Fixed-length text generation with the one-hot character RNN of TP3 (chapter 2).

The model is ``nn.Sequential(embed, rnn)``: ``embed = nn.Linear(VOCAB_SIZE, E, bias=False)``
applied to one-hot vectors (a table lookup), and a recurrent layer with ``one_step``,
``hidden`` and ``decode`` whose outputs are scores over the ``VOCAB_SIZE`` ids. Generation
reads a start string, then repeatedly chooses a character from the softmax of the scores and
feeds it back, for a number of characters fixed in advance (TP3 has no end-of-sentence
symbol yet; chapter 4 stops at ``EOS``). ``PAD`` and ``EOS`` are never produced.

Reference: the course handout TP3 (AMAL, Sorbonne); Karpathy, "The unreasonable effectiveness
of recurrent neural networks" (2015).
"""

import torch
from torch import nn

from companion.checks import check_positive_int
from companion.data.text import VOCAB_SIZE, code2string, string2code

FIRST_CHARACTER_ID = 2  # ids 0 (PAD) and 1 (EOS) are not characters


def _check_model(model: nn.Module) -> tuple[nn.Linear, nn.Module]:
    if not isinstance(model, nn.Sequential) or len(model) != 2:
        raise TypeError(f"expected nn.Sequential(embed, rnn), got {type(model).__name__}")
    embed, rnn = model
    if not isinstance(embed, nn.Linear) or embed.in_features != VOCAB_SIZE:
        raise ValueError(f"expected an embedding nn.Linear({VOCAB_SIZE}, E), got {embed}")
    for name in ("one_step", "hidden", "decode", "initial_state"):
        if not callable(getattr(rnn, name, None)):
            raise TypeError(f"expected a recurrent layer with one_step, hidden, decode and "
                            f"initial_state, got {type(rnn).__name__}")
    return embed, rnn


@torch.no_grad()
def generate_fixed(model: nn.Sequential, start: str, length: int, greedy: bool = False,
                   temperature: float = 1.0, generator: torch.Generator | None = None) -> str:
    """Read ``start``, then add ``length`` characters one at a time; return the whole text.

    Each character is the most probable one (``greedy``) or is drawn from
    ``softmax(scores / temperature)`` with ``generator`` (the global one when ``None``).
    ``start`` is normalised like any text (characters outside ``LETTRES`` are dropped); the
    returned string begins with it.
    """
    embed, rnn = _check_model(model)
    if not isinstance(start, str):
        raise TypeError(f"expected start to be a str, got {type(start).__name__}")
    check_positive_int("length", length, minimum=0)
    if not greedy and not temperature > 0:
        raise ValueError(f"expected temperature > 0, got {temperature!r}")
    weight = embed.weight
    state = rnn.initial_state(1, weight)

    def feed(code: int, state):
        one_hot = nn.functional.one_hot(torch.tensor([code]), VOCAB_SIZE).to(weight.dtype)
        return rnn.one_step(embed(one_hot), state)

    codes = string2code(start).tolist()
    for code in codes:
        state = feed(code, state)
    for _ in range(length):
        scores = rnn.decode(rnn.hidden(state))[0, FIRST_CHARACTER_ID:]
        if greedy:
            code = int(scores.argmax())
        else:
            probs = torch.softmax(scores / temperature, dim=0)
            code = int(torch.multinomial(probs, 1, generator=generator))
        codes.append(code + FIRST_CHARACTER_ID)
        state = feed(codes[-1], state)
    return code2string(codes)
