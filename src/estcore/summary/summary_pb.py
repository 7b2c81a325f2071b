"""Event / Summary messages of TensorBoard's event files, hand-encoded.

Only the fields estcore writes and reads are modelled (numbers are the ones of
``tensorflow/core/util/event.proto`` and ``framework/summary.proto``)::

    Event        wall_time=1 (double), step=2 (int64), file_version=3 (string),
                 graph_def=4 (bytes), summary=5 (Summary), session_log=7 (SessionLog)
    SessionLog   status=1 (enum: START=1, STOP=2, CHECKPOINT=3), checkpoint_path=2
    Summary      value=1 (repeated Value)
    Value        tag=1, simple_value=2 (float), image=4 (Image), histo=5 (HistogramProto),
                 audio=6 (Audio), tensor=8 (TensorProto), metadata=9 (SummaryMetadata)
    Audio        sample_rate=1 (float), num_channels=2, length_frames=3 (int64),
                 encoded_audio_string=4 (WAV bytes), content_type=5
    Image        height=1, width=2, colorspace=3 (1 gray, 3 RGB, 4 RGBA),
                 encoded_image_string=4 (PNG bytes)
    HistogramProto  min=1 max=2 num=3 sum=4 sum_squares=5 (doubles),
                 bucket_limit=6, bucket=7 (packed doubles)
    TensorProto  dtype=1, tensor_shape=2 (dim=2 {size=1}), tensor_content=4,
                 string_val=8
    SummaryMetadata  plugin_data=1 {plugin_name=1, content=2}, display_name=2,
                 summary_description=3

Must not: import protobuf or TensorFlow; do file I/O or record framing (``writer.py``
and ``reader.py``); build graph ops (``ops.py`` does). The generic wire helpers are
:mod:`estcore.proto.wire`'s.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from estcore.proto import wire as p

__all__ = [
    "Event",
    "SummaryValue",
    "HistogramValue",
    "ImageValue",
    "AudioValue",
    "SessionLog",
    "encode_event",
    "decode_event",
    "encode_summary",
    "decode_summary",
    "scalar_value",
    "histogram_value",
    "text_value",
    "tensor_value",
    "FILE_VERSION",
]

FILE_VERSION = "brain.Event:2"

_DT = {np.dtype(np.float32): 1, np.dtype(np.float64): 2, np.dtype(np.int32): 3,
       np.dtype(np.uint8): 4, np.dtype(np.int16): 5, np.dtype(np.int8): 6,
       np.dtype(np.int64): 9, np.dtype(np.bool_): 10, np.dtype(np.uint16): 17,
       np.dtype(np.float16): 19, np.dtype(np.uint32): 22, np.dtype(np.uint64): 23}
_DT_STRING = 7
_DT_BACK = {v: k for k, v in _DT.items()}


@dataclass
class HistogramValue:
    """A histogram in TensorBoard's bucket layout (``bucket_limit`` = upper edges)."""

    min: float
    max: float
    num: float
    sum: float
    sum_squares: float
    bucket_limit: list[float]
    bucket: list[float]


@dataclass
class ImageValue:
    """An encoded image (``Summary.Image``): ``colorspace`` is the channel count."""

    height: int
    width: int
    colorspace: int
    encoded: bytes  # PNG


@dataclass
class AudioValue:
    """An encoded audio clip (``Summary.Audio``)."""

    sample_rate: float
    num_channels: int
    length_frames: int
    encoded: bytes  # WAV
    content_type: str = "audio/wav"


@dataclass
class SummaryValue:
    """One tagged value: exactly one of simple_value / histo / image / audio / tensor is
    set. ``display_name`` / ``description`` are the metadata's (tensor summaries)."""

    tag: str
    simple_value: float | None = None
    histo: HistogramValue | None = None
    image: ImageValue | None = None
    tensor: Any = None  # numpy array (strings: array of bytes objects)
    plugin_name: str | None = None
    plugin_content: bytes = b""
    audio: AudioValue | None = None
    display_name: str = ""
    description: str = ""


@dataclass
class SessionLog:
    START = 1
    STOP = 2
    CHECKPOINT = 3
    status: int = 0
    checkpoint_path: str = ""


