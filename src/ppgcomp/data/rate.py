"""From a recording's sample rate to the model's 25 Hz.

* A multiple of 25 Hz (M = rate / 25, 1..128) takes the firmware's bit-exact integer CIC decimator
  (docs/preprocessing.md, section 1), so training sees exactly what the device computes.
* Any other rate (64 Hz Empatica E4, 125 Hz BIDMC/MIMIC, 128 Hz, 20 Hz, fractional rates such as 117.3 Hz) is
  resampled with ``scipy.signal.resample_poly`` by the rational ratio 25 / rate (the rate is read as a fraction
  with a denominator of at most 1000). Output sample k is at time k / 25 s.

Labels follow the same clock: :meth:`RatePath.out_times` gives the time of each 25 Hz sample, and every loader
takes its label at those times.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import signal

from ppgcomp.constants import MAX_DECIMATION, MODEL_RATE_HZ
from ppgcomp.dsp.decimate import decimate, decimation_factor

MIN_RATE_HZ = 10.0  # Nyquist 5 Hz = 300 bpm, above the HR range
MAX_RATE_HZ = 100_000.0
MAX_DENOMINATOR = 1000


@dataclass(frozen=True)
class RatePath:
    rate_hz: float
    kind: str  # "cic" or "resample_poly"
    m: int = 1  # CIC decimation factor
    up: int = 1  # resample_poly ratio up / down = 25 / rate
    down: int = 1

    def describe(self) -> str:
        if self.kind == "cic":
            return f"{self.rate_hz:g} Hz: integer CIC decimation by {self.m} (bit-exact with the firmware)"
        return f"{self.rate_hz:g} Hz: scipy resample_poly x{self.up}/{self.down} to 25 Hz (not the firmware path)"

    def n_out(self, n_in: int) -> int:
        if self.kind == "cic":
            return n_in // self.m
        return -(-n_in * self.up // self.down)  # ceil, as resample_poly

    def out_times(self, n_out: int) -> np.ndarray:
        """Time in seconds of each 25 Hz output sample, with input sample 0 at t = 0."""
        k = np.arange(n_out, dtype=np.float64)
        if self.kind == "cic":
            return ((k + 1) * self.m - 1) / self.rate_hz  # the decimator's output instant
        return k / MODEL_RATE_HZ


def rate_path(rate_hz: float) -> RatePath:
    """The path a recording at `rate_hz` takes to 25 Hz; ValueError for an unusable rate."""
    try:
        rate = float(rate_hz)
    except (TypeError, ValueError):
        raise ValueError(f"sample rate must be a number of Hz, got {rate_hz!r}") from None
    if not np.isfinite(rate) or rate <= 0:
        raise ValueError(f"sample rate must be a positive number of Hz, got {rate_hz!r}")
    m = rate / MODEL_RATE_HZ
    if abs(m - round(m)) <= 1e-9 and 1 <= round(m) <= MAX_DECIMATION:
        return RatePath(rate, "cic", m=decimation_factor(rate))
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise ValueError(f"sample rate {rate:g} Hz is outside {MIN_RATE_HZ:g}..{MAX_RATE_HZ:g} Hz")
    frac = Fraction(rate).limit_denominator(MAX_DENOMINATOR)
    if abs(float(frac) - rate) > 1e-6 * rate:
        raise ValueError(f"sample rate {rate!r} Hz is not a ratio with a denominator up to {MAX_DENOMINATOR}")
    ratio = Fraction(MODEL_RATE_HZ) / frac
    return RatePath(rate, "resample_poly", up=ratio.numerator, down=ratio.denominator)


def to_model_rate(counts: np.ndarray, path: RatePath) -> np.ndarray:
    """Integer sensor counts at the recording's rate -> int32 counts at 25 Hz along `path`."""
    x = np.asarray(counts)
    if path.kind == "cic":
        return decimate(x, path.m)
    y = signal.resample_poly(x.astype(np.float64), path.up, path.down, padtype="line")
    return np.clip(np.round(y), -(2**31), 2**31 - 1).astype(np.int32)


def at_times(values: np.ndarray, rate_hz: float, times_s: np.ndarray) -> np.ndarray:
    """A per-sample series at `rate_hz` read at `times_s` (linear interpolation; exact on sample instants)."""
    v = np.asarray(values, dtype=np.float64)
    return np.interp(np.asarray(times_s) * rate_hz, np.arange(v.size), v)
