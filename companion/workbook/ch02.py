"""Chapter 2's graded exercises: the ``RNN`` class (TP3 Q1), the forecasting data set
(TP3 Q3), generating text one character at a time (TP3 Q4) and backpropagation through
time by hand in NumPy; and the checkable answer of ``rnn-ex1`` (which gradients a slip
in the backward pass changes)."""

import math

import numpy as np
import torch
from torch import nn

from companion.data.metro import ForecastMetroDataset
from companion.data.text import VOCAB_SIZE, code2string, string2code
from companion.generation import generate_fixed_length
from companion.rnn import RNN
from companion.rnn_numpy import NumpyRNN
from companion.workbook.runner import (
    Exercise,
    Failure,
    Property,
    choice,
    compare,
    sizes,
)


def _uniform_(tensors, generator: torch.Generator, bound: float) -> None:
    """Redraw every tensor uniformly in ``±bound`` from ``generator``."""
    with torch.no_grad():
        for t in tensors:
            t.copy_(torch.rand(t.shape, generator=generator, dtype=t.dtype))
            t.mul_(2 * bound).sub_(bound)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:80] if lines else type(error).__name__


# ---- TP3 Q1: the RNN class -----------------------------------------------------------

RNN_PARAMETERS = ("W_i", "W_h", "b_h", "decoder.weight", "decoder.bias")
ONE_STEP_HINT = "h' = tanh(x W_i^T + h W_h^T + b_h): the batch is along the rows"
FORWARD_HINT = (
    "h_t = one_step(x_t, h_{t-1}) from h_0 = h, for t = 1..L: return every h_t"
)
DECODE_HINT = "decode is the linear decoder alone, y = W_d h + b_d: no activation"


def rnn_pair(candidate, D: int, H: int, Out: int, seed: int):
    """The companion's ``RNN(D, H, O)`` with weights drawn from ``seed`` (uniform in
    ±0.8, so that tanh bends), and the candidate class with the same weights."""
    with torch.random.fork_rng(devices=[]):  # leave the notebook's random state alone
        reference = RNN(D, H, Out)
        mine = candidate(D, H, Out)
    _uniform_(reference.parameters(), torch.Generator().manual_seed(seed), 0.8)
    try:
        mine.load_state_dict(reference.state_dict())
    except (RuntimeError, KeyError) as error:
        raise Failure(
            f"RNN({D}, {H}, {Out})",
            f"the parameters {', '.join(RNN_PARAMETERS)}",
            _first_line(error),
            "keep the __init__ the answer cell gives",
        ) from None
    return reference, mine


def rnn_inputs(L: int, B: int, D: int, H: int, seed: int):
    """A batch ``x (L, B, D)`` and an initial state ``h (B, H)``."""
    g = torch.Generator().manual_seed(1000 + seed)
    return torch.randn(L, B, D, generator=g), 0.5 * torch.randn(B, H, generator=g)


def rnn_case(L, B, D, H, Out) -> str:
    return f"RNN({D}, {H}, {Out}), x {sizes(L=L, B=B, D=D)}"


def _shape(case: str, got, shape: tuple, hint: str) -> None:
    if not isinstance(got, torch.Tensor):
        kind = type(got).__name__
        raise Failure(case, f"a tensor of shape {shape}", kind, hint)
    if tuple(got.shape) != shape:
        raise Failure(case, f"shape {shape}", f"{tuple(got.shape)}", hint)


def _rnn_shapes(candidate):
    L, B, D, H, Out = 5, 3, 4, 6, 2
    reference, mine = rnn_pair(candidate, D, H, Out, 0)
    x, h = rnn_inputs(L, B, D, H, 0)
    case = rnn_case(L, B, D, H, Out)
    with torch.no_grad():
        states = reference(x, h)
        calls = [
            (
                "one_step(x[0], h)",
                lambda: mine.one_step(x[0], h),
                (B, H),
                ONE_STEP_HINT,
            ),
            ("forward(x, h)", lambda: mine(x, h), (L, B, H), "all the states"),
            ("forward(x)", lambda: mine(x), (L, B, H), "h=None: a zero initial state"),
            ("decode(h)", lambda: mine.decode(h), (B, Out), DECODE_HINT),
            ("decode(states)", lambda: mine.decode(states), (L, B, Out), DECODE_HINT),
        ]
        for what, call, shape, hint in calls:
            _shape(f"{case}, {what}", call(), shape, hint)


