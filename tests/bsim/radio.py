"""Radio activity of one device from the BabbleSim phy dump (tests/bsim/README.md, "Radio activity").

The 2.4 GHz phy writes every transmission and every reception attempt of device NN to
``$BSIM_OUT_PATH/results/<sim id>/d_2G4_NN.Tx.csv`` and ``.Rx.csv`` (unless it runs with ``-nodump``). This module
reads the peripheral's (device 0) and splits its activity by state, with the central's ``PKT`` lines (their
simulated time stamps, ``d_01: @HH:MM:SS.ffffff``) marking what was delivered when:

* advertising: packets on the advertising access address 0x8E89BED6, per second of time without a connection;
* connections: one access address each, from its first to its last packet of the peripheral;
* live: the connection that ends the run, from its third live packet after the backlog (the slow parameters in
  force, well after the drain) to its last packet: peripheral packets per second, connection events (a run of
  packets less than 2 ms apart) per delivered packet;
* draining: from the start of the connection that receives the first backlog packet to the last backlog packet
  (every connection in between included, e.g. a mid-burst disconnect or a fade): packets per second, and the
  seconds from that connection (and from the start of the connection that delivers the last one) to the last;
* whole run: peripheral packets per second over the simulated time; on-air time, TX (start to end of each
  transmission) and RX (each reception attempt, from its start to the end of the received packet, or to the end
  of its scan window when nothing was received), in ms per second.

Run by hand on a kept dump: ``python tests/bsim/radio.py RESULTS_DIR CENTRAL_LOG --sim-s 640``.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

ADV_AA = 0x8E89BED6
EVENT_GAP_US = 2000.0  # packets of one connection event are 150 us (T_IFS) + a packet apart
LIVE_SKIP = 2  # live packets of the final connection skipped before the live window starts
PKT_LINE = re.compile(r"^d_\d+: @(\d+):(\d+):(\d+(?:\.\d+)?)\s+PKT ([0-9a-f]{40}) c=(\d+)")
BACKLOG_FLAG = 0x01
P2G4_RXSTATUS_OK = 1


@dataclass
class Radio:
    sim_s: float
    pps_whole: float
    pps_live: float
    pps_drain: float
    pps_adv: float  # per second without a connection
    pps_adv_whole: float  # advertising packets per second of the whole run
    adv_share: float  # fraction of the peripheral's packets that were advertising
    tx_ms_per_s: float
    rx_ms_per_s: float
    events_per_packet_live: float
    tx_ms_per_s_live: float
    rx_ms_per_s_live: float
    drain_s: float  # start of the connection that delivers the last backlog packet, to that packet
    drain_total_s: float  # first backlog connection's start to the last backlog packet
    live_window_s: float
    adv_s: float  # time without a connection
    connections: int

    def line(self) -> str:
        return (f"radio (peripheral, phy dump): {self.pps_live:.2f} pkt/s live, {self.pps_drain:.1f} draining "
                f"(drained {self.drain_s:.2f} s after the last reconnection, {self.drain_total_s:.2f} s after the first), {self.pps_adv:.1f} advertising, {self.pps_whole:.2f} over "
                f"the {self.sim_s:.0f} s run ({100 * self.adv_share:.0f}% advertising); on air TX "
                f"{self.tx_ms_per_s:.2f} ms/s, RX {self.rx_ms_per_s:.2f} ms/s; "
                f"{self.events_per_packet_live:.1f} connection events per delivered packet, on air TX "
                f"{self.tx_ms_per_s_live:.3f} ms/s, RX {self.rx_ms_per_s_live:.3f} ms/s (live)")


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        reader = csv.reader(f)
        head = [h.strip() for h in next(reader)]
        return [dict(zip(head, r)) for r in reader]


def _num(row: dict[str, str], *keys: str) -> float:
    for k in keys:
        if k in row and row[k] != "":
            return float(row[k])
    raise KeyError(keys)


def central_packets(lines: list[str]) -> list[tuple[float, bytes, int]]:
    """(simulated time in us, packet, connection number) of each PKT line of the central."""
    out = []
    for ln in lines:
        m = PKT_LINE.match(ln)
        if m:
            t = (int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))) * 1e6
            out.append((t, bytes.fromhex(m.group(4)), int(m.group(5))))
    return out


def analyse(results: Path, central_lines: list[str], sim_s: float, device: int = 0) -> Radio:
    tx = _rows(results / f"d_2G4_{device:02d}.Tx.csv")
    rx = _rows(results / f"d_2G4_{device:02d}.Rx.csv")
    rx_on: list[tuple[float, float]] = []  # (start, on-time) of each reception attempt
    txs = []  # (start, end, aa)
    for r in tx:
        start = _num(r, "start_tx_time", "start_time")
        end = _num(r, "end_tx_time", "end_time")
        abort = _num(r, "abort_time")
        txs.append((start, min(end, abort), int(r["phy_address"], 0)))
    txs.sort()
    tx_us = sum(e - s for s, e, _ in txs)
    rx_us = 0.0
    for r in rx:
        # Listening from start_time until the received packet ends (status 1: P2G4_RXSTATUS_OK), else until
        # the scan is aborted (the radio gave up waiting for a packet) or its window ends.
        start = _num(r, "start_time")
        if int(r["status"]) == P2G4_RXSTATUS_OK:
            end = _num(r, "payload_end")
        else:
            end = min(start + _num(r, "scan_duration"), _num(r, "abort_time"))
        rx_us += max(0.0, end - start)
        rx_on.append((start, max(0.0, end - start)))

    # Connections: first and last packet of each access address.
    conns: dict[int, list[float]] = {}
    for s, e, aa in txs:
        if aa != ADV_AA:
            c = conns.setdefault(aa, [s, e])
            c[1] = e
    spans = sorted(conns.values())
    sim_us = sim_s * 1e6
    connected_us = sum(e - s for s, e in spans)
    adv_us = max(1.0, sim_us - connected_us)
    n_adv = sum(1 for _, _, aa in txs if aa == ADV_AA)

    pkts = central_packets(central_lines)

    def span_at(t: float) -> tuple[float, float]:
        best = min(spans, key=lambda sp: 0 if sp[0] <= t <= sp[1] else min(abs(t - sp[0]), abs(t - sp[1])))
        return best[0], best[1]

    def count(t0: float, t1: float) -> int:
        return sum(1 for s, _, aa in txs if t0 <= s < t1 and aa != ADV_AA)

    # Live: the final connection, after its backlog and LIVE_SKIP live packets.
    last_c = pkts[-1][2] if pkts else 0
    final = [(t, p) for t, p, c in pkts if c == last_c]
    live = [t for t, p in final if not p[0] & BACKLOG_FLAG]
    pps_live = events_per_packet = live_s = tx_live = rx_live = 0.0
    if len(live) > LIVE_SKIP + 1:
        t0, t1 = live[LIVE_SKIP], live[-1]
        n = count(t0, t1)
        live_s = (t1 - t0) / 1e6
        pps_live = n / live_s
        starts = [s for s, _, aa in txs if t0 <= s < t1 and aa != ADV_AA]
        events = sum(1 for k, s in enumerate(starts) if k == 0 or s - starts[k - 1] > EVENT_GAP_US)
        delivered = sum(1 for t in live if t0 <= t < t1)
        events_per_packet = events / max(1, delivered)
        tx_live = sum(e - s for s, e, aa in txs if t0 <= s < t1 and aa != ADV_AA) / 1e3 / live_s
        rx_live = sum(on for s, on in rx_on if t0 <= s < t1) / 1e3 / live_s

    # Drain: from the connection of the first backlog packet to the last backlog packet.
    backlog = [t for t, p, _ in pkts if p[0] & BACKLOG_FLAG]
    drain_s = drain_total_s = pps_drain = 0.0
    if backlog and spans:
        t0 = span_at(backlog[0])[0]
        t1 = backlog[-1]
        drain_total_s = (t1 - t0) / 1e6
        drain_s = (t1 - span_at(t1)[0]) / 1e6
        pps_drain = count(t0, t1 + 1) / max(drain_total_s, 1e-6)

    return Radio(sim_s=sim_s, pps_whole=len(txs) / sim_s, pps_live=pps_live, pps_drain=pps_drain,
                 pps_adv=n_adv / (adv_us / 1e6), pps_adv_whole=n_adv / sim_s, adv_share=n_adv / max(1, len(txs)),
                 tx_ms_per_s=tx_us / 1e3 / sim_s, rx_ms_per_s=rx_us / 1e3 / sim_s,
                 events_per_packet_live=events_per_packet, tx_ms_per_s_live=tx_live,
                 rx_ms_per_s_live=rx_live, drain_s=drain_s, drain_total_s=drain_total_s, live_window_s=live_s,
                 adv_s=adv_us / 1e6, connections=len(spans))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", type=Path, help="$BSIM_OUT_PATH/results/<sim id>")
    ap.add_argument("central_log", type=Path, help="the main central's output (PKT lines)")
    ap.add_argument("--sim-s", type=float, default=640.0, help="simulated seconds")
    ap.add_argument("--device", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    r = analyse(a.results, a.central_log.read_text(errors="replace").splitlines(), a.sim_s, a.device)
    print(json.dumps(asdict(r), indent=1) if a.json else r.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
