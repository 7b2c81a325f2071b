# _kernels_ops_conv.pxi -- convolution and pooling operations (included by
# _kernels.pyx after _kernels_ops.pxi).


cdef class _BuilderConv(_BuilderBase):
    """Convolution and pooling operations (see _BuilderBase)."""

    # ---- convolution and pooling (NHWC) -------------------------------------------

    def conv2d_forward(self, x, filters, bias, out, col, strides=1, padding="VALID", act=None,
                       alpha=None):
        """out = act(conv2d(x, filters) + bias): a GEMM (implicit from 8 input channels, else
        over blocks of im2col rows) with the bias and activation fused in its store.

        Args:
            x: float32/float64 (batch, in_h, in_w, in_c), NHWC.
            filters: (k_h, k_w, in_c, out_c), HWIO (TF's layout).
            bias: (out_c,) or None.
            out: (batch, out_h, out_w, out_c), written (see conv2d_output_shape).
            col: no longer needed (conv2d_col_size is 0 for every geometry): None, or a
                scratch array of x's dtype, which is checked and left as it was.
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
        return self._done(fn, [x, filters, bias, out, col], None, [out, col])

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
            _disjoint(fn, "dz_out", &adz, "x", &ax)  # dz is written before x and filters are read
            _disjoint(fn, "dz_out", &adz, "filters", &af)
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
                          None, [col if col_data != NULL else None, dx_out, dfilters_out,
                                 dbias_out, dz_out if code != EST_ACT_NONE else None])

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
        return self._done(fn, [x, dy, out], None, [out])

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