def rnn_step_values(candidate, cases):
    for seed, (B, D, H, Out) in cases:
        reference, mine = rnn_pair(candidate, D, H, Out, seed)
        x, h = rnn_inputs(3, B, D, H, seed)
        case = rnn_case(3, B, D, H, Out)
        with torch.no_grad():
            want = reference.one_step(x[0], h)
            got = mine.one_step(x[0], h)
            compare(
                case + ", one_step(x[0], h)",
                got,
                want,
                what="next state",
                hint=ONE_STEP_HINT,
            )
            compare(
                case + ", decode(h)",
                mine.decode(h),
                reference.decode(h),
                what="output",
                hint=DECODE_HINT,
            )
            states = reference(x, h)
            compare(
                case + ", decode(states)",
                mine.decode(states),
                reference.decode(states),
                what="outputs",
                hint=DECODE_HINT,
            )


def _rnn_step(candidate):
    rnn_step_values(candidate, [(1, (3, 4, 6, 2)), (2, (1, 2, 3, 5))])


def rnn_forward_values(candidate, cases):
    for seed, (L, B, D, H, Out) in cases:
        reference, mine = rnn_pair(candidate, D, H, Out, seed)
        x, h = rnn_inputs(L, B, D, H, seed)
        case = rnn_case(L, B, D, H, Out) + ", forward(x, h)"
        with torch.no_grad():
            got = mine(x, h)
            compare(case, got, reference(x, h), what="states", hint=FORWARD_HINT)
            looped, state = [], h
            for x_t in x:
                state = mine.one_step(x_t, state)
                looped.append(state)
            compare(
                case,
                got,
                torch.stack(looped),
                what="states (against your one_step in a loop)",
                hint="forward must compute what one_step computes, step by step",
            )


def _rnn_forward(candidate):
    rnn_forward_values(candidate, [(3, (7, 4, 3, 5, 2)), (4, (2, 1, 2, 3, 1))])


def rnn_zero_state(candidate, cases):
    for seed, (L, B, D, H, Out) in cases:
        reference, mine = rnn_pair(candidate, D, H, Out, seed)
        x, _ = rnn_inputs(L, B, D, H, seed)
        with torch.no_grad():
            compare(
                rnn_case(L, B, D, H, Out) + ", forward(x) with h=None",
                mine(x),
                reference(x),
                what="states",
                hint="h=None: start from a zero state (B, H), of x's dtype",
            )


def _rnn_zero_state(candidate):
    rnn_zero_state(candidate, [(5, (4, 2, 3, 4, 2)), (6, (3, 5, 1, 2, 3))])


def rnn_return_state(candidate, cases):
    for seed, (L, B, D, H, Out) in cases:
        reference, mine = rnn_pair(candidate, D, H, Out, seed)
        x, h = rnn_inputs(L, B, D, H, seed)
        for given in (h, None):
            case = rnn_case(L, B, D, H, Out) + (
                f", forward(x, {'h' if given is not None else 'None'}, "
                "return_state=True)"
            )
            with torch.no_grad():
                out = mine(x, given, return_state=True)
                want = reference(x, given)
            if not isinstance(out, tuple | list) or len(out) != 2:
                kind = type(out).__name__
                raise Failure(
                    case, "a pair (states (L, B, H), h_L (B, H))", kind, FORWARD_HINT
                )
            compare(case, out[0], want, what="states", hint=FORWARD_HINT)
            compare(
                case,
                out[1],
                want[-1],
                what="last state h_L",
                hint="the state after the last step, to go on from where x stopped",
            )


