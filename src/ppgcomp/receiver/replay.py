"""native_sim packet output (one hex packet per line) into a :class:`ReceiverSession`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from ppgcomp.receiver.session import ReceiverSession, Row

log = logging.getLogger(__name__)

FLUSH_EVERY = 4096  # packets decoded per batch (CodeDecoder batches again internally)


def read_lines(path: Path) -> Iterator[str]:
    """The file's lines; undecodable bytes become U+FFFD (such a line is then counted as malformed)."""
    with open(path, encoding="utf-8", errors="replace", newline=None) as fh:
        yield from fh


def replay_lines(session: ReceiverSession, lines: Iterable[str], flush_every: int = FLUSH_EVERY) -> list[Row]:
    """Feed every line, decode in batches, and return all rows ordered by window."""
    for line in lines:
        session.feed_line(line)
        if session.pending >= flush_every:
            session.flush()
    session.flush()
    return session.ordered_rows()


def replay_file(session: ReceiverSession, path: Path, flush_every: int = FLUSH_EVERY) -> list[Row]:
    log.info("replaying %s", path)
    return replay_lines(session, read_lines(path), flush_every)
