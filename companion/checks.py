"""Input validation shared by the package: shape and dtype checks with useful messages.

A shape is described by a tuple whose entries are ``int`` (that exact size) or ``str``
(any size, named). The same name used twice must have the same size, so
``("L", "B", "D")`` checked against a tensor and ``("B", "H")`` against another, with
the same ``dims`` dictionary, checks that both batches agree."""

import functools
import inspect
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


# ---------------------------------------------------------------------------------
# The door: ``@checked`` declares what each argument must be, and keeps the maths bare.


class Arg:
    """What one argument must be. ``check(name, value, door)`` raises a ``TypeError``
    or ``ValueError`` naming ``name``, or returns nothing."""

    def check(self, name: str, value, door: "Door") -> None:
        raise NotImplementedError


class Door:
    """What the checks of one call share: the named sizes seen so far (``dims``), the
    owner of a method (``self``) and every argument by name (``args``)."""

    __slots__ = ("args", "dims", "owner")

    def __init__(self, args: dict):
        self.args, self.dims, self.owner = args, {}, args.get("self")

    def size(self, entry):
        """An ``int`` for ``"self.attr"`` (the owner's attribute), else ``entry``."""
        if isinstance(entry, str) and entry.startswith("self."):
            value = self.owner
            for part in entry[5:].split("."):
                value = getattr(value, part)
            return value
        return entry

    def dtype(self, like: str) -> torch.dtype:
        """The dtype a tensor must have: the owner's parameters' (``"self"``) or another
        argument's (its name)."""
        if like == "self":
            return next(self.owner.parameters()).dtype
        return self.args[like].dtype


class Tensor(Arg):
    """A ``torch.Tensor`` of shape ``shape`` (entries: an ``int``, a size name such as
    ``"B"`` bound across arguments, or ``"self.attr"``).

    ``kind`` is ``"float"``, ``"int"`` (ids, labels) or ``"bool"``; ``like`` asks for
    the dtype of the owner's parameters (``"self"``) or of another argument; ``below``
    bounds integer values to ``[0, below)``; ``nonempty`` names a size that must be
    ``>= 1`` (``"L"``: at least one time step); ``optional`` accepts ``None``."""

    def __init__(
        self,
        *shape,
        kind: str | None = None,
        like: str | None = None,
        below=None,
        nonempty: str | None = None,
        optional: bool = False,
    ):
        self.shape, self.kind, self.like = shape, kind, like
        self.below, self.nonempty, self.optional = below, nonempty, optional

    def check(self, name, value, door):
        if value is None and self.optional:
            return
        spec = tuple(door.size(s) for s in self.shape) if self.shape else None
        if spec and Ellipsis in (spec[0], spec[-1]):  # "..." first or last
            check_tensor(name, value)
            _check_around_dots(name, value, spec, door.dims)
        else:
            check_tensor(name, value, spec, door.dims)
        if self.like is None and self.kind == "float":
            check_floating(name, value)
        elif self.kind == "int":
            check_integer(name, value)
        elif self.kind == "bool" and value.dtype != torch.bool:
            raise TypeError(
                f"expected {name} to be a boolean tensor, got {value.dtype}"
            )
        if self.like is not None:
            want = door.dtype(self.like)
            if value.dtype != want:
                whose = (
                    "the parameters' dtype"
                    if self.like == "self"
                    else f"the dtype of {self.like}"
                )
                raise TypeError(
                    f"expected {name} of dtype {want} ({whose}), got {value.dtype}: "
                    f"convert it with .to({want})"
                )
        if self.below is not None:
            bound = door.size(self.below)
            bound = door.dims.get(bound, bound)
            check_ids(name, value, bound)
        if self.nonempty is not None and door.dims.get(self.nonempty) == 0:
            step = "time step" if self.nonempty == "L" else f"{self.nonempty}"
            raise ValueError(
                f"expected {name} with at least one {step}, got shape "
                f"{tuple(value.shape)}"
            )


