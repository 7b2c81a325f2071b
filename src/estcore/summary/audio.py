"""Audio summaries: a batch of clips to WAV-encoded ``Summary.Audio`` values.

Owns TF1's audio-summary rules (which clips, their tags, how float samples become 16-bit
PCM) and a minimal WAV encoder (RIFF, PCM, 16 bits per sample, interleaved channels).

Must not: build graph ops (``ops.py`` does), do file I/O, or import an audio library
(numpy and struct only).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from estcore.summary.summary_pb import AudioValue, SummaryValue

__all__ = ["encode_wav", "audio_values"]


def encode_wav(samples: Any, sample_rate: float) -> bytes:
    """WAV bytes (16-bit PCM) of one clip.

    Float samples are expected in [-1, 1]: each becomes ``round(x * 32768)`` clamped to
    ``[-32768, 32767]`` (TF's ``encode_wav``).

    Args:
        samples: float array ``[frames, channels]``.
        sample_rate: samples per second per channel (a positive number; stored as an int).
    """
    arr = np.asarray(samples, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"encode_wav needs samples of shape (frames, channels), got {arr.shape}")
    rate = int(round(float(sample_rate)))
    if rate <= 0:
        raise ValueError(f"encode_wav needs a positive sample_rate, got {sample_rate!r}")
    frames, channels = arr.shape
    pcm = np.clip(np.rint(np.nan_to_num(arr) * 32768.0), -32768, 32767).astype("<i2")
    data = pcm.tobytes()
    block = channels * 2
    header = (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
              + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, 16)
              + b"data" + struct.pack("<I", len(data)))
    return header + data


def audio_values(tag: str, audio: Any, sample_rate: Any, max_outputs: int = 3
                 ) -> list[SummaryValue]:
    """Summary values of the first ``max_outputs`` clips of a batch.

    Tags are TF1's: ``<tag>/audio`` when ``max_outputs`` is 1, else ``<tag>/audio/0``,
    ``<tag>/audio/1``, ...

    Args:
        tag: the summary's tag.
        audio: float ``[batch, frames, channels]`` or ``[batch, frames]`` (one channel),
            samples in [-1, 1].
        sample_rate: a positive number (or a 0-d array of one).
        max_outputs: the most clips written.

    Raises:
        ValueError: another rank, or a sample rate that is not a positive number.
        TypeError: non-float samples.
    """
    arr = np.asarray(audio)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3:
        raise ValueError(f"Audio summary {tag!r} needs a tensor of shape [batch, frames, "
                         f"channels] or [batch, frames], got shape {np.asarray(audio).shape}")
    if arr.dtype.kind != "f":
        raise TypeError(f"Audio summary {tag!r} needs float samples in [-1, 1], got {arr.dtype}")
    rate = np.asarray(sample_rate)
    if rate.size != 1 or rate.dtype.kind not in "fiu" or not float(rate.reshape(())) > 0:
        raise ValueError(f"Audio summary {tag!r} needs a positive sample_rate, got "
                         f"{sample_rate!r}")
    rate_f = float(rate.reshape(()))
    out = []
    for i in range(min(len(arr), max_outputs)):
        name = f"{tag}/audio" if max_outputs == 1 else f"{tag}/audio/{i}"
        out.append(SummaryValue(tag=name, audio=AudioValue(
            sample_rate=rate_f, num_channels=arr.shape[2], length_frames=arr.shape[1],
            encoded=encode_wav(arr[i], rate_f), content_type="audio/wav")))
    return out
