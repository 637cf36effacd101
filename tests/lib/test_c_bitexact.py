"""The portable firmware C (host gcc) against the Python references, bit for bit.

docs/preprocessing.md sections 1-4: decimator, window, preprocessing and the LOWRES quality spread; plus the
backlog ring.
"""

from __future__ import annotations

import errno
import re
from collections import deque

import numpy as np
import pytest
from support.c_harness import (
    LIB_SOURCES,
    PPGCOMP_INCLUDE,
    CBacklog,
    CDecimator,
    CLib,
    CWindow,
    cfg_lib,
)

from ppgcomp.constants import MAX_DECIMATION, MODEL_RATE_HZ, WINDOW_LEN
from ppgcomp.dsp.decimate import Decimator, cic3_taps, decimate, decimation_factor
from ppgcomp.dsp.preprocess import QUALITY_MIN_SPREAD, QUALITY_TAIL_DIV, lowres, preprocess_windows, quality_spread

I32_MIN = -(2**31)
I32_MAX = 2**31 - 1
FACTORS = [1, 2, 3, 4, 8, 16, 40, 128]
ALLOWED_SYSTEM_HEADERS = {"stdint.h", "stddef.h", "stdbool.h", "string.h", "errno.h"}


# `c` (the portable C built with host gcc) and `no_undefined_behaviour` come from tests/support/c_fixtures.py.
pytestmark = pytest.mark.usefixtures("no_undefined_behaviour")


