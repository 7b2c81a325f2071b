"""TF's file API (``tf.gfile`` / ``tf.io.gfile``) on the local file system.

``GFile`` / ``Open`` (a file object with TF's extras: ``size()``, ``read(n=-1)`` and
``readline`` / ``readlines``, text or binary by mode), ``exists``, ``makedirs``, ``glob``,
``listdir``, ``remove``, ``rename``, ``copy``, ``rmtree``, ``isdir``, ``stat``, ``walk``,
with TF1's CamelCase spellings (``Exists``, ``MakeDirs``, ``ListDirectory``, ...). A
missing file is :class:`estcore.errors.NotFoundError`, an existing target of
``rename`` / ``copy`` without ``overwrite`` is :class:`estcore.errors.AlreadyExistsError`,
as TF. Paths are local (``file://`` prefixes are accepted); ``gs://``, ``hdfs://`` and other
schemes are refused with an error naming the path.

Must not: cache, buffer or retry beyond what Python's own file objects do.
"""

from __future__ import annotations

import glob as _glob
import os
import shutil
from collections.abc import Iterator
from typing import Any

from estcore.errors import AlreadyExistsError, NotFoundError

__all__ = ["GFile", "FastGFile", "Open", "exists", "makedirs", "mkdir", "glob", "listdir",
           "remove", "rename", "copy", "rmtree", "isdir", "stat", "walk", "FileStatistics",
           "Exists", "MakeDirs", "MkDir", "Glob", "ListDirectory", "Remove", "Rename", "Copy",
           "DeleteRecursively", "IsDirectory", "Stat", "Walk"]


def _local(path: Any) -> str:
    p = os.fspath(path)
    if isinstance(p, bytes):
        p = p.decode()
    if p.startswith("file://"):
        return p[len("file://"):]
    if "://" in p:
        raise ValueError(f"estcore's gfile reads local files only; the path {p!r} uses the "
                         f"scheme {p.split('://', 1)[0]!r} (copy the data locally first)")
    return p


def _not_found(path: str, e: OSError) -> NotFoundError:
    return NotFoundError(f"{path}; {e.strerror or 'No such file or directory'}")


class GFile:
    """A file (TF's ``tf.io.gfile.GFile``): ``mode`` as Python's (``"r"``, ``"rb"``,
    ``"w"``, ``"a"``, ...); text mode reads and writes ``str``, binary mode ``bytes``."""

    def __init__(self, name: Any, mode: str = "r"):
        self.name = _local(name)
        self.mode = mode
        text = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        try:
            self._f = open(self.name, mode, **text)  # noqa: SIM115 - closed by close()
        except FileNotFoundError as e:
            raise _not_found(self.name, e) from None

    def size(self) -> int:
        """The file's size in bytes."""
        self._f.flush()
        return os.path.getsize(self.name)

    def read(self, n: int = -1) -> Any:
        return self._f.read(n)

    def readline(self) -> Any:
        return self._f.readline()

    def readlines(self) -> list:
        return self._f.readlines()

    def write(self, data: Any) -> None:
        self._f.write(data)

    def flush(self) -> None:
        self._f.flush()

    def seek(self, offset: int | None = None, whence: int = 0, position: int | None = None
             ) -> int:
        return self._f.seek(position if position is not None else (offset or 0), whence)

    def tell(self) -> int:
        return self._f.tell()

    def close(self) -> None:
        self._f.close()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._f)

    def __next__(self) -> Any:
        return next(self._f)

    def __enter__(self) -> GFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


FastGFile = GFile
Open = GFile


def exists(path: Any) -> bool:
    return os.path.exists(_local(path))


def isdir(path: Any) -> bool:
    return os.path.isdir(_local(path))


def makedirs(path: Any) -> None:
    """Create ``path`` and its parents; an existing directory is fine."""
    os.makedirs(_local(path), exist_ok=True)


def mkdir(path: Any) -> None:
    p = _local(path)
    try:
        os.mkdir(p)
    except FileExistsError:
        raise AlreadyExistsError(f"{p}; File exists") from None
    except FileNotFoundError as e:
        raise _not_found(p, e) from None


def glob(pattern: Any) -> list[str]:
    """Paths matching ``pattern`` (a string or a list of them), sorted."""
    patterns = [pattern] if isinstance(pattern, (str, bytes, os.PathLike)) else list(pattern)
    out: list[str] = []
    for pat in patterns:
        out.extend(_glob.glob(_local(pat)))
    return sorted(out)


def listdir(path: Any) -> list[str]:
    p = _local(path)
    try:
        return sorted(os.listdir(p))
    except FileNotFoundError as e:
        raise _not_found(p, e) from None


def remove(path: Any) -> None:
    p = _local(path)
    try:
        os.remove(p)
    except FileNotFoundError as e:
        raise _not_found(p, e) from None


def rename(oldpath: Any, newpath: Any, overwrite: bool = False) -> None:
    src, dst = _local(oldpath), _local(newpath)
    if not overwrite and os.path.exists(dst):
        raise AlreadyExistsError(f"{dst}; File exists")
    try:
        os.replace(src, dst)
    except FileNotFoundError as e:
        raise _not_found(src, e) from None


def copy(oldpath: Any, newpath: Any, overwrite: bool = False) -> None:
    src, dst = _local(oldpath), _local(newpath)
    if not overwrite and os.path.exists(dst):
        raise AlreadyExistsError(f"{dst}; File exists")
    try:
        shutil.copyfile(src, dst)
    except FileNotFoundError as e:
        raise _not_found(src, e) from None


def rmtree(path: Any) -> None:
    p = _local(path)
    if not os.path.exists(p):
        raise NotFoundError(f"{p}; No such file or directory")
    if os.path.isdir(p):
        shutil.rmtree(p)
    else:
        os.remove(p)


class FileStatistics:
    """``length`` (bytes), ``mtime_nsec`` and ``is_directory`` of a path."""

    def __init__(self, length: int, mtime_nsec: int, is_directory: bool):
        self.length = length
        self.mtime_nsec = mtime_nsec
        self.is_directory = is_directory


def stat(path: Any) -> FileStatistics:
    p = _local(path)
    try:
        st = os.stat(p)
    except FileNotFoundError as e:
        raise _not_found(p, e) from None
    return FileStatistics(st.st_size, st.st_mtime_ns, os.path.isdir(p))


def walk(top: Any, topdown: bool = True, onerror: Any = None
         ) -> Iterator[tuple[str, list[str], list[str]]]:
    """``(dirname, subdirs, files)`` as ``os.walk``; nothing for a missing ``top``."""
    yield from os.walk(_local(top), topdown=topdown, onerror=onerror)


Exists = exists
IsDirectory = isdir
MakeDirs = makedirs
MkDir = mkdir
Glob = glob
ListDirectory = listdir
Remove = remove
Rename = rename
Copy = copy
DeleteRecursively = rmtree
Stat = stat
Walk = walk
