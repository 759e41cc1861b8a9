import numpy as np
import pytest
import torch
from torch import nn

from companion.checks import (
    All,
    Array,
    Call,
    Door,
    Either,
    Float,
    Has,
    Ids,
    Int,
    Is,
    OneOf,
    Pair,
    Real,
    Rule,
    Seq,
    Tensor,
    That,
    checked,
)


def _check(spec, value, name="x", door=None):
    spec.check(name, value, Door({}) if door is None else door)


def test_shapes_bind_names_across_arguments():
    door = Door({})
    _check(Float("L", "B", 2), torch.zeros(5, 3, 2), door=door)
    assert door.dims == {"L": 5, "B": 3}
    _check(Float("B", "H"), torch.zeros(3, 7), "h", door)
    assert door.dims["H"] == 7


def test_shape_message_names_expected_shape():
    with pytest.raises(
        ValueError, match=r"expected x of shape \(L, B, 2\), got \(20, 2\)"
    ):
        _check(Float("L", "B", 2), torch.zeros(20, 2))
    with pytest.raises(
        ValueError, match=r"expected x of shape \(L, B, 2\), got \(4, 3, 5\)"
    ):
        _check(Array("L", "B", 2), np.zeros((4, 3, 5)))


def test_shape_detects_inconsistent_named_sizes():
    door = Door({})
    _check(Float("L", "B", 2), torch.zeros(5, 3, 2), door=door)
    with pytest.raises(
        ValueError, match=r"expected h of shape \(B, H\) with B=3, got \(4, 7\)"
    ):
        _check(Float("B", "H"), torch.zeros(4, 7), "h", door)
    with pytest.raises(ValueError, match=r"expected w of shape \(N, N\), got \(3, 4\)"):
        _check(Float("N", "N"), torch.zeros(3, 4), "w")


def test_shape_rejects_objects_without_shape():
    with pytest.raises(
        TypeError, match=r"expected x to be a torch.Tensor of shape \(N,\), got list"
    ):
        _check(Tensor("N"), [1, 2])


def test_dtype_checks():
    _check(Float(), torch.zeros(2))
    _check(Array(), np.zeros(2))
    _check(Ids(), torch.zeros(2, dtype=torch.long))
    with pytest.raises(TypeError, match="floating-point dtype, got torch.int64"):
        _check(Float(), torch.zeros(2, dtype=torch.long))
    with pytest.raises(TypeError, match="integer dtype, got torch.float32"):
        _check(Ids(), torch.zeros(2))
    with pytest.raises(TypeError, match="integer dtype"):
        _check(Ids(), torch.zeros(2, dtype=torch.bool))
    with pytest.raises(TypeError, match="x to be a torch.Tensor, got float"):
        _check(Float(), 3.0)
    with pytest.raises(TypeError, match="Tensor has no option"):
        Float(optinal=True)


def test_int():
    _check(Int(), 3)
    _check(Int(0), 0)
    with pytest.raises(ValueError, match="expected n to be an int >= 1, got 0"):
        _check(Int(), 0, "n")
    for bad in (True, 2.0, "3", None):
        with pytest.raises(TypeError, match="expected n to be an int >= 1"):
            _check(Int(), bad, "n")


