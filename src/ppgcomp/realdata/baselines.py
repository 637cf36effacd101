"""Two non-learned HR estimators on the same 16 s window at 25 Hz that the encoder sees.

* spectral peak: the window detrended (the device's 1 s moving-average high-pass), Hann-tapered and zero-padded to
  4096 points; the highest peak in 0.55-3.4 Hz (33-204 bpm). Plain: a sub-harmonic guard (take the peak near half
  the frequency when it is nearly as high) changes nothing at rest here and doubles the motion recording's error.
* beat detector: the upstroke detector of ppgcomp.realdata.beats run on the window alone; HR from the beats in
  its last 8 s as 60 (n - 1) / (last - first), the reference's definition; with fewer than two there, the beats of
  the whole window; with fewer than two in all, the spectral peak.
"""

from __future__ import annotations

import numpy as np

from ppgcomp.constants import MODEL_RATE_HZ, TARGET_LEN, WINDOW_LEN
from ppgcomp.dsp.preprocess import detrend
from ppgcomp.realdata.beats import detect_beats

BAND_HZ = (0.55, 3.4)
NFFT = 4096


def spectral_hr(raw: np.ndarray, taper: np.ndarray | None = None, nfft: int = NFFT) -> np.ndarray:
    """(n, 400) int counts -> (n,) HR in bpm. `taper` (default Hann over the whole window) and `nfft` vary it for
    ppgcomp.realdata.frontend_study."""
    raw = np.atleast_2d(raw)
    x = detrend(raw).astype(np.float64)
    x -= x.mean(axis=1, keepdims=True)
    taper = np.hanning(raw.shape[1]) if taper is None else taper
    spec = np.abs(np.fft.rfft(x * taper[None, :], n=nfft, axis=1))
    f = np.fft.rfftfreq(nfft, 1.0 / MODEL_RATE_HZ)
    band = (f >= BAND_HZ[0]) & (f <= BAND_HZ[1])
    return 60.0 * f[band][np.argmax(spec[:, band], axis=1)]


def _beats_hr(beats: np.ndarray) -> float:
    t = beats / MODEL_RATE_HZ
    return 60.0 * (t.size - 1) / (t[-1] - t[0]) if t.size >= 2 and t[-1] > t[0] else np.nan


def beat_hr(raw: np.ndarray) -> np.ndarray:
    """(n, 400) int counts -> (n,) HR in bpm."""
    raw = np.atleast_2d(raw)
    out = np.empty(raw.shape[0])
    fallback = None
    for i, w in enumerate(raw):
        beats, _ = detect_beats(w.astype(np.float64), float(MODEL_RATE_HZ))
        hr = _beats_hr(beats[beats >= WINDOW_LEN - TARGET_LEN])
        if not np.isfinite(hr):
            hr = _beats_hr(beats)
        if not np.isfinite(hr):
            fallback = spectral_hr(raw) if fallback is None else fallback
            hr = fallback[i]
        out[i] = hr
    return out
