"""Input validation shared by the package: shape and dtype checks with useful messages.

A shape is described by a tuple whose entries are ``int`` (that exact size) or ``str``
(any size, named). The same name used twice must have the same size, so
``("L", "B", "D")`` checked against a tensor and ``("B", "H")`` against another, with
the same ``dims`` dictionary, checks that both batches agree."""

from collections.abc import Sequence

import numpy as np
import torch


def _describe(spec: Sequence[int | str]) -> str:
    inner = ", ".join(str(s) for s in spec)
    return f"({inner},)" if len(spec) == 1 else f"({inner})"


def check_shape(
    name: str, x, spec: Sequence[int | str], dims: dict | None = None
) -> dict:
    """Check that ``x.shape`` matches ``spec``; return the named sizes.

    ``dims`` holds sizes already bound to names (it is updated in place and returned),
    e.g. ``check_shape("h", h, ("B", "H"), dims)`` after
    ``dims = check_shape("x", x, ("B", "D"))``.

    Raises ``TypeError`` if ``x`` has no shape, ``ValueError`` naming the expected shape
    if it does not match."""
    dims = {} if dims is None else dims
    if not hasattr(x, "shape"):
        raise TypeError(
            f"expected {name} to be a tensor or array, got {type(x).__name__}"
        )
    shape = tuple(x.shape)
    expected = _describe(spec)
    bound = ", ".join(
        f"{s}={dims[s]}" for s in spec if isinstance(s, str) and s in dims
    )
    where = f" with {bound}" if bound else ""
    if len(shape) != len(spec):
        raise ValueError(f"expected {name} of shape {expected}{where}, got {shape}")
    new = {}
    for size, want in zip(shape, spec, strict=True):
        if isinstance(want, str):
            known = dims.get(want, new.get(want))
            if known is not None and known != size:
                raise ValueError(
                    f"expected {name} of shape {expected}{where}, got {shape}"
                )
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
        raise TypeError(
            f"expected {name} to be a tensor or array, got {type(x).__name__}"
        )
    if not ok:
        raise TypeError(
            f"expected {name} to have a floating-point dtype, got {x.dtype}"
        )


def check_integer(name: str, x) -> None:
    """Raise ``TypeError`` unless ``x`` is an integer tensor or array (token ids,
    labels)."""
    if isinstance(x, torch.Tensor):
        ok = not x.is_floating_point() and not x.is_complex() and x.dtype != torch.bool
    elif isinstance(x, np.ndarray):
        ok = np.issubdtype(x.dtype, np.integer)
    else:
        raise TypeError(
            f"expected {name} to be a tensor or array, got {type(x).__name__}"
        )
    if not ok:
        raise TypeError(f"expected {name} to have an integer dtype, got {x.dtype}")


def check_positive_int(name: str, value, minimum: int = 1) -> int:
    """Return ``value`` if it is an ``int`` (not a ``bool``) ``>= minimum``.

    Raises ``TypeError`` for another type and ``ValueError`` for a smaller int, both
    naming what was expected, e.g. ``expected n_sup to be an int >= 1, got 0``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected {name} to be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"expected {name} to be an int >= {minimum}, got {value}")
    return value


def check_tensor(
    name: str, x, spec: Sequence[int | str] | None = None, dims: dict | None = None
) -> dict:
    """Check that ``x`` is a ``torch.Tensor`` (of shape ``spec`` when given); return
    ``dims``.

    A NumPy array or a list gets a ``TypeError`` with the hint ``torch.as_tensor(x)``.
    """
    if not isinstance(x, torch.Tensor):
        hint = (
            " (convert it with torch.as_tensor)"
            if isinstance(x, np.ndarray | list)
            else ""
        )
        shape = f" of shape {_describe(spec)}" if spec is not None else ""
        raise TypeError(
            f"expected {name} to be a torch.Tensor{shape}, got {type(x).__name__}{hint}"
        )
    dims = {} if dims is None else dims
    return check_shape(name, x, spec, dims) if spec is not None else dims


def check_dtype(name: str, x: torch.Tensor, dtype: torch.dtype) -> None:
    """Raise ``TypeError`` unless ``x.dtype`` is ``dtype`` (an input against the
    parameters' dtype, say), with the hint ``x.to(dtype)``."""
    if x.dtype != dtype:
        raise TypeError(
            f"expected {name} of dtype {dtype} (the parameters' dtype), got "
            f"{x.dtype}: convert it with .to({dtype})"
        )


def check_ids(name: str, ids, vocab_size: int) -> None:
    """Raise unless ``ids`` is an integer tensor whose values all lie in
    ``[0, vocab_size)``."""
    check_tensor(name, ids)
    check_integer(name, ids)
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(
            f"expected {name} to hold ids in [0, {vocab_size}), got values in "
            f"[{int(ids.min())}, {int(ids.max())}]"
        )


def check_real(
    name: str,
    value,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float if it is a finite real number in the given interval.

    Python numbers, NumPy scalars and 0-d tensors are accepted; ``bool`` is not. ``low``
    and ``high`` bound the interval, closed unless ``low_open`` / ``high_open``, e.g.
    ``check_real("top_p", p, 0, 1, low_open=True)`` for ``(0, 1]``."""
    if (
        isinstance(value, torch.Tensor)
        and value.dim() == 0
        and not value.dtype.is_complex
    ):
        value = value.item()
    elif isinstance(value, np.generic) and np.isrealobj(value):
        value = value.item()
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    lo = "-inf" if low is None else low
    hi = "inf" if high is None else high
    interval = f"{left}{lo}, {hi}{right}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"expected {name} to be a real number in {interval}, got {value!r}"
        )
    value = float(value)
    inside = np.isfinite(value)
    if low is not None:
        inside = inside and (value > low if low_open else value >= low)
    if high is not None:
        inside = inside and (value < high if high_open else value <= high)
    if not inside:
        raise ValueError(
            f"expected {name} to be a real number in {interval}, got {value!r}"
        )
    return value


def check_array(name: str, x) -> None:
    """Raise ``TypeError`` unless ``x`` is a floating-point NumPy array (the input of
    the book's NumPy implementations); a tensor gets the hint ``.detach().numpy()``."""
    if not isinstance(x, np.ndarray):
        hint = " (convert it with .detach().numpy())" if hasattr(x, "detach") else ""
        raise TypeError(
            f"expected {name} to be a numpy.ndarray, got {type(x).__name__}{hint}"
        )
    check_floating(name, x)


def check_sequence(name: str, x, spec: Sequence[int | str], dtype: torch.dtype) -> dict:
    """Check a model's input: a tensor of shape ``spec`` (``"L"`` first for a sequence),
    of the parameters' ``dtype``, with at least one time step; return the named
    sizes."""
    dims = check_tensor(name, x, spec)
    check_dtype(name, x, dtype)
    if dims.get("L") == 0:
        raise ValueError(
            f"expected {name} with at least one time step, got shape {tuple(x.shape)}"
        )
    return dims
