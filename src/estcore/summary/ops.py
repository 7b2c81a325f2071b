"""Summary ops in a graph: ``estcore.summary.scalar`` / ``histogram`` / ``image`` / ``text`` /
``audio`` / ``tensor_summary``.

A summary op is a :class:`SummaryOp` (kind, tag, tensor) registered in the
default graph's ``SUMMARIES`` collection. A hook fetches the tensors of a list
of them in one ``session.run`` and turns the values into event-file summaries
with :func:`summary_values`. Builds on the graph only; must not import the hooks or the
estimator (they sit above and use this module).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from estcore.graph.ir import GraphKeys, add_to_collection, get_collection, get_default_graph
from estcore.graph.ops.core import convert_to_tensor, is_tensor
from estcore.summary.audio import audio_values
from estcore.summary.image import CHANNELS, image_values
from estcore.summary.summary_pb import (
    SummaryValue,
    encode_summary,
    histogram_value,
    scalar_value,
    tensor_value,
    text_value,
)

__all__ = ["SummaryOp", "MergedSummary", "scalar", "histogram", "image", "text", "audio",
           "tensor_summary", "merge_all", "merge", "summary_values", "fetches_of"]


class SummaryOp(NamedTuple):
    """One summary in a graph: ``kind`` is 'scalar', 'histogram', 'image', 'text', 'audio'
    or 'tensor'; ``max_outputs`` is the most images / clips written; ``tensor`` is what is
    fetched (for 'audio' the pair ``(clips, sample_rate)``); ``extra`` holds a tensor
    summary's ``(display_name, description)``."""

    kind: str
    tag: str
    tensor: Any
    max_outputs: int = 3
    extra: Any = None

    # Session.run fetches a summary op as TF1 does: its value is the serialized Summary
    # (graph/fetches.py's composite leaves).
    def _estcore_components(self) -> list:
        return list(self.tensor) if self.kind == "audio" else [self.tensor]

    def _estcore_rebuild(self, values: Sequence[Any]) -> bytes:
        return encode_summary(summary_values([self], [self._value_of(values)]))

    def _value_of(self, parts: Sequence[Any]) -> Any:
        """What :func:`summary_values` takes from the fetched components."""
        return tuple(parts) if self.kind == "audio" else parts[0]


class MergedSummary(list):
    """What ``merge`` / ``merge_all`` return: a list of summary ops that ``Session.run``
    fetches as one serialized Summary holding all their values (TF1's merged summary
    tensor); hooks and ``merge`` take it as the list it is."""

    def _estcore_components(self) -> list:
        return [t for op in self for t in op._estcore_components()]

    def _estcore_rebuild(self, values: Sequence[Any]) -> bytes:
        out, i = [], 0
        for op in self:
            n = len(op._estcore_components())
            out.append(op._value_of(values[i:i + n]))
            i += n
        return encode_summary(summary_values(list(self), out))


def _register(op: SummaryOp, collections: Iterable[str] | None) -> SummaryOp:
    for key in (collections if collections is not None else [GraphKeys.SUMMARIES]):
        add_to_collection(key, op)
    return op


def _clean(tag: str) -> str:
    """TF1's ``clean_tag``: characters a scope name can not hold become ``_``."""
    return re.sub(r"[^-/\w\.]", "_", tag).lstrip("/")


