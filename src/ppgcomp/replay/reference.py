"""The Python reference of the firmware on a held-out synthetic recording with known HR.

Builds what ``scripts/make_replay.py`` writes: the sensor-rate replay file for the native_sim replay sensor,
the reference HR (the same Rpeak2HR labels as training), the packets the firmware must send (decimate ->
a window when 400 decimated samples exist, then every hop -> preprocess -> quality flags -> TFLM codes ->
encode_packet), and the HR MAE that the int8 codes give on this recording through the receiver's decoding path.

Of the device's quality flags only LOWRES can occur here: the recording has no read errors (GAP), stays below the
ADC full scale (SATURATED) and has a pulse (FLAT); tests/ppgcomp/receiver/test_receive_replay.py checks the last two.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ppgcomp.constants import DEVICE_DEFAULT_HOP, MODEL_RATE_HZ, TARGET_LEN, WINDOW_LEN
from ppgcomp.data.synthetic import SENSOR_RATE_HZ, synthesize_subject, synthetic_recording
from ppgcomp.data.windows import window_starts
from ppgcomp.dsp.decimate import decimate, decimation_factor
from ppgcomp.dsp.preprocess import lowres, preprocess_windows
from ppgcomp.protocol.packet import SEQ_MODULUS, Flag, encode_packet, packet_to_hex
from ppgcomp.receiver.timeline import covered_tail, mae_vs_reference, trace

log = logging.getLogger(__name__)

HELD_OUT_SEED = 424242  # training uses seed*1000 + subject (< 1000 subjects) and seed*1000 + 999 for golden
REPLAY_HEADER = "# ppg-replay rate_hz={rate}"


@dataclass
class ReferenceRun:
    seed: int
    minutes: float
    sensor_rate_hz: int
    hop: int
    raw: np.ndarray  # int32 counts at the sensor rate (the replay file)
    ppg: np.ndarray  # int32 at 25 Hz (the firmware's decimator)
    hr_bpm: np.ndarray  # float32 reference HR per 25 Hz sample
    starts: np.ndarray  # window start sample of each packet
    q: np.ndarray  # (n, 400) int8 encoder inputs
    codes: np.ndarray  # (n, 16) int8 TFLM codes
    packets: list[bytes]
    tag: int
    flags: np.ndarray  # (n,) packet flags (the device's quality flags; LOWRES is the only one that occurs)


def build_reference(tflite_bytes: bytes, *, seed: int = HELD_OUT_SEED, minutes: float = 10.0,
                    sensor_rate_hz: int = SENSOR_RATE_HZ, hop: int = DEVICE_DEFAULT_HOP) -> ReferenceRun:
    """The recording and the packets the firmware computes from it."""
    from ppgcomp.export.convert import inspect_tflite
    from ppgcomp.export.verify import tflm_codes

    if hop < 1 or hop > SEQ_MODULUS - 1:
        raise ValueError(f"hop must be 1..{SEQ_MODULUS - 1} samples, got {hop}")
    m = decimation_factor(sensor_rate_hz)
    raw, _ = synthesize_subject(seed, minutes, sensor_rate_hz)
    rec = synthetic_recording(seed, minutes, sensor_rate_hz)  # the same subject: 25 Hz PPG + Rpeak2HR labels
    ppg = decimate(raw, m)
    if not np.array_equal(ppg, rec.ppg):
        raise RuntimeError("synthetic_recording() and decimate() disagree")
    starts = window_starts(ppg.size, hop)
    if starts.size == 0:
        raise ValueError(f"{minutes} min is shorter than one {WINDOW_LEN}-sample window")
    q = preprocess_windows(ppg[starts[:, None] + np.arange(WINDOW_LEN)[None, :]])
    model = inspect_tflite(tflite_bytes)
    codes = tflm_codes(model, q)
    flags = np.where(lowres(q), int(Flag.LOWRES), 0).astype(np.uint8)
    packets = [encode_packet(c, k % SEQ_MODULUS, model.tag, flags=int(f)) for k, (c, f) in enumerate(zip(codes, flags))]
    log.info("reference: %d samples at %d Hz -> %d decimated -> %d windows (hop %d)", raw.size, sensor_rate_hz,
             ppg.size, starts.size, hop)
    return ReferenceRun(seed, minutes, sensor_rate_hz, hop, raw, ppg, rec.hr_bpm, starts, q, codes, packets,
                        model.tag, flags)


def expected_mae(hr_windows: np.ndarray, run: ReferenceRun, ref_t: np.ndarray, ref_hr: np.ndarray) -> dict:
    """HR MAE of decoded int8 codes on this recording.

    ``hr_mae_bpm``: over the samples the packets newly cover, against the reference file, leaving out the
    windows whose flags make HR unreliable (what receive.py --replay --reference reports).
    ``hr_mae_bpm_all_targets``: over every window's 200 target samples, flagged or not, as train_export's report
    computes ``int8_codes`` (the same figure when hop >= 200 and nothing is flagged).
    """
    from ppgcomp.protocol.packet import UNRELIABLE
    from ppgcomp.training.report import hr_mae

    n = hr_windows.shape[0]
    keep = (run.flags[:n] & int(UNRELIABLE)) == 0
    t, hr = trace(np.arange(n)[keep], covered_tail(hr_windows, run.hop)[keep], run.hop)
    mae, samples = mae_vs_reference(t, hr, ref_t, ref_hr)
    targets = run.starts[:, None] + (WINDOW_LEN - TARGET_LEN) + np.arange(TARGET_LEN)[None, :]
    return {"hr_mae_bpm": mae, "covered_samples": samples, "flagged_windows": int((~keep).sum()),
            "hr_mae_bpm_all_targets": hr_mae(hr_windows, run.hr_bpm[targets])}


def write_replay_file(path: Path, raw: np.ndarray, rate_hz: int) -> None:
    """The native_sim replay sensor's input: a header line, then one integer sample per line."""
    body = "\n".join(map(str, np.asarray(raw, dtype=np.int64).tolist()))
    path.write_text(REPLAY_HEADER.format(rate=rate_hz) + "\n" + body + "\n", encoding="ascii")


def write_packets(path: Path, packets: list[bytes], comment: str = "") -> None:
    lines = [f"# {c}" for c in comment.splitlines()] + [packet_to_hex(p) for p in packets]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


__all__ = ["HELD_OUT_SEED", "MODEL_RATE_HZ", "ReferenceRun", "build_reference", "expected_mae",
           "write_packets", "write_replay_file"]
