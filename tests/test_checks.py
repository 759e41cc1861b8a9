import numpy as np
import pytest
import torch
from torch import nn

from companion import checks
from companion.checks import (
    All,
    Array,
    Call,
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
    That,
    check_floating,
    check_integer,
    check_shape,
    checked,
)


def test_check_shape_binds_names_across_calls():
    dims = check_shape("x", torch.zeros(5, 3, 2), ("L", "B", 2))
    assert dims == {"L": 5, "B": 3}
    check_shape("h", torch.zeros(3, 7), ("B", "H"), dims)
    assert dims["H"] == 7


def test_check_shape_message_names_expected_shape():
    with pytest.raises(
        ValueError, match=r"expected x of shape \(L, B, 2\), got \(20, 2\)"
    ):
        check_shape("x", torch.zeros(20, 2), ("L", "B", 2))
    with pytest.raises(
        ValueError, match=r"expected x of shape \(L, B, 2\), got \(4, 3, 5\)"
    ):
        check_shape("x", np.zeros((4, 3, 5)), ("L", "B", 2))


def test_check_shape_detects_inconsistent_named_sizes():
    dims = check_shape("x", torch.zeros(5, 3, 2), ("L", "B", 2))
    with pytest.raises(
        ValueError, match=r"expected h of shape \(B, H\) with B=3, got \(4, 7\)"
    ):
        check_shape("h", torch.zeros(4, 7), ("B", "H"), dims)
    with pytest.raises(ValueError, match=r"expected w of shape \(N, N\), got \(3, 4\)"):
        check_shape("w", torch.zeros(3, 4), ("N", "N"))


def test_check_shape_rejects_objects_without_shape():
    with pytest.raises(TypeError, match="expected x to be a tensor or array, got list"):
        check_shape("x", [1, 2], ("N",))


def test_dtype_checks():
    check_floating("x", torch.zeros(2))
    check_floating("x", np.zeros(2))
    check_integer("t", torch.zeros(2, dtype=torch.long))
    check_integer("t", np.zeros(2, dtype=int))
    with pytest.raises(TypeError, match="floating-point dtype, got torch.int64"):
        check_floating("x", torch.zeros(2, dtype=torch.long))
    with pytest.raises(TypeError, match="integer dtype, got torch.float32"):
        check_integer("t", torch.zeros(2))
    with pytest.raises(TypeError, match="integer dtype"):
        check_integer("t", torch.zeros(2, dtype=torch.bool))
    with pytest.raises(TypeError, match="tensor or array"):
        check_floating("x", 3.0)


def test_check_positive_int():
    from companion.checks import check_positive_int

    assert check_positive_int("n", 3) == 3
    assert check_positive_int("k", 0, minimum=0) == 0
    with pytest.raises(ValueError, match="expected n to be an int >= 1, got 0"):
        check_positive_int("n", 0)
    for bad in (True, 2.0, "3", None):
        with pytest.raises(TypeError, match="expected n to be an int >= 1"):
            check_positive_int("n", bad)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: checks.check_tensor("x", np.zeros(3)),
            TypeError,
            r"expected x to be a torch.Tensor, got ndarray \(convert it with torch.as_tensor",  # noqa: E501
        ),
        (
            lambda: checks.check_tensor("x", torch.zeros(3), ("L", "B")),
            ValueError,
            r"expected x of shape \(L, B\), got \(3,\)",
        ),
        (
            lambda: checks.check_dtype(
                "x", torch.zeros(2, dtype=torch.float64), torch.float32
            ),
            TypeError,
            r"expected x of dtype torch.float32 .*got torch.float64",
        ),
        (
            lambda: checks.check_ids("t", torch.tensor([0, 97]), 97),
            ValueError,
            r"expected t to hold ids in \[0, 97\), got values in \[0, 97\]",
        ),
        (
            lambda: checks.check_ids("t", torch.tensor([-1]), 97),
            ValueError,
            r"ids in \[0, 97\)",
        ),
        (lambda: checks.check_ids("t", torch.zeros(2), 97), TypeError, "integer dtype"),
        (
            lambda: checks.check_real("p", 0.0, 0, 1, low_open=True),
            ValueError,
            r"expected p to be a real number in \(0, 1\], got 0.0",
        ),
        (lambda: checks.check_real("p", float("nan")), ValueError, "real number"),
        (lambda: checks.check_real("p", True), TypeError, "real"),
        (lambda: checks.check_real("p", "0.5"), TypeError, "real"),
        (
            lambda: checks.check_array("x", torch.zeros(2)),
            TypeError,
            r"expected x to be a numpy.ndarray, got Tensor \(convert it with .detach\(\).numpy",  # noqa: E501
        ),
        (
            lambda: checks.check_array("x", np.zeros(2, dtype=int)),
            TypeError,
            "floating-point",
        ),
    ],
)
def test_edge_checks_reject(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_edge_checks_accept():
    from companion.checks import check_dtype, check_ids, check_real, check_tensor

    assert check_tensor("x", torch.zeros(2, 3), ("B", "H")) == {"B": 2, "H": 3}
    check_dtype("x", torch.zeros(1), torch.float32)
    check_ids("t", torch.tensor([0, 96], dtype=torch.int32), 97)
    check_ids("t", torch.zeros(0, dtype=torch.long), 97)
    assert check_real("p", np.float32(0.5), 0, 1, low_open=True) == 0.5
    assert check_real("top_p", np.float32(0.9), 0, 1, low_open=True) == pytest.approx(
        0.9
    )
    assert check_real("p", torch.tensor(1.0), 0, 1, low_open=True) == 1.0
    assert check_real("n", 3) == 3.0


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
    (lambda: _more(2, torch.zeros(()), PAIR), ValueError, r"x of shape \(2, \.\.\.\)"),
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
