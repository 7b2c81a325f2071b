# _kernels_sparse.pxi -- FarmHash fingerprints and row-sparse optimizer updates
# (csrc/include/estcore/est_sparse.h), included by _kernels.pyx.
#
# Contract (stable; change only by adding):
#   fingerprint64(s) -> int                 FarmHash Fingerprint64 of a str (UTF-8) or bytes
#   hash_strings(values, out, num_buckets=0) out[i] = fingerprint64(values[i]) (% num_buckets
#       when > 0, then as int64); values: a sequence of str/bytes, out: int64 or uint64
#       C-contiguous array of len(values)
#   fingerprint_cat64(a, b) -> int          TF's FingerprintCat64 of two uint64 ints
#   sparse_combine(params, ids, weights, out)   out[b] = sum_l weights[b, l] * params[ids[b, l]]
#       params [rows, ...] float32/float64; ids int64 [B, L]; weights [B, L] of params' dtype
#       (0: skip the slot); out [B, ...] (row shape of params), all C-contiguous
#   map_ids(values, mapping, out)           out[i] = mapping[values[i]] (a dict of every value
#       to an int; out: C-contiguous int64 of len(values)); KeyError for a missing value
#   nonempty_strings(values, out)           out[i] = values[i] is not '' / b'' (values: a
#       sequence of str/bytes; out: a C-contiguous bool array of len(values))
#   sparse_apply(kind, var, s1, s2, grad, indices, hyper, flag=0, s3=None)
#       kind: "sgd" | "momentum" | "adagrad" | "adam" | "ftrl" | "rmsprop" (flag: centered,
#       s3 = mg); var/s1/s2/s3 [rows, ...]
#       float32/float64 C-contiguous writeable (s1/s2 None where the kind has none);
#       grad [n, ...] of var's dtype, row shape equal to var's; indices int64 [n] (-1: skip).
#       hyper: up to 6 floats (est_sparse.h). Runs with the GIL released.

from libc.stdint cimport uint64_t

cdef extern from "estcore/est_sparse.h" nogil:
    ctypedef enum est_sparse_kind:
        EST_SPARSE_SGD
        EST_SPARSE_MOMENTUM
        EST_SPARSE_ADAGRAD
        EST_SPARSE_ADAM
        EST_SPARSE_FTRL
        EST_SPARSE_RMSPROP
    uint64_t est_fingerprint64(const char *s, size_t length)
    uint64_t est_fingerprint_cat64(uint64_t fp1, uint64_t fp2)
    est_status est_sparse_apply_f32(est_sparse_kind kind, float *var, float *s1, float *s2,
                                    float *s3, int64_t rows, int64_t dim, const float *grad,
                                    const int64_t *idx, int64_t n, const double *h, int flag)
    est_status est_sparse_combine_f32(const float *params, int64_t rows, int64_t dim,
                                      const int64_t *ids, const float *w, int64_t batch,
                                      int64_t slots, float *out)
    est_status est_sparse_combine_f64(const double *params, int64_t rows, int64_t dim,
                                      const int64_t *ids, const double *w, int64_t batch,
                                      int64_t slots, double *out)
    est_status est_sparse_apply_f64(est_sparse_kind kind, double *var, double *s1, double *s2,
                                    double *s3, int64_t rows, int64_t dim, const double *grad,
                                    const int64_t *idx, int64_t n, const double *h, int flag)

_SPARSE_KINDS = {"sgd": 0, "momentum": 1, "adagrad": 2, "adam": 3, "ftrl": 4, "rmsprop": 5}
_SPARSE_SLOTS = {"sgd": 0, "momentum": 1, "adagrad": 1, "adam": 2, "ftrl": 2, "rmsprop": 2}


cdef uint64_t _fp_obj(object s) except? 0:
    cdef bytes b
    if isinstance(s, bytes):
        b = <bytes>s
    elif isinstance(s, str):
        b = (<str>s).encode("utf-8")
    else:
        raise TypeError(f"fingerprint64: expected str or bytes. Received: {type(s).__name__}")
    return est_fingerprint64(<const char *>b, <size_t>len(b))


def fingerprint64(s):
    """FarmHash Fingerprint64 of ``s`` (str as UTF-8, or bytes): an int in [0, 2**64)."""
    return _fp_obj(s)


def fingerprint_cat64(a, b):
    """TF's FingerprintCat64(a, b) of two ints in [0, 2**64)."""
    return est_fingerprint_cat64(<uint64_t>a, <uint64_t>b)


