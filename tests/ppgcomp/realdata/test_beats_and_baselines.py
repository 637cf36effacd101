"""The clean-span reference rule and the two non-learned baselines, on signals with known beats."""

import numpy as np

from ppgcomp.constants import MODEL_RATE_HZ, WINDOW_LEN
from ppgcomp.realdata import beats as B
from ppgcomp.realdata.baselines import beat_hr, spectral_hr


def pulse_train(beat_s: np.ndarray, fs: float, n: int, invert: bool = False) -> np.ndarray:
    """A skewed pulse per beat (fast rise, slow fall) with a dicrotic wave."""
    t = np.arange(n) / fs
    x = np.zeros(n)
    for b in beat_s:
        c = b + 0.15
        w = np.where(t < c, 0.05, 0.12)
        x += np.exp(-0.5 * ((t - c) / w) ** 2) + 0.4 * np.exp(-0.5 * ((t - c - 0.3) / 0.08) ** 2)
    return -x if invert else x


def regular_beats(hr_bpm: float, seconds: float) -> np.ndarray:
    return np.arange(0.3, seconds, 60.0 / hr_bpm)


def test_detects_every_beat_of_either_polarity():
    fs, beats = 125.0, regular_beats(72.0, 60.0)
    for invert in (False, True):
        x = pulse_train(beats, fs, int(60 * fs), invert)
        found, _ = B.detect_beats(x, fs)
        assert abs(found.size - beats.size) <= 1
        ibi = np.diff(found) / fs
        assert np.allclose(np.median(ibi), 60.0 / 72.0, atol=0.01)


def test_an_artifact_burst_and_a_missed_beat_leave_the_clean_spans():
    fs = 125.0
    beats = regular_beats(66.0, 120.0)
    beats = np.delete(beats, 90)  # a missed beat near 82 s
    n = int(120 * fs)
    rng = np.random.default_rng(0)
    x = pulse_train(beats, fs, n)
    burst = slice(int(30 * fs), int(36 * fs))
    x[burst] += 4.0 * rng.standard_normal(burst.stop - burst.start)
    found, slopes = B.detect_beats(x, fs)
    ok = B.clean_ibis(found, slopes, fs)
    mask = B.clean_samples(found, ok, n)
    t = np.arange(n) / fs
    assert not mask[(t > 31) & (t < 35)].any(), "the burst is not clean"
    gap = beats[89] + 0.15, beats[90] + 0.15  # the interval that spans the missed beat
    assert not mask[(t > gap[0] + 0.1) & (t < gap[1] - 0.1)].any()
    assert mask[(t > 45) & (t < 75)].all(), "a clean stretch stays clean"
    assert 0.7 < mask.mean() < 0.97


def test_clean_rule_refuses_out_of_range_intervals():
    fs = 50.0
    beats = (np.arange(40) * 2.0 * fs).astype(int)  # 30 bpm: below the 40 bpm floor
    assert not B.clean_ibis(beats, np.ones(beats.size), fs).any()


def window_of(hr_bpm: float, invert: bool = False) -> np.ndarray:
    x = pulse_train(regular_beats(hr_bpm, 17.0), MODEL_RATE_HZ, WINDOW_LEN, invert)
    return np.round(2000.0 * x + 50_000).astype(np.int32)


def test_baselines_read_clean_windows():
    for hr in (48.0, 63.0, 95.0, 150.0):
        raw = np.stack([window_of(hr), window_of(hr, invert=True)])
        assert np.all(np.abs(spectral_hr(raw) - hr) < 2.5), (hr, spectral_hr(raw))
        assert np.all(np.abs(beat_hr(raw) - hr) < 2.5), (hr, beat_hr(raw))


def test_baselines_survive_flat_and_noise_windows():
    rng = np.random.default_rng(1)
    raw = np.stack([np.zeros(WINDOW_LEN, np.int32), rng.integers(0, 1000, WINDOW_LEN).astype(np.int32)])
    for f in (spectral_hr, beat_hr):
        hr = f(raw)
        assert hr.shape == (2,) and np.all(np.isfinite(hr)) and np.all((hr > 30) & (hr < 210))
