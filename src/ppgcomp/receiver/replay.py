"""native_sim packet output (one hex packet per line) into a :class:`ReceiverSession`."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ppgcomp.protocol.packet import PACKET_LEN, PacketError, parse_hex_line, split_ver_flags
from ppgcomp.receiver.session import ReceiverSession, Row

log = logging.getLogger(__name__)

FLUSH_EVERY = 4096  # packets decoded per batch (CodeDecoder batches again internally)
# The native_sim app's header comment, e.g. "# ppgcomp packets model_tag=0x45 hop=200 model=45d4...".
_HOP = re.compile(r"\bhop=(\d+)\b")
_MODEL = re.compile(r"\bmodel=([0-9a-fA-F]{64})\b")


def read_lines(path: Path) -> Iterator[str]:
    """The file's lines; undecodable bytes become U+FFFD (such a line is then counted as malformed)."""
    with open(path, encoding="utf-8", errors="replace", newline=None) as fh:
        yield from fh


def _header(session: ReceiverSession, line: str, adopt_hop: bool) -> None:
    """Use the hop a '#' header comment states (before any packet), and warn about another model's file."""
    if (m := _HOP.search(line)) and session.stream.stats.total == 0:
        hop = int(m.group(1))
        if hop != session.hop and 1 <= hop <= 65535:
            if adopt_hop:
                log.info("the file's header says hop=%d: using it", hop)
                session.hop = hop
            else:
                log.warning("the file's header says hop=%d but --hop is %d", hop, session.hop)
    if (m := _MODEL.search(line)) and m.group(1).lower() != str(session.decoder.info.sha256).lower():
        log.warning("the file's header names model %s..., not the local artefacts' %s...", m.group(1)[:16],
                    str(session.decoder.info.sha256)[:16])


def first_model(path: Path) -> tuple[str | None, int | None]:
    """(the header's ``model=`` SHA-256, the first well-formed packet's tag) of a packet file, each None if absent:
    which artefacts to start decoding it with."""
    sha: str | None = None
    for line in read_lines(path):
        if line.startswith("#"):
            if sha is None and (m := _MODEL.search(line)):
                sha = m.group(1).lower()
            continue
        try:
            data = parse_hex_line(line)
        except PacketError:
            continue
        if data is not None and len(data) == PACKET_LEN and split_ver_flags(data[0]) is not None:
            return sha, int(data[1])
    return sha, None


def replay_lines(session: ReceiverSession, lines: Iterable[str], flush_every: int = FLUSH_EVERY,
                 adopt_header_hop: bool = False) -> list[Row]:
    """Feed every line, decode in batches, and return all rows ordered by window.

    With ``adopt_header_hop`` a header comment's ``hop=N`` (native_sim and make_replay write one) sets the
    session's hop; otherwise a different one is only reported.
    """
    for line in lines:
        if line.startswith("#"):
            _header(session, line, adopt_header_hop)
            continue
        session.feed_line(line)
        if session.pending >= flush_every:
            session.flush()
    session.flush()
    return session.ordered_rows()


def replay_file(session: ReceiverSession, path: Path, flush_every: int = FLUSH_EVERY,
                adopt_header_hop: bool = False) -> list[Row]:
    log.info("replaying %s", path)
    return replay_lines(session, read_lines(path), flush_every, adopt_header_hop)
