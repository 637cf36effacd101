"""The firmware's blob parser (lib/model_blob, host gcc) against ppgcomp.export.model_blob, on the same bytes.

docs/model_blob.md: check 1 (the header, with the device's refusal reason) and the flatbuffer's op codes (check 4's
walk) must agree with the Python reader for the committed blob, every fixture blob, and seeded corruptions of them.
The SHA-256 checks are the device's flash_area_check_int_sha256() (Zephyr), not this parser's.
"""

from __future__ import annotations

import ctypes
import struct
from pathlib import Path

import numpy as np
import pytest
from support.c_harness import CLib

from ppgcomp.constants import BLOB_FILE, FIRMWARE_MODEL_DIR, MODEL_BLOB_FIXTURES_DIR, REPO_ROOT
from ppgcomp.export import model_blob as mb

pytestmark = pytest.mark.usefixtures("no_undefined_behaviour")

COMMITTED = REPO_ROOT / FIRMWARE_MODEL_DIR / BLOB_FILE
FIXTURES = sorted((REPO_ROOT / MODEL_BLOB_FIXTURES_DIR).glob("*.blob"))
MAX_CODES = 256
ENOSPC = 28


class Hdr(ctypes.Structure):
    """Mirror of ``struct ppg_model_blob_hdr`` (include/ppgcomp/model_blob.h)."""

    _fields_ = [
        ("format_version", ctypes.c_uint16),
        ("header_len", ctypes.c_uint16),
        ("total_len", ctypes.c_uint32),
        ("blob_sha256", ctypes.c_uint8 * 32),
        ("model_offset", ctypes.c_uint32),
        ("model_len", ctypes.c_uint32),
        ("model_sha256", ctypes.c_uint8 * 32),
        ("model_tag", ctypes.c_uint8),
        ("op_count", ctypes.c_uint8),
        ("arena_bytes", ctypes.c_uint16),
        ("ops", ctypes.c_uint8 * 8),
        ("window_len", ctypes.c_uint16),
        ("code_len", ctypes.c_uint16),
        ("golden_count", ctypes.c_uint16),
        ("reserved", ctypes.c_uint16),
        ("golden_offset", ctypes.c_uint32),
        ("input_quant", ctypes.c_uint32),
    ]


@pytest.fixture(scope="module")
def so(c: CLib) -> ctypes.CDLL:
    lib = c.so
    lib.ppg_model_blob_check_header.restype = ctypes.c_int
    lib.ppg_model_blob_check_header.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p]
    lib.ppg_model_blob_tflite_ops.restype = ctypes.c_int
    lib.ppg_model_blob_tflite_ops.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.POINTER(ctypes.c_int32),
        ctypes.c_size_t,
    ]
    lib.ppg_model_blob_check_ops.restype = ctypes.c_int
    lib.ppg_model_blob_check_ops.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.POINTER(ctypes.c_int32),
        ctypes.c_size_t,
    ]
    return lib


def c_check_header(so: ctypes.CDLL, blob: bytes) -> tuple[int, Hdr]:
    hdr = Hdr()
    rc = so.ppg_model_blob_check_header(blob, len(blob), mb.MAX_TOTAL_LEN, ctypes.byref(hdr))
    return rc, hdr


def py_check_header(blob: bytes) -> int:
    try:
        mb.check_header(blob)
    except mb.BlobError as e:
        return int(e.reason)
    return int(mb.ModelErr.OK)


def c_ops(so: ctypes.CDLL, tflite: bytes) -> list[int] | int:
    out = (ctypes.c_int32 * MAX_CODES)()
    n = so.ppg_model_blob_tflite_ops(tflite, len(tflite), out, MAX_CODES)
    return n if n < 0 else list(out[:n])


def py_ops(tflite: bytes) -> list[int] | None:
    try:
        return mb.tflite_op_codes(tflite)
    except (ValueError, struct.error):
        return None


def c_check_ops(so: ctypes.CDLL, blob: bytes, allowed: list[int]) -> int:
    rc, hdr = c_check_header(so, blob)
    assert rc == 0
    tflite = blob[hdr.model_offset : hdr.model_offset + hdr.model_len]
    arr = (ctypes.c_int32 * len(allowed))(*allowed)
    return so.ppg_model_blob_check_ops(ctypes.byref(hdr), tflite, len(tflite), arr, len(allowed))


def test_fixture_set_is_there() -> None:
    names = {p.stem for p in FIXTURES}
    assert {"alt_good", "corrupt", "bad_op", "big_arena", "misaligned", "too_large", "truncated"} <= names
    assert COMMITTED.is_file()


