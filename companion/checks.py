"""The door of the package's public functions: ``@checked`` says what each argument must
be, checks it with a message naming it (``expected x of shape (L, B, 3), got (5, 2)``)
and keeps the function itself bare maths, reachable as ``f.bare`` for inner calls.

A shape is a tuple whose entries are an ``int`` (that exact size), a name such as
``"B"`` (any size; the same name is the same size across the arguments of one call),
``"self.attr"`` (the owner's attribute) or ``...`` (any sizes: leading ones, the same
for every argument of the call, or trailing ones)."""

import functools
import inspect

import numpy as np
import torch


def _literal(text) -> str:  # text put in a That's message as it is
    return str(text).replace("{", "{{").replace("}", "}}")


def _shape(spec) -> str:
    inner = ", ".join(str(s) for s in spec)
    return f"({inner},)" if len(spec) == 1 else f"({inner})"


class Door:
    """What the checks of one call share: every argument by name (``args``), the owner
    of a method (``owner``) and the named sizes seen so far (``dims``)."""

    def __init__(self, args: dict, dims: dict | None = None):
        self.args, self.owner, self.dims = args, args.get("self"), dict(dims or {})

    def size(self, entry, bound: bool = False):
        """``"self.attr"``: the owner's attribute; a name: its size if ``bound``."""
        if isinstance(entry, str) and entry.startswith("self."):
            return functools.reduce(getattr, entry[5:].split("."), self.owner)
        return self.dims.get(entry, entry) if bound else entry

    def known(self, spec) -> list:
        """``spec`` with the sizes bound so far in place (``...``: the leading ones)."""
        lead = self.dims.get("...", ["..."])
        return [x for d in spec for x in (lead if d == "..." else [self.size(d, True)])]


class Arg:
    """What one argument must be: ``check(name, value, door)`` raises a ``TypeError``
    or ``ValueError`` naming ``name``; ``optional`` accepts ``None``."""

    optional = False

    def check(self, name: str, value, door: Door) -> None:
        if not (value is None and self.optional):
            self.test(name, value, door)

    def _options(self, options: dict) -> None:
        """Keep the keyword ``options`` (the class's attributes hold their defaults)."""
        if unknown := set(options) - set(dir(type(self))):
            raise TypeError(f"{type(self).__name__} has no option {sorted(unknown)}")
        self.__dict__.update(options)


_KINDS = {"float": "have a floating-point dtype", "int": "have an integer dtype"}
_KINDS["bool"] = "be a boolean mask"  # the dtype's name holds the kind's


