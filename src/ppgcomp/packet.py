"""The receiver's half of docs/protocol.md: code packets, native_sim hex lines and GATT records.

One C encoder (``app/src/packet/packet.c``) and this one Python decoder, tested round-trip
(``tests/test_packet_roundtrip.py``) and fuzzed (``tests/test_packet_fuzz.py``).

* :func:`parse_packet` checks one 20-byte packet and raises a specific :class:`PacketError`.
* :class:`PacketStream` never raises: it counts malformed packets by reason, drops duplicates
  and follows the sequence numbers (gaps, late backlog packets, device restarts) with a
  :class:`SequenceTracker`.
* :func:`parse_model_info` and :func:`parse_stats` read the model-info (64-byte) and stats
  (28-byte) characteristics.
"""

from __future__ import annotations

import enum
import logging
import re
import struct
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ppgcomp.constants import CODE_LEN

log = logging.getLogger(__name__)

PACKET_LEN = 20
PROTOCOL_VERSION = 2  # sent: bits 7..5 of byte 0 = 2, bits 4..0 flags
PROTOCOL_VERSION_1 = 1  # still decoded: bits 7..4 of byte 0 = 1, bits 3..0 flags
SUPPORTED_VERSIONS = (PROTOCOL_VERSION_1, PROTOCOL_VERSION)
HEADER_LEN = PACKET_LEN - CODE_LEN
HEX_LINE_LEN = 2 * PACKET_LEN
SEQ_MODULUS = 1 << 16
FLAGS_MASK = 0x1F
FLAGS_MASK_V1 = 0x0F
VERSION_SHIFT = 5

MODEL_INFO_LEN = 64
MODEL_INFO_VERSION = 1
MODEL_HASH_LEN = 32
STATS_LEN = 28

_HEADER = struct.Struct("<BBH")
# version, code_len, rate, window, hop, in_scale, in_zp, out_zp, reserved, out_scale, sha, fw, reserved
_MODEL_INFO = struct.Struct("<BBHHHfbbHf32s4s8s")
_STATS = struct.Struct("<7I")
_HEX_RE = re.compile(r"[0-9a-fA-F]*")

assert HEADER_LEN == _HEADER.size == 4
assert _MODEL_INFO.size == MODEL_INFO_LEN
assert _STATS.size == STATS_LEN


class Flag(enum.IntFlag):
    """Flags in bits 4..0 of byte 0 (bits 3..0 in a version 1 packet)."""

    NONE = 0
    BACKLOG = 1 << 0  # sent from the backlog ring, not live
    GAP = 1 << 1  # the window contains samples filled in after a sensor read error
    SATURATED = 1 << 2  # the window contains a sample at the sensor's full scale
    FLAT = 1 << 3  # the window's range is below the flat threshold
    LOWRES = 1 << 4  # the pulse occupies too few quantisation levels (docs/preprocessing.md, section 4)


# Flags that make the window's HR unreliable: the receiver writes no HR for them and leaves them out of its MAE.
UNRELIABLE = Flag.GAP | Flag.SATURATED | Flag.FLAT | Flag.LOWRES


def split_ver_flags(b0: int) -> tuple[int, int] | None:
    """Byte 0 as (version, flags) for a supported version, else None."""
    if b0 >> VERSION_SHIFT == PROTOCOL_VERSION:
        return PROTOCOL_VERSION, b0 & FLAGS_MASK
    if b0 >> 4 == PROTOCOL_VERSION_1:
        return PROTOCOL_VERSION_1, b0 & FLAGS_MASK_V1
    return None


class PacketError(ValueError):
    """A packet the receiver must drop (and count)."""

    reason = "malformed"


class PacketLengthError(PacketError):
    reason = "length"


class PacketVersionError(PacketError):
    reason = "version"


class ModelTagError(PacketError):
    reason = "model_tag"


class HexLineError(PacketError):
    """A native_sim line that is neither blank, a comment, nor hex digits."""

    reason = "hex"


class RecordError(ValueError):
    """A model-info or stats record of the wrong length or version."""


@dataclass(frozen=True, slots=True)
class Packet:
    version: int
    flags: Flag
    model_tag: int
    seq: int
    codes: tuple[int, ...]

    @property
    def backlog(self) -> bool:
        return bool(self.flags & Flag.BACKLOG)

    def codes_array(self) -> np.ndarray:
        """The codes as an int8 array (for dequantisation)."""
        return np.asarray(self.codes, dtype=np.int8)

    def to_bytes(self) -> bytes:
        return encode_packet(self.codes, self.seq, self.model_tag, self.flags, version=self.version)


