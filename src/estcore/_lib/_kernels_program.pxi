# _kernels_program.pxi -- activation codes, running instructions (immediate and
# Program), thread settings and the GEMM instruction set (included by _kernels.pyx).

# ---- activations ----------------------------------------------------------------------

ACT_NONE = EST_ACT_NONE
ACT_RELU = EST_ACT_RELU
ACT_RELU6 = EST_ACT_RELU6
ACT_SIGMOID = EST_ACT_SIGMOID
ACT_TANH = EST_ACT_TANH
ACT_ELU = EST_ACT_ELU
ACT_SELU = EST_ACT_SELU
ACT_SOFTPLUS = EST_ACT_SOFTPLUS
ACT_LEAKY_RELU = EST_ACT_LEAKY_RELU

_ACT_BY_NAME = {
    "none": ACT_NONE, "linear": ACT_NONE, "relu": ACT_RELU, "relu6": ACT_RELU6,
    "sigmoid": ACT_SIGMOID, "tanh": ACT_TANH, "elu": ACT_ELU, "selu": ACT_SELU,
    "softplus": ACT_SOFTPLUS, "leaky_relu": ACT_LEAKY_RELU,
}


def activation_code(name) -> int:
    """The ACT_* code for an activation name ('relu', 'leaky_relu', ...; None -> ACT_NONE)."""
    return _act("activation_code", name)


# ---- running instructions ---------------------------------------------------------------

cdef object _run_error(str fn, est_status status, int64_t detail, object labels):
    """The exception for a failed kernel. ``labels`` is (labels array, classes) for the
    sparse cross-entropy, whose C kernel reports the first bad row in ``detail``."""
    if labels is not None and status == EST_ERR_INVALID_ARGUMENT and detail >= 0:
        arr, classes = labels
        return InvalidArgumentError(
            f"{fn}: `labels` must be in [0, {classes}) (the number of classes). "
            f"Received: labels[{detail}]={int(arr.reshape(-1)[detail])}")
    return error_for_status(<int>status, f"{fn}: {est_status_str(status).decode()}")


cdef class _Immediate(_Builder):
    """Runs each validated instruction at once (backs the module-level functions)."""
    cdef est_instr _ins

    def __cinit__(self):
        self._prefix = ""

    cdef est_instr *_slot(self) except NULL:
        memset(&self._ins, 0, sizeof(est_instr))
        return &self._ins

    cdef int _done(self, str fn, list keep, object labels, list writes) except -1:
        cdef est_status st
        cdef int64_t detail = -1
        with nogil:
            st = est_instr_run(&self._ins, &detail)
        if st != EST_OK:
            raise _run_error(fn, st, detail, labels)
        return 0


cdef uintptr_t _c_data(object arr) except? 0:
    """The data address of a C-contiguous array (buffer protocol; no copy, no ctypes)."""
    cdef Py_buffer view
    PyObject_GetBuffer(arr, &view, PyBUF_C_CONTIGUOUS)
    cdef uintptr_t address = <uintptr_t>view.buf
    PyBuffer_Release(&view)
    return address


