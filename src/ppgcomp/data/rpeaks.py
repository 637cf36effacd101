"""R-peak detection in an ECG, for recordings whose HR reference is an ECG channel (WESAD's chest ECG at 700 Hz,
WFDB records without beat annotations).

The detector is a Pan-Tompkins-style energy detector:

1. band-pass 5-20 Hz (4th-order Butterworth, zero phase): keeps the QRS, drops baseline wander and T waves;
2. derivative, squared, integrated over 150 ms: one energy bump per QRS complex;
3. peaks of the energy at least 0.24 s apart (250 bpm), above 30 % of the 98th percentile of the energy in the
   surrounding 10 s block (so amplitude changes over a recording do not lose beats);
4. each peak moves to the largest absolute band-passed ECG value within 75 ms (either polarity).
"""

from __future__ import annotations

import numpy as np
from scipy import signal

BAND_HZ = (5.0, 20.0)
INTEGRATION_S = 0.15
MIN_RR_S = 0.24
BLOCK_S = 10.0
THRESHOLD = 0.3
REFINE_S = 0.075


def detect_rpeaks(ecg: np.ndarray, rate_hz: float) -> np.ndarray:
    """Sample indices of the R-peaks in `ecg` (sampled at `rate_hz`, at least 50 Hz)."""
    x = np.asarray(ecg, dtype=np.float64).reshape(-1)
    if x.size < int(2 * rate_hz) or rate_hz < 50:
        return np.zeros(0, dtype=np.int64)
    hi = min(BAND_HZ[1], 0.45 * rate_hz)
    sos = signal.butter(4, (BAND_HZ[0], hi), btype="bandpass", fs=rate_hz, output="sos")
    bp = signal.sosfiltfilt(sos, x - np.median(x))
    energy = np.gradient(bp) ** 2
    win = max(1, round(INTEGRATION_S * rate_hz))
    energy = np.convolve(energy, np.ones(win) / win, mode="same")
    block = max(1, round(BLOCK_S * rate_hz))
    n_blocks = -(-energy.size // block)
    level = np.array([np.percentile(energy[b * block : (b + 1) * block], 98) for b in range(n_blocks)])
    threshold = THRESHOLD * np.repeat(level, block)[: energy.size]
    peaks, _ = signal.find_peaks(energy, distance=max(1, round(MIN_RR_S * rate_hz)))
    peaks = peaks[energy[peaks] > threshold[peaks]]
    half = max(1, round(REFINE_S * rate_hz))
    refined = [max(0, p - half) + int(np.argmax(np.abs(bp[max(0, p - half) : p + half + 1]))) for p in peaks]
    return np.unique(np.asarray(refined, dtype=np.int64))