class Tensor(Arg):
    """A ``torch.Tensor`` (a NumPy array if ``array``) of shape ``shape``.

    ``kind`` is ``"float"``, ``"int"`` (ids, labels) or ``"bool"`` (a mask); ``like``
    asks for the dtype of the owner's parameters (``"self"``) or of another argument;
    ``below`` bounds integer values to ``[0, below)``; ``nonempty`` names a size that
    must be ``>= 1`` (``"L"``: at least one time step); ``broadcast`` accepts any shape
    that broadcasts to ``shape``."""

    kind = like = below = nonempty = None
    array = broadcast = False

    def __init__(self, *shape, **options):
        self.shape = tuple("..." if s is Ellipsis else s for s in shape)
        self._options(options)

    def test(self, name, value, door):
        spec = [door.size(s) for s in self.shape]
        want, hint, near = (np.ndarray, ".detach().numpy()", torch.Tensor)
        if not self.array:
            want, hint, near = (torch.Tensor, "torch.as_tensor", np.ndarray | list)
        if not isinstance(value, want):
            where = f" of shape {_shape(spec)}" if spec and not self.broadcast else ""
            hint = f" (convert it with {hint})" if isinstance(value, near) else ""
            raise TypeError(
                f"expected {name} to be a {want.__module__}.{want.__name__}{where}, "
                f"got {type(value).__name__}{hint}"
            )
        shape, dtype = tuple(value.shape), value.dtype
        if self.broadcast:  # a mask: each size 1 or the full one, from the right
            full = tuple(s for s in door.known(spec) if s != "...")
            pairs = zip(shape[::-1], full[::-1], strict=False)
            if len(shape) > len(full) or any(m not in (1, f) for m, f in pairs):
                raise ValueError(
                    f"expected {name} broadcastable to {full}, got {shape}"
                )
        elif spec:
            _fit(name, value, spec, door)
        if self.kind and not self.like and self.kind not in str(dtype):
            raise TypeError(f"expected {name} to {_KINDS[self.kind]}, got {dtype}")
        if self.like:
            own = self.like == "self"
            like = next(door.owner.parameters()) if own else door.args[self.like]
            if dtype != like.dtype:
                whose = "the parameters' dtype" if own else f"the dtype of {self.like}"
                raise TypeError(
                    f"expected {name} of dtype {like.dtype} ({whose}), got {dtype}: "
                    f"convert it with .to({like.dtype})"
                )
        if self.below is not None and value.numel():
            top, low, high = door.size(self.below, True), value.min(), value.max()
            if low < 0 or high >= top:
                got = f"values in [{int(low)}, {int(high)}]"
                raise ValueError(
                    f"expected {name} to hold ids in [0, {top}), got {got}"
                )
        if self.nonempty and door.dims.get(self.nonempty) == 0:
            step = "time step" if self.nonempty == "L" else self.nonempty
            raise ValueError(
                f"expected {name} with at least one {step}, got shape {shape}"
            )


def _fit(name: str, value, spec: list, door: Door) -> None:
    """Bind ``value``'s sizes to the names of ``spec`` in ``door.dims``, or raise."""
    shape, fixed, dims = tuple(value.shape), [s for s in spec if s != "..."], door.dims
    cut = len(shape) - len(fixed)  # how many sizes "..." stands for
    ok = cut >= 0 if "..." in spec else cut == 0
    lead = spec[0] == "..."  # leading sizes: the same for every argument
    pairs = zip(fixed, shape[cut:] if lead else shape[: len(fixed)], strict=False)
    new = {}
    for want, size in [("...", shape[:cut]), *pairs] if lead else pairs:
        if isinstance(want, str):
            want = new.setdefault(want, dims.get(want, size))
        ok = ok and want == size
    if not ok:
        spec = door.known(spec) if "..." in spec else spec  # the sizes in place
        bound = ", ".join(f"{s}={dims[s]}" for s in dict.fromkeys(spec) if s in dims)
        where = f" with {bound}" if bound else ""
        raise ValueError(f"expected {name} of shape {_shape(spec)}{where}, got {shape}")
    dims.update(new)


def Float(*shape, **options) -> Tensor:
    """A floating-point tensor of shape ``shape`` (see ``Tensor``)."""
    return Tensor(*shape, kind="float", **options)


def Ids(*shape, **options) -> Tensor:
    """An integer tensor of shape ``shape``, its values in ``[0, below)`` if given."""
    return Tensor(*shape, kind="int", **options)


def Seq(*shape, **options) -> Tensor:
    """A model's input: the parameters' dtype, at least one time step (``"L"``)."""
    return Tensor(*shape, kind="float", like="self", nonempty="L", **options)


def Array(*shape, **options) -> Tensor:
    """A floating-point NumPy array (the input of the book's NumPy implementations)."""
    return Tensor(*shape, kind="float", array=True, **options)


def Mask(*shape) -> Tensor:
    """A boolean tensor broadcasting to ``shape`` (``True``: allowed), or ``None``."""
    return Tensor(*shape, kind="bool", broadcast=True, optional=True)


