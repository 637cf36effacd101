"""docs/protocol.md: the C encoder (host gcc) against the Python decoder, and back."""

from __future__ import annotations

import errno
import math
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from support.c_harness import PPGCOMP_INCLUDE, CBacklog, CLib, PpgModelInfo

from ppgcomp.constants import (
    CODE_LEN,
    INPUT_SCALE,
    INPUT_ZERO_POINT,
    MAX_DECIMATION,
    MODEL_RATE_HZ,
    TRAIN_HOP,
    WINDOW_LEN,
)
from ppgcomp.protocol.gatt import (
    MODEL_INFO_LEN,
    STATS_LEN,
    DeviceStats,
    GattModelInfo,
    RecordError,
    parse_model_info,
    parse_stats,
)
from ppgcomp.protocol.packet import (
    HEX_LINE_LEN,
    PACKET_LEN,
    PROTOCOL_VERSION,
    Flag,
    HexLineError,
    ModelTagError,
    Packet,
    PacketError,
    PacketLengthError,
    PacketVersionError,
    encode_packet,
    packet_to_hex,
    parse_hex_line,
    parse_packet,
)
from ppgcomp.receiver.stream import PacketStream, SeqEvent, SequenceTracker

TAG = 0x5A
pytestmark = pytest.mark.usefixtures("no_undefined_behaviour")  # tests/support/c_fixtures.py


