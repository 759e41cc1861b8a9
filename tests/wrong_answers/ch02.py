"""Wrong answers to chapter 2's exercises (the seed 001's BPTT bugs among them). Each
is a full answer cell: the right answer with one mistake."""

# ---- TP3 Q1: the RNN class ---------------------------------------------------------

_RNN_INIT = """
import math

import torch
from torch import nn


class RNN(nn.Module):
    def __init__(self, input_dim, latent_dim, output_dim):
        super().__init__()
        self.input_dim, self.latent_dim = input_dim, latent_dim
        self.output_dim = output_dim
        bound = 1 / math.sqrt(latent_dim)
        self.W_i = nn.Parameter(
            torch.empty(latent_dim, input_dim).uniform_(-bound, bound)
        )
        self.W_h = nn.Parameter(
            torch.empty(latent_dim, latent_dim).uniform_(-bound, bound)
        )
        self.b_h = nn.Parameter(torch.empty(latent_dim).uniform_(-bound, bound))
        self.decoder = nn.Linear(latent_dim, output_dim)
"""
_ONE_STEP = """
    def one_step(self, x, h):
        return torch.tanh(x @ self.W_i.T + h @ self.W_h.T + self.b_h)
"""
_FORWARD = """
    def forward(self, x, h=None, return_state=False):
        if h is None:
            h = x.new_zeros(x.shape[1], self.latent_dim)
        states = []
        for x_t in x:
            h = self.one_step(x_t, h)
            states.append(h)
        states = torch.stack(states)
        return (states, h) if return_state else states
"""
_DECODE = """
    def decode(self, h):
        return self.decoder(h)
"""


def _rnn(**changes: tuple[str, str]) -> str:
    """The right class with ``changes[method] = (old, new)`` applied to a method."""
    methods = {"one_step": _ONE_STEP, "forward": _FORWARD, "decode": _DECODE}
    for method, (old, new) in changes.items():
        assert old in methods[method], (method, old)
        methods[method] = methods[method].replace(old, new)
    return _RNN_INIT + "".join(methods.values())


# ---- TP3 Q3: the forecasting data set ------------------------------------------------

_DATASET = """
import torch
from torch.utils.data import Dataset


class ForecastMetroDataset(Dataset):
    def __init__(self, data, length=20, stations_max=None, horizon=1):
        if stations_max is None:
            stations_max = data.amax(dim=(0, 1))
        self.data, self.stations_max = data / stations_max, stations_max
        self.days, self.slots = data.shape[:2]
        self.length, self.horizon = length, horizon

    def __len__(self):
        return self.days * (self.slots - self.length + 1)

    def __getitem__(self, i):
        slot, day = divmod(i, self.days)
        window = self.data[day, slot : slot + self.length]
        return window[: -self.horizon], window[self.horizon :]
"""


def _dataset(old: str, new: str) -> str:
    assert old in _DATASET, old
    return _DATASET.replace(old, new)


# ---- TP3 Q4: generation --------------------------------------------------------------

_GENERATE = """
import torch
from torch import nn

from companion.data.text import VOCAB_SIZE, code2string, string2code


@torch.no_grad()
def generate_fixed_length(
    model, start, length, argmax=False, temperature=1.0, generator=None
):
    embed, rnn = model

    def feed(code, h):
        one_hot = nn.functional.one_hot(torch.tensor([code]), VOCAB_SIZE).float()
        return rnn.one_step(embed(one_hot), h)

    h = torch.zeros(1, rnn.latent_dim)
    codes = string2code(start).tolist()
    for code in codes:
        h = feed(code, h)
    for _ in range(length):
        scores = rnn.decode(h)[0]
        scores[:2] = -torch.inf  # PAD and EOS are not characters
        if argmax:
            code = int(scores.argmax())
        else:
            probs = torch.softmax(scores / temperature, dim=0)
            code = int(torch.multinomial(probs, 1, generator=generator))
        codes.append(code)
        h = feed(code, h)
    return code2string(codes)
"""


def _generate(old: str, new: str) -> str:
    assert old in _GENERATE, old
    return _GENERATE.replace(old, new)


# ---- BPTT by hand --------------------------------------------------------------------

_BACKWARD = """
import numpy as np


def backward(self, dy):
    x, h0, states = self.cache
    p = self.params
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    grads["W_d"] = np.einsum("lbo,lbh->oh", dy, states)
    grads["b_d"] = dy.sum(axis=(0, 1))
    dh_next = np.zeros_like(h0)
    for t in reversed(range(len(x))):
        h_prev = states[t - 1] if t > 0 else h0
        da = (dy[t] @ p["W_d"] + dh_next) * (1 - states[t] ** 2)
        grads["W_i"] += da.T @ x[t]
        grads["W_h"] += da.T @ h_prev
        grads["b_h"] += da.sum(axis=0)
        dh_next = da @ p["W_h"]
    grads["h0"] = dh_next
    return grads
"""


def _backward(old: str, new: str) -> str:
    assert old in _BACKWARD, old
    return _BACKWARD.replace(old, new)


