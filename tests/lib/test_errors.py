"""Every C status code reaches Python as its estcore.errors class (h3-style walk)."""

import pytest

from estcore import errors
from estcore._lib import _pipeline

pytestmark = pytest.mark.smoke


def test_status_count_matches_error_table():
    assert _pipeline._status_count_for_testing() == len(errors.STATUS_TO_ERROR)


@pytest.mark.parametrize("code", range(1, _pipeline._status_count_for_testing()))
def test_each_status_raises_its_class(code):
    cls = errors.STATUS_TO_ERROR[code]
    with pytest.raises(cls) as info:
        _pipeline._status_for_testing(code)
    assert type(info.value) is cls
    assert isinstance(info.value, errors.OpError)
    assert "status test" in str(info.value)


def test_ok_raises_nothing():
    assert _pipeline._status_for_testing(0) == 0


@pytest.mark.parametrize("code", [_pipeline._status_count_for_testing(), 99, -1])
def test_unknown_status(code):
    with pytest.raises(errors.UnknownStatusError, match="please report"):
        _pipeline._status_for_testing(code)


def test_out_of_range_numbers_are_named():
    import numpy as np

    from estcore._lib import _kernels as K
    from estcore.errors import InvalidArgumentError

    x, f = np.ones((1, 4, 4, 1), np.float32), np.ones((1, 1, 1, 1), np.float32)
    y = np.empty((1, 4, 4, 1), np.float32)
    col = np.empty(K.conv2d_col_size(x.shape, f.shape), np.float32)
    with pytest.raises(InvalidArgumentError, match="`strides` must be at most 2\\*\\*31 - 1"):
        K.conv2d_forward(x, f, None, y, col, strides=2**63)
    with pytest.raises(InvalidArgumentError, match="`delta` must fit in int64"):
        K.increment(np.zeros(1, np.int64), 2**70)
    with pytest.raises(InvalidArgumentError, match="`lr` must be a finite number within the "
                                                   "range of float32"):
        K.apply_sgd(np.ones(2, np.float32), np.ones(2, np.float32), 10**400)


def test_geometry_helpers_validate_their_arguments():
    from estcore._lib import _kernels as K
    from estcore.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="`input_shape` must be 4 non-negative ints"):
        K.conv2d_output_shape("abcd", (3, 3, 1, 2))
    with pytest.raises(InvalidArgumentError, match="`input_shape` must be 4 non-negative ints"):
        K.pool2d_output_shape(None, 2, 2)
    with pytest.raises(InvalidArgumentError, match="`filter_shape` must be 4 positive ints"):
        K.conv2d_output_shape((1, 4, 4, 1), (3, 3, 1, 0))
    with pytest.raises(InvalidArgumentError, match="is invalid for input_shape"):
        K.conv2d_output_shape((1, 2, 2, 1), (3, 3, 1, 2))
    assert K.conv2d_output_shape((1, 4, 4, 1), (3, 3, 1, 2)) == (1, 2, 2, 2)
    with pytest.raises(InvalidArgumentError, match="`input_shape` must be 4 non-negative ints"):
        K.conv2d_output_shape((1, 2**63, 4, 1), (1, 1, 1, 1))
    import numpy as np

    with pytest.raises(InvalidArgumentError, match="`lr` must be a finite number within the "
                                                   "range of float32"):
        K.apply_sgd(np.ones(2, np.float32), np.ones(2, np.float32), 1e300)