def _random_fields(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    flags = rng.integers(0, 32, n).astype(np.uint8)
    tags = rng.integers(0, 256, n).astype(np.uint8)
    seqs = rng.integers(0, 65536, n).astype(np.uint16)
    codes = rng.integers(-128, 128, (n, CODE_LEN)).astype(np.int8)
    return flags, tags, seqs, codes


def _c_defines(path: Path) -> dict[str, int]:
    defs = {}
    for name, value in re.findall(
        r"^#define\s+(\w+)\s+\(?(0x[0-9A-Fa-f]+|\d+)U?\)?\s*$", path.read_text(), re.MULTILINE
    ):
        defs[name] = int(value, 0)
    for name, bit in re.findall(r"^#define\s+(\w+)\s+\(1U << (\d+)\)", path.read_text(), re.MULTILINE):
        defs[name] = 1 << int(bit)
    return defs


def test_c_header_constants_match_python() -> None:
    pkt = _c_defines(PPGCOMP_INCLUDE / "packet.h")
    assert pkt["PPG_PKT_LEN"] == PACKET_LEN
    assert pkt["PPG_PKT_CODE_LEN"] == CODE_LEN
    assert pkt["PPG_PKT_VERSION"] == PROTOCOL_VERSION == 2 and pkt["PPG_PKT_VERSION_1"] == 1
    assert pkt["PPG_PKT_VERSION_SHIFT"] == 5
    assert pkt["PPG_PKT_FLAGS_MASK"] == 0x1F and pkt["PPG_PKT_FLAGS_MASK_V1"] == 0x0F
    assert pkt["PPG_MODEL_INFO_LEN"] == MODEL_INFO_LEN and pkt["PPG_STATS_LEN"] == STATS_LEN
    for flag in Flag:
        if flag.name and flag.value:
            assert pkt[f"PPG_PKT_FLAG_{flag.name}"] == flag.value
    dec = _c_defines(PPGCOMP_INCLUDE / "decimate.h")
    assert dec["PPG_DECIM_MAX_FACTOR"] == MAX_DECIMATION


def test_c_encoder_to_python_parser(c: CLib) -> None:
    rng = np.random.default_rng(1)
    flags, tags, seqs, codes = _random_fields(rng, 20_000)
    pkts = c.packet_encode_batch(flags, tags, seqs, codes)
    for i, raw in enumerate(pkts):
        assert len(raw) == PACKET_LEN
        p = parse_packet(raw, int(tags[i]))
        assert p.version == 2
        assert p.flags == int(flags[i])
        assert p.model_tag == int(tags[i]) and p.seq == int(seqs[i])
        assert p.codes == tuple(codes[i].tolist())
        assert p.backlog == bool(flags[i] & 1)
        # the Python encoder writes the same bytes
        assert encode_packet(codes[i], int(seqs[i]), int(tags[i]), int(flags[i])) == raw
        assert p.to_bytes() == raw
    np.testing.assert_array_equal(parse_packet(pkts[0]).codes_array(), codes[0])


def test_c_encode_layout_and_errors(c: CLib) -> None:
    codes = np.arange(-8, 8, dtype=np.int8)
    rc, raw = c.packet_encode(Flag.GAP | Flag.FLAT, 0xC3, 0x1234, codes)
    assert rc == PACKET_LEN
    assert raw == bytes([0x4A, 0xC3, 0x34, 0x12]) + codes.tobytes()  # version 2 in bits 7..5
    rc, raw = c.packet_encode(Flag.LOWRES | Flag.BACKLOG, 0xC3, 0x1234, codes)
    assert rc == PACKET_LEN and raw[0] == 0x51
    assert c.packet_encode(0x20, 0xC3, 1, codes)[0] == -errno.EINVAL  # flags beyond 5 bits


def test_version_1_packets_still_decode(c: CLib) -> None:
    """docs/protocol.md: a version 1 packet (bits 7..4 = 1, four flags) decodes in C and Python."""
    codes = np.arange(-8, 8, dtype=np.int8)
    v1 = bytes([0x1A, 0xC3, 0x34, 0x12]) + codes.tobytes()
    assert encode_packet(codes, 0x1234, 0xC3, Flag.GAP | Flag.FLAT, version=1) == v1
    p = parse_packet(v1, 0xC3)
    assert (p.version, p.flags, p.seq) == (1, Flag.GAP | Flag.FLAT, 0x1234)
    rc, f = c.packet_decode(v1, 0xC3)
    assert rc == 0 and f is not None and f["version"] == 1 and f["flags"] == 0x0A
    for b0 in range(0x10, 0x20):  # every version 1 byte: its four flags, never LOWRES
        rc, f = c.packet_decode(bytes([b0]) + v1[1:], -1)
        assert rc == 0 and f is not None and (f["version"], f["flags"]) == (1, b0 & 0x0F)
        assert parse_packet(bytes([b0]) + v1[1:]).flags == b0 & 0x0F
    with pytest.raises(ValueError):
        encode_packet(codes, 1, 0xC3, Flag.LOWRES, version=1)  # version 1 has no bit 4


def test_python_encoder_to_c_decoder(c: CLib) -> None:
    rng = np.random.default_rng(2)
    flags, tags, seqs, codes = _random_fields(rng, 5000)
    for i in range(len(flags)):
        raw = encode_packet(codes[i], int(seqs[i]), int(tags[i]), int(flags[i]))
        rc, f = c.packet_decode(raw, int(tags[i]))
        assert rc == 0 and f is not None
        assert f["version"] == 2 and f["flags"] == flags[i] and f["model_tag"] == tags[i]
        assert f["seq"] == seqs[i] and f["codes"] == tuple(codes[i].tolist())
        assert c.packet_decode(raw, -1)[0] == 0
        assert c.packet_decode(raw, (int(tags[i]) + 1) % 256)[0] == -errno.EBADMSG


def _py_rc(data: bytes, tag: int | None) -> int:
    try:
        parse_packet(data, tag)
    except PacketLengthError:
        return -errno.EMSGSIZE
    except PacketVersionError:
        return -errno.EPROTONOSUPPORT
    except ModelTagError:
        return -errno.EBADMSG
    return 0


def test_c_and_python_decoders_agree_on_mutated_packets(c: CLib) -> None:
    rng = np.random.default_rng(3)
    base = encode_packet(np.zeros(CODE_LEN, np.int8), 7, TAG)
    for _ in range(20_000):
        data = bytearray(base)
        kind = rng.integers(0, 4)
        if kind == 0:
            for bit in rng.integers(0, 8 * PACKET_LEN, rng.integers(1, 4)):
                data[bit // 8] ^= 1 << (bit % 8)
        elif kind == 1:
            data = data[: rng.integers(0, PACKET_LEN)]
        elif kind == 2:
            data += rng.integers(0, 256, rng.integers(1, 8)).astype(np.uint8).tobytes()
        else:
            data = bytearray(rng.integers(0, 256, PACKET_LEN).astype(np.uint8).tobytes())
        tag = None if rng.random() < 0.3 else TAG
        raw = bytes(data)
        rc, fields = c.packet_decode(raw, -1 if tag is None else tag)
        assert rc == _py_rc(raw, tag)
        if rc == 0:
            p = parse_packet(raw, tag)
            assert fields == {
                "version": p.version,
                "flags": int(p.flags),
                "model_tag": p.model_tag,
                "seq": p.seq,
                "codes": p.codes,
            }


def test_parse_packet_errors_are_specific() -> None:
    good = encode_packet([0] * CODE_LEN, 1, TAG, Flag.SATURATED)
    assert parse_packet(good, TAG).flags == Flag.SATURATED
    for bad in (b"", good[:19], good + b"\0", good * 2):
        with pytest.raises(PacketLengthError):
            parse_packet(bad, TAG)
    for b0 in (0x00, 0x0F, 0x20, 0x3F, 0x60, 0x80, 0xFF):  # versions 0, 1 with bit 4 set... 3 and up
        with pytest.raises(PacketVersionError):
            parse_packet(bytes([b0]) + good[1:], TAG)
    with pytest.raises(ModelTagError):
        parse_packet(good, TAG ^ 1)
    assert parse_packet(good, None).model_tag == TAG
    for exc in (PacketLengthError, PacketVersionError, ModelTagError, HexLineError):
        assert issubclass(exc, PacketError) and issubclass(exc, ValueError)
    for args in (
        ([0] * 15, 1, TAG),
        ([128] + [0] * 15, 1, TAG),
        ([0] * 16, 65536, TAG),
        ([0] * 16, 1, 256),
    ):
        with pytest.raises(ValueError):
            encode_packet(*args)
    with pytest.raises(ValueError):
        encode_packet([0] * 16, 1, TAG, flags=32)
    with pytest.raises(ValueError):
        encode_packet([0] * 16, 1, TAG, version=3)


def test_hex_line_format(c: CLib) -> None:
    rng = np.random.default_rng(4)
    flags, tags, seqs, codes = _random_fields(rng, 2000)
    lines = []
    for raw in c.packet_encode_batch(flags, tags, seqs, codes):
        rc, text = c.packet_to_hex(raw)
        assert rc == HEX_LINE_LEN == len(text)
        assert text == raw.hex() == packet_to_hex(raw)
        assert text == text.lower() and all(ch in "0123456789abcdef" for ch in text)
        assert parse_hex_line(text + "\n") == raw
        lines.append(text)
    assert c.packet_to_hex(bytes(20), out_len=40)[0] == -errno.ENOBUFS
    assert c.packet_to_hex(bytes(20), out_len=41)[0] == 40
    for skip in ("", "\n", "   \r\n", "# native_sim start", "  # comment 00112233"):
        assert parse_hex_line(skip) is None
    for bad in (
        "xyz",
        "0",
        "00 11",
        "*** Booting Zephyr OS build v4.3.0 ***",
        "0x" + "00" * 20,
    ):
        with pytest.raises(HexLineError):
            parse_hex_line(bad)
    # a native_sim capture: comments, blanks and packets in sequence
    n = 100
    seq_pkts = c.packet_encode_batch(flags[:n] & 0x1E, np.full(n, TAG), np.arange(n), codes[:n])
    capture = [
        "# ppg packets",
        "",
        *(c.packet_to_hex(p)[1] + "\n" for p in seq_pkts),
        "# end",
        "  ",
    ]
    stream = PacketStream(expected_tag=TAG)
    got = stream.feed_lines(capture)
    assert [p.to_bytes() for p in got] == seq_pkts
    st = stream.stats
    assert st.total == n == st.valid == st.accepted and st.malformed == 0


def test_stream_counts_and_skips_every_malformed_case() -> None:
    good = [encode_packet([i % 128] * CODE_LEN, i, TAG) for i in range(10)]
    bad: list[object] = [
        b"",
        good[0][:19],
        good[0] + b"\x00",
        bytes([0x60]) + good[0][1:],  # version 3
        bytes([0x00]) + good[0][1:],  # version 0
        good[0][:1] + bytes([TAG ^ 0xFF]) + good[0][2:],  # other model
        "not bytes",
        None,
        12345,
    ]
    stream = PacketStream(expected_tag=TAG)
    accepted = []
    for i, g in enumerate(good):
        if i < len(bad):
            assert stream.feed(bad[i]) is None  # type: ignore[arg-type]
        p = stream.feed(g)
        assert p is not None
        accepted.append(p.seq)
    for line in ("zz", "00", "0" * 41, "1" + "0" * 39):
        assert stream.feed_hex_line(line) is None
    assert stream.feed_hex_line(None) is None  # type: ignore[arg-type]
    st = stream.stats
    assert accepted == list(range(10))
    assert st.total == len(good) + len(bad) + 5
    assert st.valid == 10 and st.malformed == len(bad) + 5 and st.valid + st.malformed == st.total
    assert st.malformed_by_reason == {
        "length": 4,
        "version": 2,
        "model_tag": 2,
        "type": 4,
        "hex": 2,
    }
    assert st.accepted == 10 and st.duplicates == 0 and st.gaps == 0


def test_sequence_gaps_duplicates_and_wraparound() -> None:
    stream = PacketStream(expected_tag=TAG)
    seqs = [65530, 65531, 65533, 65533, 65534, 65535, 0, 1, 1, 5, 6]
    out = [stream.feed(encode_packet([0] * CODE_LEN, s, TAG)) for s in seqs]
    assert [p.seq if p else None for p in out] == [
        65530,
        65531,
        65533,
        None,
        65534,
        65535,
        0,
        1,
        None,
        5,
        6,
    ]
    st = stream.stats
    assert st.gaps == 2 and st.missing == 1 + 3 and st.duplicates == 2 and st.accepted == 9
    assert stream.tracker.highest == 6


def test_backlog_packets_in_order_after_a_disconnect(c: CLib) -> None:
    """Device side: the C backlog ring fills while disconnected, then drains with the BACKLOG flag."""
    cap = 8
    ring = CBacklog(c, cap)
    stream = PacketStream(expected_tag=TAG)
    rng = np.random.default_rng(5)
    connected = True
    sent_live = sent_backlog = 0
    for step in range(200):
        if step % 40 == 10:
            connected = False
        elif step % 40 == 25:
            connected = True
        if connected:  # drain oldest-first; pop only once the send was accepted
            while ring.depth():
                rc, pkt = ring.peek()
                assert rc == 0
                p = stream.feed(c.packet_set_flags(pkt, int(Flag.BACKLOG)))
                assert p is not None and p.backlog
                assert ring.pop(want=False)[0] == 0
                sent_backlog += 1
        seq = step & 0xFFFF
        rc, raw = c.packet_encode(0, TAG, seq, rng.integers(-128, 128, CODE_LEN).astype(np.int8))
        assert rc == PACKET_LEN
        if connected:
            assert stream.feed(raw) is not None
            sent_live += 1
        else:
            ring.push(raw)
    st = stream.stats
    # 15 windows per disconnection into an 8-slot ring: 7 overwritten (dropped) each time
    assert ring.dropped() == 5 * 7
    assert st.accepted == sent_live + sent_backlog and st.backlog == sent_backlog
    assert st.missing == ring.dropped() and st.gaps == 5 and st.duplicates == 0


def test_late_backlog_packets_fill_gaps() -> None:
    tracker = SequenceTracker(reorder_window=100)
    events = [tracker.observe(s) for s in (10, 11, 15, 12, 13, 12, 14, 16)]
    assert events == [
        SeqEvent.FIRST,
        SeqEvent.NEXT,
        SeqEvent.GAP,
        SeqEvent.LATE,
        SeqEvent.LATE,
        SeqEvent.DUPLICATE,
        SeqEvent.LATE,
        SeqEvent.NEXT,
    ]
    assert tracker.missing == 0 and tracker.recovered == 3 and tracker.gaps == 1
    # across the u16 wrap
    tracker = SequenceTracker(reorder_window=100)
    events = [tracker.observe(s) for s in (65534, 2, 65535, 0, 1, 0)]
    assert events == [
        SeqEvent.FIRST,
        SeqEvent.GAP,
        SeqEvent.LATE,
        SeqEvent.LATE,
        SeqEvent.LATE,
        SeqEvent.DUPLICATE,
    ]
    assert tracker.missing == 0
    # beyond the window a missing packet is given up; far behind means the device restarted
    tracker = SequenceTracker(reorder_window=10)
    assert [tracker.observe(s) for s in (100, 102, 130, 101)] == [
        SeqEvent.FIRST,
        SeqEvent.GAP,
        SeqEvent.GAP,
        SeqEvent.RESYNC,
    ]
    assert tracker.missing == 1 + 27 and tracker.resyncs == 1
    assert tracker.observe(102) == SeqEvent.NEXT


def _model_info() -> GattModelInfo:
    return GattModelInfo(
        record_version=1,
        code_len=CODE_LEN,
        sample_rate_hz=MODEL_RATE_HZ,
        window_len=WINDOW_LEN,
        hop=TRAIN_HOP,
        input_scale=float(np.float32(INPUT_SCALE)),
        input_zero_point=INPUT_ZERO_POINT,
        output_zero_point=-3,
        output_scale=float(np.float32(0.0421)),
        model_sha256=bytes(range(0xA0, 0xC0)),
        fw_version=(1, 2, 3, 4),
    )


def test_model_info_record_c_to_python(c: CLib) -> None:
    info = _model_info()
    scalars = ("code_len", "sample_rate_hz", "window_len", "hop", "input_scale", "input_zero_point",
               "output_zero_point", "output_scale")  # the fields C and Python name alike
    mi = PpgModelInfo(**{name: getattr(info, name) for name in scalars})
    mi.sha256[:] = list(info.model_sha256)
    mi.fw_version[:] = list(info.fw_version)
    rc, raw = c.model_info_encode(mi)
    assert rc == MODEL_INFO_LEN == len(raw)
    assert raw == info.to_bytes()
    parsed = parse_model_info(raw)
    assert parsed == info and parsed.model_tag == 0xA0
    assert raw[0] == 1 and raw[1] == 16 and struct.unpack_from("<HHH", raw, 2) == (25, 400, 50)
    assert raw[14:16] == b"\0\0" and raw[56:] == bytes(8)
    assert math.isclose(struct.unpack_from("<f", raw, 8)[0], 1 / 255, rel_tol=1e-7)
    with pytest.raises(RecordError):
        parse_model_info(raw[:63])
    with pytest.raises(RecordError):
        parse_model_info(b"\x02" + raw[1:])


def test_stats_record_c_to_python(c: CLib) -> None:
    values = [1, 2**32 - 1, 3, 450, 5, 123456, 7]
    rc, raw = c.stats_encode(values)
    assert rc == STATS_LEN == len(raw)
    st = parse_stats(raw)
    assert st == DeviceStats(*values) and st.to_bytes() == raw
    for bad in (raw[:27], raw + b"\0"):
        with pytest.raises(RecordError):
            parse_stats(bad)


def test_packet_dataclass_is_hashable_and_immutable() -> None:
    p = parse_packet(encode_packet([1] * CODE_LEN, 3, TAG, Flag.BACKLOG | Flag.FLAT))
    assert isinstance(p, Packet) and {p: 1}[p] == 1
    assert p.flags == Flag.BACKLOG | Flag.FLAT and p.backlog
    with pytest.raises(AttributeError):
        p.seq = 4  # type: ignore[misc]