class Int(Arg):
    """An ``int`` (not a ``bool``) ``>= minimum``, ``<= maximum``, ``< below`` and a
    multiple of ``multiple_of`` when given (an ``int``, a size name, another ``Int``'s
    ``size`` or ``"self.attr"``); ``size`` names it for the next arguments' specs."""

    below = size = multiple_of = None

    def __init__(self, minimum=1, maximum=None, **options):
        self.minimum, self.maximum = minimum, maximum
        self._options(options)

    def test(self, name, value, door):
        low, top, under, step = (
            door.size(x, True)
            for x in (self.minimum, self.maximum, self.below, self.multiple_of)
        )
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected {name} to be an int >= {low}, got {value!r}")
        if value < low:
            raise ValueError(f"expected {name} to be an int >= {low}, got {value}")
        if (top is not None and value > top) or (under is not None and value >= under):
            high = f"{top}]" if under is None else f"{under})"
            raise ValueError(f"expected {name} in [{low}, {high}, got {value}")
        if step is not None and value % step:
            raise ValueError(f"expected {name} to be a multiple of {step}, got {value}")
        if self.size is not None:
            door.dims[self.size] = value


class Real(Arg):
    """A finite real number (a Python or NumPy number, a 0-d tensor; not a ``bool``) in
    the interval from ``low`` to ``high``, closed unless ``low_open``/``high_open``."""

    low_open = high_open = False

    def __init__(self, low=None, high=None, **options):
        self.low, self.high = low, high
        self._options(options)
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        lo, hi = ("-inf" if low is None else low), ("inf" if high is None else high)
        self.interval = f"{left}{lo}, {hi}{right}"

    def test(self, name, value, door):
        if isinstance(value, torch.Tensor | np.generic) and value.ndim == 0:
            value = value.item()
        message = (
            f"expected {name} to be a real number in {self.interval}, got {value!r}"
        )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(message)
        value, low, high = float(value), self.low, self.high
        if not (
            np.isfinite(value)
            and (low is None or value > low or (value == low and not self.low_open))
            and (high is None or value < high or (value == high and not self.high_open))
        ):
            raise ValueError(message)


class That(Arg):
    """A rule in one line: ``test(value)`` (or ``test(value, door)``) must be true, else
    ``error(message)``, where ``message`` may name ``{name}``, ``{value}``, ``{type}``,
    ``{shape}``, the other arguments and the sizes seen so far, e.g.
    ``That(lambda x: x.numel() > 0, "expected {name} not empty, got {shape}")``."""

    def __init__(self, test, message: str, error: type = ValueError, optional=False):
        self.rule, self.message, self.error = test, message, error
        self.optional = optional
        self.with_door = len(inspect.signature(test).parameters) == 2

    def test(self, name, value, door):
        if not (self.rule(value, door) if self.with_door else self.rule(value)):
            shape, kind = tuple(getattr(value, "shape", ())), type(value).__name__
            text = (
                f"{kind} of shape {shape}" if hasattr(value, "shape") else repr(value)
            )
            own = dict(name=name, value=text[:80], shape=shape, type=kind)
            args = {k: v for k, v in door.args.items() if k != "self"}
            raise self.error(self.message.format_map(args | door.dims | own))


def Call(optional: bool = False) -> That:
    """A callable (a function, a model, a ``lambda``)."""
    return That(
        callable, "expected {name} to be callable, got {value}", TypeError, optional
    )


def OneOf(*values) -> That:
    """One of ``values`` (compared with ``==``; ``True`` is not taken for ``1``)."""
    return That(
        lambda v: any(v == w and type(v) is type(w) for w in values),
        f"expected {{name}} in {_literal(values)}, got {{value}}",
    )


