"""C programs of a plan: consecutive C-emittable steps grouped into one
``estcore._lib._kernels.Program``, and the plan's fusions between instructions of a
program (the seam, ``Program.merge_update`` / ``Program.merge_conv_pool_forward`` /
``Program.fold_relu_into_pool`` / ``Program.merge_conv_backward_pooled``, only checks
that a pair can run as one and rewrites it; whether to fuse is decided here).

Must not: emit instructions itself (each row's emitter does, ``graph/ops/c_emit.py``);
run a program; change the user's graph.
"""

from __future__ import annotations

from types import MappingProxyType

from estcore._lib import _kernels

__all__ = ["FUSABLE_UPDATES", "group_programs"]


def group_programs(steps, emit_info, sole_reader=lambda t: False,
                   private_reads=lambda t: None):
    """Replace each maximal run of C-emittable steps by one ``Program.run``.

    Fusion across instructions is decided here too (:func:`_fuses_update`,
    :func:`_merges_conv_pool`, :func:`_folds_relu_into_pool`,
    :func:`_merges_pool_into_conv`): the seam (``Program.merge_update``,
    ``Program.merge_conv_pool_forward``, ``Program.fold_relu_into_pool``,
    ``Program.merge_conv_backward_pooled``) only validates and rewrites the pair it is
    asked to merge. ``sole_reader(t)``: tensor ``t`` is read by one node input and not fetched.
    ``private_reads(t)``: how many node inputs read ``t`` where its storage is its own
    (not fetched, no view of it, not a variable or constant), else None
    (:func:`_use_pool_picks`).

    Returns ``(steps, step_nodes, n_programs)``: ``step_nodes[i]`` is the graph node of
    a Python step, or for a program the graph node of each of its instructions (an
    error in a run names the user's op, :meth:`Plan.run`).
    """
    program_cls = _kernels.Program
    out, nodes, prog, prog_nodes, n_prog, in_prog = [], [], None, [], 0, 0
    members = []  # per instruction of prog: the PNodes merged into it, emitter first
    last = None  # (PNode, KernelCtx, instructions) of the last node emitted into prog
    for fn, (p, k) in zip(steps, emit_info, strict=True):
        done = False
        if p.row.emit is not None:
            if prog is None:
                prog, prog_nodes, last, members = program_cls(), [], None, []
            before = len(prog)
            try:
                done = bool(p.row.emit(prog, k))
            except (TypeError, ValueError):
                done = False
            if done:
                added = emitted = len(prog) - before
                if added == 1 and last is not None and last[2] == 1 and \
                        _fuses_update(last, p, k):
                    try:
                        prog.merge_update(drop_gradient=_drops_gradient(last, p, sole_reader))
                        added = 0
                    except ValueError:  # memory overlap etc.: keep both instructions
                        pass
                elif added == 1 and last is not None and last[2] == 1 and \
                        _merges_conv_pool(last, p):
                    try:
                        prog.merge_conv_pool_forward()
                        added = 0
                    except ValueError:  # buffers not as the rule expects: keep both
                        pass
                elif added == 1 and last is not None and last[2] == 1 and \
                        _folds_relu_into_pool(last, p, sole_reader):
                    try:
                        prog.fold_relu_into_pool()
                        if _merges_pool_into_conv(k):
                            prog.merge_conv_backward_pooled()
                            added = 0
                    except ValueError:  # buffers not as the rule expects: keep both
                        pass
                prog_nodes.extend([p.node] * added)
                if added:
                    members.extend([p] for _ in range(added))
                elif emitted:  # merged into the instruction before
                    members[-1].append(p)
                last = (p, k, added) if added else None
        if done:
            in_prog += 1
            continue
        if prog is not None and in_prog:
            _use_pool_picks(prog, members, private_reads)
            out.append(prog.run)
            nodes.append(prog_nodes)
            n_prog += 1
            prog, prog_nodes, in_prog = None, [], 0
        out.append(fn)
        nodes.append(p.node)
    if prog is not None and in_prog:
        _use_pool_picks(prog, members, private_reads)
        out.append(prog.run)
        nodes.append(prog_nodes)
        n_prog += 1
    return out, nodes, n_prog