def encode_packet(
    codes: Sequence[int] | np.ndarray,
    seq: int,
    model_tag: int,
    flags: int = 0,
    *,
    version: int = PROTOCOL_VERSION,
) -> bytes:
    """Frame 16 int8 codes as one packet, exactly as ``ppg_packet_encode()`` does.

    Raises ValueError for a field out of range (the encoder never wraps silently).
    """
    flat = codes.reshape(-1).tolist() if isinstance(codes, np.ndarray) else codes
    values = [int(c) for c in flat]
    if len(values) != CODE_LEN:
        raise ValueError(f"a packet carries {CODE_LEN} codes, got {len(values)}")
    if min(values) < -128 or max(values) > 127:
        raise ValueError("codes must be int8 (-128..127)")
    if not 0 <= int(seq) < SEQ_MODULUS:
        raise ValueError(f"seq must be a u16, got {seq}")
    if not 0 <= int(model_tag) <= 0xFF:
        raise ValueError(f"model_tag must be a byte, got {model_tag}")
    if int(version) not in SUPPORTED_VERSIONS:
        raise ValueError(f"version must be one of {SUPPORTED_VERSIONS}, got {version}")
    v1 = int(version) == PROTOCOL_VERSION_1
    if not 0 <= int(flags) <= (FLAGS_MASK_V1 if v1 else FLAGS_MASK):
        raise ValueError(f"flags must fit in {4 if v1 else 5} bits, got {flags}")
    b0 = (PROTOCOL_VERSION_1 << 4 if v1 else PROTOCOL_VERSION << VERSION_SHIFT) | int(flags)
    header = _HEADER.pack(b0, int(model_tag), int(seq))
    return header + struct.pack(f"<{CODE_LEN}b", *values)


def parse_packet(b: bytes | bytearray | memoryview, expected_tag: int | None = None) -> Packet:
    """Check and decode one packet (version 2, or the previous version 1).

    Raises PacketLengthError (length other than 20), PacketVersionError (version other than 2 or 1)
    or ModelTagError (tag other than ``expected_tag``; ``None`` accepts any tag).
    """
    data = bytes(b)
    if len(data) != PACKET_LEN:
        raise PacketLengthError(f"packet of {len(data)} bytes, expected {PACKET_LEN}")
    ver_flags, tag, seq = _HEADER.unpack_from(data)
    vf = split_ver_flags(ver_flags)
    if vf is None:
        raise PacketVersionError(f"protocol version byte 0x{ver_flags:02x}: neither version 2 nor version 1")
    version, flags = vf
    if expected_tag is not None and tag != expected_tag:
        raise ModelTagError(f"model tag 0x{tag:02x}, expected 0x{expected_tag:02x}")
    codes = struct.unpack_from(f"<{CODE_LEN}b", data, HEADER_LEN)
    return Packet(version, Flag(flags), tag, seq, codes)


def packet_to_hex(b: bytes) -> str:
    """The native_sim line for a packet: 40 lower-case hex digits (no newline)."""
    return bytes(b).hex()


def parse_hex_line(line: str) -> bytes | None:
    """Decode one native_sim output line.

    Returns None for a blank line or a ``#`` comment, the bytes for a line of hex digits (their
    number is checked by :func:`parse_packet`), and raises HexLineError otherwise.
    """
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    if len(text) % 2 or not _HEX_RE.fullmatch(text):
        raise HexLineError(f"not a hex packet line: {text[:48]!r}")
    return bytes.fromhex(text)


class SeqEvent(enum.Enum):
    FIRST = "first"  # first packet seen
    NEXT = "next"  # seq = previous highest + 1
    GAP = "gap"  # jumped forward: the packets in between are missing (for now)
    LATE = "late"  # behind the highest, filling a missing seq (a backlog packet sent late)
    DUPLICATE = "duplicate"  # seen already (or behind and not missing): drop
    RESYNC = "resync"  # far behind the highest: the device restarted its numbering