F64 = torch.zeros(2, dtype=torch.float64)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: _check(Tensor(), np.zeros(3)),
            TypeError,
            r"expected x to be a torch.Tensor, got ndarray \(convert it with torch.as_tensor",  # noqa: E501
        ),
        (
            lambda: _check(Tensor("L", "B"), torch.zeros(3)),
            ValueError,
            r"expected x of shape \(L, B\), got \(3,\)",
        ),
        (
            lambda: _check(Float(like="y"), F64, door=Door({"y": torch.zeros(1)})),
            TypeError,
            r"expected x of dtype torch.float32 .*got torch.float64",
        ),
        (
            lambda: _check(Ids(below=97), torch.tensor([0, 97]), "t"),
            ValueError,
            r"expected t to hold ids in \[0, 97\), got values in \[0, 97\]",
        ),
        (
            lambda: _check(Ids(below=97), torch.tensor([-1]), "t"),
            ValueError,
            r"ids in \[0, 97\)",
        ),
        (
            lambda: _check(Ids(below=97), torch.zeros(2), "t"),
            TypeError,
            "integer dtype",
        ),
        (
            lambda: _check(Real(0, 1, low_open=True), 0.0, "p"),
            ValueError,
            r"expected p to be a real number in \(0, 1\], got 0.0",
        ),
        (lambda: _check(Real(), float("nan"), "p"), ValueError, "real number"),
        (lambda: _check(Real(), True, "p"), TypeError, "real"),
        (lambda: _check(Real(), "0.5", "p"), TypeError, "real"),
        (
            lambda: _check(Array(), torch.zeros(2)),
            TypeError,
            r"expected x to be a numpy.ndarray, got Tensor \(convert it with .detach\(\).numpy",  # noqa: E501
        ),
        (lambda: _check(Array(), np.zeros(2, dtype=int)), TypeError, "floating-point"),
    ],
)
def test_edge_checks_reject(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_edge_checks_accept():
    door = Door({"y": torch.zeros(1)})
    _check(Tensor("B", "H"), torch.zeros(2, 3), door=door)
    assert door.dims == {"B": 2, "H": 3}
    _check(Float(like="y"), torch.zeros(1), door=door)
    _check(Ids(below=97), torch.tensor([0, 96], dtype=torch.int32))
    _check(Ids(below=97), torch.zeros(0, dtype=torch.long))
    for p in (np.float32(0.5), np.float32(0.9), torch.tensor(1.0)):
        _check(Real(0, 1, low_open=True), p, "p")
    _check(Real(), 3, "n")


# ---- the door: @checked ------------------------------------------------------------
@checked(x=Float("L", "B", "D"), y=Ids("L", "B", below="D"), n=Int(0, below="L"))
def _door_function(x, y, n=0):
    return x.sum() + y.sum() + n


class _Door(nn.Module):
    def __init__(self):
        super().__init__()
        self.size = 3
        self.w = nn.Parameter(torch.zeros(3))

    @checked(
        x=Seq("L", "B", "self.size"),
        h=Either(Float("B", "self.size", like="self"), Float("L", "B", "self.size")),
        k=Real(0, 1, high_open=True),
        how=OneOf("a", "b"),
        flag=Is(bool),
        fn=Call(optional=True),
        odd=Rule(lambda v, door: None if v % 2 else f"expected odd odd, got {v}"),
    )
    def forward(self, x, h, k=0.5, how="a", flag=False, fn=None, odd=1):
        return x.shape, h.shape


def test_the_door_passes_good_arguments_and_keeps_the_bare_function():
    x, y = torch.zeros(2, 1, 3), torch.zeros(2, 1, dtype=torch.long)
    assert _door_function(x, y, 1) == _door_function.bare(x, y, 1)
    model = _Door()
    assert model(x, torch.zeros(1, 3)) == ((2, 1, 3), (1, 3))
    assert model.forward.bare(x, torch.zeros(5)) == ((2, 1, 3), (5,))  # no door
    assert _door_function.__name__ == "_door_function"


X3, H1 = torch.zeros(2, 1, 3), torch.zeros(1, 3)


IDENTITY = nn.Identity()


@checked(
    n=Int(1, size="N"),
    x=Float("N", ...),
    pair=Pair(Float("N"), Ids("N"), parts=("a", "b"), label="a pair (a, b)"),
    clip=Real(0, low_open=True, optional=True),
    arr=Array("N", optional=True),
    layer=Has(
        "forward",
        label="a layer",
    ),
    odd=All(
        Int(), That(lambda v: v % 2, "expected {name} odd with n={n}, got {value}")
    ),
)
def _more(n, x, pair, clip=None, arr=None, layer=IDENTITY, odd=1):
    return n


def test_more_specs_pass_good_arguments():
    x = torch.zeros(2, 3, 4)
    assert _more(2, x, (torch.zeros(2), torch.zeros(2, dtype=torch.long))) == 2
    assert _more(2, x[:, 0], (torch.zeros(2), torch.zeros(2).long()), 0.5) == 2


PAIR = (torch.zeros(2), torch.zeros(2, dtype=torch.long))
DOOR_BAD_INPUTS = [
    (
        lambda: _more(3, torch.zeros(2, 4), PAIR),
        ValueError,
        r"x of shape \(3, \.\.\.\)",
    ),
    (
        lambda: _more(2, torch.zeros(()), PAIR),
        ValueError,
        r"x of shape \(2, \.\.\.\)",
    ),
    (lambda: _more(2, torch.zeros(2), PAIR[:1]), TypeError, r"a pair \(a, b\)"),
    (lambda: _more(2, torch.zeros(2), PAIR[::-1]), TypeError, "a to have a floating"),
    (lambda: _more(2, torch.zeros(2), PAIR, clip=0.0), ValueError, "clip"),
    (lambda: _more(2, torch.zeros(2), PAIR, arr=[1.0]), TypeError, "arr to be a numpy"),
    (lambda: _more(2, torch.zeros(2), PAIR, layer=3), TypeError, "layer to be a layer"),
    (
        lambda: _more(2, torch.zeros(2), PAIR, odd=2),
        ValueError,
        "odd odd with n=2, got 2",
    ),
    (lambda: _more(2, torch.zeros(2), PAIR, odd=1.0), TypeError, "odd to be an int"),
    (lambda: _door_function(X3.long(), X3[..., 0].long()), TypeError, "floating"),
    (lambda: _door_function(X3, X3[..., 0]), TypeError, "integer"),
    (lambda: _door_function(X3, X3[..., 0].long() + 3), ValueError, r"\[0, 3\)"),
    (lambda: _door_function(X3, X3[0, :, 0].long()), ValueError, r"\(L, B\)"),
    (lambda: _door_function(X3, X3[..., 0].long(), 2), ValueError, r"n in \[0, 2\)"),
    (lambda: _door_function(X3.numpy(), X3), TypeError, "torch.as_tensor"),
    (lambda: _Door()(X3[:0], H1), ValueError, "at least one time step"),
    (lambda: _Door()(X3.double(), H1), TypeError, "parameters' dtype"),
    (lambda: _Door()(X3, torch.zeros(3)), ValueError, r"\(B, 3\) or \(L, B, 3\)"),
    (lambda: _Door()(X3, H1, k=1.0), ValueError, r"k to be a real number in \[0, 1\)"),
    (lambda: _Door()(X3, H1, how="c"), ValueError, "how in"),
    (lambda: _Door()(X3, H1, flag=1), TypeError, "flag to be a bool"),
    (lambda: _Door()(X3, H1, fn=3), TypeError, "fn to be callable"),
    (lambda: _Door()(X3, H1, odd=2), ValueError, "expected odd odd"),
    (lambda: checked(nothing=Int())(lambda x: x), TypeError, "no argument"),
]


@pytest.mark.parametrize(("call", "error", "pattern"), DOOR_BAD_INPUTS)
def test_the_door_names_the_argument(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