def _rnn_return_state(candidate):
    rnn_return_state(candidate, [(7, (5, 3, 2, 4, 2))])


def rnn_gradients(candidate, L, B, D, H, Out, seed):
    reference, mine = rnn_pair(candidate, D, H, Out, seed)
    x, h = rnn_inputs(L, B, D, H, seed)
    weights = torch.randn(L, B, Out, generator=torch.Generator().manual_seed(seed))
    case = rnn_case(L, B, D, H, Out) + ", loss = sum(decode(forward(x, h)) * w)"
    grads, outputs = [], []
    for model in (reference, mine):
        h0 = h.clone().requires_grad_()
        outputs.append(model.decode(model(x, h0)))
        (outputs[-1] * weights).sum().backward()
        named = dict(model.named_parameters())
        grads.append({**{k: named[k].grad for k in RNN_PARAMETERS}, "h": h0.grad})
    compare(
        case,
        outputs[1],
        outputs[0],
        what="outputs decode(forward(x, h))",
        hint="the outputs already differ: mend forward and decode first",
    )
    want, got = grads
    for name in ("decoder.weight", "decoder.bias", "b_h", "W_i", "W_h", "h"):
        if got[name] is None:
            raise Failure(
                case,
                f"a gradient for {name}",
                "none",
                "keep the computation differentiable: no .detach(), .data or "
                "torch.no_grad() inside forward",
            )
        compare(
            case,
            got[name],
            want[name],
            what=f"gradient of {name}",
            hint="the state must carry the gradient from step to step: do not "
            "detach it, and do not write into tensors autograd needs",
        )


def _rnn_gradients(candidate):
    rnn_gradients(candidate, 6, 3, 4, 5, 2, seed=8)


RNN_CLASS = Exercise(
    label="rnn-class",
    name="RNN",
    reference="companion.rnn.RNN",
    question="TP3 Q1",
    points=3,
    properties=[
        Property("shapes of one_step, forward and decode", _rnn_shapes),
        Property("one_step and decode against the companion's RNN", _rnn_step),
        Property("forward(x, h): the loop of one_step, as the companion", _rnn_forward),
        Property("h=None starts from a zero state", _rnn_zero_state),
        Property("return_state=True also returns the last state", _rnn_return_state),
        Property("gradients through forward and decode, as autograd's", _rnn_gradients),
    ],
)


# ---- TP3 Q3: the forecasting data set ------------------------------------------------


