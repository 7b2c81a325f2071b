# _kernels_fusion.pxi -- the rewrites behind Program's fusion methods (merge_update,
# fold_relu_into_pool, merge_conv_pool_forward, merge_conv_backward_pooled): each checks
# that the program's last two instructions CAN run as one (the same results as the
# pair) and rewrites them, or raises ValueError naming why and changes nothing. Whether
# to fuse is the plan compiler's decision (graph/programs.py), never made here.
# Included by _kernels.pyx after _kernels_program.pxi (it needs Program's fields).

def _overlaps_any(out, arrays):
    """Whether ``out`` shares memory with any of ``arrays`` (None entries skipped): an
    output the second instruction of a pair writes over an input the first reads, which
    a merge that interleaves them would change."""
    return any(arr is not None and np.may_share_memory(out, arr) for arr in arrays)


def _pool_gradient_read_elsewhere(list pool_keep, list conv_keep):
    """Whether the pool gradient (the max_pool2d_backward's output) shares memory with
    an input the conv2d_backward reads other than as its dy (x, filters, y): the pair
    then reads what the pool wrote there, which folding or merging would change."""
    return _overlaps_any(pool_keep[2], conv_keep[:3])


cdef int _fuse_pop_merged(Program self, str name) except -1:
    """The bookkeeping of a merge into instruction n-2: it keeps both instructions'
    arrays and takes ``name``; instruction n-1 is dropped."""
    self._keep[self._n - 2] = self._keep[self._n - 2] + self._keep[self._n - 1]
    self._names[self._n - 2] = name
    self._keep.pop()
    self._names.pop()
    self._labels.pop()
    self._n -= 1
    self._stand_in_ok = {}
    return 0


cdef int _fuse_merge_update(Program self, bint drop_gradient=False) except -1:
    cdef str fn = "Program.merge_update"
    self._check_idle()
    if self._n < 2:
        raise ValueError(f"{fn}: needs a dense_backward then an optimizer update; the "
                         f"program has {self._n} instruction(s)")
    cdef est_instr *a = &self._ins[self._n - 1]
    cdef est_instr *d = &self._ins[self._n - 2]
    # per update opcode: kind, names of var and its slots (their _keep positions),
    # grad / lr / beta power slots, its hyperparameters s[0..2] and its flag
    cdef dict layout = {
        EST_OP_SGD: (EST_UPDATE_SGD, ("var",), 1, 2, -1, -1),
        EST_OP_MOMENTUM: (EST_UPDATE_MOMENTUM, ("var", "accum"), 2, 3, -1, -1),
        EST_OP_ADAGRAD: (EST_UPDATE_ADAGRAD, ("var", "accum"), 2, 3, -1, -1),
        EST_OP_RMSPROP: (EST_UPDATE_RMSPROP, ("var", "ms", "mom"), 4, 5, -1, -1),
        EST_OP_ADAM: (EST_UPDATE_ADAM, ("var", "m", "v"), 3, 6, 4, 5),
    }
    if a.op not in layout or d.op != EST_OP_DENSE_BACKWARD or a.dtype != d.dtype:
        raise ValueError(f"{fn}: the last two instructions must be dense_backward then an "
                         f"optimizer update of one dtype. Received: "
                         f"{self._names[self._n - 2]}, {self._names[self._n - 1]}")
    kind, names, gi, li, b1i, b2i = layout[a.op]
    if d.p[5] == NULL or (d.flags & EST_FLAG_ACCUMULATE):
        raise ValueError(f"{fn}: the dense_backward must compute dw and not accumulate "
                         "into its outputs")
    if a.p[gi] != d.p[5] or a.n[0] != d.n[1] * d.n[2]:
        raise ValueError(f"{fn}: the {self._names[self._n - 1]} gradient must be exactly "
                         "the dense_backward's dw_out")
    bkeep = self._keep[self._n - 2]
    ukeep = self._keep[self._n - 1]  # the update's slots, grad, [mg,] then its scalars
    state = list(zip(names, ukeep[:len(names)]))
    cdef int centered = a.op == EST_OP_RMSPROP and (a.flags & EST_FLAG_CENTERED) != 0
    if centered:
        state.append(("mg", ukeep[len(names) + 1]))
    for name, arr in state:
        for pos, other in enumerate(bkeep):
            if other is None or not np.may_share_memory(arr, other):
                continue
            if name == "var" and pos == 1 and a.p[0] == d.p[1]:
                continue  # var is w itself: dx reads it before the update
            raise ValueError(f"{fn}: the {self._names[self._n - 1]} {name} shares memory "
                             "with an array of the dense_backward")
    # the fused op reads the update's lr / beta powers first, before the backward
    # writes its outputs: none of them may be one of those outputs
    for arr in ukeep[len(names) + 1 + centered:]:
        if _overlaps_any(arr, bkeep[4:8]):
            raise ValueError(f"{fn}: a scalar input of the {self._names[self._n - 1]} "
                             "(lr, beta powers) shares memory with an output of the "
                             "dense_backward")
    d.op = EST_OP_DENSE_BACKWARD_UPDATE
    d.n[3] = kind
    d.p[8] = a.p[0]
    d.p[9] = a.p[1] if len(names) > 1 else NULL
    d.p[10] = a.p[2] if len(names) > 2 else NULL
    d.p[11] = a.p[3] if a.op == EST_OP_RMSPROP else NULL
    d.p[12] = a.p[li]
    d.p[13] = a.p[b1i] if b1i >= 0 else NULL
    d.p[14] = a.p[b2i] if b2i >= 0 else NULL
    d.s[1], d.s[2], d.s[3] = a.s[0], a.s[1], a.s[2]
    d.flags |= a.flags & (EST_FLAG_NESTEROV | EST_FLAG_CENTERED)
    if drop_gradient:
        d.flags |= EST_FLAG_DW_SCRATCH
    return _fuse_pop_merged(self, "dense_backward+" + self._names[self._n - 1])


