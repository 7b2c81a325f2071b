"""ignore_errors and error locations: a failing element is named, or left out."""

from __future__ import annotations

import numpy as np
import pytest

import estcore.compat.v1 as tf
from estcore.data import Dataset, TextLineDataset, TFRecordDataset
from estcore.errors import DataLossError, InvalidArgumentError
from estcore.io import decode_csv
from estcore.io.tf_record import TFRecordWriter

from .conftest import values

pytestmark = pytest.mark.smoke


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a,b\n1,2\n3,x\n5,6\n7\n9,10\n")
    return str(path)


def parsed(csv):
    return TextLineDataset(csv).skip(1).map(lambda line: decode_csv(line, [[0], [0]]))


def test_a_failing_map_names_the_element(csv):
    with pytest.raises(InvalidArgumentError, match=r"failed on element 1 of the input.*x"):
        list(parsed(csv))


def test_ignore_errors_leaves_out_failing_elements(csv):
    want = [(1, 2), (5, 6), (9, 10)]
    assert values(parsed(csv).ignore_errors()) == want
    assert values(parsed(csv).apply(tf.data.experimental.ignore_errors())) == want
    assert values(parsed(csv).ignore_errors().batch(2)) == [([1, 5], [2, 6]), ([9], [10])]
    with pytest.raises(InvalidArgumentError):
        list(parsed(csv))


def test_ignore_errors_in_numpy_maps_and_filters():
    ds = Dataset.range(6).map(lambda v: 10 // (int(v) % 3))
    with pytest.raises(ZeroDivisionError, match="element 0"):
        list(ds)
    assert values(ds.ignore_errors()) == [10, 5, 10, 5]
    flt = Dataset.range(6).filter(lambda v: 1 // (int(v) % 3) == 1)
    assert values(flt.ignore_errors()) == [1, 4]


def test_a_file_error_ends_that_file_only(tmp_path):
    good, bad = tmp_path / "good.tfrecord", tmp_path / "bad.tfrecord"
    for path in (good, bad):
        with TFRecordWriter(str(path)) as w:
            for i in range(3):
                w.write(b"record %d" % i)
    data = bytearray(bad.read_bytes())
    data[-6] ^= 0xFF  # the last record's data: its CRC no longer matches
    bad.write_bytes(bytes(data))
    files = [str(bad), str(good)]
    with pytest.raises(DataLossError):
        list(TFRecordDataset(files))
    got = values(TFRecordDataset(files).ignore_errors())
    assert got[-3:] == [b"record 0", b"record 1", b"record 2"]
    assert len(got) in (3, 4, 5)  # the bad file's records before the damaged one, then good
    assert np.all([isinstance(g, bytes) for g in got])


def test_log_warning_says_what_was_left_out(csv, caplog):
    with caplog.at_level("WARNING", logger="estcore"):
        assert len(values(parsed(csv).ignore_errors())) == 3
    assert not caplog.records
    with caplog.at_level("WARNING", logger="estcore"):
        assert len(values(parsed(csv).ignore_errors(log_warning=True))) == 3
    assert any("2 element(s)" in r.getMessage() for r in caplog.records)
