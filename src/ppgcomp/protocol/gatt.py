"""The GATT records of docs/protocol.md: the 64-byte model-info and the 28-byte stats characteristics.

:func:`parse_model_info` and :func:`parse_stats` read them; :func:`encode_model_info` writes a model-info record
as ``ppg_model_info_encode()`` does. :class:`GattModelInfo` is the record as the device sends it (not the
artefacts' model_info.json, which is :class:`ppgcomp.training.decoding.ModelInfo`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MODEL_INFO_LEN = 64
MODEL_INFO_VERSION = 1
MODEL_HASH_LEN = 32
STATS_LEN = 28

# version, code_len, rate, window, hop, in_scale, in_zp, out_zp, reserved, out_scale, sha, fw, reserved
_MODEL_INFO = struct.Struct("<BBHHHfbbHf32s4s8s")
_STATS = struct.Struct("<7I")

assert _MODEL_INFO.size == MODEL_INFO_LEN
assert _STATS.size == STATS_LEN


class RecordError(ValueError):
    """A model-info or stats record of the wrong length or version."""


@dataclass(frozen=True, slots=True)
class GattModelInfo:
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


def encode_model_info(info: GattModelInfo) -> bytes:
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


def parse_model_info(b: bytes | bytearray | memoryview) -> GattModelInfo:
    """Decode the 64-byte model-info record; reserved bytes are ignored (forward compatibility)."""
    data = bytes(b)
    if len(data) != MODEL_INFO_LEN:
        raise RecordError(f"model-info record of {len(data)} bytes, expected {MODEL_INFO_LEN}")
    # fields as in _MODEL_INFO; [8] and [12] are reserved
    f = _MODEL_INFO.unpack(data)
    if f[0] != MODEL_INFO_VERSION:
        raise RecordError(f"model-info record version {f[0]}, expected {MODEL_INFO_VERSION}")
    fw = f[11]
    return GattModelInfo(*f[:8], f[9], f[10], (fw[0], fw[1], fw[2], fw[3]))


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
    "MODEL_HASH_LEN",
    "MODEL_INFO_LEN",
    "MODEL_INFO_VERSION",
    "STATS_LEN",
    "DeviceStats",
    "GattModelInfo",
    "RecordError",
    "encode_model_info",
    "parse_model_info",
    "parse_stats",
]
