"""Input validation shared by the package: shape and dtype checks with useful messages.

A shape is described by a tuple whose entries are ``int`` (that exact size) or ``str`` (any
size, named). The same name used twice must have the same size, so ``("L", "B", "D")`` checked
against a tensor and ``("B", "H")`` against another, with the same ``dims`` dictionary, checks
that both batches agree.
"""

from collections.abc import Sequence

import numpy as np
import torch


def _describe(spec: Sequence[int | str]) -> str:
    inner = ", ".join(str(s) for s in spec)
    return f"({inner},)" if len(spec) == 1 else f"({inner})"


def check_shape(name: str, x, spec: Sequence[int | str], dims: dict | None = None) -> dict:
    """Check that ``x.shape`` matches ``spec``; return the named sizes.

    ``dims`` holds sizes already bound to names (it is updated in place and returned), e.g.
    ``check_shape("h", h, ("B", "H"), dims)`` after ``dims = check_shape("x", x, ("B", "D"))``.

    Raises ``TypeError`` if ``x`` has no shape, ``ValueError`` naming the expected shape if
    it does not match.
    """
    dims = {} if dims is None else dims
    if not hasattr(x, "shape"):
        raise TypeError(f"expected {name} to be a tensor or array, got {type(x).__name__}")
    shape = tuple(x.shape)
    expected = _describe(spec)
    bound = ", ".join(f"{s}={dims[s]}" for s in spec if isinstance(s, str) and s in dims)
    where = f" with {bound}" if bound else ""
    if len(shape) != len(spec):
        raise ValueError(f"expected {name} of shape {expected}{where}, got {shape}")
    new = {}
    for size, want in zip(shape, spec, strict=True):
        if isinstance(want, str):
            known = dims.get(want, new.get(want))
            if known is not None and known != size:
                raise ValueError(f"expected {name} of shape {expected}{where}, got {shape}")
            new[want] = size
        elif size != want:
            raise ValueError(f"expected {name} of shape {expected}{where}, got {shape}")
    dims.update(new)
    return dims


def check_floating(name: str, x) -> None:
    """Raise ``TypeError`` unless ``x`` is a floating-point tensor or array."""
    if isinstance(x, torch.Tensor):
        ok = x.is_floating_point()
    elif isinstance(x, np.ndarray):
        ok = np.issubdtype(x.dtype, np.floating)
    else:
        raise TypeError(f"expected {name} to be a tensor or array, got {type(x).__name__}")
    if not ok:
        raise TypeError(f"expected {name} to have a floating-point dtype, got {x.dtype}")


def check_integer(name: str, x) -> None:
    """Raise ``TypeError`` unless ``x`` is an integer tensor or array (token ids, labels)."""
    if isinstance(x, torch.Tensor):
        ok = not x.is_floating_point() and not x.is_complex() and x.dtype != torch.bool
    elif isinstance(x, np.ndarray):
        ok = np.issubdtype(x.dtype, np.integer)
    else:
        raise TypeError(f"expected {name} to be a tensor or array, got {type(x).__name__}")
    if not ok:
        raise TypeError(f"expected {name} to have an integer dtype, got {x.dtype}")


def check_positive_int(name: str, value, minimum: int = 1) -> int:
    """Return ``value`` if it is an ``int`` (not a ``bool``) ``>= minimum``.

    Raises ``TypeError`` for another type and ``ValueError`` for a smaller int, both naming
    what was expected, e.g. ``expected n_sup to be an int >= 1, got 0``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected {name} to be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"expected {name} to be an int >= {minimum}, got {value}")
    return value
