import numpy as np
import pytest
import torch

from companion import checks
from companion.checks import check_floating, check_integer, check_shape


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