cdef int _fuse_fold_relu_into_pool(Program self) except -1:
    cdef str fn = "Program.fold_relu_into_pool"
    self._check_idle()
    if self._n < 2:
        raise ValueError(f"{fn}: needs a max_pool2d_backward then a conv2d_backward; the "
                         f"program has {self._n} instruction(s)")
    cdef est_instr *c = &self._ins[self._n - 1]
    cdef est_instr *q = &self._ins[self._n - 2]
    if q.op != EST_OP_MAX_POOL_BACKWARD or c.op != EST_OP_CONV2D_BACKWARD or \
            q.dtype != c.dtype or q.act != EST_ACT_NONE:
        raise ValueError(f"{fn}: the last two instructions must be max_pool2d_backward "
                         f"then conv2d_backward of one dtype. Received: "
                         f"{self._names[self._n - 2]}, {self._names[self._n - 1]}")
    if c.act != EST_ACT_RELU:
        raise ValueError(f"{fn}: the conv2d_backward's activation must be relu")
    # conv backward: x f y dy dz col dx df db; max pool backward: x dy dx
    if c.p[3] != q.p[2] or c.p[2] != q.p[0] or c.p[2] == NULL:
        raise ValueError(f"{fn}: the pool gradient must be the conv backward's dy and "
                         "the pool's input the conv's output y")
    if _pool_gradient_read_elsewhere(self._keep[self._n - 2], self._keep[self._n - 1]):
        raise ValueError(f"{fn}: the pool gradient must not share memory with the conv "
                         "backward's x, filters or y")
    cdef est_window *wq = &q.win
    cdef est_window *wc = &c.win
    if wq.batch * wq.in_h * wq.in_w * wq.in_c != wc.batch * wc.out_h * wc.out_w * wc.out_c:
        raise ValueError(f"{fn}: the pool's input and the conv's output differ in size")
    q.act = EST_ACT_RELU
    c.act = EST_ACT_NONE
    self._names[self._n - 2] = "max_pool2d_backward+relu"
    self._stand_in_ok = {}
    return 0


cdef int _fuse_merge_conv_pool_forward(Program self) except -1:
    cdef str fn = "Program.merge_conv_pool_forward"
    self._check_idle()
    if self._n < 2:
        raise ValueError(f"{fn}: needs a conv2d_forward then a max_pool2d_forward; the "
                         f"program has {self._n} instruction(s)")
    cdef est_instr *c = &self._ins[self._n - 2]
    cdef est_instr *q = &self._ins[self._n - 1]
    if c.op != EST_OP_CONV2D_FORWARD or q.op != EST_OP_MAX_POOL_FORWARD or \
            q.dtype != c.dtype:
        raise ValueError(f"{fn}: the last two instructions must be conv2d_forward then "
                         f"max_pool2d_forward of one dtype. Received: "
                         f"{self._names[self._n - 2]}, {self._names[self._n - 1]}")
    # conv forward: x f b y col; max pool forward: x y
    cdef est_window *wq = &q.win
    cdef est_window *wc = &c.win
    if q.p[0] != c.p[3] or wq.batch != wc.batch or wq.in_h != wc.out_h or \
            wq.in_w != wc.out_w or wq.in_c != wc.out_c:
        raise ValueError(f"{fn}: the pool's input must be the conv's output")
    if _overlaps_any(self._keep[self._n - 1][2], self._keep[self._n - 2][:3]):
        raise ValueError(f"{fn}: the pool's output must not share memory with the conv's "
                         "x, filters or bias (the conv reads them while images are pooled)")
    c.win2 = q.win
    c.op = EST_OP_CONV2D_FORWARD_POOLED
    c.p[4] = q.p[1]
    return _fuse_pop_merged(self, "conv2d_forward+max_pool2d_forward")