cdef class Program(_Builder):
    """A list of validated kernel calls, run in order by one ``run()`` call.

    Each method has the name and arguments of the module-level function of the same
    name (``prog.dense_forward(x, w, b, out, act)``); it validates once, stores raw data
    pointers, and keeps a reference to every array so the pointers stay valid. Arrays
    are used in place: write new inputs into them (``x[...] = batch``) between runs.
    Run-time scalars (lr, beta powers, scale) given as arrays are read at every run.

    ``run()`` executes every instruction with the GIL released, without Python work in
    between; a failure stops the run and raises with the instruction's index and name
    (earlier instructions have run). A Program is not thread-safe: one ``run()`` at a
    time (a concurrent ``run`` or a change during a run raises RuntimeError).
    """
    cdef est_instr *_ins
    cdef Py_ssize_t _n, _cap
    cdef list _keep       # per instruction: the arrays it points into
    cdef list _writes     # [lo, hi) byte ranges of every array some instruction writes
    cdef dict _stand_in_ok  # (lo, hi) of a buffer -> may run_with stand in for it (cache)
    cdef list _names      # per instruction: the operation name
    cdef list _labels     # per instruction: (labels, classes) or None, for errors
    cdef bint _running

    def __cinit__(self, *args, **kwargs):
        self._prefix = "Program."
        self._ins = NULL
        self._n = self._cap = 0
        self._keep, self._names, self._labels = [], [], []
        self._writes = []
        self._stand_in_ok = {}
        self._running = False

    def __dealloc__(self):
        free(self._ins)

    cdef int _check_idle(self) except -1:
        if self._running:
            raise RuntimeError("Program is running in another thread; it cannot be changed or "
                               "run again until that run() returns.")
        return 0

    cdef est_instr *_slot(self) except NULL:
        cdef est_instr *grown
        self._check_idle()
        if self._n == self._cap:
            cap = 16 if self._cap == 0 else 2 * self._cap
            grown = <est_instr *>realloc(self._ins, cap * sizeof(est_instr))
            if grown == NULL:
                raise MemoryError("Program: could not grow the instruction list")
            self._ins, self._cap = grown, cap
        memset(&self._ins[self._n], 0, sizeof(est_instr))
        return &self._ins[self._n]

    cdef int _done(self, str fn, list keep, object labels, list writes) except -1:
        for arr in writes:  # validated output arrays (None: not used by this call)
            if arr is not None and arr.nbytes:
                self._writes.append(_byte_bounds(arr))
        self._stand_in_ok = {}
        self._keep.append(keep)
        self._names.append(fn[len(self._prefix):])
        self._labels.append(labels)
        self._n += 1
        return 0

    def merge_update(self, bint drop_gradient=False) -> None:
        """Merge the last instruction, an optimizer update (``apply_sgd``,
        ``apply_momentum``, ``apply_adagrad``, ``apply_rmsprop`` or ``apply_adam``),
        into the one before it, a ``dense_backward`` whose dw is that update's gradient,
        as one instruction ``dense_backward+apply_<kind>`` (DENSE_BACKWARD_UPDATE,
        est_program.h): each task updates its block of the weight as soon as it has
        that block of dW, dx (if the backward computes it) read from the weight before
        its update (by the same blocks of rows of W, or whole first: est_dense.h), bit
        for bit the results of the two instructions run one after the other.

        Args:
            drop_gradient: dw's values are not needed after the run (nothing else reads
                it): each block of dW then lives only in a thread's scratch and dw's
                contents are unspecified afterwards (est_dense.h keep_dw 0); the
                weight and slots are the same bits.

        Whether to fuse, and whether dw is read elsewhere, is the plan compiler's
        decision (graph/programs.py); this only checks that the pair CAN run as one
        and rewrites the instruction.

        Raises:
            ValueError: the pair does not qualify (names why): the last two
                instructions are not a dense_backward then an optimizer update of one
                dtype; the backward accumulates or has no dw; the update's gradient is
                not exactly that dw; or the update's variable or slots overlap memory
                the backward uses (the update would change the backward's inputs while
                it runs), other than the variable being the backward's w itself (dx
                reads it before the update). Nothing is changed then.
        """
        _fuse_merge_update(self, drop_gradient)

    def fold_relu_into_pool(self) -> None:
        """Fold the ReLU gradient of the last instruction, a ``conv2d_backward`` with
        activation relu, into the one before it, the ``max_pool2d_backward`` whose
        output is that backward's ``dy`` and whose input is the conv's output ``y``:
        the pool backward then routes a window's gradient only where the window's
        maximum is > 0 (est_max_pool2d_relu_backward) and the conv backward takes it
        as dz, with no activation pass over it; bit for bit the same results.

        Whether to fold is the plan compiler's decision (graph/plan.py: the pool
        gradient must have no other reader); this only checks that the pair CAN be
        folded and rewrites the two instructions.

        Raises:
            ValueError: the pair does not qualify (names why). Nothing is changed then.
        """
        _fuse_fold_relu_into_pool(self)

    def merge_conv_pool_forward(self) -> None:
        """Merge the last two instructions, a ``conv2d_forward`` and the
        ``max_pool2d_forward`` of its output, into one (``conv2d_forward+max_pool2d_forward``,
        est_conv2d_forward_pooled): each image of the conv output is pooled right after
        it is made, while it is in cache, instead of the pool reading all of it back;
        the conv output is still written, and both outputs are the pair's, bit for bit.

        Whether to merge is the plan compiler's decision (graph/programs.py); this only
        checks that the pair CAN be merged and rewrites it.

        Raises:
            ValueError: the pair does not qualify (names why). Nothing is changed then.
        """
        _fuse_merge_conv_pool_forward(self)

    def merge_conv_backward_pooled(self) -> None:
        """Merge the last two instructions, a ``max_pool2d_backward+relu`` (after
        :meth:`fold_relu_into_pool`) whose windows tile the conv output (stride =
        window, no padding) and the ``conv2d_backward`` without an input gradient that
        takes its result as dz, into one (est_conv2d_backward_pooled): the filter
        gradient makes each group of images' dz in its scratch right before using it,
        instead of the pool writing all of dz and the conv reading it back; bit for bit
        the same df and db. The pool gradient's buffer becomes scratch (its contents
        are unspecified after a run).

        Whether to merge is the plan compiler's decision (graph/programs.py: the pool
        gradient must have no other reader, and the conv no input gradient); this only
        checks that the pair CAN be merged and rewrites it.

        Raises:
            ValueError: the pair does not qualify (names why). Nothing is changed then.
        """
        _fuse_merge_conv_backward_pooled(self)

    def pool_pick_pairs(self) -> list:
        """The pairs :meth:`use_pool_picks` can rewrite, as ``(f, b, others)``
        instruction indices: f a ``conv2d_forward+max_pool2d_forward`` with ReLU, b
        after it the pool's gradient through the ReLU reading f's conv output y
        (``max_pool2d_backward+relu``, or merged with the conv's gradient), pool
        windows that tile y (at most 254 elements each), not a 1x1 stride-1 conv;
        ``others``: the instructions that hold y without reading it (a
        ``conv2d_backward`` whose ReLU was folded into b; the rewrite sets their y to
        NULL). No other instruction of the program holds memory overlapping y.
        Whether y has readers outside the program is not known here."""
        return _fuse_pool_pick_pairs(self)

    def use_pool_picks(self, Py_ssize_t f, Py_ssize_t b) -> None:
        """Rewrite the pair ``(f, b)`` (:meth:`pool_pick_pairs`) to keep the pool's
        picks, a byte per pooled element in an array the program owns, instead of the
        conv output y (est_conv2d_forward_pooled_pick, est_conv2d_backward_pooled_pick
        / est_max_pool2d_relu_backward_pick: for the tutorial CNN at batch 100, 10 MB
        and 5 MB written and read back a step become 0.6 and 0.3 MB). The pooled output
        and the gradients are the same bits; y's buffer is no longer written (its
        contents are stale after a run).

        Whether to rewrite is the plan compiler's decision (graph/programs.py: y must
        have no reader but these instructions, and not be fetched); this only checks
        that the pair CAN be rewritten.

        Raises:
            ValueError: the pair does not qualify (names why). Nothing is changed then.
        """
        _fuse_use_pool_picks(self, f, b)

    def run(self) -> None:
        """Run every instruction in order, in one call with the GIL released."""
        cdef est_status st
        cdef int64_t failed = -1, detail = -1
        self._check_idle()
        self._running = True
        try:
            with nogil:
                st = est_program_run(self._ins, self._n, &failed, &detail)
        finally:
            self._running = False
        if st != EST_OK:
            name = self._names[failed] if 0 <= failed < self._n else "?"
            err = _run_error(f"Program.run: instruction {failed} ({name})", st, detail,
                             self._labels[failed] if 0 <= failed < self._n else None)
            raise err

    def run_with(self, stand_ins) -> bool:
        """Run once with other arrays standing in for some of the program's buffers.

        For each ``(buffer, array)`` pair, every pointer into ``buffer`` (including
        views of it) points at the same offset of ``array`` during this run only: new
        inputs without copying them into ``buffer``. Only a buffer the program never
        writes (an input) qualifies, so nothing is ever written into ``array``; ``array``
        must have ``buffer``'s dtype and shape and be C-contiguous and aligned (it may be
        read-only).

        Returns:
            True after the run; False, running nothing, when a pair does not qualify
            (the caller then copies the input into ``buffer`` and calls ``run()``).
        Raises:
            Like ``run()``; the pointers are restored either way.
        """
        cdef est_status st = EST_OK
        cdef int64_t failed = -1, detail = -1
        cdef Py_ssize_t npairs, i, slot, k, nsaved = 0
        cdef uintptr_t ptr, lo, hi
        cdef uintptr_t *los = NULL
        cdef uintptr_t *spans
        cdef uintptr_t *bases
        cdef uintptr_t *saved  # pairs (instruction * 16 + slot, old pointer)
        self._check_idle()
        self._running = True  # before any Python work: no other thread may run or change it
        try:
            pairs = list(stand_ins)
            npairs = len(pairs)
            los = <uintptr_t *>malloc((3 * npairs + 2 * self._n * 16 + 1) * sizeof(uintptr_t))
            if los == NULL:
                raise MemoryError("Program.run_with: out of memory")
            spans, bases = los + npairs, los + 2 * npairs
            saved = los + 3 * npairs
            for k in range(npairs):  # `pairs` keeps both arrays alive (numpy never moves data)
                buf, arr = pairs[k]
                if type(buf) is not np.ndarray or type(arr) is not np.ndarray:
                    return False
                if (arr.dtype != buf.dtype or arr.shape != buf.shape or buf.nbytes == 0
                        or not arr.flags.c_contiguous or not arr.flags.aligned
                        or not buf.flags.c_contiguous):
                    return False
                lo = _c_data(buf)
                hi = lo + <uintptr_t>buf.nbytes
                ok = self._stand_in_ok.get((lo, hi))
                if ok is None:
                    ok = self._stand_in_ok[(lo, hi)] = self._may_stand_in(lo, hi)
                if not ok:
                    return False
                los[k], spans[k], bases[k] = lo, hi - lo, _c_data(arr)
            for i in range(self._n):
                for slot in range(16):  # est_instr.p has EST_INSTR_MAX_PTRS (16) slots
                    ptr = <uintptr_t>self._ins[i].p[slot]
                    if ptr == 0:
                        continue
                    for k in range(npairs):
                        if ptr - los[k] < spans[k]:  # unsigned: also false below los[k]
                            saved[2 * nsaved] = <uintptr_t>(i * 16 + slot)
                            saved[2 * nsaved + 1] = ptr
                            nsaved += 1
                            self._ins[i].p[slot] = <void *>(bases[k] + (ptr - los[k]))
                            break
            with nogil:
                st = est_program_run(self._ins, self._n, &failed, &detail)
        finally:
            for k in range(nsaved):
                i = <Py_ssize_t>(saved[2 * k] // 16)
                self._ins[i].p[saved[2 * k] % 16] = <void *>saved[2 * k + 1]
            free(los)
            self._running = False
        if st != EST_OK:
            name = self._names[failed] if 0 <= failed < self._n else "?"
            labels = self._labels[failed] if 0 <= failed < self._n else None
            if labels is not None:  # the error names a label: read it from the stand-in
                labels = (_redirected(labels[0], pairs), labels[1])
            raise _run_error(f"Program.run_with: instruction {failed} ({name})", st, detail,
                             labels)
        return True

    def _may_stand_in(self, uintptr_t lo, uintptr_t hi) -> bool:
        """Whether run_with may redirect the buffer at bytes [lo, hi): no instruction
        writes into it, and every array the program points into is either entirely
        inside it (redirected as a whole) or entirely outside (left alone)."""
        for wlo, whi in self._writes:
            if <uintptr_t>wlo < hi and lo < <uintptr_t>whi:
                return False
        for keep in self._keep:
            for arr in keep:
                if type(arr) is not np.ndarray or arr.nbytes == 0:
                    continue
                alo, ahi = _byte_bounds(arr)
                if <uintptr_t>alo < hi and lo < <uintptr_t>ahi and not (
                        lo <= <uintptr_t>alo and <uintptr_t>ahi <= hi):
                    return False
        return True

    def profile(self) -> list:
        """Run like ``run()`` and time each instruction (for profiling).

        Returns:
            A list of ``(index, name, ns)`` per instruction in run order: ``ns`` is the
            wall-clock nanoseconds (int) that instruction took.
        """
        cdef est_status st
        cdef int64_t failed = -1, detail = -1
        cdef int64_t[::1] ns = np.empty(max(self._n, 1), dtype=np.int64)
        self._check_idle()
        self._running = True
        try:
            with nogil:
                st = est_program_profile(self._ins, self._n, &ns[0], &failed, &detail)
        finally:
            self._running = False
        if st != EST_OK:
            name = self._names[failed] if 0 <= failed < self._n else "?"
            raise _run_error(f"Program.profile: instruction {failed} ({name})", st, detail,
                             self._labels[failed] if 0 <= failed < self._n else None)
        return [(i, self._names[i], int(ns[i])) for i in range(self._n)]

    def clear(self) -> None:
        """Drop every instruction and the references to its arrays."""
        self._check_idle()
        self._n = 0
        self._keep, self._names, self._labels = [], [], []
        self._writes = []
        self._stand_in_ok = {}

    @property
    def ops(self) -> list:
        """The operation names, in run order."""
        return list(self._names)

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        shown = ", ".join(self._names[:8]) + (", ..." if self._n > 8 else "")
        return f"Program({self._n} instructions: {shown})"


def _make_immediate(name):
    method = getattr(_Builder, name)

    def immediate(*args, **kwargs):
        getattr(_Immediate(), name)(*args, **kwargs)

    immediate.__name__ = immediate.__qualname__ = name
    immediate.__doc__ = method.__doc__
    try:  # the method's signature without `self`, for help() and introspection
        sig = inspect.signature(method)
        immediate.__signature__ = sig.replace(parameters=list(sig.parameters.values())[1:])
    except (TypeError, ValueError):  # pragma: no cover - Cython without signatures
        pass
    immediate.__module__ = __name__
    return immediate


OPERATIONS = (
    "gemm", "dense_forward", "dense_backward", "conv2d_forward", "conv2d_backward",
    "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
    "sparse_softmax_xent", "softmax_xent", "apply_sgd", "apply_momentum", "apply_adagrad",
    "apply_rmsprop", "apply_adam", "activation_forward", "activation_backward", "bias_add",
    "add", "sub", "mul", "axpy", "scale", "fill", "copy", "reduce_sum", "reduce_mean",
    "increment",
)
for _name in OPERATIONS:
    globals()[_name] = _make_immediate(_name)
del _name


# ---- shapes ------------------------------------------------------------------------------

cdef tuple _input_shape4(str fn, input_shape):
    """``input_shape`` as a tuple of 4 non-negative ints, or a clear error."""
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if shape is None or len(shape) != 4 or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and 0 <= s < 2 ** 62
            for s in shape):
        raise InvalidArgumentError(f"{fn}: `input_shape` must be 4 non-negative ints (batch, "
                                   f"height, width, channels). Received: {_describe('input_shape', input_shape)}")
    return shape


