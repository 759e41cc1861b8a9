"""The linear recurrence ``h_t = a_t ⊙ h_{t-1} + b_t`` and its parallel scan (chapter
9).

A step of the recurrence is the affine map ``h ↦ a h + b``, written as the pair
``(a, b)``. Two steps in a row, ``(a₁, b₁)`` then ``(a₂, b₂)``, are again one affine
map, ``h ↦ a₂ (a₁ h + b₁) + b₂``, that is the pair ``(a₂ a₁, a₂ b₁ + b₂)``: this is
``combine``. Composing maps is associative, so the prefix "compositions" of the ``L``
steps can be grouped in any order, and computed in ``⌈log₂ L⌉`` rounds instead of
``L`` (a prefix sum, or *scan*, over this operator: Blelloch 1990; Martin & Cundy 2018
applied it to linear RNNs).

* ``sequential_scan``: the loop, one step after the other (the reference);
* ``hillis_steele``: the scan of Hillis & Steele (1986), ``⌈log₂ L⌉`` rounds in which
  every position combines with the one ``2^k`` places before it, all positions at
  once;
* ``linear_scan``: the public entry point, ``(L, B, D)`` tensors in and out, through
  ``hillis_steele``;
* ``cumprod_scan``: the closed form ``h_t = A_t (h₀ + Σ_{s≤t} b_s / A_s)`` with
  ``A_t = a₁ ⋯ a_t``, which underflows at long ``L``;
* ``log_linear_scan``: the same closed form in log space, for positive ``a``, ``b`` and
  ``h₀`` (``logcumsumexp``; Heinsen 2023, as minGRU does: Feng et al. 2024), stable at
  any length.

Every function is differentiable with autograd: the scans are built from
``torch.cat``, products and sums, so their gradients come for free."""

import torch

from companion.checks import Float, checked

_A = Float("L", "B", "D", nonempty="L")
_B = Float("L", "B", "D", like="a")
_H0 = Float("B", "D", like="a", optional=True)


def combine(first, second):
    """Compose two steps, ``first = (a₁, b₁)`` then ``second = (a₂, b₂)``: the step
    ``(a₂ a₁, a₂ b₁ + b₂)``. Any shapes that broadcast."""
    a1, b1 = first
    a2, b2 = second
    return a2 * a1, a2 * b1 + b2


@checked(a=_A, b=_B, h0=_H0)
def sequential_scan(a: torch.Tensor, b: torch.Tensor, h0=None) -> torch.Tensor:
    """The loop ``h_t = a_t ⊙ h_{t-1} + b_t``: ``a, b (L, B, D)``, ``h0 (B, D)`` (zeros
    when ``None``) → ``h (L, B, D)``."""
    h = torch.zeros_like(b[0]) if h0 is None else h0
    states = []
    for a_t, b_t in zip(a.unbind(0), b.unbind(0), strict=True):
        h = a_t * h + b_t
        states.append(h)
    return torch.stack(states)


def hillis_steele(a: torch.Tensor, b: torch.Tensor):
    """The inclusive scan of ``(a, b)`` (``(L, …)`` each) under ``combine``: the pairs
    ``(A_t, H_t)`` of the steps ``1 … t`` composed, and the number of rounds,
    ``⌈log₂ L⌉``. Round ``k`` combines every position ``t ≥ 2^k`` with position
    ``t - 2^k``, all at once."""
    offset, rounds = 1, 0
    while offset < a.shape[0]:
        earlier = (a[:-offset], b[:-offset])
        a_new, b_new = combine(earlier, (a[offset:], b[offset:]))
        a = torch.cat([a[:offset], a_new])
        b = torch.cat([b[:offset], b_new])
        offset, rounds = 2 * offset, rounds + 1
    return a, b, rounds


@checked(a=_A, b=_B, h0=_H0)
def linear_scan(a: torch.Tensor, b: torch.Tensor, h0=None) -> torch.Tensor:
    """``h_t = a_t ⊙ h_{t-1} + b_t`` for all ``t`` by the parallel scan: ``a, b (L, B,
    D)``, ``h0 (B, D)`` (zeros when ``None``) → ``h (L, B, D)``, equal to
    ``sequential_scan``. ``h0`` enters as the first step's ``b₁ + a₁ h₀``."""
    if h0 is not None:
        b = torch.cat([(b[0] + a[0] * h0)[None], b[1:]])
    return hillis_steele(a, b)[1]


def cumprod_scan(a: torch.Tensor, b: torch.Tensor, h0=None) -> torch.Tensor:
    """The closed form ``h_t = A_t (h₀ + Σ_{s≤t} b_s / A_s)``, ``A_t = a₁ ⋯ a_t``:
    exact in exact arithmetic, but ``A_t`` underflows to 0 at long ``L`` and ``b / A``
    becomes ``inf`` (then ``0 · inf = nan``). The chapter's counter-example: no door,
    it takes what ``linear_scan`` takes."""
    A = torch.cumprod(a, dim=0)
    h = torch.cumsum(b / A, dim=0)
    return A * (h if h0 is None else h + h0)


@checked(log_a=_A, log_b=Float("L", "B", "D", like="log_a"))
def log_linear_scan(log_a, log_b, log_h0=None) -> torch.Tensor:
    """``log h`` for positive ``a``, ``b``, ``h₀`` given by their logs (each
    ``(L, B, D)``, ``log_h0 (B, D)`` or ``None`` for ``h₀ = 0``):
    ``log h_t = a*_t + logcumsumexp_s(log b_s - a*_s)``, ``a*_t = Σ_{s≤t} log a_s``.
    Only sums of logs and a stable ``logcumsumexp``: nothing underflows."""
    a_star = torch.cumsum(log_a, dim=0)
    terms = log_b - a_star
    if log_h0 is not None:  # h₀ is the term s = 0, with a*_0 = 0
        terms = torch.cat([log_h0[None], terms])
        return a_star + torch.logcumsumexp(terms, dim=0)[1:]
    return a_star + torch.logcumsumexp(terms, dim=0)
