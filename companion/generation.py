"""Text in, text out: sentences written by a character model, and how varied they are.

* ``generate`` and ``generate_many`` (chapter 4, TP4 question 3) write sentences until
  ``EOS`` with a model's ``step``, as thin wrappers over ``companion.decoding.sample``:
  the text is turned into ids, decoded, and the ids back into text.
* ``generate_fixed_length`` (chapter 2, TP3) writes a number of characters fixed in
  advance with the one-hot RNN of TP3, which has no ``EOS`` yet.
* ``distinct_n`` (Li et al. 2016) and ``repetition_rate`` measure the diversity of what
  was written, and its loops (chapters 5 and 6).

References: Karpathy, "The unreasonable effectiveness of recurrent neural networks"
(2015); Li, Galley, Brockett, Gao, Dolan, "A diversity-promoting objective function for
neural conversation models" (NAACL 2016); the course handouts TP3 and TP4 (AMAL)."""

import torch
from torch import nn

from companion.checks import All, Has, Int, Is, checked
from companion.data.text import (
    EOS_ID,
    PAD_ID,
    VOCAB_SIZE,
    code2string,
    normalize,
    string2code,
)
from companion.decoding import TEMPERATURE, sample
from companion.seeding import eval_mode

_LM = "an nn.Module with a step(state, tokens) method"
LANGUAGE_MODEL = All(Is(nn.Module, label=_LM), Has("step", label=_LM))
ID = Int(0, below=VOCAB_SIZE)  # an id of the text's vocabulary


def _check_pad(door) -> None:
    if door.args["pad_id"] == door.args["eos_id"]:
        raise ValueError(
            f"expected pad_id other than eos_id, got {door.args['pad_id']}"
        )


TEXT = dict(model=LANGUAGE_MODEL, eos_id=ID, start=Is(str), maxlen=Int(0))  # text in


@checked(_check_pad, n=Int(), **TEXT, temperature=TEMPERATURE, pad_id=ID)
def generate_many(
    model: nn.Module,
    n: int,
    eos_id: int = EOS_ID,
    start: str = "",
    maxlen: int = 200,
    *,
    argmax: bool = False,
    temperature: float = 1.0,
    pad_id: int = PAD_ID,
    generator: torch.Generator | None = None,
) -> list[str]:
    """Generate ``n`` sentences in one batch and return their texts (chapter 4).

    The model (``CharLM``, chapter 8's Transformer) reads ``EOS`` (the book's start of a
    sentence: the course has no BOS symbol), then ``start``, then each character it
    produces, until it produces ``eos_id`` or ``maxlen`` characters. Each character is
    the most probable one (``argmax``: greedy decoding) or is drawn from
    ``softmax(log_probs / temperature)``, with ``generator`` if given. Each text is the
    normalised ``start`` followed by the generated characters, the final ``EOS`` left
    out; one of exactly ``maxlen`` characters was cut off before ``EOS`` came.
    ``pad_id`` is never produced. The model runs in ``eval`` mode without gradients,
    then gets its previous mode back (``companion.seeding.eval_mode``).

    The door rejects an ``eos_id`` or ``pad_id`` outside the ``VOCAB_SIZE`` ids of the
    text, and a ``pad_id`` equal to ``eos_id``.
    """
    prompt = normalize(start)
    if maxlen == 0:
        return [prompt] * n
    ids, forbid = string2code(prompt), (pad_id,)
    with eval_mode(model):
        if argmax:  # top-1 sampling is greedy decoding (ties: the smaller id)
            hyps = sample.bare(
                model.step, ids, eos_id, maxlen, top_k=1, bos_id=eos_id, forbid=forbid
            )
            hyps = hyps * n
        else:
            hyps = sample.bare(
                model.step,
                ids,
                eos_id,
                maxlen,
                num_samples=n,
                temperature=temperature,
                generator=generator,
                bos_id=eos_id,
                forbid=forbid,
            )
    return [prompt + code2string([t for t in h.tokens if t != eos_id]) for h in hyps]


@checked(_check_pad, **TEXT, temperature=TEMPERATURE, pad_id=ID)
def generate(
    model: nn.Module,
    eos_id: int = EOS_ID,
    start: str = "",
    maxlen: int = 200,
    *,
    argmax: bool = False,
    temperature: float = 1.0,
    pad_id: int = PAD_ID,
    generator: torch.Generator | None = None,
) -> str:
    """One sentence: ``start`` continued until ``EOS`` or ``maxlen`` characters (see
    ``generate_many``)."""
    return generate_many.bare(
        model,
        1,
        eos_id,
        start,
        maxlen,
        argmax=argmax,
        temperature=temperature,
        pad_id=pad_id,
        generator=generator,
    )[0]


