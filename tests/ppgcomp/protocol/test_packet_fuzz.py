"""Fuzz the packet parser and the receiver stream (docs/protocol.md): nothing escapes, counters add up.

Over 100,000 packets in total: 1000 seeded examples of 100 valid or mutated packets each, plus
hypothesis-built packet lists and native_sim text lines.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ppgcomp.constants import CODE_LEN
from ppgcomp.protocol.packet import PACKET_LEN, PROTOCOL_VERSION, Packet, PacketError, encode_packet, parse_packet
from ppgcomp.receiver.stream import PacketStream

PACKETS_PER_EXAMPLE = 100
SEEDED_EXAMPLES = 1000


def expected_reason(data: bytes, tag: int | None) -> str | None:
    """Independent oracle for docs/protocol.md's drop rules."""
    if len(data) != PACKET_LEN:
        return "length"
    if data[0] >> 5 != PROTOCOL_VERSION and data[0] >> 4 != 1:  # version 2, or the still decoded version 1
        return "version"
    if tag is not None and data[1] != tag:
        return "model_tag"
    return None


def check_stream(packets: list[bytes], tag: int | None) -> PacketStream:
    stream = PacketStream(expected_tag=tag)
    want_reasons: dict[str, int] = {}
    accepted: list[Packet] = []
    for data in packets:
        p = stream.feed(data)  # must never raise
        reason = expected_reason(data, tag)
        if reason is not None:
            want_reasons[reason] = want_reasons.get(reason, 0) + 1
            assert p is None
        if p is not None:
            flag_mask = 0x1F if data[0] >> 5 == PROTOCOL_VERSION else 0x0F
            assert (p.model_tag, p.seq, int(p.flags)) == (data[1], data[2] | data[3] << 8, data[0] & flag_mask)
            accepted.append(p)
    s = stream.stats
    assert s.total == len(packets)
    assert s.valid + s.malformed == s.total
    assert s.accepted + s.duplicates == s.valid
    assert s.accepted == len(accepted)
    assert dict(s.malformed_by_reason) == want_reasons
    assert s.backlog == sum(p.backlog for p in accepted)
    assert s.missing >= 0 and s.recovered >= 0 and s.missing + s.recovered >= s.gaps
    return stream


def _mutate(rng: np.random.Generator, pkt: bytes) -> bytes:
    data = bytearray(pkt)
    kind = int(rng.integers(0, 7))
    if kind == 0:  # bit flips
        for bit in rng.integers(0, 8 * len(data), int(rng.integers(1, 5))):
            data[bit // 8] ^= 1 << (bit % 8)
    elif kind == 1:  # truncation
        del data[int(rng.integers(0, len(data))) :]
    elif kind == 2:  # extension
        data += rng.integers(0, 256, int(rng.integers(1, 30)), dtype=np.uint8).tobytes()
    elif kind == 3:  # version bits
        data[0] = (int(rng.integers(0, 8)) << 5) | (data[0] & 0x1F)
    elif kind == 4:  # model tag
        data[1] = int(rng.integers(0, 256))
    elif kind == 5:  # random bytes of a random length
        data = bytearray(rng.integers(0, 256, int(rng.integers(0, 45)), dtype=np.uint8).tobytes())
    else:  # sequence number only: a duplicate or a jump
        data[2:4] = rng.integers(0, 256, 2, dtype=np.uint8).tobytes()
    return bytes(data)


@settings(
    max_examples=SEEDED_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**63 - 1),
    tag=st.one_of(st.none(), st.integers(0, 255)),
    mutation_rate=st.sampled_from([0.0, 0.05, 0.3, 0.7, 1.0]),
    start_seq=st.integers(0, 65535),
)
def test_fuzz_mutated_packet_streams(seed: int, tag: int | None, mutation_rate: float, start_seq: int) -> None:
    rng = np.random.default_rng(seed)
    n = PACKETS_PER_EXAMPLE
    own = tag if tag is not None else int(rng.integers(0, 256))
    # mostly in order, with gaps, repeats and steps back (late packets), wrapping at 2^16
    steps = np.where(rng.random(n) < 0.8, 1, rng.integers(-20, 40, n))
    seqs = (start_seq + np.cumsum(steps)) % 65536
    flags = rng.integers(0, 32, n)
    v1 = rng.random(n) < 0.1  # a few version 1 packets, which the receiver still decodes
    ver_flags = np.where(v1, (1 << 4) | (flags & 0x0F), (PROTOCOL_VERSION << 5) | flags)
    header = np.stack([ver_flags, np.full(n, own), seqs & 0xFF, seqs >> 8], axis=1)
    body = np.concatenate([header, rng.integers(0, 256, (n, CODE_LEN))], axis=1)
    raw = body.astype(np.uint8).tobytes()
    mutate = rng.random(n) < mutation_rate
    packets = []
    for i in range(n):
        pkt = raw[i * PACKET_LEN : (i + 1) * PACKET_LEN]
        packets.append(_mutate(rng, pkt) if mutate[i] else pkt)
    stream = check_stream(packets, tag)
    if mutation_rate == 0.0:
        assert stream.stats.malformed == 0


@st.composite
def packet_bytes(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(min_size=0, max_size=48))
    valid = encode_packet(
        draw(st.lists(st.integers(-128, 127), min_size=CODE_LEN, max_size=CODE_LEN)),
        draw(st.integers(0, 65535)),
        draw(st.sampled_from([0x00, 0x5A, 0xFF])),
        draw(st.integers(0, 15)),
    )
    if kind == 1:
        return valid
    if kind == 2:
        i = draw(st.integers(0, 8 * PACKET_LEN - 1))
        b = bytearray(valid)
        b[i // 8] ^= 1 << (i % 8)
        return bytes(b)
    cut = draw(st.integers(0, PACKET_LEN))
    return valid[:cut] + draw(st.binary(max_size=8))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    packets=st.lists(packet_bytes(), min_size=1, max_size=100),
    tag=st.sampled_from([None, 0x5A]),
)
def test_fuzz_hypothesis_packets(packets: list[bytes], tag: int | None) -> None:
    check_stream(packets, tag)
    for data in packets:
        try:
            p = parse_packet(data, tag)
        except PacketError:
            assert expected_reason(data, tag) is not None
        else:
            assert expected_reason(data, tag) is None and p.to_bytes() == data


_HEX = "0123456789abcdefABCDEF"


@st.composite
def hex_lines(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(st.text(max_size=60))
    if kind == 1:
        return "#" + draw(st.text(max_size=20))
    if kind == 2:
        return draw(st.sampled_from(["", " ", "\n", "\r\n", "\t"]))
    if kind == 3:
        return draw(st.text(alphabet=_HEX, min_size=0, max_size=48)) + draw(st.sampled_from(["", "\n", "\r\n"]))
    valid = encode_packet([0] * CODE_LEN, draw(st.integers(0, 65535)), 0x5A, draw(st.integers(0, 15)))
    return valid.hex() + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(hex_lines(), min_size=1, max_size=100))
def test_fuzz_hex_lines(lines: list[str]) -> None:
    stream = PacketStream(expected_tag=0x5A)
    counted = 0
    for line in lines:
        stream.feed_hex_line(line)  # must never raise
        text = line.strip()
        counted += bool(text) and not text.startswith("#")
    s = stream.stats
    assert s.total == counted
    assert s.valid + s.malformed == s.total
    assert s.accepted + s.duplicates == s.valid