class SequenceTracker:
    """Follow u16 sequence numbers with wrap-around.

    Numbers are unwrapped relative to the highest seen: a step of 1..32767 forward (mod 2^16) is
    new, and a forward step of more than 1 counts one gap and its missing packets. A packet up
    to ``reorder_window`` behind the highest is accepted if its number was missing (a backlog
    packet that arrived after newer live ones) and is otherwise a duplicate. A packet further
    behind means the device restarted its numbering: the tracker re-bases on it.
    """

    def __init__(self, reorder_window: int = 4096) -> None:
        if not 1 <= reorder_window < SEQ_MODULUS // 2:
            raise ValueError(f"reorder_window must be 1..{SEQ_MODULUS // 2 - 1}")
        self.reorder_window = reorder_window
        self._highest: int | None = None  # unwrapped
        self._missing: list[tuple[int, int]] = []  # sorted disjoint [start, end), unwrapped
        self.accepted = 0
        self.duplicates = 0
        self.gaps = 0
        self.missing = 0  # packets skipped and not (yet) recovered
        self.recovered = 0
        self.resyncs = 0

    @property
    def highest(self) -> int | None:
        """The highest sequence number seen (mod 2^16), or None before the first packet."""
        return None if self._highest is None else self._highest % SEQ_MODULUS

    def observe(self, seq: int) -> SeqEvent:
        seq = int(seq) % SEQ_MODULUS
        if self._highest is None:
            self._highest = seq
            self.accepted += 1
            return SeqEvent.FIRST
        delta = (seq - self._highest + SEQ_MODULUS // 2) % SEQ_MODULUS - SEQ_MODULUS // 2
        u = self._highest + delta
        if delta > 0:
            event = SeqEvent.NEXT
            if delta > 1:
                event = SeqEvent.GAP
                self.gaps += 1
                self.missing += delta - 1
                start = max(self._highest + 1, u - self.reorder_window)
                if start < u:
                    self._missing.append((start, u))
            self._highest = u
            self._prune()
            self.accepted += 1
            return event
        if delta == 0:
            self.duplicates += 1
            return SeqEvent.DUPLICATE
        if -delta > self.reorder_window:
            self.resyncs += 1
            self._highest = u
            self._missing.clear()
            self.accepted += 1
            return SeqEvent.RESYNC
        i = bisect_right(self._missing, (u, float("inf"))) - 1
        if i >= 0 and self._missing[i][0] <= u < self._missing[i][1]:
            start, end = self._missing[i]
            pieces = [(a, b) for a, b in ((start, u), (u + 1, end)) if a < b]
            self._missing[i : i + 1] = pieces
            self.missing -= 1
            self.recovered += 1
            self.accepted += 1
            return SeqEvent.LATE
        self.duplicates += 1
        return SeqEvent.DUPLICATE

    def _prune(self) -> None:
        assert self._highest is not None
        limit = self._highest - self.reorder_window
        k = 0
        while k < len(self._missing) and self._missing[k][1] <= limit:
            k += 1
        if k:
            del self._missing[:k]
        if self._missing and self._missing[0][0] < limit:
            self._missing[0] = (limit, self._missing[0][1])


@dataclass
class StreamStats:
    total: int = 0  # packets (or hex lines that are not blank/comments) offered
    valid: int = 0  # well-formed: right length, version and model tag
    malformed: int = 0  # dropped by parse_packet / parse_hex_line
    malformed_by_reason: Counter[str] = field(default_factory=Counter)
    accepted: int = 0  # valid and not duplicates (returned by feed)
    duplicates: int = 0
    gaps: int = 0
    missing: int = 0
    recovered: int = 0
    resyncs: int = 0
    backlog: int = 0  # accepted packets with the BACKLOG flag


class PacketStream:
    """A receiver: parse, count and de-duplicate packets; never raises on bad input."""

    def __init__(self, expected_tag: int | None = None, reorder_window: int = 4096) -> None:
        if expected_tag is not None and not 0 <= expected_tag <= 0xFF:
            raise ValueError(f"expected_tag must be a byte, got {expected_tag}")
        self.expected_tag = expected_tag
        self.tracker = SequenceTracker(reorder_window)
        self._total = 0
        self._malformed: Counter[str] = Counter()
        self._backlog = 0

    @property
    def stats(self) -> StreamStats:
        t = self.tracker
        malformed = sum(self._malformed.values())
        return StreamStats(
            total=self._total,
            valid=self._total - malformed,
            malformed=malformed,
            malformed_by_reason=Counter(self._malformed),
            accepted=t.accepted,
            duplicates=t.duplicates,
            gaps=t.gaps,
            missing=t.missing,
            recovered=t.recovered,
            resyncs=t.resyncs,
            backlog=self._backlog,
        )

    def _drop(self, reason: str, detail: object) -> None:
        self._malformed[reason] += 1
        log.debug("dropped packet (%s): %s", reason, detail)

    def feed(self, data: bytes | bytearray | memoryview) -> Packet | None:
        """Offer one received packet; return it if accepted, None if malformed or a duplicate."""
        self._total += 1
        if not isinstance(data, bytes | bytearray | memoryview):
            self._drop("type", type(data).__name__)
            return None
        try:
            pkt = parse_packet(data, self.expected_tag)
        except PacketError as exc:
            self._drop(exc.reason, exc)
            return None
        event = self.tracker.observe(pkt.seq)
        if event is SeqEvent.DUPLICATE:
            log.debug("duplicate seq %d", pkt.seq)
            return None
        if event is SeqEvent.GAP:
            log.info("sequence gap before seq %d", pkt.seq)
        elif event is SeqEvent.RESYNC:
            log.info("sequence restarted at %d", pkt.seq)
        if pkt.flags & Flag.BACKLOG:
            self._backlog += 1
        return pkt

    def feed_hex_line(self, line: str) -> Packet | None:
        """Offer one native_sim line; blank lines and comments are skipped and not counted."""
        if not isinstance(line, str):
            self._total += 1
            self._drop("type", type(line).__name__)
            return None
        try:
            data = parse_hex_line(line)
        except PacketError as exc:
            self._total += 1
            self._drop(exc.reason, exc)
            return None
        if data is None:
            return None
        return self.feed(data)

    def feed_all(self, packets: Iterable[bytes | bytearray | memoryview]) -> list[Packet]:
        return [p for p in map(self.feed, packets) if p is not None]

    def feed_lines(self, lines: Iterable[str]) -> list[Packet]:
        return [p for p in map(self.feed_hex_line, lines) if p is not None]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    record_version: int
    code_len: int
    sample_rate_hz: int
    window_len: int
    hop: int
    input_scale: float
    input_zero_point: int
    output_zero_point: int
    output_scale: float
    model_sha256: bytes
    fw_version: tuple[int, int, int, int]

    @property
    def model_tag(self) -> int:
        """The tag that this model's packets carry: the first byte of its SHA-256."""
        return self.model_sha256[0]

    def to_bytes(self) -> bytes:
        return encode_model_info(self)


def encode_model_info(info: ModelInfo) -> bytes:
    """Serialise a model-info record (reserved bytes 0), as ``ppg_model_info_encode()`` does."""
    if len(info.model_sha256) != MODEL_HASH_LEN:
        raise ValueError(f"model_sha256 must be {MODEL_HASH_LEN} bytes")
    return _MODEL_INFO.pack(
        info.record_version,
        info.code_len,
        info.sample_rate_hz,
        info.window_len,
        info.hop,
        info.input_scale,
        info.input_zero_point,
        info.output_zero_point,
        0,
        info.output_scale,
        bytes(info.model_sha256),
        bytes(info.fw_version),
        bytes(8),
    )


def parse_model_info(b: bytes | bytearray | memoryview) -> ModelInfo:
    """Decode the 64-byte model-info record; reserved bytes are ignored (forward compatibility)."""
    data = bytes(b)
    if len(data) != MODEL_INFO_LEN:
        raise RecordError(f"model-info record of {len(data)} bytes, expected {MODEL_INFO_LEN}")
    (
        ver,
        code_len,
        rate,
        window,
        hop,
        in_scale,
        in_zp,
        out_zp,
        _res,
        out_scale,
        sha,
        fw,
        _res2,
    ) = _MODEL_INFO.unpack(data)
    if ver != MODEL_INFO_VERSION:
        raise RecordError(f"model-info record version {ver}, expected {MODEL_INFO_VERSION}")
    return ModelInfo(
        ver,
        code_len,
        rate,
        window,
        hop,
        in_scale,
        in_zp,
        out_zp,
        out_scale,
        sha,
        (fw[0], fw[1], fw[2], fw[3]),
    )


@dataclass(frozen=True, slots=True)
class DeviceStats:
    windows: int
    sent: int
    dropped: int
    backlog_depth: int
    sensor_errors: int
    last_inference_us: int
    quality_faults: int

    def to_bytes(self) -> bytes:
        return _STATS.pack(
            self.windows,
            self.sent,
            self.dropped,
            self.backlog_depth,
            self.sensor_errors,
            self.last_inference_us,
            self.quality_faults,
        )


def parse_stats(b: bytes | bytearray | memoryview) -> DeviceStats:
    """Decode the 28-byte stats record."""
    data = bytes(b)
    if len(data) != STATS_LEN:
        raise RecordError(f"stats record of {len(data)} bytes, expected {STATS_LEN}")
    return DeviceStats(*_STATS.unpack(data))


__all__ = [
    "HEX_LINE_LEN",
    "MODEL_INFO_LEN",
    "PACKET_LEN",
    "PROTOCOL_VERSION",
    "PROTOCOL_VERSION_1",
    "STATS_LEN",
    "SUPPORTED_VERSIONS",
    "UNRELIABLE",
    "DeviceStats",
    "Flag",
    "HexLineError",
    "ModelInfo",
    "ModelTagError",
    "Packet",
    "PacketError",
    "PacketLengthError",
    "PacketStream",
    "PacketVersionError",
    "RecordError",
    "SeqEvent",
    "SequenceTracker",
    "StreamStats",
    "encode_model_info",
    "encode_packet",
    "packet_to_hex",
    "parse_hex_line",
    "parse_model_info",
    "parse_packet",
    "parse_stats",
    "split_ver_flags",
]