@dataclass
class Event:
    wall_time: float = 0.0
    step: int = 0
    file_version: str | None = None
    summary: list[SummaryValue] | None = None
    session_log: SessionLog | None = None
    graph_def: bytes | None = None
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- builders


def scalar_value(tag: str, value: Any) -> SummaryValue:
    """A ``simple_value`` summary (stored as float32, as TF's)."""
    return SummaryValue(tag=str(tag), simple_value=float(np.asarray(value, np.float64)))


def _default_bucket_limits() -> np.ndarray:
    pos = []
    v = 1.0e-12
    while v < 1.0e20:
        pos.append(v)
        v *= 1.1
    pos.append(sys.float_info.max)
    neg = [-x for x in reversed(pos)]
    return np.array(neg + [0.0] + pos, dtype=np.float64)


_LIMITS = _default_bucket_limits()


def histogram_value(tag: str, values: Any) -> SummaryValue:
    """A histogram summary of ``values`` (any shape) with TF's default buckets."""
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"Nan or Inf in summary histogram for: {tag}")
    counts = np.bincount(np.searchsorted(_LIMITS, arr, side="right"),
                         minlength=len(_LIMITS))[:len(_LIMITS)].astype(np.float64)
    # Only non-empty buckets, each run of empty ones collapsed into one entry that
    # ends at the run's last limit (TF's HistogramProto encoding).
    limits: list[float] = []
    buckets: list[float] = []
    i = 0
    for j in np.flatnonzero(counts):
        if j > i:
            limits.append(float(_LIMITS[j - 1]))
            buckets.append(0.0)
        limits.append(float(_LIMITS[j]))
        buckets.append(float(counts[j]))
        i = j + 1
    if i < len(_LIMITS):
        limits.append(float(_LIMITS[-1]))
        buckets.append(0.0)
    histo = HistogramValue(
        min=float(arr.min()) if arr.size else sys.float_info.max,
        max=float(arr.max()) if arr.size else -sys.float_info.max,
        num=float(arr.size), sum=float(arr.sum()), sum_squares=float(np.dot(arr, arr)),
        bucket_limit=limits, bucket=buckets)
    return SummaryValue(tag=str(tag), histo=histo)


def tensor_value(tag: str, value: Any, plugin_name: str | None = None) -> SummaryValue:
    """A tensor summary (numeric array, or str / bytes -> string tensor)."""
    if isinstance(value, (str, bytes)):
        arr = np.array(value.encode("utf-8") if isinstance(value, str) else value,
                       dtype=object)
    else:
        arr = np.asarray(value)
        if arr.dtype.kind in "USO":
            arr = np.vectorize(lambda s: s.encode("utf-8") if isinstance(s, str) else s,
                               otypes=[object])(arr)
    return SummaryValue(tag=str(tag), tensor=arr, plugin_name=plugin_name)


def text_value(tag: str, text: Any) -> SummaryValue:
    """A string tensor summary shown by TensorBoard's text plugin.

    Args:
        tag: the summary tag.
        text: a str / bytes, or an array of them of any shape (written whole,
            as TF's text summary of a string tensor).

    Raises:
        TypeError: ``text`` holds something other than strings.
    """
    value = tensor_value(tag, text, plugin_name="text")
    arr = value.tensor
    if arr.dtype != object or not all(isinstance(s, bytes) for s in arr.reshape(-1)):
        raise TypeError(f"A text summary needs a string tensor. Received for tag {tag!r}: "
                        f"{text!r} ({type(text).__name__})")
    return value


# --------------------------------------------------------------------------- encoding


def _encode_tensor(arr: np.ndarray) -> bytes:
    shape = b"".join(p.field_bytes(2, p.field_varint(1, d)) for d in arr.shape)
    if arr.dtype == object:
        out = p.field_varint(1, _DT_STRING) + p.field_bytes(2, shape)
        for item in arr.reshape(-1):
            out += p.field_bytes(8, item if isinstance(item, bytes) else str(item).encode())
        return out
    dtype = arr.dtype.newbyteorder("=")
    if dtype not in _DT:
        raise TypeError(f"Cannot write a tensor summary of dtype {arr.dtype}")
    data = np.asarray(arr, dtype=dtype.newbyteorder("<"), order="C").tobytes()
    return p.field_varint(1, _DT[dtype]) + p.field_bytes(2, shape) + p.field_bytes(4, data)


