"""The wire format of docs/protocol.md: 20-byte code packets and native_sim hex lines.

One C encoder (``app/src/packet/packet.c``) and this one Python decoder, tested round-trip
(``tests/ppgcomp/protocol/test_packet_roundtrip.py``) and fuzzed (``tests/ppgcomp/protocol/test_packet_fuzz.py``).
:func:`parse_packet` checks one packet and raises a specific :class:`PacketError`. The GATT records are
:mod:`ppgcomp.protocol.gatt`; the receiver's stream state (sequence numbers, duplicates) is
:mod:`ppgcomp.receiver.stream`.
"""

from __future__ import annotations

import enum
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ppgcomp.constants import CODE_LEN

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

_HEADER = struct.Struct("<BBH")
_HEX_RE = re.compile(r"[0-9a-fA-F]*")

assert HEADER_LEN == _HEADER.size == 4


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


__all__ = [
    "HEX_LINE_LEN",
    "PACKET_LEN",
    "PROTOCOL_VERSION",
    "PROTOCOL_VERSION_1",
    "SEQ_MODULUS",
    "SUPPORTED_VERSIONS",
    "UNRELIABLE",
    "Flag",
    "HexLineError",
    "ModelTagError",
    "Packet",
    "PacketError",
    "PacketLengthError",
    "PacketVersionError",
    "encode_packet",
    "packet_to_hex",
    "parse_hex_line",
    "parse_packet",
    "split_ver_flags",
]