cdef est_window _geometry(str fn, input_shape, int64_t kh, int64_t kw, int64_t oc, strides,
                          padding) except *:
    cdef est_window g
    shape = _input_shape4(fn, input_shape)
    st = _pair(fn, "strides", strides)
    if est_window_init(shape[0], shape[1], shape[2], shape[3], kh, kw, oc, st[0], st[1],
                       <est_padding>_padding(fn, padding), &g) != EST_OK:
        raise InvalidArgumentError(f"{fn}: the {kh}x{kw} window with strides {st}, padding "
                                   f"{padding} and {oc} output channels is invalid for "
                                   f"input_shape {shape} (a VALID window must fit in the input; "
                                   "channels and sizes must be positive and not too large).")
    return g


cdef tuple _filter_hwio(str fn, filter_shape, input_shape):
    shape = _input_shape4(fn, input_shape)
    try:
        f = tuple(filter_shape)
    except TypeError:
        f = ()
    if len(f) != 4 or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                              and 1 <= s < 2 ** 62 for s in f) or f[2] != shape[3]:
        raise InvalidArgumentError(f"{fn}: `filter_shape` must be 4 positive ints (k_h, k_w, "
                                   f"in_c, out_c) with in_c = {shape[3]} (input_shape's "
                                   f"channels). Received: {_describe('filter_shape', filter_shape)}")
    return f


