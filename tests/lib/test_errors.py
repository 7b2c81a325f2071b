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