def Is(kind, optional: bool = False, label: str | None = None) -> That:
    """An instance of ``kind`` (a type or a tuple of types; a ``bool`` only if ``kind``
    is ``bool``), described as ``label`` in the error."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    want = _literal(label or "a " + " or ".join(k.__name__ for k in kinds))
    return That(
        lambda v: isinstance(v, kind) and (kind is bool or not isinstance(v, bool)),
        f"expected {{name}} to be {want}, got {'{type}' if label else '{value}'}",
        TypeError,
        optional,
    )


def Has(*methods: str, label: str) -> That:
    """An object with these callable attributes (a layer of the book: ``one_step``,
    ``forward``, ``decode``), described as ``label`` in the error."""
    return That(
        lambda v: all(callable(getattr(v, m, None)) for m in methods),
        f"expected {{name}} to be {_literal(label)} (with {', '.join(methods)}), "
        "got {type}",
        TypeError,
    )


class Rule(Arg):
    """Any other rule: ``test(value, door)`` returns an error message (naming the
    argument) or ``None``; ``error`` is the exception type to raise."""

    def __init__(self, test, error: type = ValueError):
        self.rule, self.error = test, error

    def test(self, name, value, door):
        if message := self.rule(value, door):
            raise self.error(message)


class All(Arg):
    """Every spec in turn on one argument: ``All(Ids("L", "B"), That(...))``."""

    def __init__(self, *specs: Arg):
        self.specs = specs

    def test(self, name, value, door):
        for spec in self.specs:
            spec.check(name, value, door)


class Pair(All):
    """A tuple or list of ``len(specs)`` items, each checked by its spec and named
    ``parts[i]`` in errors: an LSTM state ``(h, C)``, a batch ``(x, y)``."""

    def __init__(self, *specs: Arg, parts: tuple, label: str, optional=False):
        self.specs, self.parts, self.label = specs, parts, label
        self.optional = optional

    def test(self, name, value, door):
        if not isinstance(value, tuple | list) or len(value) != len(self.specs):
            raise TypeError(
                f"expected {name} to be {self.label}, got {type(value).__name__}"
            )
        for part, spec, item in zip(self.parts, self.specs, value, strict=True):
            spec.check(part, item, door)


class Either(All):
    """One of several tensor specs, tried in order: ``(B, H)`` or ``(L, B, H)``, say.
    A type or dtype error comes from the first; a shape fitting none names them all."""

    def test(self, name, value, door):
        for spec in self.specs:
            trial = Door(door.args, door.dims)
            try:
                spec.check(name, value, trial)
            except ValueError:
                continue
            door.dims.update(trial.dims)
            return
        shapes = " or ".join(
            _shape([door.size(d) for d in s.shape]) for s in self.specs
        )
        raise ValueError(f"expected {name} of shape {shapes}, got {tuple(value.shape)}")


class Checked:
    """A function (or method) behind its door: calling it checks the arguments, then
    runs the bare function, which stays reachable as ``.bare`` for inner calls."""

    def __init__(self, fn, specs: dict, after=None):
        functools.update_wrapper(self, fn)
        self._fn, self._specs, self._after, self._owner = fn, specs, after, None
        self._signature, self.bare = inspect.signature(fn), fn

    def __get__(self, owner, owner_type=None):
        if owner is None:
            return self
        bound = object.__new__(Checked)
        bound.__dict__.update(self.__dict__, _owner=owner, bare=self._fn.__get__(owner))
        return bound

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


def checked(after=None, **specs):
    """The door of a public function: ``@checked(x=Seq("L", "B", "self.input_dim"))``.

    Each keyword names an argument and says what it must be (``Tensor``, ``Float``,
    ``Ids``, ``Seq``, ``Int``, ``Real``, ``OneOf``, ``Is``, ``That``, ...); the checks
    run in the order given, sharing named sizes; ``after(door)`` runs last, for rules
    across arguments. ``f.bare`` (and ``obj.method.bare``) skips the door."""

    def wrap(fn):
        if unknown := set(specs) - set(inspect.signature(fn).parameters):
            raise TypeError(f"{fn.__qualname__} has no argument {sorted(unknown)}")
        return Checked(fn, specs, after)

    return wrap