def _byte_bounds(arr) -> tuple:
    """(first byte, one past the last byte) of ``arr``'s memory."""
    lo, hi = _np_byte_bounds(arr)
    return (<uintptr_t>lo, <uintptr_t>hi)


def _redirected(arr, pairs):
    """``arr`` read from the stand-in when it lies inside a redirected buffer (the same
    byte offset), else ``arr`` itself."""
    if type(arr) is not np.ndarray or arr.nbytes == 0:
        return arr
    alo, ahi = _byte_bounds(arr)
    for buf, new in pairs:
        blo, bhi = _byte_bounds(buf)
        if blo <= alo and ahi <= bhi and arr.flags.c_contiguous:
            raw = new.reshape(-1).view(np.uint8)[alo - blo:ahi - blo]
            return raw.view(arr.dtype).reshape(arr.shape)
    return arr


def conv2d_output_shape(input_shape, filter_shape, strides=1, padding="VALID") -> tuple:
    """(batch, out_h, out_w, out_c) of conv2d_forward for NHWC input / HWIO filter."""
    f = _filter_hwio("conv2d_output_shape", filter_shape, input_shape)
    cdef est_window g = _geometry("conv2d_output_shape", input_shape, f[0], f[1], f[3], strides, padding)
    return (g.batch, g.out_h, g.out_w, g.out_c)