def _encode_value(v: SummaryValue) -> bytes:
    out = p.field_bytes(1, v.tag)
    if v.plugin_name is not None or v.display_name or v.description:
        meta = b""
        if v.plugin_name is not None:
            plugin = p.field_bytes(1, v.plugin_name)
            if v.plugin_content:
                plugin += p.field_bytes(2, v.plugin_content)
            meta += p.field_bytes(1, plugin)
        if v.display_name:
            meta += p.field_bytes(2, v.display_name)
        if v.description:
            meta += p.field_bytes(3, v.description)
        out += p.field_bytes(9, meta)
    if v.simple_value is not None:
        out += p.field_float(2, v.simple_value)
    elif v.histo is not None:
        h = v.histo
        body = (p.field_double(1, h.min) + p.field_double(2, h.max) + p.field_double(3, h.num)
                + p.field_double(4, h.sum) + p.field_double(5, h.sum_squares)
                + p.field_packed_doubles(6, h.bucket_limit) + p.field_packed_doubles(7, h.bucket))
        out += p.field_bytes(5, body)
    elif v.image is not None:
        im = v.image
        out += p.field_bytes(4, p.field_varint(1, im.height) + p.field_varint(2, im.width)
                             + p.field_varint(3, im.colorspace) + p.field_bytes(4, im.encoded))
    elif v.audio is not None:
        a = v.audio
        out += p.field_bytes(6, p.field_float(1, a.sample_rate) + p.field_varint(2, a.num_channels)
                             + p.field_varint(3, a.length_frames) + p.field_bytes(4, a.encoded)
                             + p.field_bytes(5, a.content_type))
    elif v.tensor is not None:
        out += p.field_bytes(8, _encode_tensor(np.asarray(v.tensor)))
    return out


def encode_summary(values: list[SummaryValue]) -> bytes:
    """Serialize a Summary message (its repeated ``value`` field)."""
    return b"".join(p.field_bytes(1, _encode_value(v)) for v in values)


def decode_summary(data: bytes) -> list[SummaryValue]:
    """Parse a serialized Summary message into its values."""
    return [_decode_value(val) for f, _, val in p.iter_fields(data) if f == 1]


def encode_event(e: Event) -> bytes:
    """Serialize an :class:`Event` to protobuf bytes."""
    out = p.field_double(1, e.wall_time)
    if e.step:
        out += p.field_varint(2, int(e.step))
    if e.file_version is not None:
        out += p.field_bytes(3, e.file_version)
    if e.graph_def is not None:
        out += p.field_bytes(4, e.graph_def)
    if e.summary is not None:
        out += p.field_bytes(5, encode_summary(e.summary))
    if e.session_log is not None:
        body = p.field_varint(1, e.session_log.status)
        if e.session_log.checkpoint_path:
            body += p.field_bytes(2, e.session_log.checkpoint_path)
        out += p.field_bytes(7, body)
    return out


# --------------------------------------------------------------------------- decoding


def _packed_doubles(raw: bytes) -> list[float]:
    return np.frombuffer(raw, dtype="<f8").astype(np.float64).tolist()


def _decode_histo(data: bytes) -> HistogramValue:
    h = HistogramValue(0.0, 0.0, 0.0, 0.0, 0.0, [], [])
    names = {1: "min", 2: "max", 3: "num", 4: "sum", 5: "sum_squares"}
    for f, w, raw in p.iter_fields(data):
        if f in names and w == p.FIXED64:
            setattr(h, names[f], p.as_double(raw))
        elif f in (6, 7):
            target = h.bucket_limit if f == 6 else h.bucket
            if w == p.LENGTH:
                target.extend(_packed_doubles(raw))
            elif w == p.FIXED64:
                target.append(p.as_double(raw))
    return h