def _check_around_dots(name: str, value, spec: tuple, dims: dict) -> None:
    """``spec`` with ``...`` first (any leading sizes, the same for every argument of
    the call: bound as ``dims["..."]``) or last (any trailing sizes)."""
    fixed = [d for d in spec if d is not Ellipsis]
    ok = value.dim() >= len(fixed)
    if ok and spec[0] is Ellipsis:
        lead, rest = (
            tuple(value.shape[: value.dim() - len(fixed)]),
            value.shape[-len(fixed) :],
        )
        ok = dims.setdefault("...", lead) == lead if fixed else True
    else:
        rest = value.shape[: len(fixed)]
    new = {}
    for size, want in zip(rest, fixed, strict=False):
        known = dims.get(want, new.get(want, want))
        ok = ok and (isinstance(known, str) or known == size)
        if ok and isinstance(known, str):
            new[want] = size
    dims.update(new if ok else {})
    if not ok:
        lead = list(dims.get("...", ["..."]))
        shown = [x for d in spec for x in (lead if d is Ellipsis else [dims.get(d, d)])]
        raise ValueError(
            f"expected {name} of shape {_describe(shown)}, got {tuple(value.shape)}"
        )


class Mask(Arg):
    """A boolean tensor that broadcasts to ``shape`` (``True`` = allowed), or
    ``None``."""

    def __init__(self, *shape):
        self.shape = shape

    def check(self, name, value, door):
        if value is None:
            return
        check_tensor(name, value)
        if value.dtype != torch.bool:
            raise TypeError(f"expected {name} to be a boolean mask, got {value.dtype}")
        full = []
        for d in self.shape:  # "..." stands for the leading sizes of the call
            dots = d is Ellipsis or d == "..."
            full += (
                door.dims.get("...", ()) if dots else [door.dims.get(d, door.size(d))]
            )
        fits = value.dim() <= len(full) and all(
            m in (1, f) for m, f in zip(value.shape[::-1], full[::-1], strict=False)
        )
        if not fits:
            raise ValueError(
                f"expected {name} broadcastable to {tuple(full)}, got "
                f"{tuple(value.shape)}"
            )


def Float(*shape, like: str | None = None, **options) -> Tensor:
    """A floating-point tensor of shape ``shape`` (see ``Tensor``)."""
    return Tensor(*shape, kind="float", like=like, **options)


def Ids(*shape, below=None, **options) -> Tensor:
    """An integer tensor of shape ``shape`` whose values lie in ``[0, below)``."""
    return Tensor(*shape, kind="int", below=below, **options)


def Seq(*shape, **options) -> Tensor:
    """A model's input: the parameters' dtype, at least one time step (``"L"``)."""
    return Tensor(*shape, kind="float", like="self", nonempty="L", **options)


class Int(Arg):
    """An ``int`` (not a ``bool``) ``>= minimum``, and ``<= maximum`` or ``< below``
    when given (an ``int``, a size name or ``"self.attr"``); ``optional`` accepts
    ``None``."""

    def __init__(
        self,
        minimum: int = 1,
        maximum=None,
        *,
        below=None,
        optional=False,
        size=None,
        multiple_of=None,
    ):
        self.minimum, self.maximum, self.below = minimum, maximum, below
        self.optional, self.size, self.multiple_of = optional, size, multiple_of

    def check(self, name, value, door):
        if value is None and self.optional:
            return
        check_positive_int(name, value, self.minimum)
        for top, close in ((self.maximum, "]"), (self.below, ")")):
            top = door.size(top)
            top = door.dims.get(top, top)
            if top is not None and (value > top if close == "]" else value >= top):
                raise ValueError(
                    f"expected {name} in [{self.minimum}, {top}{close}, got {value}"
                )
        step = door.size(self.multiple_of)
        step = door.dims.get(step, step)
        if step is not None and value % step:
            raise ValueError(f"expected {name} to be a multiple of {step}, got {value}")
        if self.size is not None:  # a size the next arguments' shapes name
            door.dims[self.size] = value