def conv2d_col_size(input_shape, filter_shape, strides=1, padding="VALID") -> int:
    """Elements of the ``col`` scratch conv2d_forward/backward need: 0 (kept for callers
    written when the kernels took an im2col scratch)."""
    f = _filter_hwio("conv2d_col_size", filter_shape, input_shape)
    cdef est_window g = _geometry("conv2d_col_size", input_shape, f[0], f[1], f[3], strides, padding)
    return est_conv2d_col_size(&g)


def pool2d_output_shape(input_shape, ksize, strides, padding="VALID") -> tuple:
    """(batch, out_h, out_w, c) of max/avg pooling for an NHWC input shape."""
    k = _pair("pool2d_output_shape", "ksize", ksize)
    shape = _input_shape4("pool2d_output_shape", input_shape)
    cdef est_window g = _geometry("pool2d_output_shape", shape, k[0], k[1], max(shape[3], 1),
                                  strides, padding)
    return (g.batch, g.out_h, g.out_w, g.in_c)


# ---- threads ------------------------------------------------------------------------------

def set_num_threads(n) -> None:
    """Use ``n`` compute threads (the caller plus n - 1 sleeping workers) for large
    kernels. Waits for kernels in flight. Does not change numpy's BLAS threads."""
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        raise TypeError(f"set_num_threads: `n` must be an int. Received: {_describe('n', n)}")
    if not 1 <= n <= EST_MAX_THREADS:
        raise InvalidArgumentError(f"set_num_threads: `n` must be in [1, {EST_MAX_THREADS}]. "
                                   f"Received: {_describe('n', n)}")
    cdef int ni = n
    with nogil:
        st = est_set_num_threads(ni)
    check_status(st, "set_num_threads")


