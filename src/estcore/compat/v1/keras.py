"""``tf.keras`` where estcore has it: ``tf.keras.utils.get_file``, ``tf.keras.regularizers`` and
``tf.keras.layers`` (Dense, Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dropout,
BatchNormalization: thin classes over estcore.layers, :mod:`estcore.compat.v1.keras_layers`).

``get_file(fname, origin, ...)`` returns the local path of a file cached under
``~/.keras/<cache_subdir>`` (``cache_dir`` or ``$KERAS_HOME`` elsewhere), downloading it
from ``origin`` only when it is not cached yet (any URL ``urllib`` opens, ``file://``
included). Without a network a cached file is returned as is; a missing one is an error
naming the URL and the cache path. ``extract=True`` / ``untar=True`` unpack a tar or zip
archive beside it. Keras models (``Model``, ``Sequential``, ``fit``) are not part of estcore
(docs/compat.md).

Must not: fetch anything that is already cached.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile

import numpy as np

from estcore.compat.v1 import keras_layers as _kl
from estcore.compat.v1 import keras_layers_extra as _kx
from estcore.compat.v1 import keras_layers_more as _km
from estcore.compat.v1._namespace import missing, namespace
from estcore.graph import initializers as _init

__all__ = ["get_file", "utils", "layers", "regularizers", "initializers"]

__getattr__ = missing("tf.keras")


def _cache_root(cache_dir: str | None) -> str:
    if cache_dir is not None:
        return os.path.expanduser(cache_dir)
    home = os.environ.get("KERAS_HOME")
    return home if home else os.path.join(os.path.expanduser("~"), ".keras")


def _hash(path: str, algorithm: str, expected: str) -> str:
    if algorithm == "auto":
        algorithm = "sha256" if len(expected) == 64 else "md5"
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _extract(path: str, into: str, archive_format: str) -> bool:
    kinds = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format or []))
    for kind in kinds:
        if kind == "tar" and tarfile.is_tarfile(path):
            with tarfile.open(path) as tar:
                tar.extractall(into, filter="data")
            return True
        if kind == "zip" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                z.extractall(into)
            return True
    return False


def get_file(fname: str, origin: str, untar: bool = False, md5_hash: str | None = None,
             file_hash: str | None = None, cache_subdir: str = "datasets",
             hash_algorithm: str = "auto", extract: bool = False,
             archive_format: str = "auto", cache_dir: str | None = None) -> str:
    """The local path of ``fname``, downloaded from ``origin`` into the cache if needed.

    Args:
        fname: file name in the cache (an absolute path is used as is).
        origin: the URL to download from.
        untar: the file is a tar archive to unpack (TF1's old flag); the path returned
            is the unpacked directory ``<cache>/<fname>``.
        md5_hash / file_hash: expected hash (sha256 or md5, by length, or
            ``hash_algorithm``); a cached file that does not match is downloaded again.
        cache_subdir: subdirectory of the cache.
        extract: unpack a tar/zip archive next to the file.
        archive_format: ``"auto"``, ``"tar"``, ``"zip"`` or a list of them.
        cache_dir: the cache (default ``$KERAS_HOME`` or ``~/.keras``).

    Raises:
        Exception: the file is not cached and ``origin`` could not be fetched; the
            message names the URL and the cache path.
        ValueError: the downloaded file does not match the hash.
    """
    if not fname:
        raise ValueError(f"get_file: `fname` must be a file name. Received: fname={fname!r}")
    datadir = os.path.join(_cache_root(cache_dir), cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    expected = file_hash or md5_hash
    algorithm = "md5" if (md5_hash and not file_hash) else hash_algorithm
    untar_dir = os.path.join(datadir, fname)
    fpath = untar_dir + ".tar.gz" if untar else os.path.join(datadir, fname)
    if untar and os.path.isdir(untar_dir):
        return untar_dir
    need = not os.path.exists(fpath) or (
        expected is not None and _hash(fpath, algorithm, expected) != expected)
    if need:
        fd, tmp = tempfile.mkstemp(dir=datadir, prefix=".get_file-")
        os.close(fd)
        try:
            with urllib.request.urlopen(origin) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
        except Exception as e:  # noqa: BLE001 - any failure to fetch is reported alike
            os.unlink(tmp)
            raise Exception(  # noqa: TRY002 - Keras raises a plain Exception here
                f"get_file: {fpath} is not in the cache and fetching {origin} failed "
                f"({type(e).__name__}: {e}). Put the file at {fpath} to use it offline."
            ) from e
        if expected is not None and _hash(tmp, algorithm, expected) != expected:
            os.unlink(tmp)
            raise ValueError(f"get_file: the file fetched from {origin} does not match the "
                             f"expected hash {expected}")
        os.replace(tmp, fpath)
    if untar:
        _extract(fpath, datadir, "tar")
        return untar_dir
    if extract:
        _extract(fpath, datadir, archive_format)
    return fpath


utils = namespace("tf.keras.utils", "TF1's tf.keras.utils, where estcore has it.",
                  get_file=get_file)

layers = namespace(
    "tf.keras.layers", "The Keras layer classes estcore has (estcore.compat.v1.keras_layers).",
    Dense=_kl.Dense, Conv2D=_kl.Conv2D, Convolution2D=_kl.Convolution2D,
    MaxPooling2D=_kl.MaxPooling2D, MaxPool2D=_kl.MaxPool2D,
    AveragePooling2D=_kl.AveragePooling2D, AvgPool2D=_kl.AvgPool2D, Flatten=_kl.Flatten,
    Dropout=_kl.Dropout, BatchNormalization=_kl.BatchNormalization,
    **{name: getattr(_kx, name) for name in _kx.__all__},
    **{name: getattr(_km, name) for name in _km.__all__})
class RandomNormal(_init.RandomNormal):
    """Keras's ``RandomNormal``: ``tf.random_normal_initializer`` with Keras's default
    ``stddev=0.05`` (TF 1.15's ``tf.keras.initializers.RandomNormal``)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None, dtype=None):
        super().__init__(mean, stddev, seed, dtype)


class RandomUniform(_init.RandomUniform):
    """Keras's ``RandomUniform``: uniform in ``[-0.05, 0.05)`` unless told otherwise."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None, dtype=None):
        super().__init__(minval, maxval, seed, dtype)


class TruncatedNormal(_init.TruncatedNormal):
    """Keras's ``TruncatedNormal``: ``stddev=0.05`` by default."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None, dtype=None):
        super().__init__(mean, stddev, seed, dtype)


class Orthogonal(_init.Initializer):
    """A (semi-)orthogonal matrix times ``gain`` (TF's ``orthogonal_initializer``): the Q
    of a QR decomposition of a normal matrix, signs fixed by R's diagonal; a shape of rank
    > 2 is flattened to ``[prod(shape[:-1]), shape[-1]]``."""

    def __init__(self, gain=1.0, seed=None, dtype=None):
        self.gain, self.seed, self.dtype = gain, seed, dtype

    def _generate(self, shape, dtype, rng):
        if len(shape) < 2:
            raise ValueError(f"The orthogonal initializer needs a shape of rank >= 2. "
                             f"Received: {shape}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)


class Identity(_init.Initializer):
    """``gain`` times the identity matrix (2-D shapes only; TF's
    ``tf.initializers.identity``)."""

    def __init__(self, gain=1.0, dtype=None):
        self.gain, self.dtype = gain, dtype

    def _generate(self, shape, dtype, rng):
        if len(shape) != 2:
            raise ValueError(f"The identity initializer needs a 2-D shape. Received: {shape}")
        return self.gain * np.eye(*shape)


initializers = namespace(
    "tf.keras.initializers", "TF 1.15's tf.keras.initializers (Keras's defaults).",
    Initializer=_init.Initializer, Zeros=_init.Zeros, Ones=_init.Ones,
    Constant=_init.Constant, RandomNormal=RandomNormal, RandomUniform=RandomUniform,
    TruncatedNormal=TruncatedNormal, VarianceScaling=_init.VarianceScaling,
    GlorotUniform=_init.GlorotUniform, GlorotNormal=_init.GlorotNormal,
    zeros=_init.Zeros, ones=_init.Ones, constant=_init.Constant, normal=RandomNormal,
    random_normal=RandomNormal, uniform=RandomUniform, random_uniform=RandomUniform,
    truncated_normal=TruncatedNormal, glorot_uniform=_init.GlorotUniform,
    glorot_normal=_init.GlorotNormal, he_normal=_init.he_normal, he_uniform=_init.he_uniform,
    lecun_normal=_init.lecun_normal, lecun_uniform=_init.lecun_uniform,
    Orthogonal=Orthogonal, orthogonal=Orthogonal, Identity=Identity, identity=Identity)

regularizers = namespace(
    "tf.keras.regularizers", "Keras's weight regularizers.",
    Regularizer=_kl.Regularizer, L1L2=_kl.L1L2, L1=_kl.L1, L2=_kl.L2, l1=_kl.l1, l2=_kl.l2,
    l1_l2=_kl.l1_l2, get=_kl.get_regularizer)
