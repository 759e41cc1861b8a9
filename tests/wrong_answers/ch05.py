"""Wrong answers to chapter 5's exercises."""

# Right answers to gates-lstm and gates-gru (the answer cells' __init__, then one_step
# and forward); each wrong answer below changes a line or two of one of them.
LSTM = """
import math
import torch
from torch import nn
class LSTM(nn.Module):
    def __init__(self, input_dim, latent_dim, output_dim):
        super().__init__()
        self.input_dim, self.latent_dim = input_dim, latent_dim
        bound = 1 / math.sqrt(latent_dim)
        def uniform(*shape):
            return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))
        self.W_ih = uniform(4 * latent_dim, input_dim)
        self.W_hh = uniform(4 * latent_dim, latent_dim)
        self.b = uniform(4 * latent_dim)
        self.decoder = nn.Linear(latent_dim, output_dim)

    def one_step(self, x, state):
        h, c = state
        H = self.latent_dim
        a = x @ self.W_ih.T + h @ self.W_hh.T + self.b
        f = torch.sigmoid(a[:, :H])
        i = torch.sigmoid(a[:, H : 2 * H])
        o = torch.sigmoid(a[:, 2 * H : 3 * H])
        c_tilde = torch.tanh(a[:, 3 * H :])
        c = f * c + i * c_tilde
        h = o * torch.tanh(c)
        return h, c

    def forward(self, x, state=None, return_state=False):
        if state is None:
            zeros = x.new_zeros(x.shape[1], self.latent_dim)
            state = (zeros, zeros)
        states = []
        for x_t in x:
            state = self.one_step(x_t, state)
            states.append(state[0])
        states = torch.stack(states)
        return (states, state) if return_state else states
"""

GRU = """
import math
import torch
from torch import nn
class GRU(nn.Module):
    def __init__(self, input_dim, latent_dim, output_dim, reset="after"):
        super().__init__()
        self.input_dim, self.latent_dim, self.reset = input_dim, latent_dim, reset
        bound = 1 / math.sqrt(latent_dim)
        def uniform(*shape):
            return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))
        self.W_ih = uniform(3 * latent_dim, input_dim)
        self.W_hh = uniform(3 * latent_dim, latent_dim)
        self.b_ih = uniform(3 * latent_dim)
        self.b_hh = uniform(3 * latent_dim)
        self.decoder = nn.Linear(latent_dim, output_dim)

    def one_step(self, x, h):
        H = self.latent_dim
        gi = x @ self.W_ih.T + self.b_ih
        gh = h @ self.W_hh.T + self.b_hh
        r = torch.sigmoid(gi[:, :H] + gh[:, :H])
        z = torch.sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
        n = torch.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
        return (1 - z) * h + z * n

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


def _changed(source: str, *pairs: str) -> str:
    """``source`` with each ``old`` of ``pairs = (old, new, old, new, ...)`` replaced
    (each must occur once)."""
    for old, new in zip(pairs[::2], pairs[1::2], strict=True):
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


WRONG = {
    "gates-lstm": {
        "forget and input gates swapped": _changed(
            LSTM,
            "f = torch.sigmoid(a[:, :H])",
            "i = torch.sigmoid(a[:, :H])",
            "i = torch.sigmoid(a[:, H : 2 * H])",
            "f = torch.sigmoid(a[:, H : 2 * H])",
        ),
        "PyTorch's gate order (i, f, C̃, o)": _changed(
            LSTM,
            "o = torch.sigmoid(a[:, 2 * H : 3 * H])",
            "o = torch.sigmoid(a[:, 3 * H :])",
            "c_tilde = torch.tanh(a[:, 3 * H :])",
            "c_tilde = torch.tanh(a[:, 2 * H : 3 * H])",
            "f = torch.sigmoid(a[:, :H])",
            "i = torch.sigmoid(a[:, :H])",
            "i = torch.sigmoid(a[:, H : 2 * H])",
            "f = torch.sigmoid(a[:, H : 2 * H])",
        ),
        "no tanh on the memory, h = o C": _changed(
            LSTM, "h = o * torch.tanh(c)", "h = o * c"
        ),
        "the initial state ignored": _changed(LSTM, "if state is None:", "if True:"),
        "the state detached at each step (001: BPTT without the carried gradient)": (
            _changed(
                LSTM,
                "state = self.one_step(x_t, state)",
                "state = self.one_step(x_t, tuple(s.detach() for s in state))",
            )
        ),
    },
    "gates-gru": {
        "PyTorch's update convention, (1 - z) h̃ + z h": _changed(
            GRU, "return (1 - z) * h + z * n", "return (1 - z) * n + z * h"
        ),
        "the reset gate before the product (the TP's variant)": _changed(
            GRU,
            "n = torch.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])",
            "n = torch.tanh(gi[:, 2 * H :] + (r * h) @ self.W_hh[2 * H :].T"
            " + self.b_hh[2 * H :])",
        ),
        "b_hn outside the reset product": _changed(
            GRU,
            "n = torch.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])",
            "n = torch.tanh(gi[:, 2 * H :] + r * (h @ self.W_hh[2 * H :].T)"
            " + self.b_hh[2 * H :])",
        ),
        "the state detached at each step (001: BPTT without the carried gradient)": (
            _changed(
                GRU, "h = self.one_step(x_t, h)", "h = self.one_step(x_t, h.detach())"
            )
        ),
    },
    "gates-ex2": {
        "without the bias": "gates_ex2_saved = 6633\n",
        "the four gates": "gates_ex2_saved = 26800\n",
        "the recurrent weights only": "gates_ex2_saved = 4489\n",
        "PyTorch's two biases": "gates_ex2_saved = 6767\n",
    },
}
