"""TF1's recurrent networks: ``tf.nn.dynamic_rnn``, ``bidirectional_dynamic_rnn``,
``static_rnn``, ``tf.reverse_sequence`` and the cells of ``tf.nn.rnn_cell``
(``BasicRNNCell``, ``BasicLSTMCell``, ``LSTMCell``, ``GRUCell``, ``MultiRNNCell``,
``DropoutWrapper``, ``LSTMStateTuple``), for ``estcore.compat.v1``.

The cells are :class:`estcore.layers.base.Layer` s with TF 1.15's math and variable names
(``rnn/basic_lstm_cell/kernel``, ``rnn/multi_rnn_cell/cell_0/gru_cell/gates/kernel``, ...)
so TF1 checkpoints of them restore. ``dynamic_rnn`` runs the cell in one
:func:`~estcore.graph.ops.while_ops.while_loop` over time (gradients through it), with
``sequence_length`` as TF: outputs past an example's length are zeros and its state stops
changing there.

Must not: add ops (the loop is ``while_loop``'s; the cells compose existing ops).
"""

from __future__ import annotations

import collections
from typing import Any

from estcore import nest
from estcore.compat.v1.ops_extra import dropout as _dropout
from estcore.graph import dtypes as _dt
from estcore.graph.initializers import Constant, Zeros
from estcore.graph.ops import array_ops as _a
from estcore.graph.ops import index_ops as _i
from estcore.graph.ops import math_ops as _m
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.while_ops import while_loop
from estcore.graph.shapes import TensorShape
from estcore.graph.variables import name_scope, variable_scope
from estcore.layers.base import Layer
from estcore.nn import sigmoid, tanh

__all__ = ["LSTMStateTuple", "RNNCell", "BasicRNNCell", "BasicLSTMCell", "LSTMCell", "GRUCell",
           "MultiRNNCell", "DropoutWrapper", "dynamic_rnn", "bidirectional_dynamic_rnn",
           "static_rnn", "reverse_sequence"]

LSTMStateTuple = collections.namedtuple("LSTMStateTuple", ["c", "h"])
LSTMStateTuple.__doc__ = "An LSTM state: ``c`` (the memory) and ``h`` (the output)."


class RNNCell(Layer):
    """Base of the cells: ``cell(inputs, state) -> (output, new_state)``; variables are
    made on the first call and reused by later ones."""

    def __init__(self, num_units: int, activation: Any = None, reuse: Any = None,
                 name: str | None = None, dtype: Any = None, **kwargs: Any):
        super().__init__(name=name, dtype=dtype, _reuse=reuse, **kwargs)
        if isinstance(num_units, bool) or int(num_units) <= 0:
            raise ValueError(f"{type(self).__name__}: `num_units` must be a positive int. "
                             f"Received: {num_units!r}")
        self._num_units = int(num_units)
        self._activation = activation or tanh

    @property
    def state_size(self) -> Any:
        return self._num_units

    @property
    def output_size(self) -> int:
        return self._num_units

    def zero_state(self, batch_size: Any, dtype: Any) -> Any:
        """Zeros of ``[batch_size, size]`` for each part of the state."""
        d = _dt.as_dtype(dtype)

        def zeros(n: int) -> Any:
            if not hasattr(batch_size, "_as_tensor"):
                return _a.zeros([batch_size, n], dtype=d)
            z = _a.zeros(_a.stack([batch_size, n]), dtype=d)
            z.set_shape([None, n])
            return z
        return nest.map_structure(zeros, self.state_size)

    def _input_depth(self, input_shape: Any) -> int:
        depth = input_shape.dims[-1] if input_shape.rank is not None else None
        if depth is None:
            raise ValueError(f"{type(self).__name__}: the inputs' last dimension must be known "
                             f"when the graph is built. Received: shape {input_shape}")
        return depth

    def __call__(self, inputs: Any, state: Any, scope: Any = None):
        return super().__call__(inputs, state)


class BasicRNNCell(RNNCell):
    """``h' = activation(W [x, h] + b)``; variables ``basic_rnn_cell/kernel`` and ``bias``."""

    def build(self, input_shape: Any) -> None:
        depth = self._input_depth(input_shape)
        self.kernel = self.add_weight("kernel", [depth + self._num_units, self._num_units])
        self.bias = self.add_weight("bias", [self._num_units], initializer=Zeros())
        self.built = True

    def call(self, inputs, state):
        out = self._activation(_m.matmul(_a.concat([inputs, state], 1), self.kernel) + self.bias)
        return out, out


