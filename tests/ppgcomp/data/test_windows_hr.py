"""Windows and HR labels against hand-computed cases."""

import numpy as np

from ppgcomp.constants import TARGET_LEN, WINDOW_LEN
from ppgcomp.data.hr_labels import rpeak_count_bpm, rpeak_times_to_flags, rpeaks_to_hr
from ppgcomp.data.recording import Recording
from ppgcomp.data.synthetic import HR_MAX_BPM, HR_MIN_BPM, SyntheticConfig, synthetic_dataset
from ppgcomp.data.windows import make_windows, window_starts


def test_window_starts_by_hand():
    assert window_starts(500, 50).tolist() == [0, 50, 100]
    assert window_starts(400, 50).tolist() == [0]
    assert window_starts(399, 50).size == 0


def test_windows_carry_last_8s_labels():
    ppg = np.arange(600, dtype=np.int32)
    hr = np.arange(600, dtype=np.float32)
    w = make_windows([Recording("s", ppg, hr)], hop=50)
    assert len(w) == 5
    assert (w.raw[1] == np.arange(50, 450)).all()
    assert (w.hr_bpm[1] == np.arange(250, 450)).all()
    assert w.hr_bpm.shape == (5, TARGET_LEN) and w.q.shape == (5, WINDOW_LEN)


def test_count_by_hand():
    # one beat per second at 100 Hz: after 8 s the trailing window holds 8 beats = 60 bpm
    flags = np.zeros(2000, np.int8)
    flags[50::100] = 1
    bpm = rpeak_count_bpm(flags, 100)
    assert bpm[1000] == 60.0
    flags2 = np.zeros(2000, np.int8)
    flags2[::50] = 1  # two beats per second
    assert rpeak_count_bpm(flags2, 100)[1500] == 120.0


def test_labels_at_25hz_and_smoothing_keeps_constant():
    flags = rpeak_times_to_flags(np.arange(0.3, 60, 0.75), 100, 6000)  # 80 bpm
    hr = rpeaks_to_hr(flags, 100, 1500)
    assert hr.shape == (1500,)
    assert np.abs(hr[300:1200] - 80.0).max() < 7.5  # count quantisation is 7.5 bpm, smoothed


def test_synthetic_is_seeded_and_physiological():
    a = synthetic_dataset(SyntheticConfig(subjects=3, minutes=3.0, seed=4))
    b = synthetic_dataset(SyntheticConfig(subjects=3, minutes=3.0, seed=4))
    assert all((x.ppg == y.ppg).all() for x, y in zip(a, b))
    assert len({r.subject for r in a}) == 3
    assert not (a[0].ppg == a[1].ppg).all()
    for r in a:
        assert r.ppg.dtype == np.int32 and r.ppg.size == 3 * 60 * 25
        assert HR_MIN_BPM - 10 <= r.hr_bpm.min() and r.hr_bpm.max() <= HR_MAX_BPM + 10
