# _kernels_check.pxi -- array validation for _kernels.pyx (included, not a module).
#
# Arrays are read through the buffer protocol (no numpy C headers at build time): one
# PyObject_GetBuffer per argument gives data pointer, dtype, shape and strides. The
# buffer is released at once; the pointer stays valid because the caller (an
# immediate call's frame, or a Program's keep list) holds a reference to the array
# and numpy never moves the data of a live array.

from cpython.buffer cimport (
    PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, PyBUF_STRIDES, PyBuffer_Release, PyObject_GetBuffer,
)

cdef enum:
    _MAXD = 8  # most dimensions an argument may have

cdef enum _Kind:
    _F32 = 0
    _F64 = 1
    _I32 = 2
    _I64 = 3
    _OTHER = 9

cdef enum _Order:
    _ORDER_C = 0
    _ORDER_F = 1

cdef struct _Arr:
    char *data
    int kind
    int order          # _ORDER_C, or _ORDER_F (only when allowed; ndim >= 2)
    int ndim
    Py_ssize_t size
    Py_ssize_t shape[_MAXD]

_ndarray = np.ndarray
_DTYPE_NAMES = {_F32: "float32", _F64: "float64", _I32: "int32", _I64: "int64"}


def _shape_str(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


cdef str _describe_array(str name, object obj):
    if isinstance(obj, _ndarray):
        return f"{name}.shape={_shape_str(obj.shape)}, {name}.dtype={obj.dtype}"
    return _describe(name, obj)


cdef bint _LITTLE_ENDIAN = sys.byteorder == "little"


cdef int _kind_of(Py_buffer *view) noexcept:
    """_F32/_F64/_I32/_I64 from a buffer's struct format and item size, else _OTHER."""
    cdef const char *f = view.format
    if f == NULL:
        return _OTHER
    if f[0] == b'<' and not _LITTLE_ENDIAN or f[0] == b'>' and _LITTLE_ENDIAN or f[0] == b'!':
        return _OTHER
    if f[0] == b'@' or f[0] == b'=' or f[0] == b'<' or f[0] == b'>' or f[0] == b'|':
        f += 1
    if f[0] == 0 or f[1] != 0:
        return _OTHER
    if f[0] == b'f' and view.itemsize == 4:
        return _F32
    if f[0] == b'd' and view.itemsize == 8:
        return _F64
    if f[0] == b'i' or f[0] == b'l' or f[0] == b'q':
        if view.itemsize == 4:
            return _I32
        if view.itemsize == 8:
            return _I64
    return _OTHER


cdef int _get(str fn, str name, object obj, _Arr *a, bint writable, bint allow_f=False) except -1:
    """Fill ``a`` from numpy array ``obj`` or raise an error naming ``fn`` and ``name``."""
    cdef Py_buffer view
    cdef Py_ssize_t i, expect, itemsize
    cdef bint c_ok = True, f_ok = True
    if not isinstance(obj, _ndarray):
        raise TypeError(f"{fn}: `{name}` must be a numpy.ndarray. Received: {_describe(name, obj)}")
    try:
        PyObject_GetBuffer(obj, &view, PyBUF_STRIDES | PyBUF_FORMAT)
    except (BufferError, ValueError, TypeError):
        raise TypeError(f"{fn}: `{name}` must have a numeric dtype (float32, float64, int32 "
                        f"or int64). Received: {name}.dtype={obj.dtype}") from None
    try:
        a.kind = _kind_of(&view)
        a.ndim = view.ndim
        a.data = <char *>view.buf
        if view.ndim > _MAXD:
            raise InvalidArgumentError(f"{fn}: `{name}` must have at most {_MAXD} dimensions. "
                                       f"Received: {_describe_array(name, obj)}")
        a.size = 1
        for i in range(view.ndim):
            a.shape[i] = view.shape[i]
            a.size *= view.shape[i]
        itemsize = view.itemsize
        if a.size > 1:
            expect = itemsize
            for i in range(view.ndim - 1, -1, -1):
                if view.shape[i] != 1 and view.strides[i] != expect:
                    c_ok = False
                expect *= view.shape[i]
            expect = itemsize
            for i in range(view.ndim):
                if view.shape[i] != 1 and view.strides[i] != expect:
                    f_ok = False
                expect *= view.shape[i]
        a.order = _ORDER_C
        if not c_ok:
            if allow_f and f_ok and view.ndim >= 2:
                a.order = _ORDER_F
            else:
                layout = "Fortran-ordered" if f_ok else "non-contiguous (a strided view)"
                raise InvalidArgumentError(
                    f"{fn}: `{name}` must be C-contiguous (row-major). Received: a {layout} "
                    f"array with {_describe_array(name, obj)}; pass np.ascontiguousarray({name}) "
                    f"(for an output, allocate it C-ordered).")
        if writable and view.readonly:
            raise InvalidArgumentError(f"{fn}: `{name}` is written in place and must be writeable. "
                                       f"Received: a read-only array with {_describe_array(name, obj)}")
    finally:
        PyBuffer_Release(&view)
    return 0


cdef int _get_float(str fn, str name, object obj, _Arr *a, bint writable, int kind,
                    str ref, bint allow_f=False) except -1:
    """_get + the dtype must be float32/float64, and equal ``kind`` when kind >= 0."""
    _get(fn, name, obj, a, writable, allow_f)
    if a.kind != _F32 and a.kind != _F64:
        raise TypeError(f"{fn}: `{name}` must have dtype float32 or float64. "
                        f"Received: {name}.dtype={obj.dtype}")
    if kind >= 0 and a.kind != kind:
        raise TypeError(f"{fn}: `{name}` must have dtype {_DTYPE_NAMES[kind]} to match {ref}. "
                        f"Received: {name}.dtype={obj.dtype}")
    return 0


cdef tuple _shape(_Arr *a):
    return tuple([a.shape[i] for i in range(a.ndim)])


cdef int _want_shape(str fn, str name, object obj, _Arr *a, tuple want, str pattern,
                     str context) except -1:
    """Raise unless ``a``'s shape equals ``want``. ``pattern`` shows the expected shape
    (may contain letters for free sizes), ``context`` says what fixed it."""
    if _shape(a) != want:
        raise InvalidArgumentError(f"{fn}: `{name}` must have shape {pattern}{context}. "
                                   f"Received: {name}.shape={_shape_str(_shape(a))}")
    return 0


cdef int _bad_shape(str fn, str name, _Arr *a, str pattern, str context) except -1:
    raise InvalidArgumentError(f"{fn}: `{name}` must have shape {pattern}{context}. "
                               f"Received: {name}.shape={_shape_str(_shape(a))}")


cdef int _want_ndim(str fn, str name, object obj, _Arr *a, int ndim, str pattern) except -1:
    if a.ndim != ndim:
        raise InvalidArgumentError(f"{fn}: `{name}` must be {ndim}-D with shape {pattern}. "
                                   f"Received: {name}.shape={_shape_str(_shape(a))}")
    return 0


cdef int _want_same(str fn, str name, _Arr *a, str ref_name, _Arr *ref) except -1:
    """``a`` must have exactly the shape of ``ref``."""
    if _shape(a) != _shape(ref):
        raise InvalidArgumentError(
            f"{fn}: `{name}` must have the same shape as {ref_name}, "
            f"{_shape_str(_shape(ref))}. Received: {name}.shape={_shape_str(_shape(a))}")
    return 0


cdef void *_scalar(str fn, str name, object value, int kind, list keep) except NULL:
    """Pointer to a scalar hyperparameter: a 0-d / 1-element array of dtype ``kind`` is
    used in place (so a schedule can change it between runs); a Python number is
    copied into a new 1-element array kept in ``keep``."""
    cdef _Arr a
    if isinstance(value, _ndarray):
        _get(fn, name, value, &a, False)
        if a.size != 1:
            raise InvalidArgumentError(f"{fn}: `{name}` must be a number or a 0-d / 1-element "
                                       f"array. Received: {_describe_array(name, value)}")
        if a.kind != kind:
            raise TypeError(f"{fn}: `{name}` must have dtype {_DTYPE_NAMES[kind]} to match the "
                            f"other arrays. Received: {name}.dtype={value.dtype}")
        keep.append(value)
        return a.data
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        overflow = False
        try:
            fvalue = float(value)
        except OverflowError:  # an int beyond float64
            fvalue, overflow = 0.0, True
        if kind == _F32 and 3.4028234663852886e38 < abs(fvalue) < float("inf"):
            overflow = True  # a finite value that would round to inf in float32 (NaN: False)
        if overflow:
            raise InvalidArgumentError(f"{fn}: `{name}` must be a finite number within the "
                                       f"range of {_DTYPE_NAMES[kind]}. Received: "
                                       f"{_describe(name, value)}")
        arr = np.array([fvalue], dtype=np.float32 if kind == _F32 else np.float64)
        keep.append(arr)
        _get(fn, name, arr, &a, False)
        return a.data
    raise TypeError(f"{fn}: `{name}` must be a number or a 0-d / 1-element array. "
                    f"Received: {_describe(name, value)}")


cdef double _number(str fn, str name, object value) except? -1.5:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            raise InvalidArgumentError(f"{fn}: `{name}` must be a finite number within the "
                                       f"range of float64. Received: {_describe(name, value)}"
                                       ) from None
    raise TypeError(f"{fn}: `{name}` must be a number. Received: {_describe(name, value)}")


cdef int _act(str fn, object act) except -1:
    """Activation code from a code, a name (``"relu"``) or None."""
    if act is None:
        return EST_ACT_NONE
    if isinstance(act, str):
        code = _ACT_BY_NAME.get(act.lower())
        if code is None:
            raise InvalidArgumentError(f"{fn}: `act` must be one of {sorted(_ACT_BY_NAME)} or an "
                                       f"ACT_* code. Received: {_describe('act', act)}")
        return code
    if isinstance(act, numbers.Integral) and not isinstance(act, bool) and 0 <= act < EST_ACT__COUNT:
        return int(act)
    raise InvalidArgumentError(f"{fn}: `act` must be an ACT_* code (0..{EST_ACT__COUNT - 1}) or "
                               f"a name like 'relu'. Received: {_describe('act', act)}")


cdef double _act_alpha(str fn, int act, object alpha) except? -1.5:
    """The activation's alpha: TF's default (ELU 1.0, leaky ReLU 0.2) when None."""
    cdef double v
    if alpha is None:
        return 1.0 if act == EST_ACT_ELU else (0.2 if act == EST_ACT_LEAKY_RELU else 0.0)
    v = _number(fn, "alpha", alpha)
    if (act == EST_ACT_ELU or act == EST_ACT_LEAKY_RELU) and not v >= 0:
        raise InvalidArgumentError(f"{fn}: `alpha` must be >= 0 for this activation (its gradient "
                                   f"is computed from the output). Received: alpha={alpha!r}")
    return v


cdef int _padding(str fn, object padding) except -1:
    if isinstance(padding, str) and padding.upper() in ("SAME", "VALID"):
        return EST_PADDING_SAME if padding.upper() == "SAME" else EST_PADDING_VALID
    raise InvalidArgumentError(f"{fn}: `padding` must be 'SAME' or 'VALID'. "
                               f"Received: {_describe('padding', padding)}")


cdef tuple _pair(str fn, str name, object value):
    """An int, a pair (h, w), or TF's 4-list [1, h, w, 1] -> (h, w), all positive."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        vals = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) in (2, 4) and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        if len(value) == 4 and (value[0] != 1 or value[3] != 1):
            raise InvalidArgumentError(f"{fn}: `{name}` in the 4-element form must be "
                                       f"[1, h, w, 1]. Received: {_describe(name, value)}")
        vals = (int(value[0]), int(value[1])) if len(value) == 2 else (int(value[1]), int(value[2]))
    else:
        raise TypeError(f"{fn}: `{name}` must be an int, a pair (h, w) or [1, h, w, 1]. "
                        f"Received: {_describe(name, value)}")
    if vals[0] < 1 or vals[1] < 1:
        raise InvalidArgumentError(f"{fn}: `{name}` must be positive. Received: {_describe(name, value)}")
    if vals[0] > 2147483647 or vals[1] > 2147483647:
        raise InvalidArgumentError(f"{fn}: `{name}` must be at most 2**31 - 1. Received: "
                                   f"{_describe(name, value)}")
    return vals
