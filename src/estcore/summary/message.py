"""TF1's ``tf.Summary`` / ``tf.HistogramProto`` messages, as a TF1 program builds them.

A program that logs a value computed in Python writes::

    summary = tf.Summary(value=[tf.Summary.Value(tag="acc", simple_value=acc)])
    summary.value.add(tag="loss", simple_value=loss)
    writer.add_summary(summary, step)

and a ``sess.run`` of a summary op returns the serialized message, which
``tf.Summary.FromString`` parses. :class:`Summary` holds a list of
:class:`~estcore.summary.summary_pb.SummaryValue` (the values the event files hold), with
protobuf's ``SerializeToString`` / ``ParseFromString`` / ``FromString`` and the repeated
field's ``add``. Owns that message API only. Must not: encode bytes itself (``summary_pb``
does) or write files (``writer.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from estcore.summary.summary_pb import (
    HistogramValue,
    ImageValue,
    SummaryValue,
    decode_summary,
    encode_summary,
)

__all__ = ["Summary", "HistogramProto", "summary_values_of"]


def HistogramProto(min: float = 0.0, max: float = 0.0, num: float = 0.0,  # noqa: A002, N802
                   sum: float = 0.0, sum_squares: float = 0.0,  # noqa: A002
                   bucket_limit: Iterable[float] | None = None,
                   bucket: Iterable[float] | None = None) -> HistogramValue:
    """TF1's ``tf.HistogramProto``: a histogram whose fields a program fills itself
    (``bucket_limit`` are the upper edges, ``bucket`` the counts; both lists, appendable)."""
    return HistogramValue(float(min), float(max), float(num), float(sum), float(sum_squares),
                          [float(x) for x in bucket_limit or ()],
                          [float(x) for x in bucket or ()])


def _image(height: int = 0, width: int = 0, colorspace: int = 0,
           encoded_image_string: bytes = b"") -> ImageValue:
    """``tf.Summary.Image``: an encoded (PNG) image with its size and channel count."""
    return ImageValue(int(height), int(width), int(colorspace), bytes(encoded_image_string))


def _value(tag: str = "", simple_value: float | None = None, image: ImageValue | None = None,
           histo: HistogramValue | None = None, **kwargs: Any) -> SummaryValue:
    """``tf.Summary.Value``: one tagged value (a simple_value, an image or a histo)."""
    if kwargs:
        raise TypeError(f"tf.Summary.Value: unsupported field(s) {sorted(kwargs)}; estcore "
                        "takes tag, simple_value, image and histo")
    if not isinstance(tag, str):
        raise TypeError(f"tf.Summary.Value: `tag` must be a str. Received: tag={tag!r}")
    set_ = [n for n, v in (("simple_value", simple_value), ("image", image), ("histo", histo))
            if v is not None]
    if len(set_) > 1:
        raise ValueError(f"tf.Summary.Value {tag!r}: set one of simple_value, image, histo; "
                         f"got {set_}")
    if image is not None and not isinstance(image, ImageValue):
        raise TypeError(f"tf.Summary.Value {tag!r}: `image` must be a tf.Summary.Image. "
                        f"Received: {type(image).__name__}")
    if histo is not None and not isinstance(histo, HistogramValue):
        raise TypeError(f"tf.Summary.Value {tag!r}: `histo` must be a tf.HistogramProto. "
                        f"Received: {type(histo).__name__}")
    return SummaryValue(tag=tag, simple_value=None if simple_value is None
                        else float(simple_value), image=image, histo=histo)


class _Values(list):
    """The repeated ``value`` field: a list with protobuf's ``add(**fields)``."""

    def add(self, **fields: Any) -> SummaryValue:
        v = _value(**fields)
        self.append(v)
        return v


class Summary:
    """TF1's ``tf.Summary`` message: ``value`` is a list of tagged values.

    Args:
        value: the values (``tf.Summary.Value(...)``), or None.
    """

    Value = staticmethod(_value)
    Image = staticmethod(_image)

    def __init__(self, value: Iterable[SummaryValue] | None = None):
        self.value = _Values(value or ())

    def SerializeToString(self) -> bytes:  # noqa: N802 - protobuf's name
        """The message's protobuf bytes (what ``sess.run`` of a summary op returns)."""
        return encode_summary(list(self.value))

    def ParseFromString(self, data: bytes) -> int:  # noqa: N802 - protobuf's name
        """Replace the values with those of the serialized message ``data``."""
        self.value = _Values(decode_summary(bytes(data)))
        return len(data)

    def MergeFromString(self, data: bytes) -> int:  # noqa: N802 - protobuf's name
        """Append the values of the serialized message ``data``."""
        self.value.extend(decode_summary(bytes(data)))
        return len(data)

    @classmethod
    def FromString(cls, data: bytes) -> Summary:  # noqa: N802 - protobuf's name
        """A Summary parsed from its serialized bytes."""
        out = cls()
        out.ParseFromString(data)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Summary) and list(self.value) == list(other.value)

    __hash__ = None  # type: ignore[assignment] - mutable, as a protobuf message

    def __repr__(self) -> str:
        return f"Summary(value={list(self.value)!r})"


def summary_values_of(summary: Any) -> list[SummaryValue]:
    """The values of anything ``FileWriter.add_summary`` takes: a :class:`Summary`, its
    serialized bytes (a ``sess.run`` of a summary op), one value or a list of values or
    of serialized Summaries.

    Raises:
        TypeError: for anything else, naming what was received.
    """
    if isinstance(summary, Summary):
        return list(summary.value)
    if isinstance(summary, (bytes, bytearray, memoryview)):
        return decode_summary(bytes(summary))
    if isinstance(summary, SummaryValue):
        return [summary]
    if isinstance(summary, (list, tuple)):
        out: list[SummaryValue] = []
        for item in summary:
            out.extend(summary_values_of(item))
        return out
    raise TypeError("add_summary: `summary` must be a tf.Summary, its serialized bytes (the "
                    "value of a summary op), or summary values. Received: "
                    f"{type(summary).__name__}")