class BasicLSTMCell(RNNCell):
    """TF's basic LSTM (no peepholes): gates ``i, j, f, o`` from one kernel
    ``[depth + units, 4 * units]``, ``c' = c * sigmoid(f + forget_bias) + sigmoid(i) *
    activation(j)``, ``h' = activation(c') * sigmoid(o)``; the state is an
    :class:`LSTMStateTuple` ``(c, h)``."""

    def __init__(self, num_units: int, forget_bias: float = 1.0, state_is_tuple: bool = True,
                 activation: Any = None, reuse: Any = None, name: str | None = None,
                 dtype: Any = None, **kwargs: Any):
        super().__init__(num_units, activation, reuse, name, dtype, **kwargs)
        if not state_is_tuple:
            raise NotImplementedError(f"{type(self).__name__}: state_is_tuple=False is not "
                                      "supported in estcore")
        self._forget_bias = float(forget_bias)

    @property
    def state_size(self) -> Any:
        return LSTMStateTuple(self._num_units, self._num_units)

    def build(self, input_shape: Any) -> None:
        depth = self._input_depth(input_shape)
        self.kernel = self.add_weight("kernel", [depth + self._num_units, 4 * self._num_units],
                                      initializer=getattr(self, "_initializer", None))
        self.bias = self.add_weight("bias", [4 * self._num_units], initializer=Zeros())
        self.built = True

    def call(self, inputs, state):
        c, h = state
        z = _m.matmul(_a.concat([inputs, h], 1), self.kernel) + self.bias
        n = self._num_units
        i, j, f, o = (_i.gather(z, _i.range(k * n, (k + 1) * n), axis=1) for k in range(4))
        new_c = c * sigmoid(f + self._forget_bias) + sigmoid(i) * self._activation(j)
        new_h = self._activation(new_c) * sigmoid(o)
        return new_h, LSTMStateTuple(new_c, new_h)


class LSTMCell(BasicLSTMCell):
    """TF's ``LSTMCell`` without peepholes, projection or clipping (those raise
    NotImplementedError): :class:`BasicLSTMCell`'s math, variables ``lstm_cell/kernel`` and
    ``bias``, an optional kernel ``initializer``."""

    def __init__(self, num_units: int, use_peepholes: bool = False, cell_clip: Any = None,
                 initializer: Any = None, num_proj: Any = None, proj_clip: Any = None,
                 num_unit_shards: Any = None, num_proj_shards: Any = None,
                 forget_bias: float = 1.0, state_is_tuple: bool = True, activation: Any = None,
                 reuse: Any = None, name: str | None = None, dtype: Any = None,
                 **kwargs: Any):
        if use_peepholes or cell_clip is not None or num_proj is not None \
                or proj_clip is not None:
            raise NotImplementedError("LSTMCell: peepholes, cell_clip and projections "
                                      "(num_proj, proj_clip) are not supported in estcore")
        super().__init__(num_units, forget_bias, state_is_tuple, activation, reuse, name,
                         dtype, **kwargs)
        self._initializer = initializer


class GRUCell(RNNCell):
    """TF's GRU: ``r, u = sigmoid(W_g [x, h] + b_g)`` (variables ``gates/kernel``,
    ``gates/bias``, bias initialized to 1), ``c = activation(W_c [x, r * h] + b_c)``
    (``candidate/kernel``, ``candidate/bias``), ``h' = u * h + (1 - u) * c``."""

    def __init__(self, num_units: int, activation: Any = None, reuse: Any = None,
                 kernel_initializer: Any = None, bias_initializer: Any = None,
                 name: str | None = None, dtype: Any = None, **kwargs: Any):
        super().__init__(num_units, activation, reuse, name, dtype, **kwargs)
        self._kernel_init, self._bias_init = kernel_initializer, bias_initializer

    def build(self, input_shape: Any) -> None:
        depth = self._input_depth(input_shape)
        n = self._num_units
        with variable_scope("gates"):
            self.gate_kernel = self.add_weight("kernel", [depth + n, 2 * n],
                                               initializer=self._kernel_init)
            self.gate_bias = self.add_weight("bias", [2 * n],
                                             initializer=self._bias_init or Constant(1.0))
        with variable_scope("candidate"):
            self.candidate_kernel = self.add_weight("kernel", [depth + n, n],
                                                    initializer=self._kernel_init)
            self.candidate_bias = self.add_weight("bias", [n],
                                                  initializer=self._bias_init or Zeros())
        self.built = True

    def call(self, inputs, state):
        n = self._num_units
        g = sigmoid(_m.matmul(_a.concat([inputs, state], 1), self.gate_kernel) + self.gate_bias)
        r = _i.gather(g, _i.range(0, n), axis=1)
        u = _i.gather(g, _i.range(n, 2 * n), axis=1)
        c = self._activation(_m.matmul(_a.concat([inputs, r * state], 1),
                                       self.candidate_kernel) + self.candidate_bias)
        new_h = u * state + (1.0 - u) * c
        return new_h, new_h


