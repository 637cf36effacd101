"""The encoder model blob, format version 1 (docs/model_blob.md): writer, parser and validator.

The validator refuses a blob for the first reason that holds, in the device's order, with the device's reason
code (:class:`ModelErr`, the values of ``enum ppg_model_err`` in include/ppgcomp/model_store.h, which are also the
SMP group's error codes): the header, the blob hash, the model hash and tag, the ops. With ``run_model`` it also
runs the model in TFLM's Python runtime: the arena (a host figure, see :data:`HOST_ARENA_LIMIT`) and the golden
windows. Reading a blob needs no TensorFlow: the op codes come from a minimal walk of the flatbuffer.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ppgcomp.constants import ARENA_BUDGET_BYTES, CODE_LEN, WINDOW_LEN

MAGIC = b"PPGM"
FORMAT_VERSION = 1
HEADER_LEN = 112
MODEL_ALIGN = 16
SLOT_BYTES = 16 * 1024  # one of the two slots of ppg_model_partition
COMMIT_RECORD_BYTES = 32  # at the end of each slot (docs/model_blob.md: "the slot size minus the commit record")
MAX_TOTAL_LEN = SLOT_BYTES - COMMIT_RECORD_BYTES  # 16,352
MAX_OPS = 8
MAX_GOLDEN = 8
UNUSED_OP = 0xFF
HASHED_FROM = 44  # blob_sha256 covers [44, total_len)

# The header, little-endian; offsets in docs/model_blob.md.
_HEADER = struct.Struct("<4sHHI32sII32sBBH8sHHHHII")
assert _HEADER.size == HEADER_LEN

#: The device's TFLM arena is smaller than the 64-bit host's figure for the same model (pointers, reference
#: kernels): the committed conv encoder measures 2,912 bytes here and 1,860 bytes on the Cortex-M33 (docs/
#: performance.md). The host check allows that much; the device's own measurement decides.
HOST_ARENA_ALLOWANCE = 1024
HOST_ARENA_LIMIT = ARENA_BUDGET_BYTES + HOST_ARENA_ALLOWANCE


class ModelErr(enum.IntEnum):
    """``enum ppg_model_err`` of include/ppgcomp/model_store.h (the values are the SMP group's error codes)."""

    OK = 0
    BUSY = 1
    TOO_LARGE = 2
    TRUNCATED = 3
    OFFSET = 4
    HEADER = 5
    VERSION = 6
    HASH = 7
    OP = 8
    ARENA = 9
    GOLDEN = 10
    FLASH = 11
    NO_SESSION = 12


class BlobError(ValueError):
    """A refused blob: `reason` is the device's refusal code, the message says what is wrong (one line)."""

    def __init__(self, reason: ModelErr, message: str) -> None:
        super().__init__(f"{reason.name}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class Header:
    magic: bytes
    format_version: int
    header_len: int
    total_len: int
    blob_sha256: bytes
    model_offset: int
    model_len: int
    model_sha256: bytes
    model_tag: int
    op_count: int
    arena_bytes: int
    ops: bytes  # 8 bytes, unused entries 0xFF
    window_len: int
    code_len: int
    golden_count: int
    reserved: int
    golden_offset: int
    input_quant: int

    @classmethod
    def unpack(cls, data: bytes) -> Header:
        return cls(*_HEADER.unpack_from(data, 0))

    def pack(self) -> bytes:
        return _HEADER.pack(*(getattr(self, f) for f in self.__dataclass_fields__))

    @property
    def op_codes(self) -> list[int]:
        return list(self.ops[: self.op_count])


@dataclass(frozen=True)
class Blob:
    """A parsed blob: its header, the .tflite and the golden windows (inputs and the codes they must give)."""

    header: Header
    tflite: bytes
    golden_in: np.ndarray  # (golden_count, window_len) int8
    golden_codes: np.ndarray  # (golden_count, code_len) int8

    @property
    def tag(self) -> int:
        return self.header.model_tag

    @property
    def model_sha256(self) -> str:
        return self.header.model_sha256.hex()


# --- the flatbuffer's op codes --------------------------------------------------------------------------------


def _u32(buf: bytes, pos: int) -> int:
    if pos < 0 or pos + 4 > len(buf):
        raise ValueError("offset outside the flatbuffer")
    return struct.unpack_from("<I", buf, pos)[0]


def _table_field(buf: bytes, table: int, field: int) -> int | None:
    """Absolute position of `field` of the table at `table`, or None when the field is absent."""
    vtable = table - struct.unpack_from("<i", buf, table)[0] if table + 4 <= len(buf) else -1
    if vtable < 0 or vtable + 4 > len(buf):
        raise ValueError("vtable outside the flatbuffer")
    vt_len = struct.unpack_from("<H", buf, vtable)[0]
    slot = 4 + 2 * field
    if slot + 2 > vt_len or vtable + slot + 2 > len(buf):
        return None
    off = struct.unpack_from("<H", buf, vtable + slot)[0]
    return table + off if off else None


def _scalar(buf: bytes, table: int, field: int, fmt: str, default: int) -> int:
    pos = _table_field(buf, table, field)
    if pos is None:
        return default
    if pos + struct.calcsize(fmt) > len(buf):
        raise ValueError("field outside the flatbuffer")
    return struct.unpack_from(fmt, buf, pos)[0]


def tflite_op_codes(tflite: bytes) -> list[int]:
    """The TFLite ``BuiltinOperator`` codes of the model's operator_codes table, ascending and distinct.

    A minimal flatbuffer walk (tensorflow/lite/schema/schema.fbs): Model field 1 is ``operator_codes``, and an
    OperatorCode's code is the larger of ``deprecated_builtin_code`` (field 0, int8) and ``builtin_code`` (field 3,
    int32). ValueError when the bytes are not such a flatbuffer.
    """
    buf = bytes(tflite)
    root = _u32(buf, 0)
    pos = _table_field(buf, root, 1)
    if pos is None:
        raise ValueError("the model has no operator codes")
    vec = pos + _u32(buf, pos)
    n = _u32(buf, vec)
    if n == 0 or n > 256:
        raise ValueError(f"{n} operator codes")
    codes = set()
    for i in range(n):
        elem = vec + 4 + 4 * i
        table = elem + _u32(buf, elem)
        deprecated = _scalar(buf, table, 0, "<b", 0)
        builtin = _scalar(buf, table, 3, "<i", 0)
        codes.add(max(deprecated, builtin))
    return sorted(codes)


# --- writing --------------------------------------------------------------------------------------------------


def _align(n: int, to: int = MODEL_ALIGN) -> int:
    return (n + to - 1) // to * to


def build_blob(tflite: bytes, golden_in: np.ndarray, golden_codes: np.ndarray, arena_bytes: int,
               ops: list[int] | None = None, **overrides) -> bytes:
    """The blob of `tflite` with its golden windows (inputs, and the codes the model gives for them).

    `ops`: the header's op list (default: read from the flatbuffer). `overrides` replace header fields before the
    blob hash is computed (fixtures of bad blobs: ``format_version=2``, ``model_offset=120``, ``model_sha256=...``).
    """
    golden_in = np.asarray(golden_in, np.int8).reshape(-1, WINDOW_LEN)
    golden_codes = np.asarray(golden_codes, np.int8).reshape(-1, CODE_LEN)
    if golden_in.shape[0] != golden_codes.shape[0]:
        raise ValueError("as many golden inputs as golden code rows")
    ops = tflite_op_codes(tflite) if ops is None else sorted(ops)
    if not 1 <= len(ops) <= MAX_OPS or any(not 0 <= op < UNUSED_OP for op in ops):
        raise ValueError(f"ops {ops}: 1..{MAX_OPS} codes below {UNUSED_OP}")
    model_offset = overrides.pop("model_offset", _align(HEADER_LEN))
    golden_offset = model_offset + len(tflite)
    records = b"".join(i.tobytes() + c.tobytes() for i, c in zip(golden_in, golden_codes))
    total_len = golden_offset + len(records)
    sha = hashlib.sha256(tflite).digest()
    header = Header(
        magic=MAGIC, format_version=FORMAT_VERSION, header_len=HEADER_LEN, total_len=total_len,
        blob_sha256=bytes(32), model_offset=model_offset, model_len=len(tflite), model_sha256=sha,
        model_tag=sha[0], op_count=len(ops), arena_bytes=min(int(arena_bytes), 0xFFFF),
        ops=bytes(ops) + bytes([UNUSED_OP] * (MAX_OPS - len(ops))), window_len=WINDOW_LEN, code_len=CODE_LEN,
        golden_count=golden_in.shape[0], reserved=0, golden_offset=golden_offset, input_quant=0,
    )
    header = dataclasses.replace(header, **overrides)  # TypeError on an unknown field
    body = bytearray(header.pack())
    body += bytes(model_offset - len(body)) + tflite + records
    return rehash(bytes(body))


def rehash(blob: bytes) -> bytes:
    """`blob` with its blob_sha256 recomputed over [44, total_len) (or over the bytes there are, if fewer)."""
    total = min(Header.unpack(blob).total_len, len(blob))
    return blob[:12] + hashlib.sha256(blob[HASHED_FROM:total]).digest() + blob[HASHED_FROM:]


# --- reading and checking -------------------------------------------------------------------------------------


def check_header(blob: bytes) -> Header:
    """Check 1 of docs/model_blob.md (and that all `total_len` bytes are there); BlobError otherwise."""
    if len(blob) < HEADER_LEN:
        raise BlobError(ModelErr.TRUNCATED, f"{len(blob)} bytes, less than the {HEADER_LEN}-byte header")
    h = Header.unpack(blob)
    if h.magic != MAGIC:
        raise BlobError(ModelErr.HEADER, f"magic {h.magic!r}, want {MAGIC!r}")
    if h.format_version != FORMAT_VERSION:
        raise BlobError(ModelErr.VERSION, f"format version {h.format_version}, this reader takes {FORMAT_VERSION}")
    if h.header_len != HEADER_LEN:
        raise BlobError(ModelErr.HEADER, f"header length {h.header_len}, want {HEADER_LEN}")
    if h.total_len > MAX_TOTAL_LEN:
        raise BlobError(ModelErr.TOO_LARGE, f"total length {h.total_len} beyond the slot's {MAX_TOTAL_LEN}")
    if h.total_len < HEADER_LEN:
        raise BlobError(ModelErr.HEADER, f"total length {h.total_len} shorter than the header")
    if len(blob) < h.total_len:
        raise BlobError(ModelErr.TRUNCATED, f"{len(blob)} bytes, the header says {h.total_len}")
    if len(blob) > h.total_len:
        raise BlobError(ModelErr.HEADER, f"{len(blob)} bytes, the header says {h.total_len}")
    if h.model_offset % MODEL_ALIGN or h.model_offset < h.header_len:
        raise BlobError(ModelErr.HEADER, f"model offset {h.model_offset}: a multiple of {MODEL_ALIGN}, "
                        f">= {h.header_len}")
    if h.model_len == 0 or h.model_offset + h.model_len > h.total_len:
        raise BlobError(ModelErr.HEADER, f"model [{h.model_offset}, +{h.model_len}) not inside {h.total_len} bytes")
    if h.window_len != WINDOW_LEN or h.code_len != CODE_LEN:
        raise BlobError(ModelErr.HEADER, f"window/code length {h.window_len}/{h.code_len}, the firmware's are "
                        f"{WINDOW_LEN}/{CODE_LEN}")
    if not 1 <= h.op_count <= MAX_OPS:
        raise BlobError(ModelErr.HEADER, f"op count {h.op_count}, want 1..{MAX_OPS}")
    if not 1 <= h.golden_count <= MAX_GOLDEN:
        raise BlobError(ModelErr.HEADER, f"golden count {h.golden_count}, want 1..{MAX_GOLDEN}")
    if h.golden_offset < h.model_offset + h.model_len:
        raise BlobError(ModelErr.HEADER, f"golden windows at {h.golden_offset} overlap the model")
    if h.golden_offset + h.golden_count * (h.window_len + h.code_len) != h.total_len:
        raise BlobError(ModelErr.HEADER, f"golden windows [{h.golden_offset}, +{h.golden_count} records) do not "
                        f"end at the total length {h.total_len}")
    return h


def parse(blob: bytes, allowed_ops: set[int] | None = None, run_model: bool = False) -> Blob:
    """Check `blob` as the device does (docs/model_blob.md, "When the device uses a blob") and return it parsed.

    Raises BlobError with the first failing check's reason. `allowed_ops`: the BuiltinOperator codes the firmware
    registers (default: :func:`firmware_ops`). `run_model`: also checks 5 (the host arena) and 6 (the golden
    windows, in TFLM's Python runtime); without it the checks need neither TensorFlow nor TFLM.
    """
    blob = bytes(blob)
    h = check_header(blob)
    if hashlib.sha256(blob[HASHED_FROM : h.total_len]).digest() != h.blob_sha256:
        raise BlobError(ModelErr.HASH, "blob_sha256 does not match the blob")
    tflite = blob[h.model_offset : h.model_offset + h.model_len]
    sha = hashlib.sha256(tflite).digest()
    if sha != h.model_sha256:
        raise BlobError(ModelErr.HASH, "model_sha256 does not match the .tflite")
    if h.model_tag != sha[0]:
        raise BlobError(ModelErr.HASH, f"model tag 0x{h.model_tag:02x}, the model's SHA-256 starts 0x{sha[0]:02x}")
    allowed = firmware_ops() if allowed_ops is None else set(allowed_ops)
    try:
        codes = tflite_op_codes(tflite)
    except (ValueError, struct.error) as e:
        raise BlobError(ModelErr.OP, f"cannot read the model's ops ({e})") from None
    bad = sorted((set(codes) | set(h.op_codes)) - allowed)
    if bad:
        raise BlobError(ModelErr.OP, f"ops {bad} are not registered by the firmware (it has {sorted(allowed)})")
    parsed = unpack(blob)
    if run_model:
        check_model(parsed)
    return parsed


def unpack(blob: bytes) -> Blob:
    """The header, model and golden windows of a blob whose sections lie inside it, without the checks (a blob
    that :func:`parse` refuses only for its size, e.g.); ValueError when they do not."""
    h = Header.unpack(blob)
    n, rec = h.golden_count, h.window_len + h.code_len
    if h.model_offset + h.model_len > len(blob) or h.golden_offset + n * rec > len(blob):
        raise ValueError("sections outside the blob")
    records = np.frombuffer(blob, np.int8, n * rec, h.golden_offset).reshape(n, rec)
    return Blob(h, blob[h.model_offset : h.model_offset + h.model_len], records[:, : h.window_len].copy(),
                records[:, h.window_len :].copy())


def check_model(blob: Blob) -> None:
    """Checks 5 and 6 on the host, in TFLM's Python runtime: the arena and the golden windows."""
    from ppgcomp.export import tflm_host

    used = tflm_host.arena_used(blob.tflite)
    if used is None or used > HOST_ARENA_LIMIT:
        raise BlobError(ModelErr.ARENA, f"TFLM needs {used or 'more than 16 MiB of'} arena bytes on the host, "
                        f"more than {HOST_ARENA_LIMIT} ({ARENA_BUDGET_BYTES} on the device)")
    codes = tflm_host.codes(blob.tflite, blob.golden_in, used)
    wrong = np.flatnonzero((codes != blob.golden_codes).any(axis=1))
    if wrong.size:
        raise BlobError(ModelErr.GOLDEN, f"golden window(s) {wrong.tolist()} give other codes in TFLM")


def firmware_ops() -> set[int]:
    """The BuiltinOperator codes the firmware registers: the built-in model's (its resolver has exactly those,
    PPG_MODEL_FOR_EACH_OP), read from the committed blob lib/encoder_model/ppg_encoder_model.blob."""
    from ppgcomp.constants import BLOB_FILE, FIRMWARE_MODEL_DIR, REPO_ROOT

    data = (REPO_ROOT / FIRMWARE_MODEL_DIR / BLOB_FILE).read_bytes()
    return set(Header.unpack(data).op_codes)


def read(path: Path, **kwargs) -> Blob:
    """:func:`parse` of a file; OSError when it cannot be read."""
    return parse(Path(path).read_bytes(), **kwargs)