def get_num_threads() -> int:
    """Compute threads used for large kernels (default: the CPUs this process may use)."""
    return est_get_num_threads()


def _own_burst_hook():
    """``est_note_own_burst`` as a capsule (name ``"estcore.est_burst_fn"``), for
    ``_pipeline._set_burst_hook``: the input pipeline's workers report their bursts to
    this module's thread pool, whose load sensing then leaves them out (est_threadpool.h)."""
    return PyCapsule_New(<void *>est_note_own_burst, b"estcore.est_burst_fn", NULL)


def _own_bursts() -> int:
    """Tests only: the input bursts reported to the thread pool and not yet ended."""
    return est__own_bursts()


# ---- GEMM instruction set ----------------------------------------------------------------

def gemm_isas() -> tuple:
    """The GEMM instruction sets this build and CPU can run, slowest first
    (``"generic"`` always; ``"avx2"``, ``"avx512"`` where supported)."""
    return tuple(est_isa_name(<est_isa>i).decode() for i in range(EST_ISA_GENERIC, EST_ISA__COUNT)
                 if est_gemm_isa_supported(<est_isa>i))


def get_gemm_isa() -> str:
    """The instruction set every GEMM uses now: the best one the CPU supports, or the
    one named by the ``ESTCORE_ISA`` environment variable when the first GEMM ran
    (``avx512``, ``avx2`` or ``generic``; one the CPU lacks falls back to the best
    it has), or the last ``set_gemm_isa``."""
    return est_isa_name(est_gemm_get_isa()).decode()