class MultiRNNCell(Layer):
    """Cells stacked: each one's output is the next one's input; the state is the tuple of
    their states (variables under ``multi_rnn_cell/cell_<i>/``)."""

    def __init__(self, cells: list, state_is_tuple: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        if not cells:
            raise ValueError("MultiRNNCell: `cells` must not be empty")
        if not state_is_tuple:
            raise NotImplementedError("MultiRNNCell: state_is_tuple=False is not supported in "
                                      "estcore")
        self._cells = list(cells)

    @property
    def state_size(self) -> tuple:
        return tuple(c.state_size for c in self._cells)

    @property
    def output_size(self) -> int:
        return self._cells[-1].output_size

    def zero_state(self, batch_size: Any, dtype: Any) -> tuple:
        return tuple(c.zero_state(batch_size, dtype) for c in self._cells)

    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, inputs, state):
        out, new_states = inputs, []
        for k, (cell, s) in enumerate(zip(self._cells, state, strict=True)):
            with variable_scope(f"cell_{k}"):
                out, ns = cell(out, s)
            new_states.append(ns)
        return out, tuple(new_states)

    def __call__(self, inputs: Any, state: Any, scope: Any = None):
        return super().__call__(inputs, state)


class DropoutWrapper:
    """Dropout on a cell's inputs, outputs and state (TF1's ``DropoutWrapper``; each keep
    probability a float in ``(0, 1]`` or a scalar tensor). It adds no variable scope: the
    wrapped cell's variables keep their names. State dropout skips an LSTM's ``c`` (TF's
    default filter). ``variational_recurrent`` is not supported."""

    def __init__(self, cell: Any, input_keep_prob: Any = 1.0, output_keep_prob: Any = 1.0,
                 state_keep_prob: Any = 1.0, variational_recurrent: bool = False,
                 input_size: Any = None, dtype: Any = None, seed: Any = None,
                 dropout_state_filter_visitor: Any = None):
        if variational_recurrent:
            raise NotImplementedError("DropoutWrapper: variational_recurrent=True is not "
                                      "supported in estcore")
        if dropout_state_filter_visitor is not None:
            raise NotImplementedError("DropoutWrapper: dropout_state_filter_visitor is not "
                                      "supported in estcore")
        for arg, p in (("input_keep_prob", input_keep_prob),
                       ("output_keep_prob", output_keep_prob),
                       ("state_keep_prob", state_keep_prob)):
            if not hasattr(p, "_as_tensor") and not 0.0 < float(p) <= 1.0:
                raise ValueError(f"DropoutWrapper: `{arg}` must be in (0, 1]. Received: {p}")
        self._cell, self._seed = cell, seed
        self._input_keep, self._output_keep, self._state_keep = (
            input_keep_prob, output_keep_prob, state_keep_prob)

    @property
    def wrapped_cell(self) -> Any:
        return self._cell

    @property
    def state_size(self) -> Any:
        return self._cell.state_size

    @property
    def output_size(self) -> Any:
        return self._cell.output_size

    def zero_state(self, batch_size: Any, dtype: Any) -> Any:
        return self._cell.zero_state(batch_size, dtype)

    def _drop(self, x: Any, keep: Any) -> Any:
        if not hasattr(keep, "_as_tensor") and float(keep) == 1.0:
            return x
        return _dropout(x, keep_prob=keep, seed=self._seed)

    def __call__(self, inputs: Any, state: Any, scope: Any = None):
        out, new_state = self._cell(self._drop(inputs, self._input_keep), state)
        if isinstance(new_state, LSTMStateTuple):
            new_state = LSTMStateTuple(new_state.c, self._drop(new_state.h, self._state_keep))
        else:
            new_state = nest.map_structure(lambda t: self._drop(t, self._state_keep),
                                           new_state)
        return self._drop(out, self._output_keep), new_state


