"""Integer CIC-3 low-pass and decimate to 25 Hz, bit-exact with app/src/dsp/decimate.c.

See docs/preprocessing.md, section 1.
"""

from __future__ import annotations

import numpy as np

from ppgcomp.constants import MAX_DECIMATION, MODEL_RATE_HZ


def decimation_factor(rate_hz: float) -> int:
    """Return M = rate / 25 Hz, or raise ValueError for a rate the firmware cannot decimate."""
    if rate_hz is None or not np.isfinite(rate_hz) or rate_hz <= 0:
        raise ValueError(f"sample rate must be a positive number of Hz, got {rate_hz!r}")
    m = rate_hz / MODEL_RATE_HZ
    if abs(m - round(m)) > 1e-9 or round(m) < 1:
        raise ValueError(f"sample rate {rate_hz:g} Hz is not an integer multiple of {MODEL_RATE_HZ} Hz")
    if round(m) > MAX_DECIMATION:
        raise ValueError(f"sample rate {rate_hz:g} Hz is above {MODEL_RATE_HZ * MAX_DECIMATION} Hz")
    return round(m)


def cic3_taps(m: int) -> np.ndarray:
    """The 3M-2 integer taps of a 3rd-order CIC filter (three boxcars of length M), summing to M**3."""
    if not 1 <= m <= MAX_DECIMATION:
        raise ValueError(f"decimation factor must be 1..{MAX_DECIMATION}, got {m}")
    box = np.ones(m, dtype=np.int64)
    return np.convolve(np.convolve(box, box), box)


def decimate(x: np.ndarray, m: int) -> np.ndarray:
    """Low-pass and decimate int32 samples by M, exactly as the streaming firmware decimator does."""
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError("decimate expects a 1-D signal")
    if x.size == 0:
        return np.zeros(0, dtype=np.int32)
    if np.issubdtype(x.dtype, np.floating) and not np.all(x == np.round(x)):
        raise ValueError("decimate expects integer sensor counts")
    xi = x.astype(np.int64)
    if xi.min() < -(2**31) or xi.max() > 2**31 - 1:
        raise ValueError("samples must fit in int32")
    h = cic3_taps(m)
    taps = h.size
    gain = m**3
    padded = np.concatenate([np.full(taps - 1, xi[0], dtype=np.int64), xi])
    n_out = xi.size // m
    # Output k is produced after input n = (k+1)*M - 1: acc = sum_j h[j] * x[n - j].
    ends = (np.arange(n_out, dtype=np.int64) + 1) * m - 1 + (taps - 1)  # index of x[n] in `padded`
    acc = np.zeros(n_out, dtype=np.int64)
    for j in range(taps):
        acc += h[j] * padded[ends - j]
    return ((acc + gain // 2) // gain).astype(np.int32)


class Decimator:
    """Streaming form of :func:`decimate`, one sample at a time (the reference for the C state machine)."""

    def __init__(self, m: int) -> None:
        self.m = m
        self.h = [int(v) for v in cic3_taps(m)]
        self.gain = m**3
        self.hist: list[int] = []
        self.n = 0

    def push(self, sample: int) -> int | None:
        if not self.hist:
            self.hist = [int(sample)] * len(self.h)
        self.hist = [int(sample)] + self.hist[:-1]  # hist[j] = x[n - j]
        self.n += 1
        if self.n % self.m:
            return None
        acc = sum(h * v for h, v in zip(self.h, self.hist))
        return (acc + self.gain // 2) // self.gain
