"""Built-in synthetic PPG with known HR: several seeded "subjects", generated at a sensor rate and decimated.

Each subject has a resting HR and a sequence of activity episodes (sleep, rest, walking, running) that move HR
between 40 and 190 bpm with smooth trends, respiratory sinus arrhythmia and beat-to-beat variability. The PPG
pulse is a skewed systolic wave and an optional dicrotic wave per beat (each subject draws its own morphology:
width, skew, notch depth and delay), delayed by a pulse transit time, with respiratory amplitude and frequency
modulation, baseline wander, motion-artifact bursts, sensor noise, a pulse amplitude from 100 to 20,000 ADC
levels (the resolution of the pulse, from a coarse front-end to a 24-bit one; below about 100 levels the device's
FLAT flag takes the window), optional clipping of the pulse tops, either polarity, and an ADC with a full-scale
code. The R-peaks are the beat times, so HR labels come from the same `Rpeak2HR` path as real data.

The morphology families, the polarity, the amplitude range and the clipping exist because real recordings
differ from a two-Gaussian pulse in all of them (the real-data development set, ppgcomp.realdata, measures it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ppgcomp.data.hr_labels import rpeak_times_to_flags, rpeaks_to_hr
from ppgcomp.data.rate import rate_path
from ppgcomp.data.recording import Recording
from ppgcomp.dsp.decimate import decimate, decimation_factor

SENSOR_RATE_HZ = 100
ADC_FULL_SCALE = 2**19 - 1  # a 19-bit optical front-end such as the MAX86141
HR_MIN_BPM, HR_MAX_BPM = 40.0, 190.0
AC_COUNTS = (100.0, 20000.0)  # pulse amplitude in ADC levels, log-uniform: coarse to high-resolution front-ends
CLIP_PROBABILITY = 0.2

# (name, low bpm, high bpm, relative frequency)
ACTIVITIES = (
    ("sleep", 40.0, 58.0, 0.15),
    ("rest", 55.0, 85.0, 0.35),
    ("walk", 85.0, 125.0, 0.30),
    ("run", 125.0, 190.0, 0.20),
)


@dataclass(frozen=True)
class SyntheticConfig:
    subjects: int = 20
    minutes: float = 12.0
    sensor_rate_hz: int = SENSOR_RATE_HZ
    seed: int = 0


def _hr_trajectory(rng: np.random.Generator, n: int, fs: float) -> np.ndarray:
    """HR target curve in bpm: activity episodes, exponential transitions, and a slow random walk."""
    names, lows, highs, probs = zip(*ACTIVITIES)
    probs_arr = np.array(probs) / np.sum(probs)
    target = np.empty(n)
    i = 0
    while i < n:
        k = rng.choice(len(names), p=probs_arr)
        seg = int(rng.uniform(45.0, 150.0) * fs)
        target[i : i + seg] = rng.uniform(lows[k], highs[k])
        i += seg
    tau_s = rng.uniform(15.0, 40.0)
    alpha = 1.0 / (tau_s * fs)
    hr = np.empty(n)
    hr[0] = target[0]
    for j in range(1, n):  # first-order approach to each episode's target
        hr[j] = hr[j - 1] + alpha * (target[j] - hr[j - 1])
    walk = np.cumsum(rng.normal(0.0, 1.0, n // int(fs) + 2))
    walk = np.interp(np.arange(n) / fs, np.arange(walk.size), walk - walk.mean())
    hr += 3.0 * walk / max(1.0, np.std(walk))
    return np.clip(hr, HR_MIN_BPM, HR_MAX_BPM)


def _beat_times(rng: np.random.Generator, hr: np.ndarray, fs: float, resp_hz: float) -> np.ndarray:
    """Beat (R-peak) times with respiratory sinus arrhythmia and beat-to-beat jitter."""
    duration = hr.size / fs
    rsa = rng.uniform(0.02, 0.06)
    jitter = rng.uniform(0.01, 0.03)
    times = []
    t = rng.uniform(0.0, 0.5)
    while t < duration:
        base = hr[min(int(t * fs), hr.size - 1)]
        depth = rsa * np.clip((120.0 - base) / 60.0, 0.1, 1.0)  # RSA fades at high HR
        inst = base * (1.0 + depth * np.sin(2 * np.pi * resp_hz * t))
        rr = 60.0 / inst * (1.0 + rng.normal(0.0, jitter))
        times.append(t)
        t += max(rr, 60.0 / (HR_MAX_BPM * 1.15))
    return np.array(times)


@dataclass(frozen=True)
class Morphology:
    """One subject's pulse shape (widths in s at 60 bpm; they scale with sqrt(RR))."""

    rise: float  # systolic upstroke width
    fall: float  # systolic decay width (> rise: the pulse is skewed)
    notch: float  # dicrotic wave amplitude relative to the systolic one (0: no dicrotic wave)
    notch_delay: float  # dicrotic wave delay after the systolic peak
    notch_width: float
    am_depth: float  # respiratory amplitude modulation


def _morphology(rng: np.random.Generator) -> Morphology:
    w = 0.07 * rng.uniform(0.75, 1.5)
    notch = rng.uniform(0.15, 0.7) if rng.uniform() < 0.7 else rng.uniform(0.0, 0.1)
    return Morphology(rise=w * rng.uniform(0.55, 1.0), fall=w * rng.uniform(1.0, 2.2), notch=notch,
                      notch_delay=0.28 * rng.uniform(0.8, 1.25), notch_width=0.09 * rng.uniform(0.7, 1.6),
                      am_depth=rng.uniform(0.03, 0.3))


