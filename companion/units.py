"""Reading the units of a trained character model.

Karpathy, Johnson & Fei-Fei ("Visualizing and understanding recurrent networks", 2015)
trained character LSTMs and looked for cells whose activation follows something a
reader can name: the position in a line, being inside quotes, the depth of an
expression. Their method, and this module's, has three parts:

* ``character_states``: the recurrent state after each character of each sentence,
  for every unit (the hidden ``h`` and, for the LSTM, the cell state ``C``);
* ``character_features``: what we can measure at each character (the position in the
  sentence, the position in the word), and ``unit_correlations`` / ``best_unit`` to
  find the unit that follows one. The unit is chosen on some sentences and measured
  on others, so that the reported correlation is not the maximum of many noisy ones;
  ``current_character_correlation`` is the baseline, what the current character alone
  tells about the feature;
* ``coloured_text``: a text as HTML, each character on a background coloured by a
  unit's activation, as in the paper's figures.

Sentences follow the book's convention (``companion.language_model``): the model reads
``EOS`` first, then the characters; the state "after character ``j``" is the one
computed from ``EOS, c_0, …, c_j``."""

import html

import torch
from torch import nn

from companion.checks import All, Has, Ids, Is, Real, Rule, Tensor, That, checked
from companion.data.sentences import pad_collate_fn
from companion.data.text import normalize, string2code
from companion.language_model import shift_right

CHAR_LM = Has("embedding", "recurrent", label="a CharLM")
SENTENCES = Is((list, tuple), label="a list of str")


def _check_sentences(door) -> None:
    sentences = door.args["sentences"]
    if not sentences or not all(isinstance(s, str) and s for s in sentences):
        raise ValueError("expected sentences to be a non-empty list of non-empty str")


@checked(_check_sentences, model=CHAR_LM, sentences=SENTENCES)
@torch.no_grad()
def character_states(
    model: nn.Module, sentences: list[str]
) -> dict[str, list[torch.Tensor]]:
    """The state of ``model``'s recurrent layer after each character of each sentence.

    ``model`` is a ``CharLM`` (an ``embedding`` and a ``recurrent`` layer with
    ``initial_state`` and ``one_step``). All sentences run in one padded batch, one
    ``one_step`` per character. Returns ``{"h": [(len_s, H) per sentence]}``, plus
    ``"C"``, the cell states, when the state is an LSTM's pair ``(h, C)``. Sentences
    are normalised like any text (``normalize``)."""
    sentences = [normalize(s) for s in sentences]
    batch = pad_collate_fn([string2code(s) for s in sentences])
    x = model.embedding(shift_right(batch))  # (L, B, D): EOS, then the characters
    state = model.recurrent.initial_state(x.shape[1], x)
    steps = []
    for x_t in x:
        state = model.recurrent.one_step(x_t, state)
        steps.append(state if isinstance(state, tuple) else (state,))
    names = ("h", "C")[: len(steps[0])]
    stacked = [torch.stack(part) for part in zip(*steps, strict=True)]  # (L, B, H)
    # the state after character j is the one after reading input j + 1
    return {
        name: [part[1 : len(s) + 1, b] for b, s in enumerate(sentences)]
        for name, part in zip(names, stacked, strict=True)
    }


@checked(sentence=Is(str))
def character_features(sentence: str) -> dict[str, torch.Tensor]:
    """What can be measured at each character of ``sentence``, each ``(len,)`` float.

    ``"position in sentence"``: 0, 1, 2, … from the first character.
    ``"position in word"``: 1, 2, … from the first letter of each word, 0 on a space.
    The sentence is normalised first, as ``character_states`` does."""
    sentence = normalize(sentence)
    in_word, count = [], 0
    for character in sentence:
        count = 0 if character == " " else count + 1
        in_word.append(count)
    return {
        "position in sentence": torch.arange(len(sentence), dtype=torch.float32),
        "position in word": torch.tensor(in_word, dtype=torch.float32),
    }


TWO = That(lambda f: len(f) >= 2, "expected at least 2 characters, got N={N}")
UNITS = dict(activations=Tensor("N", "H"), feature=All(Tensor("N"), TWO))


