# _pipeline.pyx -- the seam of the input pipeline (internal; estcore.inputs wraps it).
#
# Design:
#   (a) C (csrc/pipeline, est_stream.h) owns worker threads, the slab pool and
#       the in-order window; it never sees a Python object.
#   (b) _Stream keeps the source numpy arrays alive for its whole life (the C
#       columns borrow their memory), passes their pointers, shapes and strides
#       to C, and turns statuses into estcore.errors exceptions.
#   (c) Each batch is one C slab wrapped in a _BatchBuffer (buffer protocol);
#       the numpy arrays of the batch are views on it with the buffer as their
#       base. Ownership of the slab moves to the _BatchBuffer at hand-off; when
#       the last array viewing it dies, __dealloc__ gives the slab back to the
#       pool (est_slab_release), which also works after the stream is gone.
#   (d) Blocking waits run with the GIL released, 100 ms at a time, checking
#       for signals in between so Ctrl-C interrupts a blocked consumer; on any
#       exception there the stream is closed (workers joined) before re-raising.
#
# Files (included below, in this order; each says what it owns):
#   _pipeline_stream.pxi   _BatchBuffer, _Stream, the sampler (shuffle_buffer_order) and
#                          the stream / status-map test hooks
#   _pipeline_records.pxi  CRC-32C, _RecordReader (record framing) and _string_pointers,
#                          the record table the parsers share
#   _pipeline_csv.pxi      CSV and number parsing: decode_csv_columns, csv_chunk,
#                          strings_to_numbers
#   _pipeline_example.pxi  Example parsing: parse_example_columns, parse_example_varlen
from cpython.buffer cimport PyBUF_FORMAT
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.exc cimport PyErr_CheckSignals
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp, memcpy

from estcore._lib._status cimport (
    EST_ERR_CANCELLED,
    EST_ERR_FAILED_PRECONDITION,
    EST_ERR_INVALID_ARGUMENT,
    EST_ERR_OUT_OF_RANGE,
    EST_ERR_TIMEOUT,
    EST_OK,
    EST_STATUS__COUNT,
    check_status,
    est_status,
)

import numpy as np

include "_pipeline_stream.pxi"
include "_pipeline_records.pxi"
include "_pipeline_csv.pxi"
include "_pipeline_example.pxi"
