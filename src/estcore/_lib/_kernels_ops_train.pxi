# _kernels_ops_train.pxi -- softmax cross-entropy, optimizer updates and elementwise
# helpers (included by _kernels.pyx after _kernels_ops_conv.pxi).


cdef class _Builder(_BuilderConv):
    """Losses, optimizer updates and elementwise helpers (see _BuilderBase)."""

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
        return self._done(fn, keep, (labels, c) if sparse else None, [loss_out, dlogits_out])

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
        return self._done(fn, keep, None, [var])

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
        return self._done(fn, keep, None, [var, accum])

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
        return self._done(fn, keep, None, [var, accum])

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
        return self._done(fn, keep, None, [var, ms, mom, mg])

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
        return self._done(fn, keep, None, [var, m, v])

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
        return self._done(fn, [x, out], None, [out])

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
        return self._done(fn, [y, dy, out], None, [out])

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
        return self._done(fn, [x, b, out], None, [out])

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
        return self._done(fn, [a, b, out], None, [out])

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
        return self._done(fn, keep, None, [dst])

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
        return self._done(fn, keep, None, [out])

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
        return self._done(fn, [out], None, [out])

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
        return self._done(fn, [src, out], None, [out])

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
        return self._done(fn, [x, out], None, [out])

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
        if not -(2 ** 63) <= delta < 2 ** 63:
            raise InvalidArgumentError(f"{fn}: `delta` must fit in int64. Received: "
                                       f"{_describe('delta', delta)}")
        cdef est_instr *ins = self._slot()
        ins.op = EST_OP_INCREMENT_I64
        ins.n[0] = delta
        ins.p[0] = av.data
        return self._done(fn, [value], None, [value])