def flows(D: int, T: int, S: int, C: int, seed: int) -> torch.Tensor:
    """Counts ``(D, T, S, C)`` from 1 to 999: every window is different."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, 1000, (D, T, S, C), generator=g).float()


def datasets(candidate, D, T, S, C, length, horizon, seed=0):
    """The companion's data set and the candidate's, on the same flows."""
    data = flows(D, T, S, C, seed)
    reference = ForecastMetroDataset(data, length=length, horizon=horizon)
    mine = candidate(data.clone(), length=length, horizon=horizon)
    case = f"data {sizes(D=D, T=T, S=S, C=C)}, length={length}, horizon={horizon}"
    return case, reference, mine


WINDOWS_HINT = (
    "a day of T slots holds T - length + 1 windows of length slots, the last one "
    "ending at slot T - 1"
)
TARGET_HINT = (
    "the window data[d, t : t + length] gives the input data[d, t : t + length - "
    "horizon] and the target data[d, t + horizon : t + length]"
)


def _item(case: str, mine, i: int, shape: tuple):
    item = mine[i]
    if not isinstance(item, tuple | list) or len(item) != 2:
        raise Failure(f"{case}, item {i}", "a pair (input, target)", repr(item)[:40])
    for what, tensor in zip(("input", "target"), item, strict=True):
        _shape(f"{case}, item {i}'s {what}", tensor, shape, TARGET_HINT)
    return item


def _locate(data: torch.Tensor, x: torch.Tensor):
    """The ``(day, slot)`` where the window ``x (n, S, C)`` starts in ``data``."""
    n = x.shape[0]
    for day in range(data.shape[0]):
        for slot in range(data.shape[1] - n + 1):
            if torch.allclose(data[day, slot : slot + n], x, rtol=1e-6, atol=0):
                return day, slot
    return None


def forecast_length(candidate, cases):
    for D, T, S, C, length, horizon in cases:
        case, reference, mine = datasets(candidate, D, T, S, C, length, horizon)
        if len(mine) != len(reference):
            raise Failure(
                case,
                f"len = D · (T - length + 1) = {len(reference)}",
                str(len(mine)),
                WINDOWS_HINT,
            )


def _forecast_length(candidate):
    forecast_length(
        candidate, [(3, 9, 2, 2, 4, 1), (2, 6, 1, 2, 6, 1), (4, 8, 3, 1, 3, 2)]
    )


def _forecast_shapes(candidate):
    for horizon in (1, 2):
        case, _, mine = datasets(candidate, 3, 9, 2, 2, 5, horizon)
        _item(case, mine, 0, (5 - horizon, 2, 2))


def forecast_values(candidate, D, T, S, C, length, horizon, seed=0):
    """Every item: its input is a window of the normalised data, and its target the
    same window ``horizon`` slots later."""
    case, reference, mine = datasets(candidate, D, T, S, C, length, horizon, seed)
    if len(mine) != len(reference):
        raise Failure(case, f"{len(reference)} items", f"{len(mine)}")
    for i in range(len(reference)):
        x, y = _item(case, mine, i, (length - horizon, S, C))
        where = _locate(reference.data, x)
        if where is None:
            raise Failure(
                f"{case}, item {i}",
                f"an input window data[d, t : t + {length - horizon}] of the "
                "normalised flows",
                "no such window",
                TARGET_HINT,
            )
        day, slot = where
        if slot + length > T:
            raise Failure(
                f"{case}, item {i}",
                f"windows that fit in the day (start t <= T - length = {T - length})",
                f"an input starting at slot {slot}",
                WINDOWS_HINT,
            )
        compare(
            f"{case}, item {i} (its input: day {day}, slots {slot}..)",
            y,
            reference.data[day, slot + horizon : slot + length],
            what="target",
            hint=TARGET_HINT,
        )


def _forecast_values(candidate):
    forecast_values(candidate, 3, 9, 2, 2, 4, horizon=1)


def forecast_last_windows(candidate, D, T, S, C, length, horizon=1):
    case, reference, mine = datasets(candidate, D, T, S, C, length, horizon)
    inputs = [mine[i][0] for i in range(len(mine))]
    for day in range(D):
        last = reference.data[day, T - length : T - horizon]
        if not any(
            x.shape == last.shape and torch.allclose(x, last, rtol=1e-6, atol=0)
            for x in inputs
        ):
            raise Failure(
                case,
                f"an item for the last window of day {day} (slots {T - length}.."
                f"{T - 1})",
                "none",
                WINDOWS_HINT + " (the course's T - length never serves it)",
            )


def _forecast_last(candidate):
    forecast_last_windows(candidate, 3, 9, 2, 2, 4)


def forecast_order(candidate, D, T, S, C, length, horizon=1):
    case, reference, mine = datasets(candidate, D, T, S, C, length, horizon)
    n = len(reference)
    for i in sorted({0, 1, D, D + 1, n - 1}):
        want = reference[i]
        got = _item(case, mine, i, tuple(want[0].shape))
        for what, g, w in zip(("input", "target"), got, want, strict=True):
            compare(
                f"{case}, item {i}",
                g,
                w,
                what=what,
                hint="item i starts at slot i // D of day i % D: consecutive items "
                "are the same slot of consecutive days",
            )


def _forecast_order(candidate):
    forecast_order(candidate, 3, 9, 2, 2, 4)


def _forecast_horizon(candidate):
    forecast_values(candidate, 2, 10, 2, 2, 6, horizon=3, seed=1)


FORECAST_DATASET = Exercise(
    label="rnn-forecast-dataset",
    name="ForecastMetroDataset",
    reference="companion.data.metro.ForecastMetroDataset",
    question="TP3 Q3",
    points=2,
    properties=[
        Property("len: every window of every day", _forecast_length),
        Property(
            "items: (input, target), both (length - horizon, S, C)", _forecast_shapes
        ),
        Property("values: a window and its target one slot later", _forecast_values),
        Property("the last window of each day is served", _forecast_last),
        Property("index order: item i is day i % D, slot i // D", _forecast_order),
        Property("horizon=3: the target is 3 slots later", _forecast_horizon),
    ],
)


# ---- TP3 Q4: generating text one character at a time ---------------------------------


def char_model(seed: int, E: int = 8, H: int = 16) -> nn.Sequential:
    """A random ``nn.Sequential(embed, RNN)`` over the ``VOCAB_SIZE`` ids, its weights
    large enough that the state matters and the scores are far apart; ``PAD`` and
    ``EOS`` score -30 (never the best)."""
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        embed = nn.Linear(VOCAB_SIZE, E, bias=False)
        rnn = RNN(E, H, VOCAB_SIZE)
    scales = {
        "0.weight": 1.0,
        "1.W_i": 1.5 / math.sqrt(E),
        "1.W_h": 1.5 / math.sqrt(H),
        "1.b_h": 0.3,
        "1.decoder.weight": 3 / math.sqrt(H),
        "1.decoder.bias": 1.0,
    }
    model = nn.Sequential(embed, rnn)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(scales[name] * torch.randn(p.shape, generator=g))
        rnn.decoder.bias[:2] = -30.0
    return model


def prompt_of(start: str) -> str:
    """The normalised prompt the generated text begins with."""
    return code2string(string2code(start))


def _differ(want: str, got: str) -> int:
    return next(
        (k for k, (a, b) in enumerate(zip(want, got, strict=False)) if a != b),
        len(want),
    )


GREEDY_HINT = (
    "greedy: at each step the character of largest score, fed back as the next input "
    "to the state the previous step left"
)


def greedy_matches(candidate, cases, model_of=char_model, hint=GREEDY_HINT):
    for seed, start, length in cases:
        model = model_of(seed)
        case = f"model of seed {seed}, start={start!r}, length={length}, argmax=True"
        want = generate_fixed_length(model, start, length, argmax=True)
        got = candidate(model, start, length, argmax=True)
        if got != want:
            got_text = repr(got) if isinstance(got, str) else type(got).__name__
            if isinstance(got, str):
                got_text += f" (first difference at character {_differ(want, got)})"
            raise Failure(case, repr(want), got_text, hint)


def _generate_length(candidate):
    for seed, start, length, argmax in (
        (0, "The ", 12, True),
        (1, "a", 1, True),
        (2, "xyz", 0, True),
        (0, "ab", 10, False),
    ):
        model = char_model(seed)
        generator = None if argmax else torch.Generator().manual_seed(seed)
        case = f"model of seed {seed}, start={start!r}, length={length}"
        case += ", argmax=True" if argmax else ", sampled"
        got = candidate(model, start, length, argmax=argmax, generator=generator)
        prompt = prompt_of(start)
        if not isinstance(got, str):
            raise Failure(case, "a str", type(got).__name__)
        if not got.startswith(prompt):
            raise Failure(
                case,
                f"a text that starts with the prompt {prompt!r}",
                repr(got[:20]),
                "return start followed by the characters generated",
            )
        if len(got) != len(prompt) + length:
            raise Failure(
                case,
                f"{len(prompt) + length} characters ({len(prompt)} of the prompt, "
                f"then {length})",
                f"{len(got)}: {got!r}",
                "length counts the new characters",
            )


def _generate_greedy(candidate):
    greedy_matches(candidate, [(3, "The ", 20), (4, "ab", 15), (5, "x", 25)])


def eos_model(seed: int) -> nn.Sequential:
    """A model whose scores ignore the state, the largest always ``PAD``'s and
    ``EOS``'s."""
    model = char_model(seed)
    with torch.no_grad():
        model[1].decoder.weight.zero_()
        model[1].decoder.bias[:2] = 30.0
    return model


