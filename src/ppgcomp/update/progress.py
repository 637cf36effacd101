"""A one-line progress bar for an upload (bytes acknowledged by the device, rate, resumes)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """``label [#######.......]  52%  8,448/16,224 B  1.9 kB/s``, redrawn in place on a terminal.

    By default it draws only on a terminal (``enabled`` None): piped or in CI the tool's output is its end-state
    line on stdout and, on failure, one error line on stderr. Enabled on a stream that is not a terminal, it
    writes a line at every 25 % instead. :attr:`offsets` keeps every offset reported, in order.
    """

    WIDTH = 28

    def __init__(self, label: str, total: int, stream: TextIO, *, clock: Callable[[], float] = time.monotonic,
                 enabled: bool | None = None) -> None:
        self.label = label
        self.total = max(1, int(total))
        self.stream = stream
        self.clock = clock
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.enabled = self.tty if enabled is None else enabled
        self.offsets: list[int] = []
        self.resumes: list[int] = []  # offsets at which the upload went on after a link loss or an offset refusal
        self._t0 = clock()
        self._start_off: int | None = None
        self._quarter = -1

    def resumed(self, offset: int) -> None:
        self.resumes.append(int(offset))
        self._t0, self._start_off = self.clock(), int(offset)
        if self.enabled:
            self._write(f"{self.label}: resuming at byte {offset:,}\n", newline_first=True)

    def update(self, offset: int) -> None:
        offset = int(offset)
        self.offsets.append(offset)
        if self._start_off is None:
            self._start_off = offset
        if not self.enabled:
            return
        frac = min(1.0, offset / self.total)
        if self.tty:
            self._write("\r" + self.line(offset), newline_first=False)
        elif int(frac * 4) > self._quarter:
            self._quarter = int(frac * 4)
            self._write(self.line(offset) + "\n", newline_first=False)

    def line(self, offset: int) -> str:
        frac = min(1.0, offset / self.total)
        filled = round(frac * self.WIDTH)
        dt = self.clock() - self._t0
        sent = offset - (self._start_off or 0)
        rate = f"  {sent / dt / 1000:.1f} kB/s" if dt > 0 and sent > 0 else ""
        return (f"{self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {frac * 100:3.0f}%  "
                f"{offset:,}/{self.total:,} B{rate}")

    def close(self) -> None:
        if self.enabled and self.tty and self.offsets:
            self.stream.write("\n")
            self.stream.flush()

    def _write(self, text: str, newline_first: bool) -> None:
        if newline_first and self.tty and self.offsets:
            text = "\n" + text
        self.stream.write(text)
        self.stream.flush()
