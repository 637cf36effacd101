"""Build the portable firmware C with host gcc and expose it through ctypes (a test helper module).

The sources are those of the module's portable libraries, every ``lib/<unit>/*.c`` but the generated
model's (:data:`LIB_SOURCES`: the same files the firmware's ``lib/CMakeLists.txt`` globs), with their
public headers ``include/ppgcomp/``, plus the test-only shim ``tests/support/c_shim/ppg_shim.c``. They are
compiled once per session, with ``-O2 -Wall -Wextra -Werror -std=c11``, into a shared library in a
temporary directory. :func:`lib` returns the :class:`CLib` wrapper; tests skip when no host C compiler
exists.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from ppgcomp.constants import DETREND_HALF, FIRMWARE_MODEL_DIR, MAX_DECIMATION, WINDOW_LEN
from ppgcomp.protocol.packet import PACKET_LEN as PKT_LEN

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
LIB_DIR = REPO / "lib"
INCLUDE_DIR = REPO / "include"
PPGCOMP_INCLUDE = INCLUDE_DIR / "ppgcomp"  # the libraries' public headers, <ppgcomp/...>
MODEL_DIR = REPO / FIRMWARE_MODEL_DIR
SHIM_DIR = Path(__file__).resolve().parent / "c_shim"
GENERATED_MODEL_HEADER = MODEL_DIR / "ppg_encoder_model.h"

# The portable units: every library under lib/ except the generated model (data, and weights for a kernel
# of modules/tflm). Their sources are their folders' .c files, as in the firmware build.
# lib/model_store is Zephyr code (flash_area, the TFLM encoder), not a portable unit.
NON_PORTABLE_UNITS = {"model_store"}
PORTABLE_UNITS = sorted(
    d.name
    for d in LIB_DIR.iterdir()
    if (d / "Kconfig").is_file() and d != MODEL_DIR and d.name not in NON_PORTABLE_UNITS
)
LIB_SOURCES = [p for unit in PORTABLE_UNITS for p in sorted((LIB_DIR / unit).glob("*.c"))]
SOURCES = [*LIB_SOURCES, SHIM_DIR / "ppg_shim.c"]
CFLAGS = [
    "-O2",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-std=c11",
    "-pedantic",
    "-Wshadow",
    "-fPIC",
    "-shared",
]

UBSAN_FLAGS = ("-fsanitize=undefined",)

MAX_TAPS = 3 * MAX_DECIMATION - 2  # CIC-3 taps at the highest decimation factor

_i32p = np.ctypeslib.ndpointer(dtype=np.int32, flags="C_CONTIGUOUS")
_i8p = np.ctypeslib.ndpointer(dtype=np.int8, flags="C_CONTIGUOUS")
_u8p = np.ctypeslib.ndpointer(dtype=np.uint8, flags="C_CONTIGUOUS")
_u16p = np.ctypeslib.ndpointer(dtype=np.uint16, flags="C_CONTIGUOUS")
_i64p = np.ctypeslib.ndpointer(dtype=np.int64, flags="C_CONTIGUOUS")
_vp = ctypes.c_void_p
_sz = ctypes.c_size_t


def compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")


@functools.cache
def _build_dir() -> Path:
    d = Path(tempfile.mkdtemp(prefix="ppg_c_harness_"))
    atexit.register(shutil.rmtree, d, ignore_errors=True)
    return d


def _compile(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    log.info("compiling: %s", " ".join(cmd))
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


@functools.cache
def _sanitizer_flags(cc: str) -> tuple[str, ...]:
    """UBSan (abort on the first report) when the toolchain has it, else nothing."""
    if os.environ.get("PPG_C_NO_SANITIZE"):
        return ()
    probe_dir = _build_dir()
    src = probe_dir / "ubsan_probe.c"
    src.write_text("int ppg_probe(int a, int b) { return a + b; }\n")
    res = _compile([cc, *CFLAGS, *UBSAN_FLAGS, str(src), "-o", str(probe_dir / "ubsan_probe.so")])
    if res.returncode != 0:
        log.warning("host compiler has no UBSan; building without it")
        return ()
    return UBSAN_FLAGS


def build_shared(sources: list[Path], name: str, extra: list[str] | None = None) -> Path:
    """Compile ``sources`` into ``<tmp>/<name>.so``; skip the test when there is no compiler.

    With UBSan when available: undefined behaviour (signed overflow, bad shifts, misaligned
    access) is reported on stderr; tests check it with :func:`ubsan_reports` and ``capfd``.
    """
    cc = compiler()
    if cc is None:
        pytest.skip("no host C compiler (gcc/cc) on PATH")
    out = _build_dir() / f"{name}.so"
    cmd = [
        cc,
        *CFLAGS,
        *_sanitizer_flags(cc),
        *shlex.split(os.environ.get("PPG_C_EXTRA_CFLAGS", "")),
        *(extra or []),
        f"-I{INCLUDE_DIR}",
        f"-I{MODEL_DIR}",
        *map(str, sources),
        "-o",
        str(out),
    ]
    res = _compile(cmd)
    if res.returncode != 0:
        raise RuntimeError(f"host C build failed ({' '.join(cmd)}):\n{res.stderr}")
    return out


class PpgModelInfo(ctypes.Structure):
    """Mirror of ``struct ppg_model_info`` (packet.h)."""

    _fields_ = [
        ("code_len", ctypes.c_uint8),
        ("sample_rate_hz", ctypes.c_uint16),
        ("window_len", ctypes.c_uint16),
        ("hop", ctypes.c_uint16),
        ("input_scale", ctypes.c_float),
        ("input_zero_point", ctypes.c_int8),
        ("output_zero_point", ctypes.c_int8),
        ("output_scale", ctypes.c_float),
        ("sha256", ctypes.c_uint8 * 32),
        ("fw_version", ctypes.c_uint8 * 4),
    ]


def _sig(fn: ctypes._CFuncPtr, restype: object, *argtypes: object) -> None:
    fn.restype = restype
    fn.argtypes = list(argtypes)


class CLib:
    """Thin typed wrappers over the compiled firmware C."""

    def __init__(self, path: Path) -> None:
        so = ctypes.CDLL(str(path))
        self.so = so
        _sig(so.shim_sizeof_decim, _sz)
        _sig(so.shim_sizeof_window, _sz)
        _sig(so.shim_sizeof_backlog, _sz)
        _sig(so.shim_decimate, ctypes.c_int, ctypes.c_uint32, _i32p, _sz, _i32p)
        _sig(so.shim_decim_taps, ctypes.c_int, ctypes.c_uint32, _u16p)
        _sig(so.shim_preprocess_batch, None, _i32p, _sz, _sz, _sz, _i8p, _i64p)
        _sig(
            so.shim_packet_encode_batch,
            ctypes.c_int,
            _sz,
            _u8p,
            _u8p,
            _u16p,
            _i8p,
            _u8p,
        )
        _sig(so.ppg_decim_factor, ctypes.c_int, ctypes.c_uint32, ctypes.c_uint32)
        _sig(so.ppg_decim_init, ctypes.c_int, _vp, ctypes.c_uint32)
        _sig(so.ppg_decim_reset, None, _vp)
        _sig(
            so.ppg_decim_push,
            ctypes.c_bool,
            _vp,
            ctypes.c_int32,
            ctypes.POINTER(ctypes.c_int32),
        )
        _sig(so.ppg_decim_push_block, ctypes.c_int, _vp, _i32p, _sz, _i32p, _sz)
        _sig(so.ppg_window_init, ctypes.c_int, _vp, _vp, _vp, _sz)
        _sig(so.ppg_window_reset, None, _vp)
        _sig(so.ppg_window_push, None, _vp, ctypes.c_int32, ctypes.c_uint8)
        _sig(so.ppg_window_ready, ctypes.c_bool, _vp)
        _sig(so.ppg_window_count, _sz, _vp)
        _sig(so.ppg_window_hop_due, ctypes.c_bool, _vp, ctypes.c_uint32)
        _sig(so.ppg_window_marks, ctypes.c_uint8, _vp)
        _sig(
            so.ppg_window_copy_out,
            ctypes.c_int,
            _vp,
            _i32p,
            _sz,
            ctypes.POINTER(ctypes.c_uint8),
        )
        _sig(
            so.ppg_packet_encode,
            ctypes.c_int,
            _u8p,
            ctypes.c_uint8,
            ctypes.c_uint8,
            ctypes.c_uint16,
            _i8p,
        )
        _sig(so.ppg_packet_decode, ctypes.c_int, ctypes.c_char_p, _sz, ctypes.c_int, _u8p)
        _sig(so.ppg_packet_set_flags, None, _u8p, ctypes.c_uint8)
        _sig(so.ppg_packet_to_hex, ctypes.c_int, _u8p, ctypes.c_char_p, _sz)
        _sig(so.ppg_model_info_encode, ctypes.c_int, _u8p, ctypes.POINTER(PpgModelInfo))
        _sig(so.ppg_stats_encode, ctypes.c_int, _u8p, _vp)
        _sig(so.ppg_backlog_init, ctypes.c_int, _vp, _vp, _sz)
        _sig(so.ppg_backlog_reset, None, _vp)
        _sig(so.ppg_backlog_push, ctypes.c_bool, _vp, _u8p)
        _sig(so.ppg_backlog_peek, ctypes.c_int, _vp, _u8p)
        _sig(so.ppg_backlog_pop, ctypes.c_int, _vp, ctypes.c_void_p)
        _sig(so.ppg_backlog_depth, _sz, _vp)
        _sig(so.ppg_backlog_capacity, _sz, _vp)
        _sig(so.ppg_backlog_dropped, ctypes.c_uint32, _vp)

    # --- decimator ---------------------------------------------------------------------------
    def decimate(self, x: np.ndarray, m: int) -> np.ndarray:
        xi = np.ascontiguousarray(x, dtype=np.int32)
        out = np.zeros(xi.size // max(m, 1) + 1, dtype=np.int32)
        n = self.so.shim_decimate(m, xi, xi.size, out)
        if n < 0:
            raise OSError(-n, f"shim_decimate({m}) failed")
        return out[:n]

    def decim_taps(self, m: int) -> np.ndarray:
        taps = np.zeros(MAX_TAPS, dtype=np.uint16)
        n = self.so.shim_decim_taps(m, taps)
        if n < 0:
            raise OSError(-n, f"ppg_decim_init({m}) failed")
        return taps[:n].astype(np.int64)

    # --- preprocessing -----------------------------------------------------------------------
    def preprocess(self, windows: np.ndarray, half: int = DETREND_HALF) -> tuple[np.ndarray, np.ndarray]:
        """Rows of int32 windows -> (int8 rows, int64 (lo, hi, range, spread) rows)."""
        x = np.ascontiguousarray(np.atleast_2d(windows), dtype=np.int32)
        q = np.zeros(x.shape, dtype=np.int8)
        stats = np.zeros((x.shape[0], 4), dtype=np.int64)
        self.so.shim_preprocess_batch(x, x.shape[0], x.shape[1], half, q, stats)
        return q, stats

    # --- packets -----------------------------------------------------------------------------
    def packet_encode(self, flags: int, tag: int, seq: int, codes: np.ndarray) -> tuple[int, bytes]:
        out = np.zeros(PKT_LEN, dtype=np.uint8)
        rc = self.so.ppg_packet_encode(out, flags, tag, seq, np.ascontiguousarray(codes, dtype=np.int8))
        return rc, out.tobytes()

    def packet_encode_batch(
        self, flags: np.ndarray, tags: np.ndarray, seqs: np.ndarray, codes: np.ndarray
    ) -> list[bytes]:
        n = len(flags)
        out = np.zeros(n * PKT_LEN, dtype=np.uint8)
        rc = self.so.shim_packet_encode_batch(
            n,
            np.ascontiguousarray(flags, dtype=np.uint8),
            np.ascontiguousarray(tags, dtype=np.uint8),
            np.ascontiguousarray(seqs, dtype=np.uint16),
            np.ascontiguousarray(codes, dtype=np.int8).reshape(-1),
            out,
        )
        if rc < 0:
            raise OSError(-rc, "ppg_packet_encode failed")
        raw = out.tobytes()
        return [raw[i * PKT_LEN : (i + 1) * PKT_LEN] for i in range(n)]

    def packet_decode(self, data: bytes, expected_tag: int = -1) -> tuple[int, dict[str, object] | None]:
        """Returns (rc, fields) where fields is None unless rc == 0."""
        raw = np.zeros(24, dtype=np.uint8)  # struct ppg_packet: 5 bytes + 16 codes, padded
        rc = self.so.ppg_packet_decode(data, len(data), expected_tag, raw)
        if rc != 0:
            return rc, None
        # struct ppg_packet layout: u8 version, u8 flags, u8 tag, (pad), u16 seq, int8 codes[16]
        b = raw.tobytes()
        return rc, {
            "version": b[0],
            "flags": b[1],
            "model_tag": b[2],
            "seq": int.from_bytes(b[4:6], "little"),
            "codes": tuple(np.frombuffer(b[6:22], dtype=np.int8).tolist()),
        }

    def packet_set_flags(self, pkt: bytes, flags: int) -> bytes:
        buf = np.frombuffer(pkt, dtype=np.uint8).copy()
        self.so.ppg_packet_set_flags(buf, flags)
        return buf.tobytes()

    def packet_to_hex(self, pkt: bytes, out_len: int = 41) -> tuple[int, str]:
        buf = ctypes.create_string_buffer(max(out_len, 1))
        rc = self.so.ppg_packet_to_hex(np.frombuffer(pkt, dtype=np.uint8).copy(), buf, out_len)
        return rc, buf.value.decode("ascii")

    def model_info_encode(self, mi: PpgModelInfo) -> tuple[int, bytes]:
        out = np.zeros(64, dtype=np.uint8)
        rc = self.so.ppg_model_info_encode(out, ctypes.byref(mi))
        return rc, out.tobytes()

    def stats_encode(self, values: list[int]) -> tuple[int, bytes]:
        out = np.zeros(28, dtype=np.uint8)
        src = (ctypes.c_uint32 * 7)(*values)
        rc = self.so.ppg_stats_encode(out, ctypes.cast(src, ctypes.c_void_p))
        return rc, out.tobytes()


class CDecimator:
    """A ``struct ppg_decim`` owned by Python."""

    def __init__(self, c: CLib, m: int) -> None:
        self.c = c
        self.mem = ctypes.create_string_buffer(c.so.shim_sizeof_decim())
        self.rc = c.so.ppg_decim_init(self.mem, m)

    def push(self, sample: int) -> int | None:
        out = ctypes.c_int32(0)
        return out.value if self.c.so.ppg_decim_push(self.mem, int(sample), ctypes.byref(out)) else None

    def push_block(self, x: np.ndarray, out_cap: int) -> tuple[int, np.ndarray]:
        xi = np.ascontiguousarray(x, dtype=np.int32)
        out = np.zeros(max(out_cap, 1), dtype=np.int32)
        rc = self.c.so.ppg_decim_push_block(self.mem, xi, xi.size, out, out_cap)
        return rc, out[: max(rc, 0)]

    def reset(self) -> None:
        self.c.so.ppg_decim_reset(self.mem)


class CWindow:
    """A ``struct ppg_window`` over Python-owned storage."""

    def __init__(self, c: CLib, capacity: int) -> None:
        self.c = c
        self.capacity = capacity
        self.mem = ctypes.create_string_buffer(c.so.shim_sizeof_window())
        self.buf = (ctypes.c_int32 * max(capacity, 1))()
        self.marks = (ctypes.c_uint8 * max(capacity, 1))()
        self.rc = c.so.ppg_window_init(self.mem, self.buf, self.marks, capacity)

    def push(self, sample: int, marks: int = 0) -> None:
        self.c.so.ppg_window_push(self.mem, int(sample), marks)

    def ready(self) -> bool:
        return bool(self.c.so.ppg_window_ready(self.mem))

    def count(self) -> int:
        return int(self.c.so.ppg_window_count(self.mem))

    def hop_due(self, hop: int) -> bool:
        return bool(self.c.so.ppg_window_hop_due(self.mem, hop))

    def window_marks(self) -> int:
        return int(self.c.so.ppg_window_marks(self.mem))

    def copy_out(self, dst_len: int | None = None) -> tuple[int, np.ndarray, int]:
        n = self.capacity if dst_len is None else dst_len
        dst = np.zeros(max(n, 1), dtype=np.int32)
        marks = ctypes.c_uint8(0xFF)
        rc = self.c.so.ppg_window_copy_out(self.mem, dst, n, ctypes.byref(marks))
        return rc, dst[: max(rc, 0)], marks.value

    def reset(self) -> None:
        self.c.so.ppg_window_reset(self.mem)


class CBacklog:
    """A ``struct ppg_backlog`` over Python-owned storage."""

    def __init__(self, c: CLib, capacity: int) -> None:
        self.c = c
        self.mem = ctypes.create_string_buffer(c.so.shim_sizeof_backlog())
        self.storage = ctypes.create_string_buffer(max(capacity, 1) * PKT_LEN)
        self.rc = c.so.ppg_backlog_init(self.mem, self.storage, capacity)

    def push(self, pkt: bytes) -> bool:
        return bool(self.c.so.ppg_backlog_push(self.mem, np.frombuffer(pkt, dtype=np.uint8).copy()))

    def peek(self) -> tuple[int, bytes]:
        out = np.zeros(PKT_LEN, dtype=np.uint8)
        rc = self.c.so.ppg_backlog_peek(self.mem, out)
        return rc, out.tobytes()

    def pop(self, want: bool = True) -> tuple[int, bytes]:
        out = np.zeros(PKT_LEN, dtype=np.uint8)
        rc = self.c.so.ppg_backlog_pop(self.mem, out.ctypes.data if want else None)
        return rc, out.tobytes()

    def depth(self) -> int:
        return int(self.c.so.ppg_backlog_depth(self.mem))

    def capacity(self) -> int:
        return int(self.c.so.ppg_backlog_capacity(self.mem))

    def dropped(self) -> int:
        return int(self.c.so.ppg_backlog_dropped(self.mem))

    def reset(self) -> None:
        self.c.so.ppg_backlog_reset(self.mem)


def ubsan_reports(stderr: str) -> list[str]:
    """UBSan reports in captured stderr (the runtime writes to fd 2 and carries on)."""
    return [line for line in stderr.splitlines() if "runtime error:" in line]


@functools.cache
def lib() -> CLib:
    """The firmware C, compiled once per session."""
    return CLib(build_shared(SOURCES, "ppg_portable"))


@functools.cache
def cfg_lib() -> ctypes.CDLL:
    """window_cfg.h compiled on its own: the window length it resolves to.

    Uses the generated model header when it exists; otherwise passes the Python constant, the
    one source of truth, as -DPPG_MODEL_WINDOW_LEN.
    """
    extra = [] if GENERATED_MODEL_HEADER.exists() else [f"-DPPG_MODEL_WINDOW_LEN={WINDOW_LEN}"]
    path = build_shared([*sorted((LIB_DIR / "window").glob("*.c")), SHIM_DIR / "ppg_shim_cfg.c"], "ppg_cfg", extra)
    so = ctypes.CDLL(str(path))
    _sig(so.shim_cfg_window_len, _sz)
    _sig(so.shim_cfg_window_init, ctypes.c_int)
    return so