def hash_strings(values, out, num_buckets=0):
    """Fingerprints of a sequence of str/bytes into ``out`` (int64 or uint64, C order),
    modulo ``num_buckets`` when it is > 0."""
    cdef uint64_t[::1] o
    cdef Py_ssize_t i, n = len(values)
    cdef uint64_t nb = <uint64_t>int(num_buckets)
    cdef uint64_t h
    if not isinstance(out, _ndarray) or out.dtype.kind not in "iu" or out.dtype.itemsize != 8 \
            or not out.flags.c_contiguous or out.size != n:
        raise InvalidArgumentError(f"hash_strings: `out` must be a C-contiguous int64/uint64 "
                                   f"array of {n} elements. Received: "
                                   f"{_describe_array('out', out)}")
    o = out.reshape(-1).view(np.uint64)
    for i in range(n):
        h = _fp_obj(values[i])
        o[i] = h % nb if nb > 0 else h


def map_ids(values, dict mapping, out):
    """``out[i] = mapping[values[i]]`` (a C loop of dict lookups; see the contract)."""
    cdef Py_ssize_t i, n = len(values)
    cdef int64_t[::1] o
    if not isinstance(out, _ndarray) or out.dtype != np.int64 or not out.flags.c_contiguous \
            or out.size != n:
        raise InvalidArgumentError(f"map_ids: `out` must be a C-contiguous int64 array of {n} "
                                   f"elements. Received: {_describe_array('out', out)}")
    o = out.reshape(-1)
    for i in range(n):
        o[i] = mapping[values[i]]


def nonempty_strings(values, out):
    """``out[i] = len(values[i]) > 0`` for a sequence of str/bytes (missing entries of a
    dense string feature are empty strings)."""
    cdef Py_ssize_t i, n = len(values)
    cdef unsigned char[::1] o
    if not isinstance(out, _ndarray) or out.dtype != np.bool_ or not out.flags.c_contiguous \
            or out.size != n:
        raise InvalidArgumentError(f"nonempty_strings: `out` must be a C-contiguous bool "
                                   f"array of {n} elements. Received: "
                                   f"{_describe_array('out', out)}")
    o = out.reshape(-1).view(np.uint8)
    for i in range(n):
        v = values[i]
        if isinstance(v, str):
            o[i] = len(<str>v) != 0
        elif isinstance(v, bytes):
            o[i] = len(<bytes>v) != 0
        else:
            raise TypeError(f"nonempty_strings: expected str or bytes at {i}. Received: "
                            f"{type(v).__name__}")


def sparse_apply(str kind, var, s1, s2, grad, indices, hyper, int flag=0, s3=None):
    """Row-sparse optimizer update in place (see the contract at the top of this file)."""
    cdef str fn = "sparse_apply"
    if kind not in _SPARSE_KINDS:
        raise InvalidArgumentError(f"{fn}: `kind` must be one of {sorted(_SPARSE_KINDS)}. "
                                   f"Received: kind={kind!r}")
    cdef int nslots = _SPARSE_SLOTS[kind]
    arrays = [("var", var, True)]
    if nslots >= 1:
        arrays.append(("s1", s1, True))
    if nslots >= 2:
        arrays.append(("s2", s2, True))
    if kind == "rmsprop" and flag:
        arrays.append(("s3", s3, True))
    for name, a, _w in arrays:
        if not isinstance(a, _ndarray) or a.dtype not in (np.float32, np.float64) \
                or not a.flags.c_contiguous or not a.flags.writeable or a.ndim < 1:
            raise TypeError(f"{fn}: `{name}` must be a writeable C-contiguous float32/float64 "
                            f"array of rank >= 1. Received: {_describe_array(name, a)}")
        if a.dtype != var.dtype or a.shape != var.shape:
            raise InvalidArgumentError(f"{fn}: `{name}` must match var {_shape_str(var.shape)} "
                                       f"{var.dtype}. Received: {_describe_array(name, a)}")
    if not isinstance(grad, _ndarray) or grad.dtype != var.dtype or not grad.flags.c_contiguous:
        raise TypeError(f"{fn}: `grad` must be a C-contiguous array of var's dtype {var.dtype}. "
                        f"Received: {_describe_array('grad', grad)}")
    if not isinstance(indices, _ndarray) or indices.dtype != np.int64 or indices.ndim != 1 \
            or not indices.flags.c_contiguous:
        raise TypeError(f"{fn}: `indices` must be a C-contiguous int64 vector. Received: "
                        f"{_describe_array('indices', indices)}")
    cdef int64_t n = indices.shape[0]
    cdef int64_t rows = var.shape[0]
    cdef int64_t dim = var.size // rows if rows else 0
    if grad.ndim < 1 or grad.shape[0] != n or grad.shape[1:] != var.shape[1:]:
        raise InvalidArgumentError(f"{fn}: `grad` must have shape ({n},) + var.shape[1:] = "
                                   f"{_shape_str((n,) + tuple(var.shape[1:]))}. Received: "
                                   f"{_describe_array('grad', grad)}")
    for name, a, _w in arrays:
        if np.shares_memory(a, grad):
            raise InvalidArgumentError(f"{fn}: `{name}` and `grad` must not share memory")
    cdef double h[6]
    cdef Py_ssize_t k
    hv = list(hyper)
    if len(hv) > 6:
        raise InvalidArgumentError(f"{fn}: at most 6 hyperparameters. Received {len(hv)}")
    for k in range(6):
        h[k] = float(hv[k]) if k < len(hv) else 0.0
    cdef est_sparse_kind kd = <est_sparse_kind>_SPARSE_KINDS[kind]
    cdef est_status st
    cdef uintptr_t pv = var.ctypes.data
    cdef uintptr_t p1 = s1.ctypes.data if nslots >= 1 else 0
    cdef uintptr_t p2 = s2.ctypes.data if nslots >= 2 else 0
    cdef uintptr_t p3 = s3.ctypes.data if kind == "rmsprop" and flag else 0
    cdef uintptr_t pg = grad.ctypes.data
    cdef uintptr_t pi = indices.ctypes.data
    if var.dtype == np.float32:
        with nogil:
            st = est_sparse_apply_f32(kd, <float *>pv, <float *>p1, <float *>p2, <float *>p3,
                                      rows, dim,
                                      <const float *>pg, <const int64_t *>pi, n, h, flag)
    else:
        with nogil:
            st = est_sparse_apply_f64(kd, <double *>pv, <double *>p1, <double *>p2,
                                      <double *>p3, rows, dim,
                                      <const double *>pg, <const int64_t *>pi, n, h, flag)
    if st == EST_ERR_INVALID_ARGUMENT:
        bad = indices[(indices != -1) & ((indices < 0) | (indices >= rows))]
        if bad.size:
            raise InvalidArgumentError(f"{fn}: index {int(bad[0])} is out of range [0, {rows}) "
                                       f"for a variable of shape {_shape_str(var.shape)}")
    check_status(st, fn)