def set_gemm_isa(name) -> None:
    """Use the GEMM instruction set ``name`` ("avx512", "avx2", "generic", or "auto"
    for the best supported) from now on, for every kernel built on GEMM (dense, conv).
    Meant for tests and benchmarks; do not switch while kernels run on other threads
    if their results must be bit-identical."""
    if not isinstance(name, str):
        raise TypeError(f"set_gemm_isa: `name` must be a str. Received: {_describe('name', name)}")
    cdef int i
    for i in range(EST_ISA_AUTO, EST_ISA__COUNT):
        if est_isa_name(<est_isa>i).decode() == name:
            if not est_gemm_isa_supported(<est_isa>i):
                raise InvalidArgumentError(
                    f"set_gemm_isa: {name!r} is not supported on this CPU. "
                    f"Supported: {('auto',) + gemm_isas()}")
            check_status(est_gemm_set_isa(<est_isa>i), "set_gemm_isa")
            return
    raise InvalidArgumentError(f"set_gemm_isa: `name` must be one of "
                               f"{('auto', 'generic', 'avx2', 'avx512')}. Received: {name!r}")


def fma_probe(iters) -> float:
    """Run ``iters`` steps of 16 independent float32 vector FMA chains of the GEMM
    instruction set in use on the calling thread, without the GIL and without memory
    traffic; returns the floating-point operations done (2 per lane per FMA). Divided
    by the elapsed time this is one core's FMA ceiling (benchmarks/fma_ceiling.py)."""
    if not isinstance(iters, int) or isinstance(iters, bool) or iters < 0:
        raise InvalidArgumentError(f"fma_probe: `iters` must be an int >= 0. "
                                   f"Received: {_describe('iters', iters)}")
    cdef int64_t n = iters
    cdef double flops
    cdef float sink
    with nogil:
        flops = est_fma_probe_f32(n, &sink)
    return flops


def gemm_info() -> dict:
    """Where GEMM comes from and how it is threaded (for debugging): ``isa`` (in use),
    ``isas`` (supported), ``estcore_threads``. GEMM is estcore's own packed kernel; no
    BLAS library is loaded."""
    return {"isa": get_gemm_isa(), "isas": gemm_isas(), "estcore_threads": get_num_threads()}
