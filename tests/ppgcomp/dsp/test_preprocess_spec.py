"""docs/preprocessing.md, checked against hand-computed cases and a literal transcription of the spec."""

import numpy as np
import pytest

from ppgcomp.dsp.decimate import Decimator, cic3_taps, decimate, decimation_factor
from ppgcomp.dsp.preprocess import int8_to_float, preprocess_window, preprocess_windows


def spec_q(x: list[int], h: int = 12) -> list[int]:
    """Section 3 written out with Python integers, one sample at a time."""
    n = len(x)
    d = [(2 * h + 1) * x[i] - sum(x[min(max(i + j, 0), n - 1)] for j in range(-h, h + 1)) for i in range(n)]
    lo, hi = min(d), max(d)
    rng = hi - lo
    if rng == 0:
        return [-128] * n
    return [((v - lo) * 255 + rng // 2) // rng - 128 for v in d]


def test_ramp_by_hand():
    # a ramp detrends to 0 inside; the clamped edges give d[0] = -78 and d[399] = +78
    q = preprocess_window(np.arange(400, dtype=np.int32))
    assert q[0] == -128 and q[-1] == 127
    assert (q[12:388] == (78 * 255 + 78) // 156 - 128).all() and q[200] == 0


def test_spike_by_hand():
    x = np.zeros(400, np.int32)
    x[200] = 25  # d[200] = 25*25 - 25 = 600; d = -25 within 12 samples of it; 0 elsewhere; range 625
    q = preprocess_window(x)
    assert q[200] == 127 and q[195] == -128
    assert q[0] == (25 * 255 + 312) // 625 - 128 == -118


def test_constant_and_wander_free():
    assert (preprocess_window(np.full(400, 123456, np.int32)) == -128).all()
    # a slow offset added to the signal barely moves the output: that is the point of the detrend
    t = np.arange(400)
    pulses = (1000 * (np.sin(2 * np.pi * t / 20) > 0.9)).astype(np.int32)
    drift = (5000 * t / 400).astype(np.int32)
    a, b = preprocess_window(pulses), preprocess_window(pulses + drift)
    assert np.abs(a[20:380].astype(int) - b[20:380].astype(int)).max() <= 16


@pytest.mark.parametrize("seed", range(5))
def test_matches_literal_spec_on_random_and_extreme(seed):
    rng = np.random.default_rng(seed)
    cases = [
        rng.integers(-(2**31), 2**31, 400),
        rng.integers(0, 2**19, 400),
        np.where(rng.random(400) < 0.5, -(2**31), 2**31 - 1),
        np.concatenate([np.full(200, -7), np.full(200, 11)]),
    ]
    for x in cases:
        x = x.astype(np.int64)
        assert preprocess_window(x.astype(np.int32)).tolist() == spec_q(x.tolist())


def test_batch_equals_single():
    x = np.random.default_rng(1).integers(-1000, 1000, (20, 400)).astype(np.int32)
    assert (preprocess_windows(x) == np.stack([preprocess_window(r) for r in x])).all()


def test_int8_to_float_is_exact_min_max():
    f = int8_to_float(np.array([-128, 127], np.int8))
    assert f[0] == 0.0 and f[1] == pytest.approx(1.0, abs=1e-7)


def test_cic_taps_by_hand():
    assert cic3_taps(1).tolist() == [1]
    assert cic3_taps(2).tolist() == [1, 3, 3, 1]
    assert cic3_taps(3).tolist() == [1, 3, 6, 7, 6, 3, 1]
    assert all(cic3_taps(m).sum() == m**3 and cic3_taps(m).size == 3 * m - 2 for m in (4, 16, 128))


def test_decimate_by_hand():
    # M = 2, history pre-filled with x[0] = 0; output after inputs 1, 3, 5 ...
    x = np.array([0, 8, 0, 0, 0, 0], np.int32)
    # y0 = (1*8 + 3*0 + 3*0 + 1*0 + 4) // 8 = 1 ; y1 = (1*0 + 3*0 + 3*8 + 1*0 + 4) // 8 = 3 ; y2 = 0
    assert decimate(x, 2).tolist() == [1, 3, 0]
    assert decimate(np.full(40, -5, np.int32), 4).tolist() == [-5] * 10


def test_streaming_equals_batch():
    x = np.random.default_rng(2).integers(-(2**31), 2**31, 1000)
    for m in (1, 3, 4, 40):
        d = Decimator(m)
        stream = [y for v in x if (y := d.push(int(v))) is not None]
        assert stream == decimate(x, m).tolist()


@pytest.mark.parametrize("rate,m", [(25, 1), (100, 4), (400, 16), (3200, 128)])
def test_decimation_factor(rate, m):
    assert decimation_factor(rate) == m


@pytest.mark.parametrize("rate", [0, -25, 30, 64, 3225, float("nan"), None])
def test_bad_rates(rate):
    with pytest.raises(ValueError):
        decimation_factor(rate)