def _decode_tensor(data: bytes) -> np.ndarray:
    dtype = 0
    shape: list[int] = []
    content = None
    strings: list[bytes] = []
    for f, w, raw in p.iter_fields(data):
        if f == 1 and w == p.VARINT:
            dtype = raw
        elif f == 2 and w == p.LENGTH:
            for f2, _, dim in p.iter_fields(raw):
                if f2 == 2:
                    size = 0
                    for f3, w3, v3 in p.iter_fields(dim):
                        if f3 == 1 and w3 == p.VARINT:
                            size = p.as_signed64(v3)
                    shape.append(size)
        elif f == 4 and w == p.LENGTH:
            content = raw
        elif f == 8 and w == p.LENGTH:
            strings.append(raw)
    if dtype == _DT_STRING:
        arr = np.empty(len(strings), dtype=object)
        arr[:] = strings
        return arr.reshape(shape)
    np_dtype = _DT_BACK.get(dtype)
    if np_dtype is None or content is None:
        raise p.ProtoDecodeError(f"unsupported tensor (dtype enum {dtype})")
    return np.frombuffer(content, dtype=np_dtype.newbyteorder("<")).astype(np_dtype).reshape(
        shape)


def _decode_image(data: bytes) -> ImageValue:
    im = ImageValue(0, 0, 0, b"")
    names = {1: "height", 2: "width", 3: "colorspace"}
    for f, w, raw in p.iter_fields(data):
        if f in names and w == p.VARINT:
            setattr(im, names[f], raw)
        elif f == 4 and w == p.LENGTH:
            im.encoded = raw
    return im


def _decode_audio(data: bytes) -> AudioValue:
    a = AudioValue(0.0, 0, 0, b"", "")
    for f, w, raw in p.iter_fields(data):
        if f == 1 and w == p.FIXED32:
            a.sample_rate = p.as_float(raw)
        elif f == 2 and w == p.VARINT:
            a.num_channels = raw
        elif f == 3 and w == p.VARINT:
            a.length_frames = raw
        elif f == 4 and w == p.LENGTH:
            a.encoded = raw
        elif f == 5 and w == p.LENGTH:
            a.content_type = raw.decode("utf-8", errors="replace")
    return a


def _decode_value(data: bytes) -> SummaryValue:
    v = SummaryValue(tag="")
    for f, w, raw in p.iter_fields(data):
        if f == 1 and w == p.LENGTH:
            v.tag = raw.decode("utf-8", errors="replace")
        elif f == 2 and w == p.FIXED32:
            v.simple_value = p.as_float(raw)
        elif f == 4 and w == p.LENGTH:
            v.image = _decode_image(raw)
        elif f == 5 and w == p.LENGTH:
            v.histo = _decode_histo(raw)
        elif f == 6 and w == p.LENGTH:
            v.audio = _decode_audio(raw)
        elif f == 8 and w == p.LENGTH:
            v.tensor = _decode_tensor(raw)
        elif f == 9 and w == p.LENGTH:
            for f2, _, plugin in p.iter_fields(raw):
                if f2 == 1:
                    for f3, _, val in p.iter_fields(plugin):
                        if f3 == 1:
                            v.plugin_name = val.decode("utf-8", errors="replace")
                        elif f3 == 2:
                            v.plugin_content = val
                elif f2 == 2:
                    v.display_name = plugin.decode("utf-8", errors="replace")
                elif f2 == 3:
                    v.description = plugin.decode("utf-8", errors="replace")
    return v


def decode_event(data: bytes) -> Event:
    """Parse protobuf bytes into an :class:`Event` (unknown fields are skipped)."""
    e = Event()
    for f, w, raw in p.iter_fields(data):
        if f == 1 and w == p.FIXED64:
            e.wall_time = p.as_double(raw)
        elif f == 2 and w == p.VARINT:
            e.step = p.as_signed64(raw)
        elif f == 3 and w == p.LENGTH:
            e.file_version = raw.decode("utf-8", errors="replace")
        elif f == 4 and w == p.LENGTH:
            e.graph_def = raw
        elif f == 5 and w == p.LENGTH:
            e.summary = decode_summary(raw)
        elif f == 7 and w == p.LENGTH:
            log = SessionLog()
            for f2, _, val in p.iter_fields(raw):
                if f2 == 1:
                    log.status = val
                elif f2 == 2:
                    log.checkpoint_path = val.decode("utf-8", errors="replace")
            e.session_log = log
    return e
