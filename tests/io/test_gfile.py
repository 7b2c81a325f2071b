"""estcore.io.gfile: TF's file API on local files, TF's errors."""

from __future__ import annotations

import pytest

from estcore.errors import AlreadyExistsError, NotFoundError
from estcore.io import gfile

pytestmark = pytest.mark.smoke


def test_gfile_text_and_binary_with_size(tmp_path):
    p = tmp_path / "a.txt"
    with gfile.GFile(str(p), "w") as f:
        f.write("line 1\nline 2\n")
    with gfile.GFile(str(p)) as f:
        assert f.size() == 14
        assert f.readline() == "line 1\n" and list(f) == ["line 2\n"]
    with gfile.Open(f"file://{p}", "rb") as f:
        assert f.read(4) == b"line"


def test_directory_functions(tmp_path):
    d = tmp_path / "x" / "y"
    gfile.MakeDirs(str(d))
    gfile.MakeDirs(str(d))                      # existing: fine, as TF
    (d / "f1.csv").write_text("1")
    (d / "f2.csv").write_text("22")
    assert gfile.IsDirectory(str(d)) and gfile.Exists(str(d / "f1.csv"))
    assert gfile.ListDirectory(str(d)) == ["f1.csv", "f2.csv"]
    assert gfile.Glob(str(d / "*.csv")) == [str(d / "f1.csv"), str(d / "f2.csv")]
    assert gfile.Stat(str(d / "f2.csv")).length == 2
    gfile.Copy(str(d / "f1.csv"), str(d / "f3.csv"))
    with pytest.raises(AlreadyExistsError, match="f3.csv"):
        gfile.Copy(str(d / "f2.csv"), str(d / "f3.csv"))
    gfile.Rename(str(d / "f3.csv"), str(d / "f2.csv"), overwrite=True)
    assert (d / "f2.csv").read_text() == "1"
    assert [w[0] for w in gfile.Walk(str(tmp_path / "x"))] == [str(tmp_path / "x"), str(d)]
    gfile.Remove(str(d / "f2.csv"))
    gfile.DeleteRecursively(str(tmp_path / "x"))
    assert not gfile.Exists(str(tmp_path / "x"))


def test_missing_files_are_not_found_errors_naming_the_path(tmp_path):
    missing = str(tmp_path / "nope.txt")
    with pytest.raises(NotFoundError, match="nope.txt"):
        gfile.GFile(missing)
    for fn in (gfile.Remove, gfile.ListDirectory, gfile.Stat, gfile.DeleteRecursively):
        with pytest.raises(NotFoundError, match="nope.txt"):
            fn(missing)


def test_remote_schemes_are_refused_with_the_path():
    with pytest.raises(ValueError, match=r"local files only; the path 'gs://b/x' uses the "
                                         r"scheme 'gs'"):
        gfile.Exists("gs://b/x")