NOT_CHARACTERS = "PAD (id 0) and EOS (id 1) are not characters: choose among ids 2.."


def _generate_no_eos(candidate):
    greedy_matches(candidate, [(6, "ok ", 10)], eos_model, NOT_CHARACTERS)
    model = eos_model(7)
    got = candidate(model, "ok", 10, generator=torch.Generator().manual_seed(0))
    if not isinstance(got, str) or len(got) != 12:
        shown = repr(got) if isinstance(got, str) else type(got).__name__
        raise Failure(
            "model of seed 7 whose best scores are PAD and EOS, start='ok', length=10, "
            "sampled",
            "12 characters",
            shown,
            NOT_CHARACTERS,
        )


def _generate_state(candidate):
    greedy_matches(
        candidate,
        [(8, "abc", 12), (8, "xbc", 12)],
        hint="every character of the prompt feeds the state, and generation goes on "
        "from the state the prompt left: the prompts 'abc' and 'xbc' must give "
        "different texts",
    )


def sampling_model() -> tuple[nn.Sequential, float]:
    """A model whose scores ignore the state: 'a' log 0.75, 'b' log 0.25, every other
    id -100."""
    model = char_model(0)
    a, b = string2code("ab").tolist()
    with torch.no_grad():
        model[1].decoder.weight.zero_()
        model[1].decoder.bias.fill_(-100.0)
        model[1].decoder.bias[a] = math.log(0.75)
        model[1].decoder.bias[b] = math.log(0.25)
    return model


