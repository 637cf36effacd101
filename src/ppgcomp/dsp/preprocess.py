"""Integer min-max normalisation and int8 quantisation of one window, bit-exact with app/src/dsp/preprocess.c.

See docs/preprocessing.md, section 3.
"""

from __future__ import annotations

import numpy as np

from ppgcomp.constants import INPUT_SCALE, INPUT_ZERO_POINT, WINDOW_LEN


def preprocess_window(x: np.ndarray) -> np.ndarray:
    """Map one int32 window to the encoder's int8 input."""
    return preprocess_windows(np.asarray(x)[None, :])[0]


def preprocess_windows(x: np.ndarray) -> np.ndarray:
    """Vectorised :func:`preprocess_window` over rows of an (n, W) int array."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError("preprocess_windows expects a 2-D (windows, samples) array")
    xi = x.astype(np.int64)
    lo = xi.min(axis=1, keepdims=True)
    hi = xi.max(axis=1, keepdims=True)
    rng = hi - lo
    safe = np.where(rng == 0, 1, rng)
    q = ((xi - lo) * 255 + safe // 2) // safe - 128
    q = np.where(rng == 0, -128, q)
    return q.astype(np.int8)


def int8_to_float(q: np.ndarray) -> np.ndarray:
    """The float value the network sees for an int8 input: exactly (q + 128) / 255."""
    return ((np.asarray(q, dtype=np.float32) - INPUT_ZERO_POINT) * np.float32(INPUT_SCALE)).astype(np.float32)


__all__ = ["preprocess_window", "preprocess_windows", "int8_to_float", "WINDOW_LEN"]