# Keeping dW's blocks in scratch pays where writing dW goes to memory: measured on 2
# threads, fused op with / without: 3136x1024 (SGD) 6.2-6.4 / 6.7-6.9 ms; 784x256
# (Adam, fits in L2) no gain (272-279 / 253-337 us, within noise). So only weights of
# at least this many elements (2 MiB of float32, an L2) drop dW.
_DROP_GRADIENT_MIN = 1 << 19


def _merges_conv_pool(last, p) -> bool:
    """The plan's rule for pooling each image of a conv's output right after it is made
    (``conv2d_forward+max_pool2d_forward``: the pool reads the image from cache instead
    of the whole output from memory; the output is still written, for the backward and
    any other reader; same bits): a ``MaxPool`` right after the convolution whose
    output it pools. ``last`` is the conv's (PNode, KernelCtx, instructions)."""
    cp = last[0]
    return p.type == "MaxPool" and cp.type in ("Conv2D", "FusedConv2D") and \
        bool(p.inputs) and bool(cp.outputs) and p.inputs[0] is cp.outputs[0]


def _use_pool_picks(prog, members, private_reads) -> None:
    """The plan's rule for keeping a max pool's picks instead of the conv output y
    between a training step's forward and backward (``...+picks``: a byte per pooled
    element instead of y, written and read back through memory: for the tutorial CNN at
    batch 100, 10 MB and 5 MB of conv output each way a step; same bits): each pair the
    program offers (``Program.pool_pick_pairs``: the fused conv + pool forward with
    ReLU, and the pool's gradient through the ReLU reading its y, merged with the conv's
    gradient or not) whose y is read by no node but the ones fused into the program's
    instructions that hold it (the pool, its gradient, the conv's gradient), is not
    fetched and has no view. ``members[i]``: the PNodes fused into instruction i of
    ``prog``, the emitting node first."""
    if len(members) != len(prog):  # the bookkeeping does not match: decide nothing
        return
    for f, b, others in prog.pool_pick_pairs():
        conv = members[f][0]
        if not conv.outputs:
            continue
        y = conv.outputs[0]
        holders = [m for i in (f, b, *others) for m in members[i]]
        n = sum(t is y for m in holders for t in m.data_inputs())
        if n and private_reads(y) == n:
            prog.use_pool_picks(f, b)


def _drops_gradient(last, p, sole_reader) -> bool:
    """Whether the fused dense backward + update (:func:`_fuses_update`) leaves the
    weight gradient dW unwritten (each block of it kept only in a thread's scratch
    while the update reads it): the update reads the ``DenseGrad``'s dW output itself
    (not through a view), nothing else reads or fetches it, and it has at least
    ``_DROP_GRADIENT_MIN`` elements. ``last`` is the backward's (PNode, KernelCtx,
    instructions), ``p`` the update's PNode."""
    dp, dk, _ = last
    gi = FUSABLE_UPDATES[p.type]
    return len(dp.outputs) > 1 and len(p.inputs) > gi and p.inputs[gi] is dp.outputs[1] \
        and dk.outs[1].size >= _DROP_GRADIENT_MIN and sole_reader(dp.outputs[1])


def _folds_relu_into_pool(last, p, sole_reader) -> bool:
    """The plan's rule for moving a conv's ReLU gradient into the max-pool gradient
    before it (``max_pool2d_backward+relu``: the pool routes a window's gradient only
    where the maximum is > 0, the conv backward then skips its activation pass; same
    bits): a ``FusedConv2DGrad`` with activation relu right after the ``MaxPoolGrad``
    whose output is its incoming gradient, read by nothing else (the folded value is
    no longer the plain pool gradient), and whose input is the conv's output."""
    qp = last[0]
    if qp.type != "MaxPoolGrad" or p.type != "FusedConv2DGrad":
        return False
    if p.attrs.get("activation") != "relu" or not p.inputs or not qp.outputs:
        return False
    gy, y = p.inputs[0], p.inputs[3] if len(p.inputs) > 3 else None
    return gy is qp.outputs[0] and sole_reader(gy) and len(qp.inputs) > 1 and \
        qp.inputs[1] is y