_RECOMPUTING = """
import numpy as np


def backward(self, dy):
    x, h0, _ = self.cache
    p = self.params
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    h = np.zeros_like(h0)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(len(x))):
        grads["W_d"] += dy[t].T @ h
        grads["b_d"] += dy[t].sum(axis=0)
        da = (dy[t] @ p["W_d"] + dh_next) * (1 - h**2)
        grads["W_i"] += da.T @ x[t]
        grads["W_h"] += da.T @ h
        grads["b_h"] += da.sum(axis=0)
        dh_next = da @ p["W_h"]
        h = np.tanh(x[t] @ p["W_i"].T + h @ p["W_h"].T + p["b_h"])
    grads["h0"] = dh_next
    return grads
"""

# Right answers written as a student might (not the companion's code): the checks must
# pass them.
RIGHT = {
    "rnn-class": _rnn(),
    "rnn-forecast-dataset": _DATASET,
    "rnn-generate": _GENERATE,
    "rnn-bptt": _BACKWARD,
    "rnn-ex1": 'rnn_ex1_changed = "only W_h"\n',
}

WRONG = {
    "rnn-class": {
        "forward ignores the given h": _rnn(
            forward=("if h is None:\n            h", "if True:\n            h")
        ),
        "the state is not carried: every step reads the initial h": _rnn(
            forward=(
                "h = self.one_step(x_t, h)\n            states.append(h)",
                "states.append(self.one_step(x_t, h))",
            )
        ),
        "W_h not transposed": _rnn(one_step=("h @ self.W_h.T", "h @ self.W_h")),
        "decode through a sigmoid (the handout's d)": _rnn(
            decode=("return self.decoder(h)", "return torch.sigmoid(self.decoder(h))")
        ),
        "return_state gives the first state": _rnn(
            forward=("(states, h) if", "(states, states[0]) if")
        ),
        "the state detached before each step (BPTT of one step)": _rnn(
            forward=("self.one_step(x_t, h)", "self.one_step(x_t, h.detach())")
        ),
        "forward returns the last state only": _rnn(
            forward=("(states, h) if return_state else states", "h")
        ),
    },
    "rnn-forecast-dataset": {
        "the course's T - length windows: the last one never served": _dataset(
            "self.slots - self.length + 1", "self.slots - self.length"
        ),
        "horizon ignored: always one slot ahead": _dataset(
            "window[: -self.horizon], window[self.horizon :]", "window[:-1], window[1:]"
        ),
        "day-major order": _dataset(
            "slot, day = divmod(i, self.days)",
            "day, slot = divmod(i, self.slots - self.length + 1)",
        ),
        "input of full length, target past the window": _dataset(
            "return window[: -self.horizon], window[self.horizon :]",
            "h = self.horizon\n"
            "        return window, self.data[day, slot + h : slot + self.length + h]",
        ),
        "input and target swapped": _dataset(
            "window[: -self.horizon], window[self.horizon :]",
            "window[self.horizon :], window[: -self.horizon]",
        ),
    },
    "rnn-generate": {
        "the state restarted at every step: only the last character is read": (
            _generate(
                "        codes.append(code)\n        h = feed(code, h)",
                "        codes.append(code)\n"
                "        h = feed(code, torch.zeros(1, rnn.latent_dim))",
            )
        ),
        "the prompt is not read: generation starts from the zero state": _generate(
            "    for code in codes:\n        h = feed(code, h)\n", ""
        ),
        "PAD and EOS allowed": _generate(
            "        scores[:2] = -torch.inf  # PAD and EOS are not characters\n", ""
        ),
        "temperature ignored": _generate("scores / temperature", "scores"),
        "temperature multiplies the scores": _generate(
            "scores / temperature", "scores * temperature"
        ),
        "generator ignored": _generate(
            "torch.multinomial(probs, 1, generator=generator)",
            "torch.multinomial(probs, 1)",
        ),
        "one character too few": _generate("range(length)", "range(length - 1)"),
    },
    "rnn-bptt": {
        "no carried gradient dh_next (001)": _backward(
            '(dy[t] @ p["W_d"] + dh_next)', '(dy[t] @ p["W_d"])'
        ),
        "states recomputed from a zero state while walking back (001)": _RECOMPUTING,
        "states[t] for h_prev in W_h's gradient (rnn-ex1)": _backward(
            "da.T @ h_prev", "da.T @ states[t]"
        ),
        "states[t - 1] at t = 0: the last state instead of h0": _backward(
            "states[t - 1] if t > 0 else h0", "states[t - 1]"
        ),
        "tanh' of the previous state": _backward(
            "(1 - states[t] ** 2)", "(1 - h_prev**2)"
        ),
        "dh_next carried through W_h^T": _backward(
            'dh_next = da @ p["W_h"]', 'dh_next = da @ p["W_h"].T'
        ),
    },
    "rnn-ex1": {
        "all but the decoder's": 'rnn_ex1_changed = "all but the decoder\'s"\n',
        "W_h and h0": 'rnn_ex1_changed = "W_h and h0"\n',
        "all six": 'rnn_ex1_changed = "all six"\n',
        "a name instead of a choice": 'rnn_ex1_changed = "W_h"\n',
    },
}