def rand_i32(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(I32_MIN, I32_MAX, size=n, endpoint=True, dtype=np.int64).astype(np.int32)


# --- sources ---------------------------------------------------------------------------------


def test_portable_sources_use_only_allowed_headers() -> None:
    """The libraries and their public headers: C library headers, <ppgcomp/...> and the model header only."""
    files = [*LIB_SOURCES, *sorted(PPGCOMP_INCLUDE.glob("*.h"))]
    assert len(files) >= 15
    for path in files:
        text = path.read_text()
        assert "SPDX-License-Identifier: Apache-2.0" in text, path
        assert "malloc" not in text and "calloc" not in text, path
        for inc in re.findall(r'#include\s+([<"][^>"]+[>"])', text):
            name = inc[1:-1]
            assert inc.startswith("<"), f"{path.name}: {inc} (public headers are included as <ppgcomp/...>)"
            if name.startswith("ppgcomp/"):
                assert (PPGCOMP_INCLUDE.parent / name).is_file(), f"{path.name}: {inc}"
            else:
                assert name in ALLOWED_SYSTEM_HEADERS | {"ppg_encoder_model.h"}, f"{path.name}: {inc}"


# --- decimator ---------------------------------------------------------------------------------


def test_taps_match_cic3_for_every_factor(c: CLib) -> None:
    for m in range(1, MAX_DECIMATION + 1):
        taps = c.decim_taps(m)
        np.testing.assert_array_equal(taps, cic3_taps(m), err_msg=f"M={m}")
        assert taps.sum() == m**3


def test_decim_init_rejects_bad_factors(c: CLib) -> None:
    for m in (0, MAX_DECIMATION + 1, 1000, 2**32 - 1):
        assert CDecimator(c, m).rc == -errno.EINVAL
    for m in (1, MAX_DECIMATION):
        assert CDecimator(c, m).rc == 0


def test_decim_factor_matches_python(c: CLib) -> None:
    for rate in [*range(MODEL_RATE_HZ * MAX_DECIMATION + 60), 2**32 - 1, 2**31]:
        got = c.so.ppg_decim_factor(rate, MODEL_RATE_HZ)
        try:
            want = decimation_factor(rate)
        except ValueError:
            assert got == -errno.EINVAL, rate
        else:
            assert got == want, rate
    assert c.so.ppg_decim_factor(100, 0) == -errno.EINVAL


def _signals(rng: np.random.Generator, m: int) -> dict[str, np.ndarray]:
    n = 60 * m + 7  # not a multiple of M: the tail yields no output
    step = np.full(n, -5000, dtype=np.int32)
    step[n // 3 :] = 1_000_000
    alt = np.where(np.arange(n) % 2 == 0, I32_MIN, I32_MAX).astype(np.int32)
    alt_block = np.where((np.arange(n) // m) % 2 == 0, I32_MIN, I32_MAX).astype(np.int32)
    ppg = (100_000 + 3000 * np.sin(np.arange(n) * 2 * np.pi * 1.2 / (25 * m)) + rng.normal(0, 50, n)).astype(np.int32)
    return {
        "random": rand_i32(rng, n),
        "const_pos": np.full(n, 123_456, dtype=np.int32),
        "const_min": np.full(n, I32_MIN, dtype=np.int32),
        "const_max": np.full(n, I32_MAX, dtype=np.int32),
        "step": step,
        "step_extreme": np.where(np.arange(n) < n // 2, I32_MIN, I32_MAX).astype(np.int32),
        "alternating_extreme": alt,
        "alternating_blocks": alt_block,
        "ppg_like": ppg,
        "small_random": rng.integers(-3, 4, n).astype(np.int32),  # rounding ties at every output
        "short": rand_i32(rng, max(m - 1, 0)),
        "one": rand_i32(rng, 1),
    }


@pytest.mark.parametrize("m", FACTORS)
def test_decimate_batch_matches_python(c: CLib, m: int) -> None:
    rng = np.random.default_rng(1000 + m)
    for name, x in _signals(rng, m).items():
        want = decimate(x, m)
        got = c.decimate(x, m)
        assert got.size == x.size // m, name
        np.testing.assert_array_equal(got, want, err_msg=f"M={m} {name}")
    # constant in, constant out from the very first output (history pre-filled)
    np.testing.assert_array_equal(c.decimate(np.full(10 * m, -77, np.int32), m), np.full(10, -77, np.int32))


@pytest.mark.parametrize("m", FACTORS)
def test_decimate_long_stream_matches_python(c: CLib, m: int) -> None:
    rng = np.random.default_rng(2000 + m)
    n = 200_000 + m // 2
    x = rand_i32(rng, n)
    # bursts of extremes inside a random stream
    for start in rng.integers(0, n - 500, 20):
        x[start : start + rng.integers(1, 500)] = rng.choice([I32_MIN, I32_MAX])
    np.testing.assert_array_equal(c.decimate(x, m), decimate(x, m))


@pytest.mark.parametrize("m", FACTORS)
def test_decimator_streaming_matches_python_streaming(c: CLib, m: int) -> None:
    rng = np.random.default_rng(3000 + m)
    n = min(40 * m + 5, 3000)
    for x in (
        rand_i32(rng, n),
        np.where(rng.random(n) < 0.5, I32_MIN, I32_MAX).astype(np.int32),
    ):
        py = Decimator(m)
        cd = CDecimator(c, m)
        assert cd.rc == 0
        outs = []
        for v in x.tolist():
            want = py.push(v)
            got = cd.push(v)
            assert got == want
            if got is not None:
                outs.append(got)
        np.testing.assert_array_equal(np.array(outs, dtype=np.int32), decimate(x, m))


@pytest.mark.parametrize("m", [1, 3, 40, 128])
def test_decimator_push_block_and_reset(c: CLib, m: int) -> None:
    rng = np.random.default_rng(4000 + m)
    x = rand_i32(rng, 50 * m + 3)
    want = decimate(x, m)
    cd = CDecimator(c, m)
    got: list[int] = []
    pos = 0
    while pos < x.size:
        chunk = x[pos : pos + int(rng.integers(0, 3 * m + 2))]
        need = (len(chunk) + (pos % m)) // m
        if need > 0:
            # too small: refused, nothing consumed
            rc, _ = cd.push_block(chunk, need - 1)
            assert rc == -errno.ENOBUFS
        rc, out = cd.push_block(chunk, need)
        assert rc == need
        got.extend(out.tolist())
        pos += len(chunk)
    np.testing.assert_array_equal(np.array(got, dtype=np.int32), want)
    # reset: behaves like a fresh decimator (history re-primed from the next sample)
    cd.reset()
    y = rand_i32(rng, 10 * m)
    rc, out = cd.push_block(y, 10)
    assert rc == 10
    np.testing.assert_array_equal(out, decimate(y, m))


# --- preprocessing -----------------------------------------------------------------------------


def _window_sets(rng: np.random.Generator, n: int, w: int) -> dict[str, np.ndarray]:
    idx = np.arange(w)
    sets: dict[str, np.ndarray] = {}
    sets["random_full"] = rand_i32(rng, n * w).reshape(n, w)
    centre = rng.integers(-(2**30), 2**30, (n, 1))
    amp = rng.integers(1, 20_000, (n, 1))
    sets["ppg_like"] = (centre + amp * np.sin(2 * np.pi * rng.uniform(0.5, 3, (n, 1)) * idx / 25)).astype(np.int32)
    sets["constant"] = np.repeat(rand_i32(rng, n)[:, None], w, axis=1)
    sat = rng.integers(0, 2**19, (n, w)).astype(np.int32)
    full_scale = np.where(rng.random((n, 1)) < 0.5, 2**19 - 1, I32_MAX).astype(np.int32)
    mask = rng.random((n, w)) < rng.uniform(0.3, 0.95, (n, 1))
    sets["saturated_high"] = np.where(mask, full_scale, sat).astype(np.int32)
    sets["saturated_low"] = np.where(mask, I32_MIN, sat).astype(np.int32)
    a = rand_i32(rng, n)[:, None].astype(np.int64)
    b = a + rng.integers(1, 2**32, (n, 1)) % (I32_MAX - a + 1)  # b in (a, INT32_MAX] unless a == max
    b = np.minimum(b, I32_MAX)
    cut = rng.integers(1, w, (n, 1))
    sets["step"] = np.where(idx[None, :] < cut, a, b).astype(np.int32)
    sets["two_value"] = np.where(rng.random((n, w)) < 0.5, a, b).astype(np.int32)
    small = rng.integers(1, 8, (n, 1))
    base = rand_i32(rng, n)[:, None].astype(np.int64)
    base = np.minimum(base, I32_MAX - small)
    sets["tiny_range"] = (base + rng.integers(0, 8, (n, w)) % (small + 1)).astype(np.int32)  # rounding ties
    ext = rand_i32(rng, n * w).reshape(n, w)
    ext[:, 0] = I32_MIN
    ext[:, -1] = I32_MAX
    perm = rng.permuted(np.tile(idx, (n, 1)), axis=1)
    sets["extreme_range"] = np.take_along_axis(ext, perm, axis=1)
    sets["extreme_two_value"] = np.where(rng.random((n, w)) < 0.5, I32_MIN, I32_MAX).astype(np.int32)
    # What the LOWRES flag is for: a pulse with a sensor step, a lift-off to the ambient level, an ambient-light jump
    pulse = (500_000 + amp * np.sin(2 * np.pi * rng.uniform(0.7, 3, (n, 1)) * idx / 25)).astype(np.int64)
    ratio = rng.uniform(0.5, 60, (n, 1))  # step height over the pulse amplitude
    height = amp * ratio
    sets["pulse_step"] = (pulse + np.where(idx[None, :] >= cut, height, 0)).astype(np.int32)
    sets["lift_off"] = np.where(idx[None, :] >= cut, rng.integers(0, 50, (n, w)), pulse).astype(np.int32)
    jump = np.where((idx[None, :] >= cut) & (idx[None, :] < cut + rng.integers(5, 100, (n, 1))), height, 0)
    sets["ambient_jump"] = (pulse + jump).astype(np.int32)
    sets["step_ratio"] = np.broadcast_to(100 * ratio, (n, w)).astype(np.int32)  # not a window: for the step test
    return sets


def test_preprocess_matches_python(c: CLib) -> None:
    rng = np.random.default_rng(5)
    total = 0
    for name, x in _window_sets(rng, 1500, WINDOW_LEN).items():
        if name == "step_ratio":
            continue
        q, stats = c.preprocess(x)
        want = preprocess_windows(x)
        np.testing.assert_array_equal(q, want, err_msg=name)
        xi = x.astype(np.int64)
        np.testing.assert_array_equal(stats[:, 0], xi.min(axis=1), err_msg=name)
        np.testing.assert_array_equal(stats[:, 1], xi.max(axis=1), err_msg=name)
        np.testing.assert_array_equal(stats[:, 2], xi.max(axis=1) - xi.min(axis=1), err_msg=name)
        np.testing.assert_array_equal(stats[:, 3], quality_spread(want), err_msg=name)
        total += x.shape[0]
    assert total >= 10_000


def test_quality_spread_flags_steps_and_lift_off_not_clean_pulses(c: CLib) -> None:
    """The LOWRES rule on the inputs it exists for (C and Python agree, and the flag is where it should be)."""
    rng = np.random.default_rng(7)
    sets = _window_sets(rng, 300, WINDOW_LEN)
    for name in ("constant", "lift_off"):
        assert lowres(preprocess_windows(sets[name])).all(), name
    clean = sets["ppg_like"]
    assert not lowres(preprocess_windows(clean)).any()
    step = sets["pulse_step"]
    ratio = sets["step_ratio"][:, 0] / 100
    big = ratio > 40  # a step of more than 20 times the pulse's peak-to-peak: the pulse keeps a few levels
    small = ratio < 3  # a step about the pulse's size: the pulse keeps most of the range
    assert big.sum() > 50 and small.sum() > 3
    assert lowres(preprocess_windows(step[big])).all()
    assert not lowres(preprocess_windows(step[small])).any()
    for name in ("pulse_step", "lift_off", "ambient_jump", "ppg_like", "constant"):
        q, stats = c.preprocess(sets[name])
        np.testing.assert_array_equal(stats[:, 3] < QUALITY_MIN_SPREAD, lowres(q), err_msg=name)


def test_quality_constants_match_the_c_header() -> None:
    text = (PPGCOMP_INCLUDE / "preprocess.h").read_text()
    assert re.search(rf"#define PPG_QUALITY_TAIL_DIV\s+{QUALITY_TAIL_DIV}U", text)
    assert re.search(rf"#define PPG_QUALITY_MIN_SPREAD\s+{QUALITY_MIN_SPREAD}U", text)


def test_preprocess_edge_cases(c: CLib) -> None:
    flat = np.full((1, WINDOW_LEN), 42, dtype=np.int32)
    q, st = c.preprocess(flat)
    assert (q == -128).all() and st[0].tolist() == [42, 42, 0, 0]
    ext = np.array([[I32_MIN, I32_MAX, 0, -1]], dtype=np.int32)
    q, st = c.preprocess(ext)
    assert q[0].tolist() == preprocess_windows(ext)[0].tolist()
    assert st[0].tolist()[:3] == [I32_MIN, I32_MAX, 2**32 - 1] and st[0, 3] == quality_spread(q[0])
    # other window lengths (the function takes n)
    rng = np.random.default_rng(6)
    for w in (1, 2, 3, 17, 19, 20, 21, 1000):
        x = rand_i32(rng, 50 * w).reshape(50, w)
        q, st = c.preprocess(x)
        np.testing.assert_array_equal(q, preprocess_windows(x))
        np.testing.assert_array_equal(st[:, 3], quality_spread(q))
    # other detrend lengths, including none at all (h = 0: d is constant, every q is -128)
    x = rand_i32(rng, 20 * WINDOW_LEN).reshape(20, WINDOW_LEN)
    for h in (0, 1, 5, 50, WINDOW_LEN):
        np.testing.assert_array_equal(c.preprocess(x, h)[0], preprocess_windows(x, h))
    # n == 0: nothing written, stats zero
    q = np.full(4, 7, dtype=np.int8)
    stats = np.full(4, 9, dtype=np.int64)
    c.so.shim_preprocess_batch(np.zeros(4, np.int32), 1, 0, 12, q, stats)
    assert q.tolist() == [7, 7, 7, 7] and stats.tolist() == [0, 0, 0, 0]


# --- window ring ---------------------------------------------------------------------------------


class PyWindow:
    """The reference model: a deque of the last W samples and the hop rule of window.h."""

    def __init__(self, cap: int) -> None:
        self.d: deque[tuple[int, int]] = deque(maxlen=cap)
        self.cap = cap
        self.since = 0
        self.ran = False

    def push(self, v: int, marks: int) -> None:
        self.d.append((v, marks & 3))
        self.since += 1

    def hop_due(self, hop: int) -> bool:
        if hop == 0 or len(self.d) < self.cap:
            return False
        if not self.ran or self.since >= hop:
            self.ran, self.since = True, 0
            return True
        return False

    def marks(self) -> int:
        m = 0
        for _, f in self.d:
            m |= f
        return m


def test_window_init_errors(c: CLib) -> None:
    assert CWindow(c, 0).rc == -errno.EINVAL
    assert c.so.ppg_window_init(None, None, None, 4) == -errno.EINVAL
    w = CWindow(c, 4)
    assert w.rc == 0
    assert not w.ready()
    rc, _, _ = w.copy_out()
    assert rc == -errno.EAGAIN
    for v in range(4):
        w.push(v)
    assert w.copy_out(dst_len=3)[0] == -errno.ENOBUFS
    rc, out, marks = w.copy_out()
    assert rc == 4 and out.tolist() == [0, 1, 2, 3] and marks == 0


@pytest.mark.parametrize(("cap", "hop"), [(WINDOW_LEN, 50), (WINDOW_LEN, 1), (7, 3), (5, 5), (5, 9), (1, 1)])
def test_window_cadence_order_and_marks(c: CLib, cap: int, hop: int) -> None:
    rng = np.random.default_rng(cap * 100 + hop)
    w = CWindow(c, cap)
    py = PyWindow(cap)
    n = 3 * cap + 5 * hop + 11
    due_at = []
    for i in range(n):
        v = int(rng.integers(I32_MIN, I32_MAX, endpoint=True))
        marks = int(rng.choice([0, 0, 0, 0, 0, 0, 1, 2, 3, 0xFC]))
        w.push(v, marks)
        py.push(v, marks)
        assert w.ready() == (len(py.d) == cap)
        assert w.count() == len(py.d)
        assert w.window_marks() == py.marks()
        due = w.hop_due(hop)
        assert due == py.hop_due(hop)
        if due:
            due_at.append(i)
            rc, out, m = w.copy_out()
            assert rc == cap
            assert out.tolist() == [s for s, _ in py.d]
            assert m == py.marks()
    # the encoder runs after sample W, W + H, W + 2H, ... (1-based), like the training windows
    assert due_at == list(range(cap - 1, n, hop))


def test_window_marks_leave_with_their_samples(c: CLib) -> None:
    w = CWindow(c, 10)
    w.push(1, 1)  # GAP
    for v in range(9):
        w.push(v, 0)
    assert w.window_marks() == 1
    w.push(5, 2)  # the gap sample leaves, a saturated one enters
    assert w.window_marks() == 2
    for v in range(9):
        w.push(v, 0)
    assert w.window_marks() == 2
    w.push(0, 0)
    assert w.window_marks() == 0


def test_window_skipped_calls_and_reset(c: CLib) -> None:
    w = CWindow(c, 8)
    for v in range(8):
        w.push(v)
    assert not w.hop_due(0)  # hop 0 never runs
    assert w.hop_due(4)
    assert not w.hop_due(4)  # consumed
    for v in range(10):  # calls skipped for 10 samples
        w.push(v)
    assert w.hop_due(4)
    assert not w.hop_due(4)
    w.push(0, 1)
    w.reset()
    assert w.count() == 0 and not w.ready() and w.window_marks() == 0 and not w.hop_due(1)
    for v in range(7):
        w.push(v)
        assert not w.hop_due(1)
    w.push(7)
    assert w.hop_due(100)  # first run as soon as the window is full again
    assert w.copy_out()[1].tolist() == list(range(8))


def test_window_cfg_length_is_the_python_constant() -> None:
    so = cfg_lib()
    assert so.shim_cfg_window_len() == WINDOW_LEN
    assert so.shim_cfg_window_init() == 0


# --- backlog ring ---------------------------------------------------------------------------------


def _pkt(i: int) -> bytes:
    return bytes([0x10, 0xAB, i & 0xFF, (i >> 8) & 0xFF]) + bytes((i * 7 + k) & 0xFF for k in range(16))


def test_backlog_init_errors(c: CLib) -> None:
    assert CBacklog(c, 0).rc == -errno.EINVAL
    b = CBacklog(c, 3)
    assert b.rc == 0 and b.capacity() == 3 and b.depth() == 0
    assert b.peek()[0] == -errno.ENODATA
    assert b.pop()[0] == -errno.ENODATA
    assert b.pop(want=False)[0] == -errno.ENODATA


@pytest.mark.parametrize("cap", [1, 2, 5, 450])
def test_backlog_overflow_and_in_order_drain(c: CLib, cap: int) -> None:
    b = CBacklog(c, cap)
    ref: deque[bytes] = deque()
    dropped = 0
    rng = np.random.default_rng(cap)
    i = 0
    for _ in range(4000):
        op = rng.random()
        if op < 0.6:
            pkt = _pkt(i)
            i += 1
            over = len(ref) == cap
            if over:
                ref.popleft()
                dropped += 1
            ref.append(pkt)
            assert b.push(pkt) == over
        elif op < 0.8:
            rc, got = b.peek()
            assert (rc, got if rc == 0 else None) == ((0, ref[0]) if ref else (-errno.ENODATA, None))
        else:
            copy = bool(rng.random() < 0.8)
            rc, got = b.pop(want=copy)
            if ref:
                want = ref.popleft()
                assert rc == 0
                if copy:
                    assert got == want
            else:
                assert rc == -errno.ENODATA
        assert b.depth() == len(ref)
        assert b.dropped() == dropped
    # fill far past capacity: the newest `cap` remain, in order; every overwrite is one drop
    b.reset()
    assert b.depth() == 0 and b.dropped() == 0
    for k in range(3 * cap + 1):
        b.push(_pkt(k))
    assert b.depth() == cap and b.dropped() == 2 * cap + 1
    drained = [b.pop()[1] for _ in range(cap)]
    assert drained == [_pkt(k) for k in range(2 * cap + 1, 3 * cap + 1)]
    assert b.depth() == 0 and b.pop()[0] == -errno.ENODATA