def sparse_combine(params, ids, weights, out):
    """Weighted sum of embedding rows per batch row (see the contract at the top)."""
    cdef str fn = "sparse_combine"
    if not isinstance(params, _ndarray) or params.dtype not in (np.float32, np.float64) \
            or not params.flags.c_contiguous or params.ndim < 1:
        raise TypeError(f"{fn}: `params` must be a C-contiguous float32/float64 array. "
                        f"Received: {_describe_array('params', params)}")
    for name, a, dtype in (("ids", ids, np.int64), ("weights", weights, params.dtype)):
        if not isinstance(a, _ndarray) or a.dtype != dtype or a.ndim != 2 \
                or not a.flags.c_contiguous:
            raise TypeError(f"{fn}: `{name}` must be a C-contiguous [B, L] {np.dtype(dtype)} "
                            f"array. Received: {_describe_array(name, a)}")
    if weights.shape != ids.shape:
        raise InvalidArgumentError(f"{fn}: `weights` must have ids' shape "
                                   f"{_shape_str(ids.shape)}. Received: "
                                   f"{_describe_array('weights', weights)}")
    cdef int64_t rows = params.shape[0], batch = ids.shape[0], slots = ids.shape[1]
    cdef int64_t dim = params.size // rows if rows else 0
    if not isinstance(out, _ndarray) or out.dtype != params.dtype or \
            not out.flags.c_contiguous or not out.flags.writeable or \
            out.shape != (batch,) + tuple(params.shape[1:]):
        raise InvalidArgumentError(f"{fn}: `out` must be a writeable C-contiguous "
                                   f"{_shape_str((batch,) + tuple(params.shape[1:]))} "
                                   f"{params.dtype} array. Received: "
                                   f"{_describe_array('out', out)}")
    cdef uintptr_t pp = params.ctypes.data, pi = ids.ctypes.data, pw = weights.ctypes.data
    cdef uintptr_t po = out.ctypes.data
    cdef est_status st
    if params.dtype == np.float32:
        with nogil:
            st = est_sparse_combine_f32(<const float *>pp, rows, dim, <const int64_t *>pi,
                                        <const float *>pw, batch, slots, <float *>po)
    else:
        with nogil:
            st = est_sparse_combine_f64(<const double *>pp, rows, dim, <const int64_t *>pi,
                                        <const double *>pw, batch, slots, <double *>po)
    if st == EST_ERR_INVALID_ARGUMENT:
        bad = ids[(weights != 0) & ((ids < 0) | (ids >= rows))]
        if bad.size:
            raise InvalidArgumentError(f"{fn}: id {int(bad[0])} is out of range [0, {rows})")
    check_status(st, fn)