def _pulses(rng: np.random.Generator, beats: np.ndarray, n: int, fs: float, resp_hz: float) -> np.ndarray:
    """Sum of per-beat skewed systolic and dicrotic waves, delayed by the pulse transit time."""
    x = np.zeros(n)
    ptt = rng.uniform(0.15, 0.28)
    m = _morphology(rng)
    rr = np.diff(np.concatenate([beats, [beats[-1] + 0.8]]))
    t_axis = np.arange(n) / fs
    for tb, r in zip(beats, rr):
        s = np.sqrt(max(r, 0.3))
        amp = (1.0 + rng.normal(0.0, 0.05)) * (1.0 + m.am_depth * np.sin(2 * np.pi * resp_hz * tb))
        c1, w1, w1f = tb + ptt + 0.12 * s, m.rise * s, m.fall * s
        c2, w2 = c1 + m.notch_delay * s, m.notch_width * s
        lo = max(int((tb + ptt - 0.2) * fs), 0)
        hi = min(int((max(c2 + 4 * w2, c1 + 4 * w1f)) * fs) + 1, n)
        if lo >= hi:
            continue
        tt = t_axis[lo:hi]
        w = np.where(tt < c1, w1, w1f)
        x[lo:hi] += amp * (np.exp(-0.5 * ((tt - c1) / w) ** 2) + m.notch * np.exp(-0.5 * ((tt - c2) / w2) ** 2))
    return x


def _baseline(rng: np.random.Generator, n: int, fs: float, resp_hz: float) -> np.ndarray:
    t = np.arange(n) / fs
    wander = rng.uniform(0.1, 0.4) * np.sin(2 * np.pi * resp_hz * t + rng.uniform(0, 2 * np.pi))
    for _ in range(3):
        f = rng.uniform(0.005, 0.08)
        wander += rng.uniform(0.3, 1.5) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
    return wander


def _motion(rng: np.random.Generator, n: int, fs: float) -> np.ndarray:
    """Bursts of band-limited motion (0.3-4 Hz) with offsets, about one every two minutes."""
    x = np.zeros(n)
    n_bursts = rng.poisson(n / fs / 120.0)
    for _ in range(n_bursts):
        dur = int(rng.uniform(2.0, 8.0) * fs)
        start = int(rng.uniform(0, max(n - dur, 1)))
        seg = rng.normal(0.0, 1.0, dur)
        kernel = np.hanning(max(int(fs / rng.uniform(0.5, 4.0)), 3))
        seg = np.convolve(seg, kernel / kernel.sum(), mode="same")
        seg *= rng.uniform(0.5, 2.5) / max(np.std(seg), 1e-9)
        seg += rng.uniform(-1.5, 1.5) * np.hanning(dur)  # a pressure step that comes and goes
        x[start : start + dur] += seg
    return x


def synthesize_subject(seed: int, minutes: float, sensor_rate_hz: int = SENSOR_RATE_HZ) -> tuple[np.ndarray, np.ndarray]:
    """One subject's raw PPG (int32 ADC counts at the sensor rate) and R-peak times in seconds."""
    rng = np.random.default_rng(seed)
    fs = float(sensor_rate_hz)
    n = round(minutes * 60.0 * fs)
    resp_hz = rng.uniform(0.15, 0.4)
    hr = _hr_trajectory(rng, n, fs)
    beats = _beat_times(rng, hr, fs, resp_hz)
    x = _pulses(rng, beats, n, fs, resp_hz)
    if rng.uniform() < CLIP_PROBABILITY:  # an amplifier that clips the pulse tops (below the ADC's full scale)
        x = np.minimum(x, np.percentile(x, rng.uniform(85.0, 97.0)))
    x += _baseline(rng, n, fs, resp_hz) + _motion(rng, n, fs)
    x += rng.normal(0.0, rng.uniform(0.01, 0.04), n)
    if rng.uniform() < 0.5:  # transmissive and reflective front-ends, and sensors that invert
        x = -x
    ac_counts = np.exp(rng.uniform(np.log(AC_COUNTS[0]), np.log(AC_COUNTS[1])))
    dc_counts = rng.uniform(0.25, 0.6) * ADC_FULL_SCALE
    counts = np.clip(np.round(dc_counts + ac_counts * x), 0, ADC_FULL_SCALE)
    return counts.astype(np.int32), beats


def synthetic_recording(seed: int, minutes: float, sensor_rate_hz: int = SENSOR_RATE_HZ, subject: str = "") -> Recording:
    """A synthetic subject decimated to 25 Hz with the firmware's integer decimator, with HR labels."""
    raw, beats = synthesize_subject(seed, minutes, sensor_rate_hz)
    m = decimation_factor(sensor_rate_hz)
    ppg = decimate(raw, m)
    flags = rpeak_times_to_flags(beats, sensor_rate_hz, raw.size)
    hr = rpeaks_to_hr(flags, sensor_rate_hz, ppg.size)
    return Recording(subject=subject or f"synthetic-{seed}", ppg=ppg, hr_bpm=hr,
                     rate_path=rate_path(sensor_rate_hz).describe(), label_source="beat times, 8 s beat count")


def synthetic_dataset(cfg: SyntheticConfig) -> list[Recording]:
    """`cfg.subjects` independent subjects; subject i is seeded with `cfg.seed * 1000 + i`."""
    return [
        synthetic_recording(cfg.seed * 1000 + i, cfg.minutes, cfg.sensor_rate_hz, subject=f"synthetic-{i:02d}")
        for i in range(cfg.subjects)
    ]