FIRST_CHARACTER_ID = 2  # ids 0 (PAD) and 1 (EOS) are not characters


RECURRENT_LAYER = ("one_step", "hidden", "decode", "initial_state")  # what TP3 uses


LAYER = Has(*RECURRENT_LAYER, label="a recurrent layer")


def _check_one_hot_model(door) -> None:
    model = door.args["model"]
    if not isinstance(model, nn.Sequential) or len(model) != 2:
        raise TypeError(
            f"expected model to be nn.Sequential(embed, rnn), got {model!r:.30}"
        )
    embed, rnn = model
    if not isinstance(embed, nn.Linear) or embed.in_features != VOCAB_SIZE:
        raise ValueError(
            f"expected model[0] to be an nn.Linear({VOCAB_SIZE}, E) embedding of "
            f"one-hot vectors, got {embed}"
        )
    LAYER.check("model[1]", rnn, door)
    with torch.no_grad():
        size = rnn.decode(rnn.hidden(rnn.initial_state(1, embed.weight))).shape[-1]
    if size != VOCAB_SIZE:
        raise ValueError(
            f"expected model[1] to score the {VOCAB_SIZE} ids of the text (decode's "
            f"output size), got {size}"
        )


@checked(_check_one_hot_model, start=Is(str), length=Int(0), temperature=TEMPERATURE)
@torch.no_grad()
def generate_fixed_length(
    model: nn.Sequential,
    start: str,
    length: int,
    argmax: bool = False,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> str:
    """TP3's generation: read ``start``, add ``length`` characters, return the text.

    ``model`` is ``nn.Sequential(embed, rnn)`` (chapter 2): ``embed``, an
    ``nn.Linear(VOCAB_SIZE, E, bias=False)`` applied to one-hot vectors, and a recurrent
    layer with ``initial_state``, ``one_step``, ``hidden`` and ``decode`` scoring the
    ``VOCAB_SIZE`` ids. Each character is the most probable one (``argmax``) or is drawn
    from ``softmax((scores - max) / temperature)`` with ``generator`` (the shift keeps a
    tiny temperature finite: it is greedy); ``PAD`` and ``EOS`` are never produced (TP3
    has no end symbol yet). ``start`` is normalised like any text; the returned string
    begins with it.
    """
    embed, rnn = model
    weight = embed.weight
    state = rnn.initial_state(1, weight)

    def feed(code: int, state):
        one_hot = nn.functional.one_hot(torch.tensor([code]), VOCAB_SIZE)
        return rnn.one_step(embed(one_hot.to(weight.dtype)), state)

    codes = string2code(start).tolist()
    for code in codes:
        state = feed(code, state)
    for _ in range(length):
        scores = rnn.decode(rnn.hidden(state))[0, FIRST_CHARACTER_ID:]
        if argmax:
            code = int(scores.argmax())
        else:
            probs = torch.softmax((scores - scores.max()) / temperature, dim=0)
            code = int(torch.multinomial(probs, 1, generator=generator))
        codes.append(code + FIRST_CHARACTER_ID)
        state = feed(codes[-1], state)
    return code2string(codes)


# Measuring what was generated.


def _ngrams(seq, n: int) -> list:
    return [tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)]


@checked(texts=Is((list, tuple), label="a list of sequences"), n=Int())
def distinct_n(texts: list, n: int) -> float:
    """Distinct-n of a set of generations: distinct n-grams / all n-grams (Li et al.
    2016).

    ``texts`` is a list of sequences (strings or id tuples); the n-grams of all of them
    are pooled. 1 means no n-gram is ever repeated; 0 is returned when no text has ``n``
    symbols."""
    grams = [g for text in texts for g in _ngrams(text, n)]
    return len(set(grams)) / len(grams) if grams else 0.0


@checked(text=Is((str, list, tuple), label="a str, list or tuple"), n=Int())
def repetition_rate(text, n: int) -> float:
    """Fraction of the n-grams of ``text`` that already occurred earlier in ``text``.

    A decoder stuck in a loop ("the the the ...") scores close to 1; 0 when ``text`` has
    fewer than ``n`` symbols (or ``n + 1``, since the first n-gram cannot be a repeat).
    """
    seen, repeats, grams = set(), 0, _ngrams(text, n)
    for gram in grams:
        repeats += gram in seen
        seen.add(gram)
    return repeats / len(grams) if grams else 0.0