cdef bint _pool_window_tiles(est_window *pw):
    """Whether a pool's windows tile its input: stride = window, no padding, the input a
    whole number of windows (est_conv.c: pool_tiles)."""
    return pw.stride_h == pw.k_h and pw.stride_w == pw.k_w and pw.pad_top == 0 and \
        pw.pad_left == 0 and pw.out_h * pw.k_h == pw.in_h and pw.out_w * pw.k_w == pw.in_w


cdef int _fuse_merge_conv_backward_pooled(Program self) except -1:
    cdef str fn = "Program.merge_conv_backward_pooled"
    self._check_idle()
    if self._n < 2:
        raise ValueError(f"{fn}: needs a max_pool2d_backward+relu then a conv2d_backward; "
                         f"the program has {self._n} instruction(s)")
    cdef est_instr *c = &self._ins[self._n - 1]
    cdef est_instr *q = &self._ins[self._n - 2]
    if q.op != EST_OP_MAX_POOL_BACKWARD or q.act != EST_ACT_RELU or \
            c.op != EST_OP_CONV2D_BACKWARD or c.act != EST_ACT_NONE or q.dtype != c.dtype:
        raise ValueError(f"{fn}: the last two instructions must be max_pool2d_backward+relu "
                         f"then conv2d_backward (no activation) of one dtype. Received: "
                         f"{self._names[self._n - 2]}, {self._names[self._n - 1]}")
    # conv backward: x f y dy dz col dx df db; max pool backward: x dy dx
    if c.p[6] != NULL:
        raise ValueError(f"{fn}: the conv2d_backward must not compute the input gradient")
    if c.p[7] == NULL:
        raise ValueError(f"{fn}: the conv2d_backward must compute the filter gradient")
    if c.p[3] != q.p[2]:
        raise ValueError(f"{fn}: the pool gradient must be the conv backward's dy")
    if _pool_gradient_read_elsewhere(self._keep[self._n - 2], self._keep[self._n - 1]):
        raise ValueError(f"{fn}: the pool gradient must not share memory with the conv "
                         "backward's x, filters or y")
    cdef est_window *wq = &q.win
    cdef est_window *wc = &c.win
    if wq.batch != wc.batch or wq.in_h != wc.out_h or wq.in_w != wc.out_w or \
            wq.in_c != wc.out_c:
        raise ValueError(f"{fn}: the pool's input must have the conv output's shape")
    if not _pool_window_tiles(wq):
        raise ValueError(f"{fn}: the pool's windows must tile its input (stride = window, "
                         f"no padding). Received: window {wq.k_h}x{wq.k_w}, strides "
                         f"{wq.stride_h}x{wq.stride_w} over {wq.in_h}x{wq.in_w}")
    cdef void *x = c.p[0]
    cdef void *y = q.p[0]
    cdef void *pdy = q.p[1]
    cdef void *dz = q.p[2]
    cdef void *df = c.p[7]
    cdef void *db = c.p[8]
    cdef int64_t kh = wq.k_h, kw = wq.k_w
    q.win = c.win
    q.op = EST_OP_CONV2D_BACKWARD_POOLED
    q.act = EST_ACT_NONE
    q.flags = c.flags & EST_FLAG_ACCUMULATE
    memset(q.p, 0, sizeof(q.p))
    memset(q.n, 0, sizeof(q.n))
    memset(q.s, 0, sizeof(q.s))
    q.p[0], q.p[1], q.p[2], q.p[3], q.p[4], q.p[5] = x, y, pdy, dz, df, db
    q.n[0], q.n[1] = kh, kw
    return _fuse_pop_merged(self, "max_pool2d_backward+relu+conv2d_backward")


