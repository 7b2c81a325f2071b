# _kernels_ops.pxi -- the kernel operations, defined once on the _Builder classes
# (included by _kernels.pyx, not a module); this file: matrix products and dense.
# _kernels_ops_conv.pxi and _kernels_ops_train.pxi hold the rest. Each method validates its arguments, fills one est_instr
# and hands it to the subclass: _Immediate runs it at once (the module-level
# functions), Program appends it to its list.


cdef inline int _itemsize(int kind) noexcept:
    return 4 if kind == _F32 or kind == _I32 else 8


cdef int _disjoint(str fn, str out_name, _Arr *out, str in_name, _Arr *inp,
                   bint allow_same=False) except -1:
    """``out`` must not overlap ``inp`` (except exactly, when ``allow_same``)."""
    cdef char *a0 = out.data
    cdef char *a1 = out.data + out.size * _itemsize(out.kind)
    cdef char *b0 = inp.data
    cdef char *b1 = inp.data + inp.size * _itemsize(inp.kind)
    if out.size == 0 or inp.size == 0 or a1 <= b0 or b1 <= a0:
        return 0
    if allow_same and a0 == b0 and out.size == inp.size:
        return 0
    extra = " (only the exact same array is allowed, for in-place use)" if allow_same else ""
    raise InvalidArgumentError(f"{fn}: `{out_name}` must not share memory with `{in_name}`{extra}. "
                               f"Received: overlapping arrays")


cdef int _disjoint_all(str fn, _Arr **outs, list out_names, _Arr **srcs,
                       list src_names) except -1:
    """Each output against every source and every other output."""
    cdef Py_ssize_t i, j
    for i in range(len(out_names)):
        for j in range(len(src_names)):
            _disjoint(fn, out_names[i], outs[i], src_names[j], srcs[j])
        for j in range(i + 1, len(out_names)):
            _disjoint(fn, out_names[i], outs[i], out_names[j], outs[j])
    return 0


cdef char *_col(str fn, object col, _Arr *ac, int kind, int64_t need) except? NULL:
    """The conv scratch (no kernel needs one now: need is 0): same dtype, C-contiguous,
    writeable, >= need elements; None when need is 0."""
    if col is None:
        if need == 0:
            return NULL
        raise InvalidArgumentError(f"{fn}: `col` must be a scratch array with at least {need} "
                                   f"elements (conv2d_col_size). Received: col=None")
    _get_float(fn, "col", col, ac, True, kind, "x")
    if ac.size < need:
        raise InvalidArgumentError(f"{fn}: `col` must have at least {need} elements "
                                   f"(conv2d_col_size). Received: col.size={ac.size}")
    return ac.data if ac.size > 0 else NULL


cdef int _window(str fn, _Arr *x, int64_t kh, int64_t kw, int64_t oc, tuple strides, int pad,
                 est_window *g) except -1:
    if est_window_init(x.shape[0], x.shape[1], x.shape[2], x.shape[3], kh, kw, oc, strides[0],
                       strides[1], <est_padding>pad, g) != EST_OK:
        raise InvalidArgumentError(
            f"{fn}: the {kh}x{kw} window with strides {strides} and padding "
            f"{'SAME' if pad == EST_PADDING_SAME else 'VALID'} does not fit the input of shape "
            f"{_shape_str(_shape(x))} (a VALID window must not be larger than the input).")
    return 0


