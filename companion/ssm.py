"""A selective state space, the core of Mamba, with no hardware tricks (chapter 9).

A state space model reads each of ``D`` channels ``x_t`` through a state of ``N``
numbers per channel. In continuous time ``h'(τ) = A h(τ) + B x(τ)``,
``y = C h + D x``, with ``A`` diagonal and negative. Held constant over a step of
length ``Δ`` (zero-order hold), the input moves the state exactly by

    Ā = exp(Δ A),    B̄ = (exp(Δ A) - 1) / A · B,    h_t = Ā h_{t-1} + B̄ x_t,

a linear recurrence that ``companion.scan.linear_scan`` runs in parallel. Three modes
compute the same ``y``:

* ``"recurrent"``: ``step`` after ``step``, a state ``(B, D, N)`` of constant size
  (generation);
* ``"scan"``: all the ``Ā_t``, ``B̄_t x_t`` at once, then the parallel scan
  (training);
* ``"convolution"``: when ``Δ``, ``B`` and ``C`` do not depend on the input
  (``selective=False``: S4D, Gu, Gupta et al. 2022), ``y = K * x + D x`` with the
  kernel ``K_k = Σ_n C_n Ā_n^k B̄_n`` (Gu, Goel & Ré 2022, S4), computed by FFT.

``selective=True`` makes ``Δ_t = softplus(W_Δ x_t + b_Δ)``, ``B_t = W_B x_t`` and
``C_t = W_C x_t`` functions of the input (Gu & Dao 2023, Mamba's S6): the model chooses,
token by token, what to write into its state and what to read; it is no longer a
convolution, but still a linear recurrence in ``h``. ``A = -exp(A_log)`` starts at
``-(1, 2, …, N)`` in every channel (S4D-real), ``Δ`` between 0.001 and 0.1.

``SSMLM`` stacks such layers into a language model with the interface of chapter 4's
``CharLM`` (``forward``, ``step``) for the chapter's tasks."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from companion.checks import All, Float, Ids, Int, Is, OneOf, Seq, That, checked
from companion.scan import linear_scan

MODES = ("scan", "recurrent", "convolution")
_STATE = Float("B", "self.d_model", "self.d_state", like="self", optional=True)
_TIME_INVARIANT = That(
    lambda mode, door: mode != "convolution" or not door.owner.selective,
    "expected mode 'scan' or 'recurrent' for a selective SSM (its Δ, B, C change "
    "with the input: no convolution kernel), got 'convolution'",
)


@checked(A=Float(), B=Float(), delta=Float())
def zoh(A: torch.Tensor, B: torch.Tensor, delta: torch.Tensor):
    """Zero-order hold of ``h' = A h + B x`` over a step ``delta``, ``A`` diagonal
    (its diagonal given, negative): ``Ā = exp(Δ A)``, ``B̄ = (exp(Δ A) - 1) / A · B``,
    any shapes that broadcast."""
    A_bar = torch.exp(delta * A)
    return A_bar, (A_bar - 1) / A * B


class SelectiveSSM(nn.Module):
    """One SSM layer on ``D = d_model`` channels with ``N = d_state`` states each.

    Parameters: ``A_log (D, N)``, ``D_skip (D,)``; with ``selective`` the maps
    ``to_delta (D → D)``, ``to_B``, ``to_C (D → N)``, else the constants
    ``log_delta (D,)``, ``B``, ``C (D, N)``."""

    @checked(d_model=Int(), d_state=Int(), selective=Is(bool))
    def __init__(self, d_model: int, d_state: int, selective: bool = True):
        super().__init__()
        self.d_model, self.d_state, self.selective = d_model, d_state, selective
        n = torch.arange(1, d_state + 1, dtype=torch.float32)
        self.A_log = nn.Parameter(n.log().repeat(d_model, 1))
        self.D_skip = nn.Parameter(torch.ones(d_model))
        delta = torch.exp(torch.empty(d_model).uniform_(math.log(1e-3), math.log(0.1)))
        if selective:
            self.to_delta = nn.Linear(d_model, d_model)
            self.to_B = nn.Linear(d_model, d_state, bias=False)
            self.to_C = nn.Linear(d_model, d_state, bias=False)
            with torch.no_grad():  # softplus(bias) = delta
                self.to_delta.bias.copy_(delta + torch.log(-torch.expm1(-delta)))
        else:
            self.log_delta = nn.Parameter(delta.log())
            self.B = nn.Parameter(torch.randn(d_model, d_state))
            self.C = nn.Parameter(torch.randn(d_model, d_state) / math.sqrt(d_state))

    def discretise(self, x: torch.Tensor):
        """Zero-order hold at the input ``x (…, D)``: ``Ā``, ``B̄`` and ``C``, each
        ``(…, D, N)`` (or ``(D, N)`` when they do not depend on ``x``)."""
        A = -torch.exp(self.A_log)  # (D, N)
        if self.selective:
            delta = F.softplus(self.to_delta(x))[..., None]  # (…, D, 1)
            B, C = self.to_B(x)[..., None, :], self.to_C(x)[..., None, :]  # (…, 1, N)
        else:
            delta, B, C = self.log_delta.exp()[:, None], self.B, self.C
        return (*zoh.bare(A, B, delta), C)

    @checked(x=Seq("B", "self.d_model"), h=_STATE)
    def step(self, x: torch.Tensor, h: torch.Tensor | None = None):
        """One token: ``x (B, D)``, state ``h (B, D, N)`` (zeros when ``None``) →
        ``(y (B, D), h)``."""
        A_bar, B_bar, C = self.discretise(x)
        h = A_bar * (0 if h is None else h) + B_bar * x[..., None]
        return (h * C).sum(-1) + self.D_skip * x, h

    @checked(x=Seq("L", "B", "self.d_model"), mode=All(OneOf(*MODES), _TIME_INVARIANT))
    def forward(self, x: torch.Tensor, mode: str = "scan") -> torch.Tensor:
        """``x (L, B, D)`` → ``y (L, B, D)`` from a zero state, in ``mode``."""
        if mode == "recurrent":
            h, ys = None, []
            for x_t in x.unbind(0):
                y_t, h = self.step.bare(x_t, h)
                ys.append(y_t)
            return torch.stack(ys)
        if mode == "convolution":
            kernel = self.kernel(x.shape[0])
            return causal_convolution(x, kernel) + self.D_skip * x
        L, B, D = x.shape
        A_bar, B_bar, C = self.discretise(x)  # (L, B, D, N) each
        u = B_bar * x[..., None]
        a = A_bar.expand_as(u).flatten(2)  # (L, B, D N): one recurrence per state
        h = linear_scan.bare(a, u.flatten(2)).view(L, B, D, -1)
        return (h * C).sum(-1) + self.D_skip * x

    def kernel(self, length: int) -> torch.Tensor:
        """The convolution kernel of a time-invariant SSM,
        ``K[d, k] = Σ_n C[d, n] Ā[d, n]^k B̄[d, n]`` for ``k < length``: ``(D, L)``."""
        A_bar, B_bar, C = self.discretise(None)  # time-invariant: no input needed
        powers = A_bar[..., None] ** torch.arange(length, device=A_bar.device)
        return torch.einsum("dn,dnk->dk", C * B_bar, powers)

    def state_bytes(self, batch_size: int = 1) -> int:
        """Bytes of the state ``(B, D, N)`` that generation carries, whatever the
        number of tokens already read."""
        return batch_size * self.d_model * self.d_state * self.A_log.element_size()


@checked(x=Float("L", "B", "D"), kernel=Float("D", "L", like="x"))
def causal_convolution(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``y_t = Σ_{k ≤ t} K[:, k] ⊙ x_{t-k}`` for ``x (L, B, D)``, ``kernel (D, L)``,
    by FFT (zero-padded to ``2L``, so nothing wraps around): ``(L, B, D)``."""
    L = x.shape[0]
    spectrum = torch.fft.rfft(x, n=2 * L, dim=0) * torch.fft.rfft(
        kernel.T, n=2 * L, dim=0
    ).unsqueeze(1)
    return torch.fft.irfft(spectrum, n=2 * L, dim=0)[:L]


