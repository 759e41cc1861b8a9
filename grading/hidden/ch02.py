"""Chapter 2's hidden checks."""

from companion.workbook import ch02
from companion.workbook.runner import Property


def _rnn_sizes_of_one(candidate):
    ch02.rnn_step_values(candidate, [(21, (1, 1, 1, 1))])
    ch02.rnn_forward_values(candidate, [(22, (1, 1, 1, 1, 1)), (23, (9, 2, 1, 1, 3))])
    ch02.rnn_zero_state(candidate, [(24, (1, 1, 2, 3, 1))])
    ch02.rnn_return_state(candidate, [(25, (1, 1, 3, 2, 2))])


def _rnn_long(candidate):
    ch02.rnn_forward_values(candidate, [(26, (30, 4, 3, 8, 2))])
    ch02.rnn_gradients(candidate, 30, 2, 3, 6, 4, seed=27)


def _forecast_more(candidate):
    ch02.forecast_length(candidate, [(1, 5, 4, 1, 5, 1), (2, 12, 1, 2, 7, 3)])
    ch02.forecast_values(candidate, 2, 7, 3, 1, 7, horizon=1, seed=2)
    ch02.forecast_values(candidate, 3, 8, 1, 2, 4, horizon=2, seed=3)
    ch02.forecast_last_windows(candidate, 2, 10, 2, 1, 5, horizon=2)
    ch02.forecast_order(candidate, 4, 6, 1, 2, 3)


def _generate_empty_prompt(candidate):
    ch02.greedy_matches(
        candidate,
        [(31, "", 10)],
        hint="an empty start: generate from the zero state",
    )


def _generate_more(candidate):
    ch02.greedy_matches(
        candidate, [(32, "Hello, world", 30), (33, "été ", 8), (34, "?", 1)]
    )


def _bptt_more(candidate):
    ch02.bptt_values(candidate, 15, 1, 1, 1, 1, seed=41)
    ch02.bptt_values(candidate, 3, 6, 4, 7, 2, seed=42)
    ch02.bptt_values(candidate, 10, 2, 2, 3, 2, seed=43, last_only=True)


def _bptt_zero_h0(candidate):
    ch02.bptt_values(candidate, 5, 3, 2, 4, 2, seed=44, zero_h0=True)


def _bptt_saturated(candidate):
    ch02.bptt_values(candidate, 7, 2, 3, 4, 2, seed=45, bound=2.5)


HIDDEN = {
    "rnn-class": [
        Property("hidden: sizes of 1, L = 9 with D = H = 1", _rnn_sizes_of_one),
        Property("hidden: a long sequence (L = 30), states and gradients", _rnn_long),
    ],
    "rnn-forecast-dataset": [
        Property("hidden: other sizes, length = T, horizons 2 and 3", _forecast_more),
    ],
    "rnn-generate": [
        Property("hidden: an empty prompt", _generate_empty_prompt),
        Property("hidden: more models and prompts (an accented one)", _generate_more),
    ],
    "rnn-bptt": [
        Property("hidden: more sizes (B = H = 1, L = 15)", _bptt_more),
        Property("hidden: h0 = 0 (forward without h0)", _bptt_zero_h0),
        Property("hidden: saturated tanh (weights up to 2.5)", _bptt_saturated),
    ],
}
