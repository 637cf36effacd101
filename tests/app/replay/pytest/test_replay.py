# SPDX-License-Identifier: Apache-2.0
"""App-level native_sim test: replay a PPG file through the real app and check its packets.

The app is built with the encoder hop set to the golden hop (tests/app/replay/CMakeLists.txt), so
replaying golden_raw must give one packet per golden window, in order, with the model's tag and
exactly the golden codes. Injected read errors (`E` lines) must set the GAP flag and be counted.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from ppgcomp.protocol.packet import Flag, Packet, parse_hex_line, parse_packet

RUN_TIMEOUT_S = 60


def write_replay(path: Path, rate_hz: int, samples: list[int | str]) -> None:
    lines = [f"# ppg-replay rate_hz={rate_hz}"] + [str(s) for s in samples]
    path.write_text("\n".join(lines) + "\n")


def run_app(exe: Path, replay: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(exe), f"--ppg-file={replay}", f"--packets-out={out}"],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def read_packets(out: Path, tag: int) -> tuple[list[Packet], list[str]]:
    packets, comments = [], []
    for line in out.read_text().splitlines():
        raw = parse_hex_line(line)
        if raw is None:
            comments.append(line)
        else:
            packets.append(parse_packet(raw, expected_tag=tag))
    return packets, comments


def stats_of(comments: list[str]) -> dict[str, int]:
    for c in comments:
        if c.startswith("# stats "):
            return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", c)}
    raise AssertionError(f"no stats comment in {comments}")


def decimation(golden) -> int:
    return len(golden.raw) // golden.decimated_len


def expected_windows(golden, n_raw: int) -> int:
    decimated = n_raw // decimation(golden)
    return 0 if decimated < golden.window_len else 1 + (decimated - golden.window_len) // golden.hop


def test_golden_stream_gives_golden_codes(zephyr_exe: Path, golden, tmp_path: Path) -> None:
    replay, out = tmp_path / "golden.ppg", tmp_path / "packets.hex"
    write_replay(replay, golden.sensor_rate_hz, golden.raw)

    proc = run_app(zephyr_exe, replay, out)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    packets, comments = read_packets(out, golden.model_tag)
    n = expected_windows(golden, len(golden.raw))
    assert n == len(golden.codes)
    assert len(packets) == n, "one packet per window"
    assert [p.seq for p in packets] == list(range(n)), "in order"
    mismatched = 0
    for k, (p, want) in enumerate(zip(packets, golden.codes)):
        assert p.model_tag == golden.model_tag
        assert p.flags == Flag(0), f"window {k}: flags {p.flags!r}"
        mismatched += sum(1 for a, b in zip(p.codes, want) if a != b)
    print(f"mismatched codes: {mismatched} of {n * len(golden.codes[0])}")
    assert mismatched == 0, [(p.codes, tuple(w)) for p, w in zip(packets, golden.codes)]

    st = stats_of(comments)
    assert st["windows"] == n and st["sent"] == n
    assert st["dropped"] == 0 and st["sensor_errors"] == 0 and st["backlog"] == 0


def _build_hop(exe: Path) -> int:
    """CONFIG_APP_ENCODE_HOP_SAMPLES of the image under test (its build's .config)."""
    config = exe.parent / ".config"
    m = re.search(r"^CONFIG_APP_ENCODE_HOP_SAMPLES=(\d+)$", config.read_text(), re.MULTILINE)
    assert m is not None, f"CONFIG_APP_ENCODE_HOP_SAMPLES not in {config}"
    return int(m.group(1))


def test_shipped_app_replays_a_recording(zephyr_exe: Path, golden, tmp_path: Path) -> None:
    """The app as shipped (app/sample.yaml, its own hop): golden stream in, one packet per window out.

    Window k starts at decimated sample k * hop; where that is also a golden window (hop a multiple of the
    golden hop) its codes must be the golden codes.
    """
    hop = _build_hop(zephyr_exe)
    replay, out = tmp_path / "golden.ppg", tmp_path / "packets.hex"
    write_replay(replay, golden.sensor_rate_hz, golden.raw)

    proc = run_app(zephyr_exe, replay, out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    packets, comments = read_packets(out, golden.model_tag)
    n = 1 + (golden.decimated_len - golden.window_len) // hop
    assert [p.seq for p in packets] == list(range(n)), "one packet per window, in order"
    checked = 0
    for k, p in enumerate(packets):
        assert p.flags == Flag(0), f"window {k}: flags {p.flags!r}"
        if (k * hop) % golden.hop == 0:
            assert list(p.codes) == golden.codes[k * hop // golden.hop], f"window {k}"
            checked += 1
    assert checked >= 1
    print(f"shipped app (hop {hop}): {n} packets, {checked} checked against the golden codes")
    st = stats_of(comments)
    assert st["windows"] == n and st["sent"] == n and st["dropped"] == 0


def test_read_errors_set_gap_and_are_counted(zephyr_exe: Path, golden, tmp_path: Path) -> None:
    factor = decimation(golden)
    # Three failed reads late in the stream: only the windows that hold them are GAP.
    err_at = len(golden.raw) - 3 * factor * golden.hop // 2
    samples: list[int | str] = list(golden.raw)
    for i in range(err_at, err_at + 3):
        samples[i] = "E"
    replay, out = tmp_path / "errors.ppg", tmp_path / "packets.hex"
    write_replay(replay, golden.sensor_rate_hz, samples)

    proc = run_app(zephyr_exe, replay, out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    packets, comments = read_packets(out, golden.model_tag)
    assert len(packets) == expected_windows(golden, len(samples))

    dec_idx = err_at // factor
    for k, p in enumerate(packets):
        start = k * golden.hop
        holds_gap = start <= dec_idx + 1 and dec_idx < start + golden.window_len
        if start + golden.window_len <= dec_idx - 1:
            assert not (p.flags & Flag.GAP), f"window {k} before the errors"
            assert list(p.codes) == golden.codes[k], f"window {k} before the errors"
        elif holds_gap:
            assert p.flags & Flag.GAP, f"window {k} holds the failed reads"
    assert packets[-1].flags & Flag.GAP
    assert stats_of(comments)["sensor_errors"] == 3
    assert stats_of(comments)["quality_faults"] >= 1


def test_no_file_exits_with_error(zephyr_exe: Path, tmp_path: Path) -> None:
    out = tmp_path / "packets.hex"
    proc = subprocess.run(
        [str(zephyr_exe), f"--packets-out={out}"],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