def _merges_pool_into_conv(k) -> bool:
    """The plan's rule for making a conv's gradient from the max-pool gradient inside
    its filter gradient (``max_pool2d_backward+relu+conv2d_backward``, after
    :func:`_folds_relu_into_pool`: each group of images' dz is made in cache right
    before its product instead of written whole by the pool and read back; same bits):
    the ``FusedConv2DGrad`` computes its filter gradient and no input gradient (the
    first layer of a CNN). The seam refuses pools whose windows do not tile the conv
    output. ``k`` is the conv gradient's KernelCtx (outputs dx, dw, db)."""
    return not k.needed[0] and k.needed[1]


#: The optimizer updates a dense backward can take in (graph op -> position of its
#: gradient among the op's inputs); the plan schedules one whose gradient is a
#: ``DenseGrad``'s dW as soon as it is ready (``plan._schedule``), so it lands right
#: after that gradient.
FUSABLE_UPDATES = MappingProxyType({
    "ApplyGradientDescent": 2, "ApplyMomentum": 3, "ApplyAdagrad": 3, "ApplyRMSProp": 7,
    "ApplyCenteredRMSProp": 8, "ApplyAdam": 9})


# With dx, the fused instruction runs dx, dW and the update by blocks of rows of W in
# one parallel region (est_dense.inc), blocks at least two B panels wide (128 rows on
# AVX-512): measured (2 threads, Adam, the MLP 784-256-256-10 at batch 128) fusing
# the 256x256 and 256x10 layers too took the step from 0.76-0.77 to 0.73-0.76 ms.
# A W of fewer rows runs dx whole first, then dW with the update: two parallel
# regions where the unfused backward runs both GEMMs in one (fused / unfused, 2
# threads: 256x256 1.11 when every layer ran that way; 784x256 0.94, 3136x1024 0.95).
# So with dx a layer fuses when its weight has at least this many rows (two blocks)
# or at least ``_DX_FUSE_MIN_WEIGHT`` elements.
_DX_FUSE_MIN_ROWS = 256
_DX_FUSE_MIN_WEIGHT = 1 << 17


def _fuses_update(last, p, k) -> bool:
    """The plan's rule for running an optimizer update inside the dense backward before
    it (one instruction, ``dense_backward+apply_<kind>``: each block of the weight is
    updated as soon as its block of dW exists, while it is still in cache; dx, when
    needed, is read from the weight before its update; same bits): the update comes
    right after a ``DenseGrad`` in the program (the plan schedules each update as
    soon as it is ready, :func:`plan._schedule`), its gradient is that node's dW
    buffer (directly or through a view: an Identity), and the layer has no dx or a
    weight of at least ``_DX_FUSE_MIN_ROWS`` rows or ``_DX_FUSE_MIN_WEIGHT``
    elements. The seam refuses a pair whose buffers overlap other than the weight
    being the update's variable. ``last`` is (PNode, KernelCtx, instructions) of the
    previous node; ``k`` is the update's KernelCtx."""
    dp, dk, _ = last
    gi = FUSABLE_UPDATES.get(p.type)
    if gi is None or dp.type != "DenseGrad" or len(k.ins) <= gi or not dk.needed[1]:
        return False
    dw = dk.outs[1]
    if dk.needed[0] and dw.shape[0] < _DX_FUSE_MIN_ROWS and dw.size < _DX_FUSE_MIN_WEIGHT:
        return False  # a narrow layer with dx: its two GEMMs are better run together
    grad = k.ins[gi]
    return (grad.shape == dw.shape and grad.dtype == dw.dtype
            and grad.__array_interface__["data"][0] == dw.__array_interface__["data"][0])