cdef class _BuilderBase:
    """The kernel operations with their argument checks (internal base classes:
    _BuilderBase has the matrix products, _BuilderConv adds convolution and pooling,
    _Builder the losses, optimizers and elementwise helpers).

    Subclasses of _Builder decide what happens to a validated instruction:
    ``_Immediate`` runs it (the module-level functions), ``Program`` stores it.
    """
    cdef str _prefix

    cdef est_instr *_slot(self) except NULL:
        raise NotImplementedError

    cdef int _done(self, str fn, list keep, object labels, list writes) except -1:
        """``keep``: the arrays the instruction points into; ``writes``: those it writes
        (None entries allowed); ``labels``: (labels, classes) for error messages."""
        raise NotImplementedError

    cdef str _fn(self, str name):
        return self._prefix + name

    # ---- matrix products ---------------------------------------------------------

    def gemm(self, a, b, out, transpose_a=False, transpose_b=False, alpha=1.0, beta=0.0):
        """out = alpha * op(a) @ op(b) + beta * out (float32/float64, 2-D).

        op(a) is ``a.T`` when ``transpose_a``. ``a`` and ``b`` may be C- or
        Fortran-ordered (a Fortran array is used as the transpose of a C array, no
        copy); ``out`` must be C-contiguous with shape (m, n). ``beta=0`` ignores the
        old content of ``out``.
        """
        cdef str fn = self._fn("gemm")
        cdef _Arr aa, ab, ao
        _get_float(fn, "a", a, &aa, False, -1, "", True)
        _want_ndim(fn, "a", a, &aa, 2, "(m, k)")
        _get_float(fn, "b", b, &ab, False, aa.kind, "a", True)
        _want_ndim(fn, "b", b, &ab, 2, "(k, n)")
        cdef bint ta = bool(transpose_a), tb = bool(transpose_b)
        cdef int64_t m = aa.shape[1] if ta else aa.shape[0]
        cdef int64_t k = aa.shape[0] if ta else aa.shape[1]
        cdef int64_t kb = ab.shape[1] if tb else ab.shape[0]
        cdef int64_t n = ab.shape[0] if tb else ab.shape[1]
        if kb != k:
            raise InvalidArgumentError(
                f"{fn}: `b` must have shape {_shape_str((n, k) if tb else (k, 'n'))} to match "
                f"a {_shape_str(_shape(&aa))} (transpose_a={ta}, transpose_b={tb}). "
                f"Received: b.shape={_shape_str(_shape(&ab))}")
        _get_float(fn, "out", out, &ao, True, aa.kind, "a")
        _want_shape(fn, "out", out, &ao, (m, n), _shape_str((m, n)), " (op(a) @ op(b))")
        _disjoint(fn, "out", &ao, "a", &aa)
        _disjoint(fn, "out", &ao, "b", &ab)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_GEMM
        ins.dtype = aa.kind
        # A Fortran-ordered matrix is the C-ordered transpose of the same memory.
        if ta ^ (aa.order == _ORDER_F):
            ins.flags |= EST_FLAG_TRANS_A
        if tb ^ (ab.order == _ORDER_F):
            ins.flags |= EST_FLAG_TRANS_B
        ins.n[0] = m
        ins.n[1] = n
        ins.n[2] = k
        ins.n[3] = aa.shape[0] if aa.order == _ORDER_F else aa.shape[1]
        ins.n[4] = ab.shape[0] if ab.order == _ORDER_F else ab.shape[1]
        ins.n[5] = n
        ins.s[0] = _number(fn, "alpha", alpha)
        ins.s[1] = _number(fn, "beta", beta)
        ins.p[0] = aa.data
        ins.p[1] = ab.data
        ins.p[2] = ao.data
        return self._done(fn, [a, b, out], None, [out])

    def dense_forward(self, x, w, b, out, act=None, alpha=None):
        """out = act(x @ w + b) in one kernel.

        Args:
            x: float32/float64 (m, k). w: (k, n). b: (n,) or None. out: (m, n), written.
            act: an ACT_* code, a name ('relu') or None. alpha: ELU / leaky ReLU alpha
                (TF defaults 1.0 / 0.2 when None).
        """
        cdef str fn = self._fn("dense_forward")
        cdef _Arr ax, aw, ab, ao
        _get_float(fn, "x", x, &ax, False, -1, "")
        _want_ndim(fn, "x", x, &ax, 2, "(m, k)")
        cdef int64_t m = ax.shape[0], k = ax.shape[1]
        _get_float(fn, "w", w, &aw, False, ax.kind, "x")
        if aw.ndim != 2 or aw.shape[0] != k:
            _bad_shape(fn, "w", &aw, f"({k}, n)", f" to match x {_shape_str((m, k))}")
        cdef int64_t n = aw.shape[1]
        if b is not None:
            _get_float(fn, "b", b, &ab, False, ax.kind, "x")
            _want_shape(fn, "b", b, &ab, (n,), f"({n},)", f" to match w {_shape_str((k, n))}")
        _get_float(fn, "out", out, &ao, True, ax.kind, "x")
        _want_shape(fn, "out", out, &ao, (m, n), _shape_str((m, n)), " (x @ w)")
        _disjoint(fn, "out", &ao, "x", &ax)
        _disjoint(fn, "out", &ao, "w", &aw)
        if b is not None:
            _disjoint(fn, "out", &ao, "b", &ab)
        cdef int code = _act(fn, act)
        cdef double al = _act_alpha(fn, code, alpha)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_DENSE_FORWARD
        ins.dtype = ax.kind
        ins.act = code
        ins.s[0] = al
        ins.n[0] = m
        ins.n[1] = k
        ins.n[2] = n
        ins.p[0] = ax.data
        ins.p[1] = aw.data
        ins.p[2] = ab.data if b is not None else NULL
        ins.p[3] = ao.data
        return self._done(fn, [x, w, b, out], None, [out])

    def dense_backward(self, x, w, y, dy, dw_out, db_out, dx_out=None, dz_out=None, act=None,
                       alpha=None, accumulate=False):
        """Gradients of out = act(x @ w + b), from the forward output ``y`` and ``dy``.

        dz = dy * act'(y) goes into ``dz_out`` (required unless act is none; it may be
        ``dy`` itself to work in place). Then dw_out (k, n) = x^T dz, db_out (n,) =
        column sums of dz, dx_out (m, k) = dz w^T; pass None to skip any of them (x may
        be None when dw_out is, w when dx_out is, y when act is none).
        ``accumulate=True`` adds into the outputs instead of overwriting them.
        """
        cdef str fn = self._fn("dense_backward")
        cdef _Arr ax, aw, ay, ady, adz, adw, adb, adx
        _get_float(fn, "dy", dy, &ady, False, -1, "")
        _want_ndim(fn, "dy", dy, &ady, 2, "(m, n)")
        cdef int64_t m = ady.shape[0], n = ady.shape[1], k = 0
        cdef int code = _act(fn, act)
        cdef double al = _act_alpha(fn, code, alpha)
        cdef str ctx = f" to match dy {_shape_str((m, n))}"
        if x is not None:
            _get_float(fn, "x", x, &ax, False, ady.kind, "dy")
            if ax.ndim != 2 or ax.shape[0] != m:
                _bad_shape(fn, "x", &ax, f"({m}, k)", ctx)
            k = ax.shape[1]
        elif dw_out is not None:
            raise InvalidArgumentError(f"{fn}: `x` is needed to compute dw_out. Received: x=None")
        if w is not None:
            _get_float(fn, "w", w, &aw, False, ady.kind, "dy")
            if x is None:
                _want_ndim(fn, "w", w, &aw, 2, f"(k, {n})")
                k = aw.shape[0]
            _want_shape(fn, "w", w, &aw, (k, n), _shape_str((k, n)), f"{ctx} and x")
        elif dx_out is not None:
            raise InvalidArgumentError(f"{fn}: `w` is needed to compute dx_out. Received: w=None")
        if code != EST_ACT_NONE:
            if y is None or dz_out is None:
                raise InvalidArgumentError(
                    f"{fn}: `y` and `dz_out` are required when act is not none (pass dz_out=dy "
                    f"to compute in place). Received: y={'None' if y is None else 'array'}, "
                    f"dz_out={'None' if dz_out is None else 'array'}")
            _get_float(fn, "y", y, &ay, False, ady.kind, "dy")
            _want_shape(fn, "y", y, &ay, (m, n), _shape_str((m, n)), ctx)
            _get_float(fn, "dz_out", dz_out, &adz, True, ady.kind, "dy")
            _want_shape(fn, "dz_out", dz_out, &adz, (m, n), _shape_str((m, n)), ctx)
            _disjoint(fn, "dz_out", &adz, "dy", &ady, True)
            _disjoint(fn, "dz_out", &adz, "y", &ay)
            if x is not None:  # dz is written before the GEMMs read x and w
                _disjoint(fn, "dz_out", &adz, "x", &ax)
            if w is not None:
                _disjoint(fn, "dz_out", &adz, "w", &aw)
        if dw_out is not None:
            _get_float(fn, "dw_out", dw_out, &adw, True, ady.kind, "dy")
            _want_shape(fn, "dw_out", dw_out, &adw, (k, n), _shape_str((k, n)), " (the shape of w)")
        if db_out is not None:
            _get_float(fn, "db_out", db_out, &adb, True, ady.kind, "dy")
            _want_shape(fn, "db_out", db_out, &adb, (n,), f"({n},)", ctx)
        if dx_out is not None:
            _get_float(fn, "dx_out", dx_out, &adx, True, ady.kind, "dy")
            _want_shape(fn, "dx_out", dx_out, &adx, (m, k), _shape_str((m, k)), " (the shape of x)")
        # every output against every input and every other output
        cdef _Arr *outs[3]
        cdef _Arr *srcs[5]
        cdef list out_names = [], src_names = []
        if dw_out is not None:
            outs[len(out_names)] = &adw
            out_names.append("dw_out")
        if db_out is not None:
            outs[len(out_names)] = &adb
            out_names.append("db_out")
        if dx_out is not None:
            outs[len(out_names)] = &adx
            out_names.append("dx_out")
        srcs[0] = &ady
        src_names.append("dy")
        if x is not None:
            srcs[len(src_names)] = &ax
            src_names.append("x")
        if w is not None:
            srcs[len(src_names)] = &aw
            src_names.append("w")
        if code != EST_ACT_NONE:
            srcs[len(src_names)] = &ay
            src_names.append("y")
            srcs[len(src_names)] = &adz
            src_names.append("dz_out")
        _disjoint_all(fn, outs, out_names, srcs, src_names)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_DENSE_BACKWARD
        ins.dtype = ady.kind
        ins.act = code
        ins.s[0] = al
        if accumulate:
            ins.flags |= EST_FLAG_ACCUMULATE
        ins.n[0] = m
        ins.n[1] = k
        ins.n[2] = n
        ins.p[0] = ax.data if x is not None else NULL
        ins.p[1] = aw.data if w is not None else NULL
        ins.p[2] = ay.data if code != EST_ACT_NONE else NULL
        ins.p[3] = ady.data
        ins.p[4] = adz.data if code != EST_ACT_NONE else NULL
        ins.p[5] = adw.data if dw_out is not None else NULL
        ins.p[6] = adb.data if db_out is not None else NULL
        ins.p[7] = adx.data if dx_out is not None else NULL
        return self._done(fn, [x, w, y, dy, dz_out, dw_out, db_out, dx_out], None,
                          [dz_out if code != EST_ACT_NONE else None, dw_out, db_out, dx_out])