@pytest.mark.parametrize("path", [COMMITTED, *FIXTURES], ids=lambda p: p.stem)
def test_header_check_matches_python(so: ctypes.CDLL, path: Path) -> None:
    blob = path.read_bytes()
    rc, hdr = c_check_header(so, blob)
    assert rc == py_check_header(blob), path.name
    if len(blob) >= mb.HEADER_LEN:
        h = mb.Header.unpack(blob)
        assert (hdr.total_len, hdr.model_offset, hdr.model_len, hdr.golden_offset) == (
            h.total_len,
            h.model_offset,
            h.model_len,
            h.golden_offset,
        )
        assert bytes(hdr.model_sha256) == h.model_sha256 and bytes(hdr.blob_sha256) == h.blob_sha256
        assert (hdr.model_tag, hdr.op_count, bytes(hdr.ops)) == (h.model_tag, h.op_count, h.ops)


def test_expected_header_refusals(so: ctypes.CDLL) -> None:
    """The fixtures whose fault is in the header give the device's reason (tests/fixtures/model_blobs/README.md)."""
    want = {"bad_version": 6, "misaligned": 5, "too_large": 2, "truncated": 3, "alt_good": 0, "corrupt": 0}
    for name, reason in want.items():
        rc, _ = c_check_header(so, (REPO_ROOT / MODEL_BLOB_FIXTURES_DIR / f"{name}.blob").read_bytes())
        assert rc == reason, name
    assert c_check_header(so, b"PPGM")[0] == mb.ModelErr.TRUNCATED


@pytest.mark.parametrize("path", [COMMITTED, *FIXTURES], ids=lambda p: p.stem)
def test_op_walk_matches_python(so: ctypes.CDLL, path: Path) -> None:
    blob = path.read_bytes()
    if c_check_header(so, blob)[0] != 0:
        pytest.skip("header refused: no model to walk")
    h = mb.Header.unpack(blob)
    tflite = blob[h.model_offset : h.model_offset + h.model_len]
    assert c_ops(so, tflite) == py_ops(tflite)


def test_op_check(so: ctypes.CDLL) -> None:
    firmware = sorted(mb.firmware_ops())
    assert c_check_ops(so, COMMITTED.read_bytes(), firmware) == 0
    bad_op = (REPO_ROOT / MODEL_BLOB_FIXTURES_DIR / "bad_op.blob").read_bytes()
    assert c_check_ops(so, bad_op, firmware) == mb.ModelErr.OP  # TANH in the flatbuffer
    assert c_check_ops(so, bad_op, [*firmware, 28]) == 0
    # An op missing from the firmware's set, in the header's list only.
    assert c_check_ops(so, COMMITTED.read_bytes(), firmware[1:]) == mb.ModelErr.OP


def test_seeded_header_corruptions_match_python(so: ctypes.CDLL) -> None:
    """Every header byte and length field mutated: the C and Python readers give the same reason."""
    rng = np.random.default_rng(23)
    base = COMMITTED.read_bytes()
    seen = set()
    for i in range(3000):
        blob = bytearray(base)
        if i % 3 == 0:
            pos = int(rng.integers(0, mb.HEADER_LEN))
            blob[pos] = int(rng.integers(0, 256))
        elif i % 3 == 1:
            field = int(rng.choice([8, 44, 48, 104]))
            struct.pack_into("<I", blob, field, int(rng.integers(0, 2**32, dtype=np.uint64)))
        else:
            blob = blob[: int(rng.integers(0, len(blob) + 1))]
        rc, _ = c_check_header(so, bytes(blob))
        assert rc == py_check_header(bytes(blob)), f"case {i}"
        seen.add(rc)
    assert {0, 2, 3, 5, 6} <= seen


def test_seeded_flatbuffer_corruptions_match_python(so: ctypes.CDLL) -> None:
    """Random bytes of the .tflite flipped (offsets and vtables included): the same op codes, or both refuse."""
    rng = np.random.default_rng(2026)
    h = mb.Header.unpack(COMMITTED.read_bytes())
    tflite = COMMITTED.read_bytes()[h.model_offset : h.model_offset + h.model_len]
    refused = 0
    for _ in range(3000):
        t = bytearray(tflite)
        for _ in range(int(rng.integers(1, 4))):
            # Mostly the table/vtable region at the start, where the operator codes live.
            pos = int(rng.integers(0, 512 if rng.random() < 0.7 else len(t)))
            t[pos] = int(rng.integers(0, 256))
        c, p = c_ops(so, bytes(t)), py_ops(bytes(t))
        if p is None:
            assert isinstance(c, int) and c < 0
            refused += 1
        elif len(p) > MAX_CODES:
            assert c == -ENOSPC
        else:
            assert c == p
    assert refused > 0
