"""The model blob writer and parser (docs/model_blob.md): round trip, every refusal with its reason and in the
device's order, the reason codes against include/ppgcomp/model_store.h, the op walk against TensorFlow's, and
random headers."""

import dataclasses
import hashlib
import re
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ppgcomp.constants import ARTIFACTS_DIR, GOLDEN_VECTORS_FILE, REPO_ROOT, TFLITE_FILE
from ppgcomp.export import model_blob as mb
from ppgcomp.export.model_blob import BlobError, Header, ModelErr

TFLITE = (REPO_ROOT / ARTIFACTS_DIR / TFLITE_FILE).read_bytes()
with np.load(REPO_ROOT / ARTIFACTS_DIR / GOLDEN_VECTORS_FILE) as _z:
    Q, CODES = _z["q"][:4], _z["codes"][:4]
OPS = {3, 9, 101}  # CONV_2D, FULLY_CONNECTED, ABS: the built-in model's


def good() -> bytes:
    return mb.build_blob(TFLITE, Q, CODES, 2048)


def reason(blob: bytes, **kw) -> ModelErr:
    try:
        mb.parse(blob, allowed_ops=kw.pop("allowed_ops", OPS), **kw)
    except BlobError as e:
        assert "\n" not in str(e)
        return e.reason
    return ModelErr.OK


def with_header(blob: bytes, **fields) -> bytes:
    """`blob` with header fields replaced and blob_sha256 recomputed (so that the header is the only fault)."""
    h = dataclasses.replace(Header.unpack(blob), **fields)
    return mb.rehash(h.pack() + blob[mb.HEADER_LEN :])


def test_round_trip():
    blob = good()
    b = mb.parse(blob, allowed_ops=OPS, run_model=True)
    h = b.header
    assert blob[:4] == b"PPGM" and len(blob) == h.total_len == 112 + len(TFLITE) + 4 * 416
    assert struct.unpack_from("<HHI", blob, 4) == (1, 112, len(blob))
    assert h.model_offset == 112 and h.model_offset % 16 == 0 and h.golden_offset == 112 + len(TFLITE)
    assert b.tflite == TFLITE
    assert h.model_sha256 == hashlib.sha256(TFLITE).digest() and b.tag == 0x88
    assert h.blob_sha256 == hashlib.sha256(blob[44:]).digest()
    assert h.ops == bytes([3, 9, 101, 255, 255, 255, 255, 255]) and h.op_count == 3
    assert (h.window_len, h.code_len, h.golden_count, h.reserved, h.input_quant) == (400, 16, 4, 0, 0)
    assert h.arena_bytes == 2048
    assert (b.golden_in == Q).all() and (b.golden_codes == CODES).all()
    assert mb.build_blob(b.tflite, b.golden_in, b.golden_codes, h.arena_bytes) == blob
    assert h.pack() == blob[:112]


def test_reason_codes_are_the_firmware_enum():
    text = (REPO_ROOT / "include/ppgcomp/model_store.h").read_text()
    enum = {name: int(v) for name, v in re.findall(r"PPG_MODEL_(?:ERR_)?(\w+) = (\d+)", text)}
    assert enum == {e.name: e.value for e in ModelErr}


def test_op_walk_matches_tensorflow():
    from tensorflow.lite.tools import flatbuffer_utils

    for path in (REPO_ROOT / ARTIFACTS_DIR / TFLITE_FILE, REPO_ROOT / ARTIFACTS_DIR / "dense" / TFLITE_FILE,
                 REPO_ROOT / "tests/fixtures/model_blobs/alt_good.tflite"):
        model = flatbuffer_utils.read_model_from_bytearray(bytearray(path.read_bytes()))
        want = sorted({max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes})
        assert mb.tflite_op_codes(path.read_bytes()) == want
    assert mb.tflite_op_codes(TFLITE) == [3, 9, 101]


BAD_HEADERS = [
    ({"magic": b"PPGN"}, ModelErr.HEADER),
    ({"format_version": 0}, ModelErr.VERSION),
    ({"format_version": 2}, ModelErr.VERSION),
    ({"header_len": 128}, ModelErr.HEADER),
    ({"total_len": mb.MAX_TOTAL_LEN + 1}, ModelErr.TOO_LARGE),
    ({"total_len": 100}, ModelErr.HEADER),
    ({"model_offset": 120}, ModelErr.HEADER),
    ({"model_offset": 96}, ModelErr.HEADER),
    ({"model_len": 0}, ModelErr.HEADER),
    ({"model_len": 20000}, ModelErr.HEADER),
    ({"window_len": 200}, ModelErr.HEADER),
    ({"code_len": 8}, ModelErr.HEADER),
    ({"op_count": 0}, ModelErr.HEADER),
    ({"op_count": 9}, ModelErr.HEADER),
    ({"golden_count": 0}, ModelErr.HEADER),
    ({"golden_count": 9}, ModelErr.HEADER),
    ({"golden_count": 3}, ModelErr.HEADER),  # the records no longer end at total_len
    ({"golden_offset": 112 + len(TFLITE) - 16}, ModelErr.HEADER),  # overlaps the model
]


@pytest.mark.parametrize(("fields", "want"), BAD_HEADERS, ids=[str(f) for f, _ in BAD_HEADERS])
def test_bad_header_refused_with_its_reason(fields, want):
    assert reason(with_header(good(), **fields)) == want


