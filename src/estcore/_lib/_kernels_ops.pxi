# _kernels_ops.pxi -- the kernel operations, defined once on _Builder (included by
# _kernels.pyx, not a module). Each method validates its arguments, fills one est_instr
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
    """The im2col scratch: same dtype, C-contiguous, writeable, >= need elements."""
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


cdef class _Builder:
    """The kernel operations with their argument checks (internal base class).

    Subclasses decide what happens to a validated instruction: ``_Immediate`` runs it
    (the module-level functions), ``Program`` stores it.
    """
    cdef str _prefix

    cdef est_instr *_slot(self) except NULL:
        raise NotImplementedError

    cdef int _done(self, str fn, list keep, object labels) except -1:
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
        return self._done(fn, [a, b, out], None)

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
        return self._done(fn, [x, w, b, out], None)

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
        return self._done(fn, [x, w, y, dy, dz_out, dw_out, db_out, dx_out], None)

    # ---- convolution and pooling (NHWC) -------------------------------------------

    def conv2d_forward(self, x, filters, bias, out, col, strides=1, padding="VALID", act=None,
                       alpha=None):
        """out = act(conv2d(x, filters) + bias), im2col + GEMM with a fused epilogue.

        Args:
            x: float32/float64 (batch, in_h, in_w, in_c), NHWC.
            filters: (k_h, k_w, in_c, out_c), HWIO (TF's layout).
            bias: (out_c,) or None.
            out: (batch, out_h, out_w, out_c), written (see conv2d_output_shape).
            col: scratch of the same dtype with at least conv2d_col_size(...) elements;
                its content is undefined afterwards. May be None when that size is 0.
            strides: int, (h, w) or [1, h, w, 1]. padding: 'SAME' or 'VALID' (TF rules).
            act, alpha: as for dense_forward.
        """
        cdef str fn = self._fn("conv2d_forward")
        cdef _Arr ax, af, ab, ao, ac
        cdef est_window g
        _get_float(fn, "x", x, &ax, False, -1, "")
        _want_ndim(fn, "x", x, &ax, 4, "(batch, in_h, in_w, in_c)")
        _get_float(fn, "filters", filters, &af, False, ax.kind, "x")
        if af.ndim != 4 or af.shape[2] != ax.shape[3]:
            _bad_shape(fn, "filters", &af, f"(k_h, k_w, {ax.shape[3]}, out_c)",
                       f" to match x {_shape_str(_shape(&ax))}")
        _window(fn, &ax, af.shape[0], af.shape[1], af.shape[3], _pair(fn, "strides", strides),
                _padding(fn, padding), &g)
        if bias is not None:
            _get_float(fn, "bias", bias, &ab, False, ax.kind, "x")
            _want_shape(fn, "bias", bias, &ab, (g.out_c,), f"({g.out_c},)", " (out_c of filters)")
        _get_float(fn, "out", out, &ao, True, ax.kind, "x")
        want = (g.batch, g.out_h, g.out_w, g.out_c)
        _want_shape(fn, "out", out, &ao, want, _shape_str(want), " (the convolution's output)")
        cdef char *col_data = _col(fn, col, &ac, ax.kind, est_conv2d_col_size(&g))
        cdef _Arr *outs[2]
        cdef _Arr *srcs[3]
        outs[0] = &ao
        srcs[0] = &ax
        srcs[1] = &af
        names = ["x", "filters"]
        if bias is not None:
            srcs[2] = &ab
            names.append("bias")
        if col_data != NULL:
            outs[1] = &ac
        _disjoint_all(fn, outs, ["out", "col"] if col_data != NULL else ["out"], srcs, names)
        cdef int code = _act(fn, act)
        cdef double al = _act_alpha(fn, code, alpha)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_CONV2D_FORWARD
        ins.dtype = ax.kind
        ins.act = code
        ins.s[0] = al
        ins.win = g
        ins.p[0] = ax.data
        ins.p[1] = af.data
        ins.p[2] = ab.data if bias is not None else NULL
        ins.p[3] = ao.data
        ins.p[4] = col_data
        return self._done(fn, [x, filters, bias, out, col], None)

    def conv2d_backward(self, x, filters, y, dy, col, dx_out, dfilters_out, dbias_out,
                        dz_out=None, strides=1, padding="VALID", act=None, alpha=None,
                        accumulate=False):
        """Gradients of conv2d_forward, from its output ``y`` and ``dy``.

        dz = dy * act'(y) goes into ``dz_out`` (required unless act is none; may be
        ``dy``). dbias_out (out_c,), dfilters_out (k_h, k_w, in_c, out_c) and dx_out
        (shape of x) are each skipped when None. ``col`` is the same kind of scratch as
        for the forward pass. ``accumulate=True`` adds into the outputs.
        """
        cdef str fn = self._fn("conv2d_backward")
        cdef _Arr ax, af, ay, ady, ac, adx, adf, adb, adz
        cdef est_window g
        _get_float(fn, "x", x, &ax, False, -1, "")
        _want_ndim(fn, "x", x, &ax, 4, "(batch, in_h, in_w, in_c)")
        _get_float(fn, "filters", filters, &af, False, ax.kind, "x")
        if af.ndim != 4 or af.shape[2] != ax.shape[3]:
            _bad_shape(fn, "filters", &af, f"(k_h, k_w, {ax.shape[3]}, out_c)",
                       f" to match x {_shape_str(_shape(&ax))}")
        _window(fn, &ax, af.shape[0], af.shape[1], af.shape[3], _pair(fn, "strides", strides),
                _padding(fn, padding), &g)
        want = (g.batch, g.out_h, g.out_w, g.out_c)
        _get_float(fn, "dy", dy, &ady, False, ax.kind, "x")
        _want_shape(fn, "dy", dy, &ady, want, _shape_str(want), " (the convolution's output)")
        cdef int code = _act(fn, act)
        cdef double al = _act_alpha(fn, code, alpha)
        if code != EST_ACT_NONE:
            if y is None or dz_out is None:
                raise InvalidArgumentError(
                    f"{fn}: `y` and `dz_out` are required when act is not none (pass dz_out=dy "
                    f"to compute in place). Received: y={'None' if y is None else 'array'}, "
                    f"dz_out={'None' if dz_out is None else 'array'}")
            _get_float(fn, "y", y, &ay, False, ax.kind, "x")
            _want_shape(fn, "y", y, &ay, want, _shape_str(want), " (the convolution's output)")
            _get_float(fn, "dz_out", dz_out, &adz, True, ax.kind, "x")
            _want_shape(fn, "dz_out", dz_out, &adz, want, _shape_str(want), " (the convolution's output)")
            _disjoint(fn, "dz_out", &adz, "dy", &ady, True)
            _disjoint(fn, "dz_out", &adz, "y", &ay)
        cdef char *col_data = NULL
        if dx_out is not None or dfilters_out is not None:
            col_data = _col(fn, col, &ac, ax.kind, est_conv2d_col_size(&g))
        if dx_out is not None:
            _get_float(fn, "dx_out", dx_out, &adx, True, ax.kind, "x")
            _want_same(fn, "dx_out", &adx, "x", &ax)
        if dfilters_out is not None:
            _get_float(fn, "dfilters_out", dfilters_out, &adf, True, ax.kind, "x")
            _want_same(fn, "dfilters_out", &adf, "filters", &af)
        if dbias_out is not None:
            _get_float(fn, "dbias_out", dbias_out, &adb, True, ax.kind, "x")
            _want_shape(fn, "dbias_out", dbias_out, &adb, (g.out_c,), f"({g.out_c},)",
                        " (out_c of filters)")
        cdef _Arr *outs[4]
        cdef _Arr *srcs[5]
        cdef list out_names = [], src_names = ["x", "filters", "dy"]
        srcs[0] = &ax
        srcs[1] = &af
        srcs[2] = &ady
        if code != EST_ACT_NONE:
            srcs[3] = &ay
            srcs[4] = &adz
            src_names += ["y", "dz_out"]
        if col_data != NULL:
            outs[len(out_names)] = &ac
            out_names.append("col")
        if dx_out is not None:
            outs[len(out_names)] = &adx
            out_names.append("dx_out")
        if dfilters_out is not None:
            outs[len(out_names)] = &adf
            out_names.append("dfilters_out")
        if dbias_out is not None:
            outs[len(out_names)] = &adb
            out_names.append("dbias_out")
        _disjoint_all(fn, outs, out_names, srcs, src_names)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_CONV2D_BACKWARD
        ins.dtype = ax.kind
        ins.act = code
        ins.s[0] = al
        if accumulate:
            ins.flags |= EST_FLAG_ACCUMULATE
        ins.win = g
        ins.p[0] = ax.data
        ins.p[1] = af.data
        ins.p[2] = ay.data if code != EST_ACT_NONE else NULL
        ins.p[3] = ady.data
        ins.p[4] = adz.data if code != EST_ACT_NONE else NULL
        ins.p[5] = col_data
        ins.p[6] = adx.data if dx_out is not None else NULL
        ins.p[7] = adf.data if dfilters_out is not None else NULL
        ins.p[8] = adb.data if dbias_out is not None else NULL
        return self._done(fn, [x, filters, y, dy, col, dx_out, dfilters_out, dbias_out, dz_out],
                          None)

    cdef int _pool(self, str name, int opcode, x, dy, out, ksize, strides, padding) except -1:
        """Shared checks of the four pooling operations. ``x`` is the forward input
        (None for avg backward, whose input shape is out's); ``dy`` is None forward."""
        cdef str fn = self._fn(name)
        cdef _Arr ax, ady, ao
        cdef est_window g
        cdef bint fwd = dy is None
        cdef str xname = "x" if x is not None else "dx_out"
        if x is not None:
            _get_float(fn, "x", x, &ax, False, -1, "")
            _want_ndim(fn, "x", x, &ax, 4, "(batch, in_h, in_w, c)")
            _get_float(fn, "out" if fwd else "dx_out", out, &ao, True, ax.kind, "x")
        else:
            _get_float(fn, "dx_out", out, &ao, True, -1, "")
            _want_ndim(fn, "dx_out", out, &ao, 4, "(batch, in_h, in_w, c)")
            ax = ao
        k = _pair(fn, "ksize", ksize)
        _window(fn, &ax, k[0], k[1], ax.shape[3], _pair(fn, "strides", strides),
                _padding(fn, padding), &g)
        want = (g.batch, g.out_h, g.out_w, g.out_c)
        if fwd:
            _want_shape(fn, "out", out, &ao, want, _shape_str(want), " (the pooled shape of x)")
            _disjoint(fn, "out", &ao, "x", &ax)
        else:
            _get_float(fn, "dy", dy, &ady, False, ax.kind, xname)
            _want_shape(fn, "dy", dy, &ady, want, _shape_str(want), f" (the pooled shape of {xname})")
            if x is not None:
                _want_same(fn, "dx_out", &ao, "x", &ax)
                _disjoint(fn, "dx_out", &ao, "x", &ax)
            _disjoint(fn, "dx_out", &ao, "dy", &ady)
        cdef est_instr *ins = self._slot()
        ins.op = opcode
        ins.dtype = ax.kind
        ins.win = g
        if opcode == EST_OP_MAX_POOL_BACKWARD:
            ins.p[0] = ax.data
            ins.p[1] = ady.data
            ins.p[2] = ao.data
        elif opcode == EST_OP_AVG_POOL_BACKWARD:
            ins.p[0] = ady.data
            ins.p[1] = ao.data
        else:
            ins.p[0] = ax.data
            ins.p[1] = ao.data
        return self._done(fn, [x, dy, out], None)

    def max_pool2d_forward(self, x, out, ksize, strides, padding="VALID"):
        """out = max over each ksize window of x (NHWC; padded positions ignored)."""
        self._pool("max_pool2d_forward", EST_OP_MAX_POOL_FORWARD, x, None, out, ksize, strides,
                   padding)

    def max_pool2d_backward(self, x, dy, dx_out, ksize, strides, padding="VALID"):
        """dx_out = gradient of max pooling: each dy goes to the FIRST maximum of its
        window (row-major window order, as TF); a NaN in a window takes the gradient."""
        self._pool("max_pool2d_backward", EST_OP_MAX_POOL_BACKWARD, x, dy, dx_out, ksize,
                   strides, padding)

    def avg_pool2d_forward(self, x, out, ksize, strides, padding="VALID"):
        """out = mean over each window; SAME windows divide by their VALID element count."""
        self._pool("avg_pool2d_forward", EST_OP_AVG_POOL_FORWARD, x, None, out, ksize, strides,
                   padding)

    def avg_pool2d_backward(self, dy, dx_out, ksize, strides, padding="VALID"):
        """dx_out (the input's shape) = gradient of average pooling."""
        self._pool("avg_pool2d_backward", EST_OP_AVG_POOL_BACKWARD, None, dy, dx_out, ksize,
                   strides, padding)

    # ---- softmax cross-entropy ------------------------------------------------------

    cdef int _xent(self, str name, bint sparse, logits, labels, loss_out, dlogits_out,
                   scale) except -1:
        cdef str fn = self._fn(name)
        cdef _Arr al, ab, ao, ad
        cdef list keep = [logits, labels, loss_out, dlogits_out]
        _get_float(fn, "logits", logits, &al, False, -1, "")
        _want_ndim(fn, "logits", logits, &al, 2, "(batch, classes)")
        cdef int64_t m = al.shape[0], c = al.shape[1]
        if c < 1:
            _bad_shape(fn, "logits", &al, "(batch, classes) with classes >= 1", "")
        if sparse:
            _get(fn, "labels", labels, &ab, False)
            if ab.kind != _I32 and ab.kind != _I64:
                raise TypeError(f"{fn}: `labels` must have dtype int32 or int64. "
                                f"Received: labels.dtype={labels.dtype}")
            _want_shape(fn, "labels", labels, &ab, (m,), f"({m},)", f" to match logits {_shape_str((m, c))}")
        else:
            _get_float(fn, "labels", labels, &ab, False, al.kind, "logits")
            _want_shape(fn, "labels", labels, &ab, (m, c), _shape_str((m, c)), " (the shape of logits)")
        if loss_out is None and dlogits_out is None:
            raise InvalidArgumentError(f"{fn}: at least one of `loss_out` and `dlogits_out` must be "
                                       f"given. Received: loss_out=None, dlogits_out=None")
        if loss_out is not None:
            _get_float(fn, "loss_out", loss_out, &ao, True, al.kind, "logits")
            _want_shape(fn, "loss_out", loss_out, &ao, (m,), f"({m},)", " (one loss per row of logits)")
        if dlogits_out is not None:
            _get_float(fn, "dlogits_out", dlogits_out, &ad, True, al.kind, "logits")
            _want_shape(fn, "dlogits_out", dlogits_out, &ad, (m, c), _shape_str((m, c)), " (the shape of logits)")
        cdef _Arr *outs[2]
        cdef _Arr *srcs[2]
        cdef list out_names = []
        srcs[0] = &al
        srcs[1] = &ab
        if loss_out is not None:
            outs[0] = &ao
            out_names.append("loss_out")
        if dlogits_out is not None:
            outs[len(out_names)] = &ad
            out_names.append("dlogits_out")
        _disjoint_all(fn, outs, out_names, srcs, ["logits", "labels"])
        cdef void *sp = NULL
        if scale is not None:
            sp = _scalar(fn, "scale", scale, al.kind, keep)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_SPARSE_XENT if sparse else EST_OP_XENT
        ins.dtype = al.kind
        if sparse and ab.kind == _I64:
            ins.flags |= EST_FLAG_LABELS_I64
        ins.n[0] = m
        ins.n[1] = c
        ins.p[0] = al.data
        ins.p[1] = ab.data
        ins.p[2] = sp
        ins.p[3] = ao.data if loss_out is not None else NULL
        ins.p[4] = ad.data if dlogits_out is not None else NULL
        return self._done(fn, keep, (labels, c) if sparse else None)

    def sparse_softmax_xent(self, logits, labels, loss_out, dlogits_out=None, scale=None):
        """Softmax cross-entropy with integer labels, loss and gradient in one pass.

        Args:
            logits: float32/float64 (batch, classes). labels: int32/int64 (batch,), each
                in [0, classes): anything else raises InvalidArgumentError naming the
                first bad row, and writes nothing.
            loss_out: (batch,) per-example loss, or None.
            dlogits_out: (batch, classes) = scale * (softmax - onehot), or None.
            scale: None (1), a number, or a 0-d / 1-element array read at run time (a
                mean-reduction or loss-scale factor).
        """
        self._xent("sparse_softmax_xent", True, logits, labels, loss_out, dlogits_out, scale)

    def softmax_xent(self, logits, labels, loss_out, dlogits_out=None, scale=None):
        """Softmax cross-entropy with dense labels (batch, classes) of logits' dtype.

        loss = sum_j labels_j * (logsumexp(logits) - logits_j);
        dlogits = scale * (softmax - labels) (TF's backprop). Other args as
        sparse_softmax_xent.
        """
        self._xent("softmax_xent", False, logits, labels, loss_out, dlogits_out, scale)

    # ---- optimizer updates (TF1 semantics, in place) -----------------------------------

    cdef int _slots(self, str fn, list names, list arrays, _Arr *out) except -1:
        """var, slots and grad: same dtype and shape; var and slots writeable; no two
        of them may share memory. ``out[i]`` receives arrays[i]'s view."""
        cdef Py_ssize_t i, j, n = len(arrays)
        for i in range(n):
            _get_float(fn, names[i], arrays[i], &out[i], names[i] != "grad",
                       -1 if i == 0 else out[0].kind, names[0])
            if i > 0:
                _want_same(fn, names[i], &out[i], names[0], &out[0])
        for i in range(n):
            for j in range(i + 1, n):
                _disjoint(fn, names[i], &out[i], names[j], &out[j])
        return 0

    def apply_sgd(self, var, grad, lr):
        """var -= lr * grad. ``lr``: a number, or a 0-d / 1-element array read at run time."""
        cdef str fn = self._fn("apply_sgd")
        cdef _Arr a[2]
        cdef list keep = [var, grad]
        self._slots(fn, ["var", "grad"], keep, a)
        cdef void *lr_p = _scalar(fn, "lr", lr, a[0].kind, keep)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_SGD
        ins.dtype = a[0].kind
        ins.n[0] = a[0].size
        ins.p[0] = a[0].data
        ins.p[1] = a[1].data
        ins.p[2] = lr_p
        return self._done(fn, keep, None)

    def apply_momentum(self, var, accum, grad, lr, momentum, use_nesterov=False):
        """accum = momentum * accum + grad; var -= lr * accum
        (nesterov: var -= lr * (grad + momentum * accum)). TF1 ApplyMomentum."""
        cdef str fn = self._fn("apply_momentum")
        cdef _Arr a[3]
        cdef list keep = [var, accum, grad]
        self._slots(fn, ["var", "accum", "grad"], keep, a)
        cdef void *lr_p = _scalar(fn, "lr", lr, a[0].kind, keep)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_MOMENTUM
        ins.dtype = a[0].kind
        ins.s[0] = _number(fn, "momentum", momentum)
        if use_nesterov:
            ins.flags |= EST_FLAG_NESTEROV
        ins.n[0] = a[0].size
        ins.p[0] = a[0].data
        ins.p[1] = a[1].data
        ins.p[2] = a[2].data
        ins.p[3] = lr_p
        return self._done(fn, keep, None)

    def apply_adagrad(self, var, accum, grad, lr):
        """accum += grad^2; var -= lr * grad / sqrt(accum). TF1 ApplyAdagrad (the caller
        fills accum with initial_accumulator_value)."""
        cdef str fn = self._fn("apply_adagrad")
        cdef _Arr a[3]
        cdef list keep = [var, accum, grad]
        self._slots(fn, ["var", "accum", "grad"], keep, a)
        cdef void *lr_p = _scalar(fn, "lr", lr, a[0].kind, keep)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_ADAGRAD
        ins.dtype = a[0].kind
        ins.n[0] = a[0].size
        ins.p[0] = a[0].data
        ins.p[1] = a[1].data
        ins.p[2] = a[2].data
        ins.p[3] = lr_p
        return self._done(fn, keep, None)

    def apply_rmsprop(self, var, ms, mom, grad, lr, rho, momentum, epsilon, mg=None):
        """TF1 ApplyRMSProp, or ApplyCenteredRMSProp when ``mg`` is given:
        ms = rho ms + (1 - rho) g^2; [mg = rho mg + (1 - rho) g];
        mom = momentum mom + lr g / sqrt(ms [- mg^2] + epsilon); var -= mom."""
        cdef str fn = self._fn("apply_rmsprop")
        cdef _Arr a[5]
        cdef list names = ["var", "ms", "mom", "grad"] + (["mg"] if mg is not None else [])
        cdef list keep = [var, ms, mom, grad] + ([mg] if mg is not None else [])
        self._slots(fn, names, keep, a)
        cdef void *lr_p = _scalar(fn, "lr", lr, a[0].kind, keep)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_RMSPROP
        ins.dtype = a[0].kind
        ins.s[0] = _number(fn, "rho", rho)
        ins.s[1] = _number(fn, "momentum", momentum)
        ins.s[2] = _number(fn, "epsilon", epsilon)
        if mg is not None:
            ins.flags |= EST_FLAG_CENTERED
        ins.n[0] = a[0].size
        ins.p[0] = a[0].data
        ins.p[1] = a[1].data
        ins.p[2] = a[2].data
        ins.p[3] = a[4].data if mg is not None else NULL
        ins.p[4] = a[3].data
        ins.p[5] = lr_p
        return self._done(fn, keep, None)

    def apply_adam(self, var, m, v, grad, beta1_power, beta2_power, lr, beta1, beta2, epsilon,
                   use_nesterov=False):
        """TF1 ApplyAdam: lr_t = lr sqrt(1 - beta2_power) / (1 - beta1_power);
        m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
        var -= lr_t m / (sqrt(v) + epsilon). ``beta1_power``, ``beta2_power`` and ``lr``
        are numbers or 0-d / 1-element arrays read at run time; the powers are not
        updated here (scale them by beta1 / beta2 once per step, after all variables)."""
        cdef str fn = self._fn("apply_adam")
        cdef _Arr a[4]
        cdef list keep = [var, m, v, grad]
        self._slots(fn, ["var", "m", "v", "grad"], keep, a)
        cdef void *b1p = _scalar(fn, "beta1_power", beta1_power, a[0].kind, keep)
        cdef void *b2p = _scalar(fn, "beta2_power", beta2_power, a[0].kind, keep)
        cdef void *lr_p = _scalar(fn, "lr", lr, a[0].kind, keep)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_ADAM
        ins.dtype = a[0].kind
        ins.s[0] = _number(fn, "beta1", beta1)
        ins.s[1] = _number(fn, "beta2", beta2)
        ins.s[2] = _number(fn, "epsilon", epsilon)
        if use_nesterov:
            ins.flags |= EST_FLAG_NESTEROV
        ins.n[0] = a[0].size
        for i in range(4):
            ins.p[i] = a[i].data
        ins.p[4] = b1p
        ins.p[5] = b2p
        ins.p[6] = lr_p
        return self._done(fn, keep, None)

    # ---- elementwise helpers ------------------------------------------------------------

    cdef int _unary(self, str fn, str xn, x, str on, out, _Arr *ax, _Arr *ao,
                    bint allow_same) except -1:
        """x and out: same dtype and shape; out writeable; out == x allowed if allow_same."""
        _get_float(fn, xn, x, ax, False, -1, "")
        _get_float(fn, on, out, ao, True, ax.kind, xn)
        _want_same(fn, on, ao, xn, ax)
        _disjoint(fn, on, ao, xn, ax, allow_same)
        return 0

    def activation_forward(self, x, out, act, alpha=None):
        """out = act(x) elementwise (any shape); ``out`` may be ``x`` (in place)."""
        cdef str fn = self._fn("activation_forward")
        cdef _Arr ax, ao
        self._unary(fn, "x", x, "out", out, &ax, &ao, True)
        cdef int code = _act(fn, act)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_ACT_FORWARD
        ins.dtype = ax.kind
        ins.act = code
        ins.s[0] = _act_alpha(fn, code, alpha)
        ins.n[0] = ax.size
        ins.p[0] = ax.data
        ins.p[1] = ao.data
        return self._done(fn, [x, out], None)

    def activation_backward(self, y, dy, out, act, alpha=None):
        """out = dy * act'(x), computed from the activation's OUTPUT ``y``; ``out`` may
        be ``dy`` (in place)."""
        cdef str fn = self._fn("activation_backward")
        cdef _Arr ay, ady, ao
        self._unary(fn, "dy", dy, "out", out, &ady, &ao, True)
        _get_float(fn, "y", y, &ay, False, ady.kind, "dy")
        _want_same(fn, "y", &ay, "dy", &ady)
        _disjoint(fn, "out", &ao, "y", &ay)
        cdef int code = _act(fn, act)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_ACT_BACKWARD
        ins.dtype = ady.kind
        ins.act = code
        ins.s[0] = _act_alpha(fn, code, alpha)
        ins.n[0] = ady.size
        ins.p[0] = ay.data
        ins.p[1] = ady.data
        ins.p[2] = ao.data
        return self._done(fn, [y, dy, out], None)

    def bias_add(self, x, b, out):
        """out = x + b, b broadcast over the last axis: x (..., n), b (n,); out may be x."""
        cdef str fn = self._fn("bias_add")
        cdef _Arr ax, ab, ao
        self._unary(fn, "x", x, "out", out, &ax, &ao, True)
        if ax.ndim < 1:
            raise InvalidArgumentError(f"{fn}: `x` must have at least 1 dimension. "
                                       f"Received: x.shape=()")
        cdef int64_t n = ax.shape[ax.ndim - 1]
        _get_float(fn, "b", b, &ab, False, ax.kind, "x")
        _want_shape(fn, "b", b, &ab, (n,), f"({n},)", f" to match the last axis of x {_shape_str(_shape(&ax))}")
        _disjoint(fn, "out", &ao, "b", &ab)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_BIAS_ADD
        ins.dtype = ax.kind
        ins.n[0] = ax.size // n if n > 0 else 0
        ins.n[1] = n
        ins.p[0] = ax.data
        ins.p[1] = ab.data
        ins.p[2] = ao.data
        return self._done(fn, [x, b, out], None)

    cdef int _binary(self, str name, int op, a, b, out) except -1:
        cdef str fn = self._fn(name)
        cdef _Arr aa, ab, ao
        self._unary(fn, "a", a, "out", out, &aa, &ao, True)
        _get_float(fn, "b", b, &ab, False, aa.kind, "a")
        _want_same(fn, "b", &ab, "a", &aa)
        _disjoint(fn, "out", &ao, "b", &ab, True)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_BINARY
        ins.sub = op
        ins.dtype = aa.kind
        ins.n[0] = aa.size
        ins.p[0] = aa.data
        ins.p[1] = ab.data
        ins.p[2] = ao.data
        return self._done(fn, [a, b, out], None)

    def add(self, a, b, out):
        """out = a + b (same shapes; out may be a or b)."""
        self._binary("add", EST_BINOP_ADD, a, b, out)

    def sub(self, a, b, out):
        """out = a - b (same shapes; out may be a or b)."""
        self._binary("sub", EST_BINOP_SUB, a, b, out)

    def mul(self, a, b, out):
        """out = a * b (same shapes; out may be a or b)."""
        self._binary("mul", EST_BINOP_MUL, a, b, out)

    def axpy(self, src, dst, alpha=None):
        """dst += alpha * src (alpha: None = 1, a number, or a 0-d / 1-element array)."""
        cdef str fn = self._fn("axpy")
        cdef _Arr asrc, adst
        cdef list keep = [src, dst]
        self._unary(fn, "src", src, "dst", dst, &asrc, &adst, False)
        cdef void *ap = NULL
        if alpha is not None:
            ap = _scalar(fn, "alpha", alpha, asrc.kind, keep)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_AXPY
        ins.dtype = asrc.kind
        ins.n[0] = asrc.size
        ins.p[0] = asrc.data
        ins.p[1] = adst.data
        ins.p[2] = ap
        return self._done(fn, keep, None)

    def scale(self, x, out, alpha):
        """out = alpha * x (alpha: a number or a 0-d / 1-element array); out may be x."""
        cdef str fn = self._fn("scale")
        cdef _Arr ax, ao
        cdef list keep = [x, out]
        self._unary(fn, "x", x, "out", out, &ax, &ao, True)
        cdef void *ap = _scalar(fn, "alpha", alpha, ax.kind, keep)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_SCALE
        ins.dtype = ax.kind
        ins.n[0] = ax.size
        ins.p[0] = ax.data
        ins.p[1] = ao.data
        ins.p[2] = ap
        return self._done(fn, keep, None)

    def fill(self, out, value):
        """out[...] = value (a number)."""
        cdef str fn = self._fn("fill")
        cdef _Arr ao
        _get_float(fn, "out", out, &ao, True, -1, "")
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_FILL
        ins.dtype = ao.kind
        ins.s[0] = _number(fn, "value", value)
        ins.n[0] = ao.size
        ins.p[0] = ao.data
        return self._done(fn, [out], None)

    def copy(self, src, out):
        """out[...] = src (same shape and dtype)."""
        cdef str fn = self._fn("copy")
        cdef _Arr a_s, ao
        self._unary(fn, "src", src, "out", out, &a_s, &ao, True)
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_COPY
        ins.dtype = a_s.kind
        ins.n[0] = a_s.size
        ins.p[0] = a_s.data
        ins.p[1] = ao.data
        return self._done(fn, [src, out], None)

    cdef int _reduce(self, str name, bint mean, x, out, axis, accumulate) except -1:
        cdef str fn = self._fn(name)
        cdef _Arr ax, ao
        cdef int sub
        cdef int64_t rows, cols
        _get_float(fn, "x", x, &ax, False, -1, "")
        _get_float(fn, "out", out, &ao, True, ax.kind, "x")
        _disjoint(fn, "out", &ao, "x", &ax)
        shape = _shape(&ax)
        if axis is None:
            sub, rows, cols = EST_REDUCE_ALL, 1, ax.size
            if ao.size != 1:
                raise InvalidArgumentError(f"{fn}: `out` must have exactly 1 element (shape () "
                                           f"or (1,)) for axis=None. Received: out.shape="
                                           f"{_shape_str(_shape(&ao))}")
        else:
            ax_i = axis + ax.ndim if isinstance(axis, int) and axis < 0 else axis
            if not isinstance(axis, int) or isinstance(axis, bool) or ax.ndim == 0 or \
                    ax_i not in (0, ax.ndim - 1):
                raise InvalidArgumentError(f"{fn}: `axis` must be None, 0 or -1 (the first or the "
                                           f"last axis of x {_shape_str(shape)}). "
                                           f"Received: {_describe('axis', axis)}")
            if ax_i == 0:
                sub, rows = EST_REDUCE_ROWS, shape[0]
                cols = 1
                for s_ in shape[1:]:
                    cols *= s_
                want = shape[1:]
            else:
                last = len(shape) - 1  # (wraparound is off: no negative indices)
                sub, cols = EST_REDUCE_COLS, shape[last]
                rows = 1
                for s_ in shape[:last]:
                    rows *= s_
                want = shape[:last]
            _want_shape(fn, "out", out, &ao, want, _shape_str(want),
                        f" (x {_shape_str(shape)} reduced over axis {axis})")
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_REDUCE_SUM
        ins.sub = sub
        ins.dtype = ax.kind
        if mean:
            ins.flags |= EST_FLAG_MEAN
        if accumulate:
            ins.flags |= EST_FLAG_ACCUMULATE
        ins.n[0] = rows
        ins.n[1] = cols
        ins.p[0] = ax.data
        ins.p[1] = ao.data
        return self._done(fn, [x, out], None)

    def reduce_sum(self, x, out, axis=None, accumulate=False):
        """out (+)= sum of x: over everything (axis=None, out has 1 element), over the
        first axis (axis=0, out = x.shape[1:]: bias gradients), or over the last axis
        (axis=-1, out = x.shape[:-1]). float32 totals accumulate in float64."""
        self._reduce("reduce_sum", False, x, out, axis, accumulate)

    def reduce_mean(self, x, out, axis=None, accumulate=False):
        """Like reduce_sum, divided by the number of summed elements."""
        self._reduce("reduce_mean", True, x, out, axis, accumulate)

    def increment(self, value, delta=1):
        """value += delta for an int64 array of one element (a global step)."""
        cdef str fn = self._fn("increment")
        cdef _Arr av
        _get(fn, "value", value, &av, True)
        if av.kind != _I64 or av.size != 1:
            raise InvalidArgumentError(f"{fn}: `value` must be an int64 array with one element. "
                                       f"Received: {_describe_array('value', value)}")
        if not isinstance(delta, numbers.Integral) or isinstance(delta, bool):
            raise TypeError(f"{fn}: `delta` must be an int. Received: {_describe('delta', delta)}")
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_INCREMENT_I64
        ins.n[0] = delta
        ins.p[0] = av.data
        return self._done(fn, [value], None)
