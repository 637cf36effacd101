"""Integer detrend, min-max normalisation and int8 quantisation of one window, bit-exact with app/src/dsp/preprocess.c.

See docs/preprocessing.md, section 3, and section 4 for the quality spread behind the LOWRES flag.
"""

from __future__ import annotations

import numpy as np

from ppgcomp.constants import DETREND_HALF, INPUT_SCALE, INPUT_ZERO_POINT, WINDOW_LEN

# docs/preprocessing.md, section 4 (PPG_QUALITY_TAIL_DIV / PPG_QUALITY_MIN_SPREAD in app/src/dsp/preprocess.h).
QUALITY_TAIL_DIV = 20  # leave out n // 20 samples (5 %) at each end of the sorted window
QUALITY_MIN_SPREAD = 32  # LOWRES below this many levels for the central 90 % of the window
FLAT_RANGE_MIN_DEFAULT = 64  # the default of the firmware's CONFIG_APP_FLAT_RANGE_MIN (FLAT flag)


def preprocess_window(x: np.ndarray, half: int = DETREND_HALF) -> np.ndarray:
    """Map one int32 window to the encoder's int8 input."""
    return preprocess_windows(np.asarray(x)[None, :], half)[0]


def detrend(x: np.ndarray, half: int = DETREND_HALF) -> np.ndarray:
    """d[i] = (2h+1) x[i] - sum of x[clamp(i-h .. i+h)] over each row (int64): a moving-average high-pass."""
    xi = np.asarray(x).astype(np.int64)
    n = xi.shape[1]
    idx = np.clip(np.arange(n)[:, None] + np.arange(-half, half + 1)[None, :], 0, n - 1)
    return (2 * half + 1) * xi - xi[:, idx].sum(axis=2)


def preprocess_windows(x: np.ndarray, half: int = DETREND_HALF) -> np.ndarray:
    """Vectorised :func:`preprocess_window` over rows of an (n, W) int array."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError("preprocess_windows expects a 2-D (windows, samples) array")
    xi = detrend(x, half)
    lo = xi.min(axis=1, keepdims=True)
    hi = xi.max(axis=1, keepdims=True)
    rng = hi - lo
    safe = np.where(rng == 0, 1, rng)
    q = ((xi - lo) * 255 + safe // 2) // safe - 128
    q = np.where(rng == 0, -128, q)
    return q.astype(np.int8)


def quality_spread(q: np.ndarray) -> np.ndarray:
    """Levels spanned by the central 90 % of each int8 window: sorted[n-1-k] - sorted[k], k = n // 20.

    Takes one window (returns a 0-d array) or rows of windows. 0 for empty windows.
    """
    q = np.asarray(q)
    rows = np.atleast_2d(q).astype(np.int16)
    n = rows.shape[1]
    if n == 0:
        out = np.zeros(rows.shape[0], dtype=np.int16)
    else:
        k = n // QUALITY_TAIL_DIV
        s = np.sort(rows, axis=1)
        out = s[:, n - 1 - k] - s[:, k]
    return out[0] if q.ndim == 1 else out


def lowres(q: np.ndarray) -> np.ndarray:
    """The LOWRES rule: the pulse occupies fewer than QUALITY_MIN_SPREAD quantisation levels."""
    return quality_spread(q) < QUALITY_MIN_SPREAD


def int8_to_float(q: np.ndarray) -> np.ndarray:
    """The float value the network sees for an int8 input: scale * (q - zero_point), as TFLite dequantizes.

    In exact arithmetic this is (q + 128) / 255, a min-max normalisation to [0, 1]; in float32 it can differ
    from the correctly rounded quotient by one ulp, and it is the value the converted model was trained on.
    """
    return ((np.asarray(q, dtype=np.float32) - INPUT_ZERO_POINT) * np.float32(INPUT_SCALE)).astype(np.float32)


__all__ = ["QUALITY_MIN_SPREAD", "QUALITY_TAIL_DIV", "WINDOW_LEN", "detrend", "int8_to_float", "lowres",
           "preprocess_window", "preprocess_windows", "quality_spread"]