def dynamic_rnn(cell: Any, inputs: Any, sequence_length: Any = None, initial_state: Any = None,
                dtype: Any = None, parallel_iterations: Any = None, swap_memory: bool = False,
                time_major: bool = False, scope: Any = None) -> tuple:
    """Run ``cell`` over the time steps of ``inputs`` (TF1's ``tf.nn.dynamic_rnn``).

    Args:
        cell: an ``RNNCell`` (or :class:`MultiRNNCell`).
        inputs: ``[batch, time, depth]`` (``[time, batch, depth]`` with ``time_major``);
            the depth must be known when the graph is built.
        sequence_length: optional int ``[batch]``: steps past an example's length give
            zero outputs and leave its state unchanged.
        initial_state: the starting state (default: ``cell.zero_state``, which needs
            ``dtype``).
        dtype: the state's dtype when ``initial_state`` is not given.
        parallel_iterations, swap_memory: accepted, no effect.
        time_major: the layout of ``inputs`` and of the returned outputs.
        scope: variable scope (default ``"rnn"``).

    Returns:
        ``(outputs, final_state)``: outputs ``[batch, time, output_size]`` (or time-major)
        and the state after each example's last step.
    """
    with variable_scope(scope or "rnn"):
        x = convert_to_tensor(inputs)
        if x.shape.rank != 3:
            raise ValueError(f"dynamic_rnn: `inputs` must be a 3-D tensor. Received: shape "
                             f"{x.shape}")
        if not time_major:
            x = _a.transpose(x, [1, 0, 2])
        steps = _a.shape(x)[0]
        batch_static = x.shape.dims[1]
        batch = batch_static if batch_static is not None else _a.shape(x)[1]
        if initial_state is None:
            if dtype is None:
                raise ValueError("dynamic_rnn: if there is no initial_state, you must give a "
                                 "dtype.")
            initial_state = cell.zero_state(batch, dtype)
        state0 = nest.map_structure(convert_to_tensor, initial_state)
        first = _i.gather(x, 0)
        out0, _ = cell(first, state0)          # makes the variables outside the loop
        lengths = None
        if sequence_length is not None:
            lengths = _m.cast(convert_to_tensor(sequence_length), _dt.int32)
        size = out0.shape.dims[-1]
        acc0 = _a.zeros(_a.stack([0, _a.shape(out0)[0], size]), dtype=out0.dtype)
        acc0.set_shape([0, batch_static, size])

        def body(t, state, acc):
            out, new_state = cell(_i.gather(x, t), state)
            if lengths is not None:
                live = _a.expand_dims(_m.less(t, lengths), 1)
                out = _m.where(live, out, _a.zeros_like(out))
                new_state = nest.map_structure(lambda n, o: _m.where(live, n, o),
                                               new_state, state)
            return t + 1, new_state, _a.concat([acc, _a.expand_dims(out, 0)], 0)

        invariants = [TensorShape([]), nest.map_structure(lambda s: s.shape, state0),
                      TensorShape([None, batch_static, size])]
        _, final, outputs = while_loop(lambda t, s, a: _m.less(t, steps), body,
                                       [convert_to_tensor(0), state0, acc0],
                                       shape_invariants=invariants)
        outputs.set_shape([x.shape.dims[0], batch_static, size])
        if not time_major:
            outputs = _a.transpose(outputs, [1, 0, 2])
        return outputs, final