class Real(Arg):
    """A finite real number in an interval (see ``check_real``)."""

    def __init__(
        self, low=None, high=None, *, low_open=False, high_open=False, optional=False
    ):
        self.bounds = dict(low=low, high=high, low_open=low_open, high_open=high_open)
        self.optional = optional

    def check(self, name, value, door):
        if not (value is None and self.optional):
            check_real(name, value, **self.bounds)


class OneOf(Arg):
    """One of ``values`` (compared with ``==``; ``True`` is not taken for ``1``)."""

    def __init__(self, *values):
        self.values = values

    def check(self, name, value, door):
        if not any(v == value and type(v) is type(value) for v in self.values):
            raise ValueError(f"expected {name} in {self.values}, got {value!r}")


class Is(Arg):
    """An instance of ``kind`` (a type or a tuple of types); ``optional`` accepts
    ``None``."""

    def __init__(self, kind, optional: bool = False, label: str | None = None):
        self.kind, self.optional, self.label = kind, optional, label

    def check(self, name, value, door):
        if value is None and self.optional:
            return
        if isinstance(value, bool) and self.kind is not bool:
            ok = False
        else:
            ok = isinstance(value, self.kind)
        if not ok:
            kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
            want = self.label or "a " + " or ".join(k.__name__ for k in kinds)
            got = repr(value) if self.label is None else type(value).__name__
            raise TypeError(f"expected {name} to be {want}, got {got[:80]}")


class Rule(Arg):
    """Any other rule: ``test(value, door)`` returns an error message (the argument
    is named in it) or ``None``; ``error`` is the exception type to raise."""

    def __init__(self, test, error: type = ValueError):
        self.test, self.error = test, error

    def check(self, name, value, door):
        message = self.test(value, door)
        if message:
            raise self.error(message)


class Array(Arg):
    """A floating-point NumPy array of shape ``shape`` (the input of the book's NumPy
    implementations; a tensor gets the hint ``.detach().numpy()``)."""

    def __init__(self, *shape, optional: bool = False, nonempty: str | None = None):
        self.shape, self.optional, self.nonempty = shape, optional, nonempty

    def check(self, name, value, door):
        if value is None and self.optional:
            return
        check_array(name, value)
        if self.shape:
            check_shape(name, value, [door.size(s) for s in self.shape], door.dims)
        if self.nonempty is not None and door.dims.get(self.nonempty) == 0:
            raise ValueError(
                f"expected {name} with {self.nonempty} >= 1, got shape {value.shape}"
            )


class Call(Arg):
    """A callable (a function, a model, a ``lambda``); ``optional`` accepts ``None``."""

    def __init__(self, optional: bool = False):
        self.optional = optional

    def check(self, name, value, door):
        if not (callable(value) or (value is None and self.optional)):
            raise TypeError(f"expected {name} to be callable, got {value!r}")


class Either(Arg):
    """One of several tensor specs (``Tensor``), tried in order: ``(B, H)`` or
    ``(L, B, H)``, say. A type or dtype error comes from the first; a shape that fits
    none names them all."""

    def __init__(self, *choices: Tensor):
        self.choices = choices

    def check(self, name, value, door):
        for spec in self.choices:
            trial = Door(door.args)
            trial.dims = dict(door.dims)
            try:
                spec.check(name, value, trial)
            except ValueError:
                continue
            door.dims.update(trial.dims)
            return
        shapes = " or ".join(
            _describe([door.size(s) for s in spec.shape]) for spec in self.choices
        )
        raise ValueError(f"expected {name} of shape {shapes}, got {tuple(value.shape)}")