def share_of_a(temperature: float) -> float:
    """P('a') under softmax(scores / temperature) for ``sampling_model``."""
    a, b = 0.75 ** (1 / temperature), 0.25 ** (1 / temperature)
    return a / (a + b)


SAMPLES = 800


def _generate_sampling(candidate):
    model = sampling_model()
    for temperature, tolerance in ((1.0, 0.06), (0.5, 0.045), (2.0, 0.065)):
        case = (
            f"a model giving 'a' 0.75 and 'b' 0.25 whatever the state, start='ab', "
            f"length={SAMPLES}, temperature={temperature:g}"
        )
        g = torch.Generator().manual_seed(11)
        got = candidate(model, "ab", SAMPLES, temperature=temperature, generator=g)
        new = got[2:] if isinstance(got, str) else ""
        if len(new) != SAMPLES or set(new) - {"a", "b"}:
            raise Failure(
                case,
                f"{SAMPLES} characters 'a' or 'b' after the prompt",
                repr(got)[:40],
            )
        expected = share_of_a(temperature)
        share = new.count("a") / SAMPLES
        if abs(share - expected) > tolerance:
            raise Failure(
                case,
                f"a share of 'a' near softmax(scores / {temperature:g}) = "
                f"{expected:.3f} (± {tolerance:g})",
                f"{share:.3f}",
                "sample from softmax(scores / temperature), drawing with generator",
            )
    texts = [
        candidate(model, "ab", 40, generator=torch.Generator().manual_seed(3))
        for _ in range(2)
    ]
    if texts[0] != texts[1]:
        raise Failure(
            "two calls with generators seeded alike (start='ab', length=40)",
            "the same text",
            f"{texts[0][:12]!r}… and {texts[1][:12]!r}…",
            "draw with the generator argument: torch.multinomial(p, 1, "
            "generator=generator)",
        )