cdef object _pool_pick_users(Program self, Py_ssize_t f, Py_ssize_t b):
    """Whether instruction f, a ``conv2d_forward+max_pool2d_forward`` with ReLU, and
    instruction b after it, the pool's gradient through the ReLU that reads f's conv
    output y (``max_pool2d_backward+relu+conv2d_backward``, or ``max_pool2d_backward+
    relu`` of the same pool window), CAN keep the pool's picks instead of y (est_conv.h:
    the same pooled output and gradients): one dtype, pool windows that tile y with at
    most 254 elements each, not a 1x1 stride-1 conv. Returns None where not, else the
    other instructions holding y that do not read it (a ``conv2d_backward`` without
    activation, y its unused y argument, after b); any other instruction touching y's
    bytes makes it None."""
    cdef est_instr *c = &self._ins[f]
    cdef est_instr *q = &self._ins[b]
    cdef est_instr *o
    if c.op != EST_OP_CONV2D_FORWARD_POOLED or c.act != EST_ACT_RELU or c.dtype != q.dtype \
            or c.p[3] == NULL or f >= b or not _pool_window_tiles(&c.win2) \
            or c.win2.k_h * c.win2.k_w >= 255:
        return None
    if c.win.k_h == 1 and c.win.k_w == 1 and c.win.stride_h == 1 and c.win.stride_w == 1:
        return None
    if q.op == EST_OP_CONV2D_BACKWARD_POOLED:
        if q.p[1] != c.p[3] or memcmp(&c.win, &q.win, sizeof(est_window)) != 0 or \
                c.win2.k_h != q.n[0] or c.win2.k_w != q.n[1]:
            return None
    elif q.op == EST_OP_MAX_POOL_BACKWARD:
        if q.act != EST_ACT_RELU or q.p[0] != c.p[3] or \
                memcmp(&c.win2, &q.win, sizeof(est_window)) != 0:
            return None
    else:
        return None
    y = self._keep[f][3]
    others = []
    for i in range(self._n):
        if i == f or i == b or not _overlaps_any(y, self._keep[i]):
            continue
        o = &self._ins[i]
        if i > b and o.op == EST_OP_CONV2D_BACKWARD and o.act == EST_ACT_NONE and \
                o.p[2] == c.p[3] and not _overlaps_any(y, [a for j, a in
                                                          enumerate(self._keep[i]) if j != 2]):
            others.append(i)
            continue
        return None
    return others


cdef list _fuse_pool_pick_pairs(Program self):
    cdef Py_ssize_t f, b
    out = []
    for f in range(self._n):
        for b in range(f + 1, self._n):
            others = _pool_pick_users(self, f, b)
            if others is not None:
                out.append((f, b, tuple(others)))
    return out


cdef int _fuse_use_pool_picks(Program self, Py_ssize_t f, Py_ssize_t b) except -1:
    cdef str fn = "Program.use_pool_picks"
    self._check_idle()
    others = None
    if 0 <= f < self._n and 0 <= b < self._n:
        others = _pool_pick_users(self, f, b)
    if others is None:
        raise ValueError(f"{fn}: instructions {f} and {b} must be a conv2d_forward+"
                         "max_pool2d_forward with relu and, after it, the gradient of that "
                         "pool through the relu reading its conv output (max_pool2d_"
                         "backward+relu, or merged with the conv's gradient), the pool "
                         "windows tiling that output (at most 254 elements each), with no "
                         "other instruction reading the conv output")
    cdef est_instr *c = &self._ins[f]
    cdef est_instr *q = &self._ins[b]
    cdef Py_ssize_t i
    picks = np.empty((c.win2.batch, c.win2.out_h, c.win2.out_w, c.win2.out_c), np.uint8)
    cdef uintptr_t at = _c_data(picks) if picks.size else 0
    c.op = EST_OP_CONV2D_FORWARD_POOLED_PICK
    c.p[5] = <void *>at
    if q.op == EST_OP_CONV2D_BACKWARD_POOLED:
        q.op = EST_OP_CONV2D_BACKWARD_POOLED_PICK
        q.p[1] = <void *>at
    else:
        q.op = EST_OP_MAX_POOL_BACKWARD_PICK
        q.act = EST_ACT_NONE
        q.p[0] = <void *>at
    for i in others:  # a conv2d_backward without activation: y is not read, say so
        self._ins[i].p[2] = NULL
    self._keep[f] = self._keep[f] + [picks]
    self._keep[b] = self._keep[b] + [picks]
    if picks.nbytes:
        self._writes.append(_byte_bounds(picks))
    self._names[f] = self._names[f] + "+picks"
    self._names[b] = self._names[b] + "+picks"
    self._stand_in_ok = {}
    return 0