class That(Arg):
    """A rule in one line: ``test(value)`` (or ``test(value, door)``) must be true, else
    ``error(message)``, where ``message`` may name ``{name}``, ``{value}``,
    ``{shape}``, the other arguments and the sizes seen so far, e.g.
    ``That(lambda x: x.numel() > 0, "expected {name} not empty, got {shape}")``."""

    def __init__(self, test, message: str, error: type = ValueError):
        self.test, self.message, self.error = test, message, error
        self.with_door = len(inspect.signature(test).parameters) == 2

    def check(self, name, value, door):
        ok = self.test(value, door) if self.with_door else self.test(value)
        if not ok:
            shape = tuple(getattr(value, "shape", ()))
            names = {k: v for k, v in door.args.items() if k != "self"}
            text = repr(value) if not hasattr(value, "shape") else f"shape {shape}"
            raise self.error(
                self.message.format(
                    **{**names, **door.dims}, name=name, value=text[:80], shape=shape
                )
            )


class All(Arg):
    """Every spec in turn on one argument: a type, then a rule on its value
    (``All(Ids("L", "B"), That(...))``)."""

    def __init__(self, *specs: Arg):
        self.specs = specs

    def check(self, name, value, door):
        for spec in self.specs:
            spec.check(name, value, door)


class Has(Arg):
    """An object with these callable attributes (a layer of the book: ``one_step``,
    ``forward``, ``decode``), described as ``label`` in the error."""

    def __init__(self, *methods: str, label: str):
        self.methods, self.label = methods, label

    def check(self, name, value, door):
        missing = [m for m in self.methods if not callable(getattr(value, m, None))]
        if missing:
            raise TypeError(
                f"expected {name} to be {self.label} (with {', '.join(missing)}), "
                f"got {type(value).__name__}"
            )


class Pair(Arg):
    """A tuple or list of ``len(specs)`` items, each checked by its spec and named
    ``parts[i]`` in errors: an LSTM state ``(h, C)``, a batch ``(x, y)``."""

    def __init__(self, *specs: Arg, parts: tuple, label: str, optional=False):
        self.specs, self.parts, self.label = specs, parts, label
        self.optional = optional

    def check(self, name, value, door):
        if value is None and self.optional:
            return
        if not isinstance(value, tuple | list) or len(value) != len(self.specs):
            raise TypeError(f"expected {self.label}, got {type(value).__name__}")
        for part, spec, item in zip(self.parts, self.specs, value, strict=True):
            spec.check(part, item, door)


class Checked:
    """A function (or method) behind its door: calling it checks the arguments, then
    runs the bare function, which stays reachable as ``.bare`` for inner calls."""

    def __init__(self, fn, specs: dict, after=None, owner=None):
        functools.update_wrapper(self, fn)
        self._fn, self._specs, self._after, self._owner = fn, specs, after, owner
        self._signature = inspect.signature(fn)
        self.bare = fn if owner is None else fn.__get__(owner)

    def __get__(self, owner, owner_type=None):
        if owner is None:
            return self
        return Checked.__new__(Checked)._bind(self, owner)

    def _bind(self, unbound: "Checked", owner) -> "Checked":
        self.__dict__.update(unbound.__dict__)
        self._owner, self.bare = owner, unbound._fn.__get__(owner)
        return self

    def __call__(self, *args, **kwargs):
        if self._owner is not None:
            args = (self._owner, *args)
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        door = Door(bound.arguments)
        for name, spec in self._specs.items():
            spec.check(name, bound.arguments[name], door)
        if self._after is not None:
            self._after(door)
        return self._fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<checked {self.__qualname__}>"


def checked(after=None, **specs):
    """The door of a public function: ``@checked(x=Seq("L", "B", "self.input_dim"))``.

    Each keyword names an argument and says what it must be (``Tensor``, ``Float``,
    ``Ids``, ``Seq``, ``Int``, ``Real``, ``OneOf``, ``Is``, ``Rule``); the checks run in
    the order given, sharing named sizes. ``after(door)`` runs last, for rules across
    arguments. The decorated function is the maths alone; ``f.bare`` (and
    ``obj.method.bare``) skips the door, for calls from inside the package."""

    def wrap(fn):
        unknown = set(specs) - set(inspect.signature(fn).parameters)
        if unknown:
            raise TypeError(f"{fn.__qualname__} has no argument {sorted(unknown)}")
        return Checked(fn, specs, after)

    return wrap
