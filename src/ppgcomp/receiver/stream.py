"""The receiver's stream state: parse, count and de-duplicate packets, follow their sequence numbers.

* :class:`PacketStream` never raises: it counts malformed packets by reason, drops duplicates
  and follows the sequence numbers (gaps, late backlog packets, device restarts) with a
  :class:`SequenceTracker`.

The wire format itself is :mod:`ppgcomp.protocol.packet`.
"""

from __future__ import annotations

import enum
import logging
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ppgcomp.protocol.packet import SEQ_MODULUS, Flag, Packet, PacketError, parse_hex_line, parse_packet

log = logging.getLogger(__name__)


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


__all__ = ["PacketStream", "SeqEvent", "SequenceTracker", "StreamStats"]