GENERATE = Exercise(
    label="rnn-generate",
    name="generate_fixed_length",
    reference="companion.generation.generate_fixed_length",
    question="TP3 Q4",
    points=2,
    properties=[
        Property("the prompt, then length characters", _generate_length),
        Property("greedy (argmax=True): the companion's text", _generate_greedy),
        Property("PAD and EOS are never produced", _generate_no_eos),
        Property("the prompt's state carries on (no restart)", _generate_state),
        Property("sampling honours temperature and generator", _generate_sampling),
    ],
)


# ---- BPTT by hand in NumPy -----------------------------------------------------------

# The order the checks read the gradients in: the decoder first (it needs the states
# only), then back through the recurrence, so that the first wrong one says where.
GRADIENTS = ("W_d", "b_d", "b_h", "W_i", "W_h", "h0")
BPTT_HINTS = {
    "W_d": "dW_d = sum over t of dy_t^T h_t, with the states the forward pass stored",
    "b_d": "db_d sums dy over the steps and the batch",
    "b_h": "da_t = (dy_t W_d + dh_next) * (1 - h_t^2), where dh_next = da_{t+1} W_h "
    "comes back from step t + 1; db_h sums da_t",
    "W_i": "dW_i = sum over t of da_t^T x_t",
    "W_h": "dW_h = sum over t of da_t^T h_{t-1}: the previous state, h0 at the first "
    "step",
    "h0": "h0's gradient is what reaches it from the first step, da_1 W_h",
}
CARRIED = (
    "only the last output is supervised: the earlier steps get their gradient through "
    "dh_next alone"
)


def bptt_case(L, B, D, H, Out, seed, last_only=False, zero_h0=False, bound=0.8):
    """A ``NumpyRNN`` that has run forward on a batch, a ``dy (L, B, O)`` and the
    gradients of ``sum(outputs * dy)`` by torch's autograd (float64)."""
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        reference = RNN(D, H, Out).double()
    _uniform_(reference.parameters(), g, bound)
    x = torch.randn(L, B, D, generator=g, dtype=torch.float64)
    h0 = 0.5 * torch.randn(B, H, generator=g, dtype=torch.float64)
    if zero_h0:
        h0 = torch.zeros_like(h0)
    dy = torch.randn(L, B, Out, generator=g, dtype=torch.float64)
    if last_only:
        dy[:-1] = 0
    h = h0.clone().requires_grad_()
    (reference.decode(reference(x, h)) * dy).sum().backward()
    expected = {
        "W_i": reference.W_i.grad,
        "W_h": reference.W_h.grad,
        "b_h": reference.b_h.grad,
        "W_d": reference.decoder.weight.grad,
        "b_d": reference.decoder.bias.grad,
        "h0": h.grad,
    }
    net = NumpyRNN.from_torch(reference)
    net.forward(x.numpy(), None if zero_h0 else h0.numpy())
    case = f"{sizes(L=L, B=B, D=D, H=H, O=Out)}"
    case += ", only the last step supervised" if last_only else ""
    case += ", h0 = 0" if zero_h0 else ""
    return case, net, dy.numpy(), {k: v.numpy() for k, v in expected.items()}


def _gradient_shapes(case: str, grads, net, B: int) -> None:
    if not isinstance(grads, dict):
        raise Failure(
            case, f"a dict with the keys {list(GRADIENTS)}", type(grads).__name__
        )
    if missing := [k for k in GRADIENTS if k not in grads]:
        raise Failure(case, f"the keys {list(GRADIENTS)}", f"no {missing}")
    for name in GRADIENTS:
        want = (B, net.latent_dim) if name == "h0" else net.params[name].shape
        got = tuple(np.shape(grads[name]))
        if got != tuple(want):
            raise Failure(
                case,
                f"grads['{name}'] of shape {tuple(want)}",
                f"{got}",
                BPTT_HINTS[name],
            )