@checked(**UNITS)
def unit_correlations(activations: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of each unit with ``feature``: ``activations (N, H)``,
    ``feature (N,)`` → ``(H,)``.

    A unit (or a feature) that does not vary gets ``nan`` (``0 / 0``)."""
    a = activations.double() - activations.double().mean(0)
    y = feature.double() - feature.double().mean()
    return (a * y[:, None]).sum(0) / (a.square().sum(0) * y.square().sum()).sqrt()


def _check_varies(door) -> None:
    a, y = door.args["activations"], door.args["feature"]
    if (y == y[0]).all() or (a == a[0]).all():
        raise ValueError("expected a feature and at least one unit that vary")


@checked(_check_varies, **UNITS)
def best_unit(activations: torch.Tensor, feature: torch.Tensor) -> int:
    """The unit whose activation correlates most with ``feature`` (largest ``|r|``):
    ``activations (N, H)``, ``feature (N,)``.

    A unit that does not vary is never chosen; a constant feature, or units that are
    all constant, raise ``ValueError`` (every correlation is undefined)."""
    r = unit_correlations.bare(activations, feature).abs().nan_to_num(nan=-1.0)
    return int(r.argmax())


def _check_chars(door) -> None:
    if door.dims["M"] < 2:
        raise ValueError(f"expected at least 2 evaluation characters, got {door.dims}")
    if min(door.args["chars_fit"].min(), door.args["chars_eval"].min()) < 0:
        raise ValueError("expected chars_fit and chars_eval to hold ids >= 0")


FIT = dict(chars_fit=Ids("N", nonempty="N"), feature_fit=Tensor("N"))  # N >= 1


@checked(_check_chars, **FIT, chars_eval=Ids("M"), feature_eval=Tensor("M"))
def current_character_correlation(
    chars_fit: torch.Tensor,
    feature_fit: torch.Tensor,
    chars_eval: torch.Tensor,
    feature_eval: torch.Tensor,
) -> float:
    """How well the current character alone predicts ``feature``: ``|r|`` on the
    evaluation characters of the feature's mean per character, learnt on the fitting
    characters (the overall mean for a character never seen there).

    ``chars_* (N,)`` are character ids, ``feature_* (N,)`` the feature at each one. No
    function of the current character does better on the fitting characters; a unit
    that beats it on other characters must carry something from before."""
    vocab = int(max(chars_fit.max(), chars_eval.max())) + 1
    y = feature_fit.double()
    sums = torch.zeros(vocab, dtype=torch.float64).index_add_(0, chars_fit, y)
    counts = torch.bincount(chars_fit, minlength=vocab).double()
    means = torch.where(counts > 0, sums / counts.clamp(min=1), y.mean())
    prediction = means[chars_eval]
    return abs(float(unit_correlations.bare(prediction[:, None], feature_eval)[0]))


def _bad_values(values, door) -> str | None:
    """Why ``values`` is not one finite number per character of ``text``."""
    values, n = torch.as_tensor(values, dtype=torch.float64), len(door.args["text"])
    if values.shape != (n,):
        return f"expected values of shape ({n},), got {tuple(values.shape)}"
    if not bool(values.isfinite().all()):
        return "expected finite values, got nan or inf"


VMAX = Real(0, low_open=True, optional=True)


@checked(text=Is(str), values=Rule(_bad_values), vmax=VMAX)
def coloured_text(text: str, values, vmax: float | None = None) -> str:
    """``text`` as HTML, each character on a background coloured by ``values``.

    ``values (len(text),)``: red for positive, blue for negative, white for 0, fully
    saturated at ``|value| >= vmax`` (default: the largest ``|value|``). Characters
    are black on opaque colours, so the text reads on a light or a dark page; the
    result is one ``<div>``, shown by ``IPython.display.HTML`` in a notebook."""
    values = torch.as_tensor(values, dtype=torch.float64)
    if vmax is None:
        vmax = float(values.abs().max()) or 1.0  # all zeros: all white
    strength = (values / vmax).clamp(-1, 1)
    spans = []
    for character, s in zip(text, strength.tolist(), strict=True):
        fade = round(255 * (1 - abs(s)))
        rgb = (255, fade, fade) if s > 0 else (fade, fade, 255)
        spans.append(
            f'<span style="background:rgb{rgb};color:black">'
            f"{html.escape(character)}</span>"
        )
    return (
        '<div style="font-family:monospace;white-space:pre-wrap;line-height:1.7">'
        + "".join(spans)
        + "</div>"
    )
