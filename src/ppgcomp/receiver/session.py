"""Packets -> ordered windows -> HR rows: the receiver's core, shared by BLE and replay.

Parsing, counting and sequence tracking are :class:`ppgcomp.receiver.stream.PacketStream`'s; decoding is
:class:`ppgcomp.training.decoding.CodeDecoder`'s (the path the training report uses). This module only places each
accepted packet on the receiver's timeline (unwrapping u16 sequence numbers, continuing across a device
restart) and turns decoded windows into rows. Packets are decoded in batches by :meth:`ReceiverSession.flush`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ppgcomp.constants import CODE_LEN, DEVICE_DEFAULT_HOP, MODEL_RATE_HZ, WINDOW_LEN
from ppgcomp.protocol.packet import (
    PACKET_LEN,
    SEQ_MODULUS,
    UNRELIABLE,
    Flag,
    Packet,
    PacketError,
    parse_hex_line,
    split_ver_flags,
)
from ppgcomp.receiver.models import ModelEntry, ModelLibrary, UnknownModelError
from ppgcomp.receiver.stream import PacketStream, StreamStats
from ppgcomp.receiver.timeline import covered_len, covered_tail, trace, window_end_time_s

log = logging.getLogger(__name__)

MAX_HOP = SEQ_MODULUS - 1

# Row flags: the packet's own flags (docs/protocol.md) ...
PACKET_FLAG_NAMES = ((Flag.BACKLOG, "backlog"), (Flag.GAP, "gap"), (Flag.SATURATED, "saturated"),
                     (Flag.FLAT, "flat"), (Flag.LOWRES, "lowres"))
# The names of the flags that make a window's HR unreliable: such rows carry no HR and stay out of the MAE.
UNRELIABLE_NAMES = frozenset(name for bit, name in PACKET_FLAG_NAMES if bit & UNRELIABLE)
# ... and what the receiver saw in the sequence numbers.
SEQ_GAP = "seq_gap"  # packets before this one are missing
LATE = "late"  # filled a missing sequence number after newer packets
RESYNC = "resync"  # the device restarted its numbering


class Decoder(Protocol):
    """What the session needs of :class:`ppgcomp.training.decoding.CodeDecoder`."""

    @property
    def info(self): ...  # ppgcomp.training.decoding.ModelInfo: tag, window_len, sample_rate_hz, sha256 ...

    def decode(self, codes: np.ndarray, batch: int = 512) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True, slots=True)
class Row:
    """One decoded packet."""

    index: int  # window number on the receiver's timeline (unwrapped seq, continued across restarts)
    seq: int  # the packet's u16 sequence number
    time_s: float  # end of the window: (index*hop + 400) / 25
    hr_bpm: float  # mean HR over the samples this packet newly covers (decoded even when unreliable)
    flags: tuple[str, ...]
    hr_trace: np.ndarray  # per-sample HR over those samples, min(hop, 200) values

    @property
    def flags_text(self) -> str:
        return "|".join(self.flags)

    @property
    def reliable(self) -> bool:
        """False when a device flag (gap, saturated, flat, lowres) says the window's HR cannot be trusted."""
        return not UNRELIABLE_NAMES.intersection(self.flags)


@dataclass
class SessionSummary:
    stream: StreamStats
    rows: int
    late: int
    hop: int
    hr_mae_bpm: float | None = None
    hr_mae_samples: int = 0
    unreliable: int = 0  # rows whose device flags make HR unreliable (no HR written, not in the MAE)
    extra: dict[str, object] = field(default_factory=dict)

    def line(self) -> str:
        s = self.stream
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(s.malformed_by_reason.items()))
        text = (f"packets total={s.total} valid={s.valid} malformed={s.malformed}"
                f"{f' ({reasons})' if reasons else ''} accepted={s.accepted} decoded={self.rows} "
                f"gaps={s.gaps} missing={s.missing} duplicates={s.duplicates} backlog={s.backlog} "
                f"late={self.late} resyncs={s.resyncs}")
        if self.unreliable:
            text += f" unreliable={self.unreliable}"
        if self.hr_mae_bpm is not None:
            text += f" hr_mae_bpm={self.hr_mae_bpm:.4f} over {self.hr_mae_samples} samples"
        for k, v in self.extra.items():
            text += f" {k}={v}"
        return text

    def to_dict(self) -> dict[str, object]:
        s = self.stream
        return {"total": s.total, "valid": s.valid, "malformed": s.malformed,
                "malformed_by_reason": dict(s.malformed_by_reason), "accepted": s.accepted, "decoded": self.rows,
                "gaps": s.gaps, "missing": s.missing, "duplicates": s.duplicates, "backlog": s.backlog,
                "late": self.late, "recovered": s.recovered, "resyncs": s.resyncs, "hop": self.hop,
                "unreliable": self.unreliable,
                "hr_mae_bpm": self.hr_mae_bpm, "hr_mae_samples": self.hr_mae_samples, **self.extra}