def bptt_values(candidate, L, B, D, H, Out, seed, hint="", **options):
    case, net, dy, expected = bptt_case(L, B, D, H, Out, seed, **options)
    grads = candidate(net, dy.copy())
    _gradient_shapes(case, grads, net, B)
    for name in GRADIENTS:
        compare(
            case,
            grads[name],
            expected[name],
            atol=1e-10,
            rtol=1e-8,
            what=f"grads['{name}']",
            hint=BPTT_HINTS[name] + (f" ({hint})" if hint else ""),
        )


def _bptt_shapes(candidate):
    case, net, dy, _ = bptt_case(5, 3, 2, 4, 3, seed=0)
    _gradient_shapes(case, candidate(net, dy.copy()), net, 3)


def _bptt_values(candidate):
    bptt_values(candidate, 6, 3, 2, 4, 3, seed=1)
    bptt_values(candidate, 4, 2, 3, 3, 2, seed=2)


def _bptt_carried(candidate):
    bptt_values(candidate, 8, 2, 2, 3, 1, seed=3, hint=CARRIED, last_only=True)


def _bptt_one_step(candidate):
    bptt_values(candidate, 1, 2, 3, 4, 2, seed=4)


BPTT = Exercise(
    label="rnn-bptt",
    name="backward",
    reference="companion.rnn_numpy.NumpyRNN.backward",
    question="TP3 §4, backpropagation through time by hand",
    points=3,
    properties=[
        Property("a gradient for each parameter and h0, of its shape", _bptt_shapes),
        Property("values against autograd, every step supervised", _bptt_values),
        Property(
            "carried back through time: only the last step supervised", _bptt_carried
        ),
        Property("L = 1: the only step's previous state is h0", _bptt_one_step),
    ],
)


# ---- rnn-ex1: which gradients change when h_prev becomes states[t] -------------------


def _backward_with_slip(net: NumpyRNN, dy: np.ndarray) -> dict:
    """``NumpyRNN.backward`` with ``states[t]`` in place of ``h_prev`` in ``W_h``'s
    update, the slip of exercise rnn-ex1."""
    x, h0, states = net.cache
    p = net.params
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    grads["W_d"] = np.einsum("lbo,lbh->oh", dy, states)
    grads["b_d"] = dy.sum(axis=(0, 1))
    dh_next = np.zeros_like(h0)
    for t in reversed(range(len(x))):
        da = (dy[t] @ p["W_d"] + dh_next) * (1 - states[t] ** 2)
        grads["W_i"] += da.T @ x[t]
        grads["W_h"] += da.T @ states[t]  # the slip: h_prev was meant
        grads["b_h"] += da.sum(axis=0)
        dh_next = da @ p["W_h"]
    grads["h0"] = dh_next
    return grads


def _changed_by_the_slip() -> tuple[str, ...]:
    rng = np.random.default_rng(0)
    net = NumpyRNN(2, 3, 2, rng)
    net.forward(rng.normal(size=(5, 2, 2)), rng.normal(size=(2, 3)))
    dy = rng.normal(size=(5, 2, 2))
    right, slipped = NumpyRNN.backward(net, dy), _backward_with_slip(net, dy)
    return tuple(k for k in GRADIENTS if not np.allclose(right[k], slipped[k]))


SLIP_CHOICES = {
    ("W_h",): "only W_h",
    ("W_h", "h0"): "W_h and h0",
    ("b_h", "W_i", "W_h"): "W_i, W_h and b_h",
    ("b_h", "W_i", "W_h", "h0"): "all but the decoder's",
    GRADIENTS: "all six",
}

SLIP = choice(
    "rnn-ex1",
    "rnn_ex1_changed",
    "the gradients that states[t] for h_prev changes",
    SLIP_CHOICES[_changed_by_the_slip()],
    tuple(SLIP_CHOICES.values()),
    hint="which lines read h_prev? The recursion on dh_next uses W_h itself, not its "
    "gradient",
)

EXERCISES = [RNN_CLASS, FORECAST_DATASET, GENERATE, BPTT, SLIP]