def test_length_faults():
    blob = good()
    assert reason(blob[:100]) == ModelErr.TRUNCATED  # not even a header
    assert reason(blob[:-1]) == ModelErr.TRUNCATED
    assert reason(blob + b"\0") == ModelErr.HEADER  # more bytes than total_len


def test_hash_faults():
    blob = good()
    h = Header.unpack(blob)
    flipped = bytearray(blob)
    flipped[h.model_offset + 100] ^= 0x80
    assert reason(bytes(flipped)) == ModelErr.HASH  # blob hash
    flipped = bytearray(blob)
    flipped[h.golden_offset + 5] ^= 0x01
    assert reason(bytes(flipped)) == ModelErr.HASH  # the golden windows are covered too
    assert reason(with_header(blob, model_sha256=bytes(32))) == ModelErr.HASH
    assert reason(with_header(blob, model_tag=h.model_tag ^ 1)) == ModelErr.HASH


def test_op_faults():
    blob = good()
    assert reason(blob, allowed_ops={3, 9}) == ModelErr.OP  # the flatbuffer has ABS
    # the header lists an op the firmware lacks (the flatbuffer's are fine)
    assert reason(with_header(blob, op_count=4, ops=bytes([3, 9, 28, 101, 255, 255, 255, 255]))) == ModelErr.OP
    # a model hashed correctly but not a flatbuffer
    junk = mb.build_blob(bytes(range(256)) * 4, Q, CODES, 2048, ops=[3])
    assert reason(junk) == ModelErr.OP


def test_golden_fault_needs_the_model_run():
    codes = CODES.copy()
    codes[2, 5] ^= 1
    blob = mb.build_blob(TFLITE, Q, codes, 2048)
    assert reason(blob) == ModelErr.OK  # checks 1-4 only
    assert reason(blob, run_model=True) == ModelErr.GOLDEN


def test_first_failing_check_wins():
    blob = good()
    assert reason(with_header(blob, format_version=2, model_offset=120)) == ModelErr.VERSION
    assert reason(with_header(blob, magic=b"XXXX", format_version=2)) == ModelErr.HEADER
    unhashed = dataclasses.replace(Header.unpack(blob), model_offset=120).pack() + blob[112:]
    assert reason(unhashed) == ModelErr.HEADER  # the header before the hash
    bad_tag_bad_op = with_header(blob, model_tag=0)
    assert reason(bad_tag_bad_op, allowed_ops={3}) == ModelErr.HASH  # the hash before the ops
    codes = CODES.copy()
    codes[0, 0] ^= 1
    assert reason(mb.build_blob(TFLITE, Q, codes, 2048), allowed_ops={3}, run_model=True) == ModelErr.OP


def test_writer_refuses_what_it_cannot_write():
    with pytest.raises(ValueError, match="golden"):
        mb.build_blob(TFLITE, Q, CODES[:2], 2048)
    with pytest.raises(TypeError):
        mb.build_blob(TFLITE, Q, CODES, 2048, colour=1)


def test_committed_builtin_blob_is_the_model_and_its_golden_windows():
    from ppgcomp.constants import BLOB_FILE, FIRMWARE_MODEL_DIR

    path = REPO_ROOT / FIRMWARE_MODEL_DIR / BLOB_FILE
    b = mb.parse(path.read_bytes(), run_model=True)
    assert b.tflite == TFLITE and b.model_sha256.startswith("88ffb5d9") and b.tag == 0x88
    assert (b.golden_in == Q).all() and (b.golden_codes == CODES).all()
    assert mb.firmware_ops() == OPS


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=400))
def test_random_bytes_never_crash_the_parser(data):
    assert reason(data) in set(ModelErr) - {ModelErr.OK}


_FIELDS = [f.name for f in dataclasses.fields(Header) if f.name not in ("magic", "blob_sha256", "model_sha256", "ops")]
_INFORMATIVE = {"arena_bytes", "reserved", "input_quant"}  # no refusal reason in docs/model_blob.md
_BYTE_FIELDS = {"model_tag", "op_count"}


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(_FIELDS), st.integers(0, 0xFFFFFFFF), min_size=1, max_size=4))
def test_random_header_fields(fields):
    """A good blob with random header fields (rehashed, so that the header is the only fault): a change to any
    field that places or identifies a section is refused, by a check up to the ops; the informative ones are not."""
    widths = {f: 0xFF if f in _BYTE_FIELDS else 0xFFFF if struct.calcsize(_fmt(f)) == 2 else 0xFFFFFFFF
              for f in fields}
    fields = {k: v & widths[k] for k, v in fields.items()}
    h0 = Header.unpack(good())
    changed = {k for k, v in fields.items() if getattr(h0, k) != v}
    got = reason(with_header(good(), **fields))
    if changed <= _INFORMATIVE:
        assert got == ModelErr.OK
    elif changed - _INFORMATIVE - {"op_count"}:
        assert got in {ModelErr.HEADER, ModelErr.VERSION, ModelErr.TOO_LARGE, ModelErr.TRUNCATED, ModelErr.HASH}
    else:  # op_count: fewer of the same ops is fine; more reads the unused entries (0xFF) as ops
        assert got == (ModelErr.OK if 1 <= fields["op_count"] <= 3 else
                       ModelErr.HEADER if not 1 <= fields["op_count"] <= 8 else ModelErr.OP)


def _fmt(field: str) -> str:
    """The struct format of a header field (mb._HEADER's, in field order)."""
    codes = re.findall(r"\d*[a-zA-Z]", mb._HEADER.format.lstrip("<"))
    return "<" + codes[[f.name for f in dataclasses.fields(Header)].index(field)]