def flag_names(flags: Flag) -> list[str]:
    return [name for bit, name in PACKET_FLAG_NAMES if flags & bit]


class ReceiverSession:
    """Feed packets (bytes) or native_sim lines; :meth:`flush` decodes what is pending into rows.

    Never raises on bad packets: they are counted by :class:`PacketStream`. Rows keep arrival order in
    :attr:`rows`; :meth:`ordered_rows` sorts them by window (late backlog packets in their place).

    With a ``library`` (:class:`ppgcomp.receiver.models.ModelLibrary`) a well-formed packet with another model tag
    switches the decoder to that model's (after decoding what is pending with the current one): the device took
    a new model over the air. A tag that the library has no artefacts for raises
    :class:`~ppgcomp.receiver.models.UnknownModelError`. Without one, such packets are counted as malformed.
    """

    def __init__(self, decoder: Decoder, hop: int = DEVICE_DEFAULT_HOP, reorder_window: int = 4096,
                 library: ModelLibrary | None = None) -> None:
        self.decoder = decoder
        self.library = library
        self.model_switches = 0
        info = decoder.info
        self.window_len = int(getattr(info, "window_len", WINDOW_LEN))
        self.rate_hz = float(getattr(info, "sample_rate_hz", MODEL_RATE_HZ))
        self._hop = self._check_hop(hop)
        self.stream = PacketStream(expected_tag=int(info.tag), reorder_window=reorder_window)
        self._highest_u: int | None = None  # the tracker's highest, unwrapped, in this device epoch
        self._offset = 0  # timeline offset of the current epoch (grows at each restart)
        self._pending: list[tuple[Packet, int, tuple[str, ...]]] = []
        self.rows: list[Row] = []
        self.late = 0
        self._tags_refused: Counter[int] = Counter()
        self.extra: dict[str, object] = {}  # more figures for the summary line (e.g. BLE connections)

    @staticmethod
    def _check_hop(hop: int) -> int:
        if not 1 <= int(hop) <= MAX_HOP:
            raise ValueError(f"hop must be 1..{MAX_HOP} samples, got {hop}")
        return int(hop)

    @property
    def hop(self) -> int:
        return self._hop

    @hop.setter
    def hop(self, value: int) -> None:
        value = self._check_hop(value)
        if value != self._hop and (self.rows or self._pending):
            log.warning("hop changed from %d to %d after packets were decoded; times after this use %d",
                        self._hop, value, value)
        self._hop = value

    @property
    def pending(self) -> int:
        return len(self._pending)

    # -- input --------------------------------------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> bool:
        """Offer one packet; True if it was accepted (queued for decoding)."""
        if self.library is not None and self._other_model_tag(data) is not None:
            self.use_model(self.library.for_tag(data[1]))
        t = self.stream.tracker
        before = (t.gaps, t.recovered, t.resyncs)
        pkt = self.stream.feed(data)
        if pkt is None:
            self._note_refused_tag(data)
            return False
        self._queue(pkt, before)
        return True

    def feed_line(self, line: str) -> bool:
        """Offer one native_sim line (blank lines and '#' comments are ignored, garbage is counted)."""
        try:
            data = parse_hex_line(line)
        except (PacketError, AttributeError, TypeError):
            self.stream.feed_hex_line(line)  # counts it as malformed, by reason
            return False
        return False if data is None else self.feed(data)

    def feed_all(self, packets: Iterable[bytes]) -> int:
        return sum(self.feed(p) for p in packets)

    def _other_model_tag(self, data: object) -> int | None:
        """The tag of a well-formed packet from another model than the current one, else None."""
        if (isinstance(data, bytes | bytearray) and len(data) == PACKET_LEN and split_ver_flags(data[0]) is not None
                and data[1] != self.stream.expected_tag):
            return int(data[1])
        return None

    def use_model(self, entry: ModelEntry) -> None:
        """Decode from now on with ``entry``'s decoder (what is pending is decoded with the current one first)."""
        if entry.sha256 == str(self.decoder.info.sha256).lower():
            return
        if self.library is None:
            raise ValueError("use_model needs a model library")
        decoder = self.library.decoder(entry)
        info = decoder.info
        geometry = (int(getattr(info, "window_len", WINDOW_LEN)), float(getattr(info, "sample_rate_hz",
                                                                                    MODEL_RATE_HZ)))
        if geometry != (self.window_len, self.rate_hz) or int(getattr(info, "code_len", CODE_LEN)) != CODE_LEN:
            raise UnknownModelError(f"model {entry.describe()} has another window or rate ({geometry}) than "
                                    f"({self.window_len}, {self.rate_hz}); a receiver session cannot mix them")
        self.flush()
        log.info("model tag 0x%02x -> 0x%02x: decoding with %s", self.stream.expected_tag, entry.tag, entry.folder)
        self.decoder = decoder
        self.stream.expected_tag = entry.tag
        self.model_switches += 1

    def _note_refused_tag(self, data: object) -> None:
        if (isinstance(data, bytes | bytearray) and len(data) == PACKET_LEN and split_ver_flags(data[0]) is not None
                and data[1] != self.stream.expected_tag):
            self._tags_refused[data[1]] += 1

    def _queue(self, pkt: Packet, before: tuple[int, int, int]) -> None:
        t = self.stream.tracker
        flags = flag_names(pkt.flags)
        if self._highest_u is None:
            u = pkt.seq
            self._highest_u = u
        else:
            half = SEQ_MODULUS // 2
            delta = (pkt.seq - self._highest_u + half) % SEQ_MODULUS - half
            u = self._highest_u + delta
            if t.resyncs > before[2]:
                # The device restarted its numbering: continue the timeline after the last window seen.
                self._offset += self._highest_u + 1 - u
                self._highest_u = u
                flags.append(RESYNC)
                log.info("device restarted its sequence at %d; timeline continues", pkt.seq)
            elif delta > 0:
                self._highest_u = u
                if t.gaps > before[0]:
                    flags.append(SEQ_GAP)
            elif t.recovered > before[1]:
                flags.append(LATE)
                self.late += 1
        self._pending.append((pkt, u + self._offset, tuple(flags)))

    # -- decoding -----------------------------------------------------------------------------------

    def flush(self) -> list[Row]:
        """Decode every pending packet in one batch; returns the new rows (arrival order)."""
        if not self._pending:
            return []
        pending, self._pending = self._pending, []
        codes = np.array([p.codes for p, _, _ in pending], dtype=np.int8).reshape(-1, CODE_LEN)
        _, hr = self.decoder.decode(codes)
        tails = covered_tail(hr, self._hop)
        means = tails.mean(axis=1, dtype=np.float64)
        times = window_end_time_s(np.array([i for _, i, _ in pending]), self._hop, self.window_len, self.rate_hz)
        new = [Row(index=i, seq=p.seq, time_s=float(tm), hr_bpm=float(m), flags=f, hr_trace=tail)
               for (p, i, f), tm, m, tail in zip(pending, np.atleast_1d(times), means, tails)]
        self.rows.extend(new)
        return new

    # -- results ------------------------------------------------------------------------------------

    def ordered_rows(self) -> list[Row]:
        """All decoded rows ordered by window (stable for equal indices)."""
        return sorted(self.rows, key=lambda r: r.index)

    def trace(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample times and HR of the decoded rows with reliable HR (see :func:`ppgcomp.receiver.timeline.trace`).

        Rows whose device flags make HR unreliable (:attr:`Row.reliable`) are left out, so they never enter the MAE.
        """
        rows = [r for r in self.rows if r.reliable]
        if not rows:
            return np.zeros(0), np.zeros(0)
        c = covered_len(self._hop)
        tails = np.stack([r.hr_trace[-c:] for r in rows])
        return trace(np.array([r.index for r in rows]), tails, self._hop, self.window_len, self.rate_hz)

    def summary(self) -> SessionSummary:
        if self._tags_refused and not self.rows:
            tags = ", ".join(f"0x{t:02x}" for t in sorted(self._tags_refused))
            log.warning("no packet matched the local model (tag 0x%02x); refused tags: %s: wrong artefacts?",
                        self.stream.expected_tag, tags)
        extra = dict(self.extra)
        if self.model_switches:
            extra["model_switches"] = self.model_switches
        return SessionSummary(stream=self.stream.stats, rows=len(self.rows), late=self.late, hop=self._hop,
                              unreliable=sum(not r.reliable for r in self.rows), extra=extra)
