"""Receiver output: the CSV rows, an HR plot after the fact, and a live plot for BLE sessions."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

import numpy as np

from ppgcomp.receiver.session import Row

log = logging.getLogger(__name__)

CSV_COLUMNS = ("time_s", "seq", "hr_bpm", "flags")


class CsvSink:
    """Writes the header once, then one line per row, flushing after each batch (for live BLE output).

    A row whose device flags make HR unreliable (gap, saturated, flat, lowres) has an empty hr_bpm field.
    """

    def __init__(self, fh: TextIO) -> None:
        self.fh = fh
        self.rows = 0
        fh.write(",".join(CSV_COLUMNS) + "\n")

    def write(self, rows: Iterable[Row]) -> None:
        for r in rows:
            hr = f"{r.hr_bpm:.3f}" if r.reliable else ""
            self.fh.write(f"{r.time_s:.2f},{r.seq},{hr},{r.flags_text}\n")
            self.rows += 1
        self.fh.flush()


def plot_hr(rows: list[Row], t: np.ndarray, hr: np.ndarray, path: Path,
            reference: tuple[np.ndarray, np.ndarray] | None = None, title: str = "") -> None:
    """HR over time: the per-sample decoded trace, the per-packet means, and the reference if known."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if reference is not None:
        ax.plot(reference[0] / 60.0, reference[1], color="k", lw=1.6, label="reference")
    if t.size:
        ax.plot(t / 60.0, hr, lw=1.0, label="decoded (per sample)")
        good = [r for r in rows if r.reliable]
        ax.plot([r.time_s / 60.0 for r in good], [r.hr_bpm for r in good], "o", ms=3, label="per packet (mean)")
        flagged = [r for r in good if r.flags]
        if flagged:
            ax.plot([r.time_s / 60.0 for r in flagged], [r.hr_bpm for r in flagged], "x", color="tab:red", ms=5,
                    label="flagged packet")
    ax.set_xlabel("time (min)")
    ax.set_ylabel("HR (bpm)")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    log.info("wrote %s", path)


class LivePlot:
    """An interactive matplotlib window updated as rows arrive. A no-op where no GUI backend works."""

    BACKENDS = ("QtAgg", "TkAgg", "GTK4Agg", "GTK3Agg", "MacOSX", "WXAgg")

    def __init__(self, title: str = "PPG receiver: HR") -> None:
        self.enabled = False
        try:
            import matplotlib.pyplot as plt
        except ImportError as e:  # pragma: no cover - matplotlib is a requirement
            log.warning("live plot disabled: %s", e)
            return
        for name in self.BACKENDS:
            try:
                plt.switch_backend(name)
                break
            except (ImportError, RuntimeError, ValueError):
                continue
        else:
            log.warning("live plot disabled: no interactive matplotlib backend works here (no display?)")
            return
        self.plt = plt
        plt.ion()
        self.fig, self.ax = plt.subplots(figsize=(10, 3.6))
        self.fig.canvas.manager.set_window_title(title) if self.fig.canvas.manager else None
        (self.line,) = self.ax.plot([], [], "o-", ms=3, lw=1.0)
        self.ax.set_xlabel("time (min)")
        self.ax.set_ylabel("HR (bpm)")
        self.t: list[float] = []
        self.hr: list[float] = []
        self.enabled = True

    def update(self, rows: Iterable[Row]) -> None:
        if not self.enabled:
            return
        for r in rows:
            if not r.reliable:
                continue
            self.t.append(r.time_s / 60.0)
            self.hr.append(r.hr_bpm)
        order = np.argsort(self.t, kind="stable")
        self.line.set_data(np.asarray(self.t)[order], np.asarray(self.hr)[order])
        self.ax.relim()
        self.ax.autoscale_view()
        try:
            self.fig.canvas.draw_idle()
            self.fig.canvas.flush_events()
        except Exception as e:  # noqa: BLE001 - a closed window must not end the session
            log.warning("live plot stopped: %s", e)
            self.enabled = False