def _tag(name: str, family: str | None) -> str:
    """TF1's summary tag: the summary's name scope (current scope + ``name``, made
    unique: ``loss``, ``loss_1``, ...), prefixed by ``family/`` when given
    (so ``family/<scope>/family/name``, as TF1)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"`name` must be a non-empty string. Received: name={name!r}")
    name = _clean(name)
    family = _clean(family) if family else None
    base = f"{family}/{name}" if family else name
    with get_default_graph().name_scope(base) as scope:
        tag = scope.rstrip("/")
    return f"{family}/{tag}" if family else tag


def _as_tensor(value: Any) -> Any:
    return value if is_tensor(value) else convert_to_tensor(value)


def scalar(name: str, tensor: Any, collections: Iterable[str] | None = None,
           family: str | None = None) -> SummaryOp:
    """A scalar summary of ``tensor`` (one element) under tag ``name``."""
    return _register(SummaryOp("scalar", _tag(name, family), _as_tensor(tensor)), collections)


def histogram(name: str, values: Any, collections: Iterable[str] | None = None,
              family: str | None = None) -> SummaryOp:
    """A histogram summary of ``values`` (any shape)."""
    return _register(SummaryOp("histogram", _tag(name, family), _as_tensor(values)),
                     collections)


def image(name: str, tensor: Any, max_outputs: int = 3,
          collections: Iterable[str] | None = None, family: str | None = None) -> SummaryOp:
    """An image summary of the first ``max_outputs`` images of a batch.

    Args:
        name: the summary name; the images are tagged ``<name>/image/0``, ... (or
            ``<name>/image`` when ``max_outputs`` is 1).
        tensor: ``[batch, height, width, channels]``, uint8 or float, with 1 (gray),
            3 (RGB) or 4 (RGBA) channels. Float images are scaled per image as TF1:
            non-negative ones so the largest pixel is 255, others with 0 at 128.
        max_outputs: the most images written per summary step (a positive int).
        collections: the collections the op is added to (default ``SUMMARIES``).
        family: an optional tag prefix (TensorBoard groups by it).

    Raises:
        ValueError: ``max_outputs`` is not a positive int, or the tensor's static shape is
            not 4-D with 1, 3 or 4 channels.
        TypeError: a dtype other than uint8 or float.
    """
    if isinstance(max_outputs, bool) or not isinstance(max_outputs, (int, np.integer)) \
            or max_outputs < 1:
        raise ValueError(f"image summary {name!r}: max_outputs must be a positive int, got "
                         f"{max_outputs!r}")
    t = _as_tensor(tensor)
    dims = t.shape.as_list() if t.shape.rank is not None else None
    if dims is not None and (len(dims) != 4 or dims[3] not in (*CHANNELS, None)):
        raise ValueError(f"image summary {name!r}: the tensor must be [batch, height, width, "
                         f"channels] with 1, 3 or 4 channels, got shape {tuple(dims)}")
    if not (t.dtype.np == np.uint8 or t.dtype.is_floating):
        raise TypeError(f"image summary {name!r}: the tensor must be uint8 or float, got "
                        f"{t.dtype.name}")
    return _register(SummaryOp("image", _tag(name, family), t, int(max_outputs)), collections)


def text(name: str, tensor: Any, collections: Iterable[str] | None = None) -> SummaryOp:
    """A text summary of a string tensor."""
    return _register(SummaryOp("text", _tag(name, None), _as_tensor(tensor)), collections)


def _check_max_outputs(kind: str, name: str, max_outputs: Any) -> int:
    if isinstance(max_outputs, bool) or not isinstance(max_outputs, (int, np.integer)) \
            or max_outputs < 1:
        raise ValueError(f"{kind} summary {name!r}: max_outputs must be a positive int, got "
                         f"{max_outputs!r}")
    return int(max_outputs)


def audio(name: str, tensor: Any, sample_rate: Any, max_outputs: int = 3,
          collections: Iterable[str] | None = None, family: str | None = None) -> SummaryOp:
    """An audio summary of the first ``max_outputs`` clips of a batch (WAV, 16-bit PCM).

    Args:
        name: the summary name; clips are tagged ``<name>/audio/0``, ... (or
            ``<name>/audio`` when ``max_outputs`` is 1).
        tensor: float ``[batch, frames, channels]`` or ``[batch, frames]``, samples in
            [-1, 1] (clipped).
        sample_rate: samples per second: a positive number or a scalar tensor.
        max_outputs: the most clips written per summary step (a positive int).
        collections: the collections the op is added to (default ``SUMMARIES``).
        family: an optional tag prefix.

    Raises:
        ValueError: a bad ``max_outputs`` / ``sample_rate``, or a static rank other than 2 or 3.
        TypeError: non-float samples.
    """
    max_outputs = _check_max_outputs("audio", name, max_outputs)
    t = _as_tensor(tensor)
    if t.shape.rank not in (None, 2, 3):
        raise ValueError(f"audio summary {name!r}: the tensor must be [batch, frames, channels] "
                         f"or [batch, frames], got shape {tuple(t.shape.as_list())}")
    if not t.dtype.is_floating:
        raise TypeError(f"audio summary {name!r}: the samples must be float, got "
                        f"{t.dtype.name}")
    if is_tensor(sample_rate):
        rate = _as_tensor(sample_rate)
    else:
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float, np.number)) \
                or not float(sample_rate) > 0:
            raise ValueError(f"audio summary {name!r}: sample_rate must be a positive number or "
                             f"a scalar tensor, got {sample_rate!r}")
        rate = convert_to_tensor(np.float32(sample_rate))
    return _register(SummaryOp("audio", _tag(name, family), (t, rate), max_outputs), collections)


def tensor_summary(name: str, tensor: Any, summary_description: str | None = None,
                   collections: Iterable[str] | None = None, summary_metadata: Any = None,
                   family: str | None = None, display_name: str | None = None) -> SummaryOp:
    """A summary of a whole tensor (TF1 ``tf.summary.tensor_summary``), written as a
    ``TensorProto`` that TensorBoard lists under its tensors.

    Args:
        name: the summary name (the tag, made unique in the name scope).
        tensor: a numeric, bool or string tensor of any shape.
        summary_description: the metadata's description.
        collections: the collections the op is added to (default ``SUMMARIES``).
        summary_metadata: accepted for TF1 compatibility: a mapping with
            ``display_name`` / ``summary_description`` keys (or an object with those
            attributes); its values are used where the arguments are None.
        family: an optional tag prefix.
        display_name: the metadata's display name (default: ``name``).
    """
    def _meta(key: str) -> Any:
        if summary_metadata is None:
            return None
        if isinstance(summary_metadata, dict):
            return summary_metadata.get(key)
        return getattr(summary_metadata, key, None)

    description = summary_description if summary_description is not None else _meta(
        "summary_description")
    shown = display_name if display_name is not None else _meta("display_name")
    return _register(SummaryOp("tensor", _tag(name, family), _as_tensor(tensor), 3,
                               (str(shown or name), str(description or ""))), collections)


def merge_all(key: str | None = None) -> MergedSummary | None:
    """Every summary op of the default graph's collection (a :class:`MergedSummary`), or
    None if there is none."""
    items = [op for op in get_collection(key or GraphKeys.SUMMARIES)
             if isinstance(op, (SummaryOp, MergedSummary))]
    return merge(items) if items else None


def merge(inputs: Sequence[Any], collections: Iterable[str] | None = None,
          name: str | None = None) -> MergedSummary:
    """Flatten summary ops / lists of them into one :class:`MergedSummary`, added to
    ``collections`` (default none, as TF1); ``name`` is accepted for TF1 compatibility."""
    del name
    out = MergedSummary()
    for item in inputs:
        if isinstance(item, SummaryOp):
            out.append(item)
        elif isinstance(item, (list, tuple)):
            out.extend(merge(item))
        else:
            raise TypeError(f"merge() takes summary ops, got {item!r}")
    for key in collections or ():
        add_to_collection(key, out)
    return out


def fetches_of(ops: Sequence[SummaryOp]) -> list[Any]:
    """The tensors to fetch for ``ops`` (same order)."""
    return [op.tensor for op in ops]


def summary_values(ops: Sequence[SummaryOp], values: Sequence[Any]) -> list[SummaryValue]:
    """Turn fetched values of ``ops`` into event-file summary values."""
    out = []
    for op, value in zip(ops, values, strict=True):
        if op.kind == "scalar":
            arr = np.asarray(value)
            if arr.size != 1:
                raise ValueError(f"Scalar summary {op.tag!r} got a value of shape {arr.shape}")
            out.append(scalar_value(op.tag, arr.reshape(())))
        elif op.kind == "histogram":
            out.append(histogram_value(op.tag, value))
        elif op.kind == "image":
            out.extend(image_values(op.tag, value, op.max_outputs))
        elif op.kind == "text":
            out.append(text_value(op.tag, value))
        elif op.kind == "audio":
            out.extend(audio_values(op.tag, value[0], value[1], op.max_outputs))
        elif op.kind == "tensor":
            v = tensor_value(op.tag, value)
            v.display_name, v.description = op.extra
            out.append(v)
        else:
            raise ValueError(f"Unknown summary kind {op.kind!r}")
    return out