class SSMLM(nn.Module):
    """A language model of ``n_layers`` residual SSM blocks,
    ``x ← x + W_o SSM(LayerNorm(x))``, between an embedding and a linear head.

    ``forward(tokens (L, B)) → logits (L, B, V)`` runs the scan; ``step(state,
    tokens (B,))`` reads one token and carries ``n_layers`` states ``(B, D, N)``: the
    same numbers of bytes at every step."""

    @checked(vocab_size=Int(2), d_model=Int(), d_state=Int(), n_layers=Int())
    def __init__(self, vocab_size: int, d_model: int, d_state: int, n_layers: int = 1):
        super().__init__()
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(n_layers))
        self.ssms = nn.ModuleList(
            SelectiveSSM(d_model, d_state) for _ in range(n_layers)
        )
        self.outs = nn.ModuleList(nn.Linear(d_model, d_model) for _ in range(n_layers))
        self.head = nn.Linear(d_model, vocab_size)

    @checked(tokens=Ids("L", "B", below="self.vocab_size", nonempty="L"))
    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``tokens (L, B)`` → ``logits (L, B, V)``."""
        x = self.embedding(tokens)
        for norm, ssm, out in zip(self.norms, self.ssms, self.outs, strict=True):
            x = x + out(ssm.forward.bare(norm(x)))
        return self.head(x)

    @checked(tokens=Ids("B", below="self.vocab_size"))
    def step(self, state: tuple | None, tokens: torch.Tensor):
        """One token per sequence: ``(log_probs (B, V), state)``, ``state`` a tuple
        of one ``(B, D, N)`` per layer (``None`` at the start)."""
        state = state or (None,) * len(self.ssms)
        x, new_state = self.embedding(tokens), []
        for norm, ssm, out, h in zip(
            self.norms, self.ssms, self.outs, state, strict=True
        ):
            y, h = ssm.step.bare(norm(x), h)
            x = x + out(y)
            new_state.append(h)
        return torch.log_softmax(self.head(x), dim=-1), tuple(new_state)
