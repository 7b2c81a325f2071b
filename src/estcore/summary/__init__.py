"""``estcore.summary``: summary ops and TensorBoard event files (writing and reading).

``scalar`` / ``histogram`` / ``image`` / ``text`` / ``audio`` / ``tensor_summary`` add summary
ops to the default graph.

``FileWriter`` / ``FileWriterCache`` write ``events.out.tfevents.*`` files with
scalar, histogram, image and text summaries and the graph (``add_graph``, for
TensorBoard's Graphs tab); :func:`read_scalars` and
:func:`read_eval_metrics` read them back.

This ``__init__`` only re-exports (from ``ops``, ``image``, ``audio``, ``graph_def``, ``reader``,
``summary_pb``, ``message``, ``writer``). Must not: hold code; be imported by estcore's own modules
(they import the defining module).
"""

from estcore.summary.audio import audio_values, encode_wav
from estcore.summary.graph_def import graph_def_bytes
from estcore.summary.image import image_values
from estcore.summary.message import HistogramProto, Summary
from estcore.summary.ops import (
    MergedSummary,
    SummaryOp,
    audio,
    histogram,
    image,
    merge,
    merge_all,
    scalar,
    tensor_summary,
    text,
)
from estcore.summary.reader import (
    EventFileCorruptError,
    event_files,
    iter_events,
    read_eval_metrics,
    read_scalars,
)
from estcore.summary.summary_pb import (
    AudioValue,
    Event,
    HistogramValue,
    ImageValue,
    SessionLog,
    SummaryValue,
    histogram_value,
    scalar_value,
    tensor_value,
    text_value,
)
from estcore.summary.writer import (
    EventFileWriter,
    FileWriter,
    FileWriterCache,
    SummaryWriter,
    SummaryWriterCache,
)

__all__ = [
    "SummaryOp",
    "MergedSummary",
    "Summary",
    "HistogramProto",
    "audio",
    "audio_values",
    "encode_wav",
    "tensor_summary",
    "AudioValue",
    "histogram",
    "image",
    "merge",
    "merge_all",
    "scalar",
    "text",
    "Event",
    "EventFileCorruptError",
    "EventFileWriter",
    "FileWriter",
    "FileWriterCache",
    "HistogramValue",
    "ImageValue",
    "SessionLog",
    "SummaryValue",
    "SummaryWriter",
    "SummaryWriterCache",
    "event_files",
    "graph_def_bytes",
    "image_values",
    "histogram_value",
    "iter_events",
    "read_eval_metrics",
    "read_scalars",
    "scalar_value",
    "tensor_value",
    "text_value",
]