def reverse_sequence(input: Any, seq_lengths: Any, seq_axis: int = 1,  # noqa: A002 - TF name
                     batch_axis: int = 0, name: str | None = None) -> Any:
    """Reverse each example's first ``seq_lengths[b]`` steps along ``seq_axis``, the rest
    unchanged (TF's ``tf.reverse_sequence``; ``batch_axis`` 0 or 1, ``seq_axis`` the other
    of the two first dimensions)."""
    x = convert_to_tensor(input)
    if x.shape.rank is None or x.shape.rank < 2 or {seq_axis, batch_axis} != {0, 1}:
        raise ValueError(f"reverse_sequence: estcore takes a known rank >= 2 with seq_axis and "
                         f"batch_axis 0 and 1. Received: shape {x.shape}, seq_axis={seq_axis}, "
                         f"batch_axis={batch_axis}")
    with name_scope(name or "ReverseSequence"):
        bt = x if batch_axis == 0 else _a.transpose(x, [1, 0, *range(2, x.shape.rank)])
        steps = _a.shape(bt)[1]
        lengths = _m.cast(convert_to_tensor(seq_lengths), _dt.int32)
        t = _a.expand_dims(_i.range(0, steps), 0)                      # [1, T]
        ln = _a.expand_dims(lengths, 1)                                # [B, 1]
        idx = _m.where(_m.less(t, ln), ln - 1 - t, t + _a.zeros_like(ln))   # [B, T]
        rows = _a.expand_dims(_i.range(0, _a.shape(bt)[0]), 1) * steps
        flat = _a.reshape(bt, _a.concat([[-1], _a.shape(bt)[2:]], 0))
        out = _i.gather(flat, _a.reshape(rows + idx, [-1]))
        out = _a.reshape(out, _a.shape(bt))
        out.set_shape(bt.shape)
        return out if batch_axis == 0 else _a.transpose(out, [1, 0, *range(2, x.shape.rank)])


def bidirectional_dynamic_rnn(cell_fw: Any, cell_bw: Any, inputs: Any,
                              sequence_length: Any = None, initial_state_fw: Any = None,
                              initial_state_bw: Any = None, dtype: Any = None,
                              parallel_iterations: Any = None, swap_memory: bool = False,
                              time_major: bool = False, scope: Any = None) -> tuple:
    """A forward and a backward :func:`dynamic_rnn` (TF1's
    ``tf.nn.bidirectional_dynamic_rnn``): the backward one reads each example's steps in
    reverse (up to its ``sequence_length``) and its outputs are reversed back.

    Returns:
        ``((output_fw, output_bw), (state_fw, state_bw))``; variables under
        ``bidirectional_rnn/fw/...`` and ``bidirectional_rnn/bw/...``.
    """
    with variable_scope(scope or "bidirectional_rnn"):
        out_fw, st_fw = dynamic_rnn(cell_fw, inputs, sequence_length, initial_state_fw,
                                    dtype, time_major=time_major, scope="fw")
        x = convert_to_tensor(inputs)
        seq_axis, batch_axis = (0, 1) if time_major else (1, 0)
        if sequence_length is None:
            rev = _i.reverse(x, [seq_axis])
        else:
            rev = reverse_sequence(x, sequence_length, seq_axis, batch_axis)
        out_bw, st_bw = dynamic_rnn(cell_bw, rev, sequence_length, initial_state_bw, dtype,
                                    time_major=time_major, scope="bw")
        if sequence_length is None:
            out_bw = _i.reverse(out_bw, [seq_axis])
        else:
            out_bw = reverse_sequence(out_bw, sequence_length, seq_axis, batch_axis)
    return (out_fw, out_bw), (st_fw, st_bw)


def static_rnn(cell: Any, inputs: list, initial_state: Any = None, dtype: Any = None,
               sequence_length: Any = None, scope: Any = None) -> tuple:
    """The cell over a Python list of ``[batch, depth]`` inputs, one graph copy per step
    (TF1's ``tf.nn.static_rnn`` / ``tf.contrib.rnn.static_rnn``), with ``sequence_length``
    as :func:`dynamic_rnn`.

    Returns:
        ``(outputs, final_state)``: a list of ``[batch, output_size]`` tensors.
    """
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise TypeError(f"static_rnn: `inputs` must be a non-empty list of tensors. "
                        f"Received: {inputs!r}")
    with variable_scope(scope or "rnn"):
        xs = [convert_to_tensor(t) for t in inputs]
        if initial_state is None:
            if dtype is None:
                raise ValueError("static_rnn: if there is no initial_state, you must give a "
                                 "dtype.")
            b = xs[0].shape.dims[0] if xs[0].shape.rank else None
            initial_state = cell.zero_state(b if b is not None else _a.shape(xs[0])[0], dtype)
        lengths = None if sequence_length is None else \
            _m.cast(convert_to_tensor(sequence_length), _dt.int32)
        state, outs = initial_state, []
        for t, x in enumerate(xs):
            out, new_state = cell(x, state)
            if lengths is not None:
                live = _a.expand_dims(_m.less(t, lengths), 1)
                out = _m.where(live, out, _a.zeros_like(out))
                new_state = nest.map_structure(lambda n, o, live=live: _m.where(live, n, o),
                                               new_state, state)
            outs.append(out)
            state = new_state
        return outs, state
