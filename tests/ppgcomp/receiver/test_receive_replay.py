"""receive.py --replay on packets from the Python reference pipeline (make_replay on quick-export artefacts)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ppgcomp.constants import MODEL_INFO_FILE, TFLITE_FILE
from ppgcomp.protocol.packet import Flag, encode_packet, packet_to_hex, parse_hex_line, parse_packet
from ppgcomp.receiver import cli as receive_cli
from ppgcomp.replay import make_replay

HOP = 100  # below 200, so rows cover only part of each window's HR target
MINUTES = 4.0
TOL_BPM = 1e-3  # float batching differences only


@pytest.fixture(scope="module")
def replay_set(quick_export: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """make_replay's files for a short held-out recording, and the quick-export artefact folder."""
    out = tmp_path_factory.mktemp("replay_set")
    art = quick_export["_dirs"]["artifacts"]
    rc = make_replay.main(["--artifacts", str(art), "--out", str(out), "--minutes", str(MINUTES),
                           "--hop", str(HOP)])
    assert rc == 0
    expected = json.loads((out / make_replay.EXPECTED_FILE).read_text())
    lines = (out / make_replay.PACKETS_FILE).read_text().splitlines()
    packets = [b for b in map(parse_hex_line, lines) if b is not None]
    return {"dir": out, "artifacts": art, "expected": expected, "packets": packets,
            "packets_file": out / make_replay.PACKETS_FILE, "reference": out / make_replay.REFERENCE_FILE}


@pytest.fixture(scope="module")
def decoder(replay_set: dict):
    from ppgcomp.training.decoding import CodeDecoder

    return CodeDecoder.load(replay_set["artifacts"])


def _session(decoder, hop: int = HOP):
    from ppgcomp.receiver.session import ReceiverSession

    return ReceiverSession(decoder, hop)


def _replay(decoder, lines: list[str], hop: int = HOP):
    from ppgcomp.receiver.replay import replay_lines

    s = _session(decoder, hop)
    return s, replay_lines(s, lines)


def _read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _hex(packets: list[bytes]) -> list[str]:
    return [packet_to_hex(p) for p in packets]


def _retag(p: bytes, tag: int | None = None, flags: int | None = None, version: int | None = None) -> bytes:
    pkt = parse_packet(p)
    return encode_packet(pkt.codes, pkt.seq, pkt.model_tag if tag is None else tag,
                         int(pkt.flags) if flags is None else flags,
                         version=pkt.version if version is None else version)


# -- the files make_replay writes ---------------------------------------------------------------------------


def test_make_replay_files(replay_set: dict) -> None:
    d, exp = replay_set["dir"], replay_set["expected"]
    replay = (d / make_replay.REPLAY_FILE).read_text().splitlines()
    assert replay[0] == "# ppg-replay rate_hz=100"
    samples = [int(x) for x in replay[1:]]
    assert len(samples) == exp["samples"] == int(MINUTES * 60 * 100)
    n_dec = exp["decimated_samples"]
    assert exp["packets"] == len(replay_set["packets"]) == (n_dec - 400) // HOP + 1
    assert [parse_packet(p).seq for p in replay_set["packets"]] == list(range(exp["packets"]))
    assert {parse_packet(p).model_tag for p in replay_set["packets"]} == {exp["model_tag"]}
    ref = _read_csv((d / make_replay.REFERENCE_FILE).read_text())
    assert len(ref) == n_dec and float(ref[0]["time_s"]) == pytest.approx(0.04)
    flagged = sum(1 for p in replay_set["packets"] if parse_packet(p).flags)
    assert exp["flagged_windows"] == flagged
    assert np.isfinite(exp["hr_mae_bpm"]) and exp["covered_samples"] == (exp["packets"] - flagged) * min(HOP, 200)


def test_reference_packets_are_the_tflm_codes(replay_set: dict) -> None:
    """The packets carry exactly what TFLM computes on the firmware's windows (decimate -> hop -> preprocess)."""
    from ppgcomp.data.synthetic import ADC_FULL_SCALE, synthesize_subject
    from ppgcomp.dsp.decimate import decimate
    from ppgcomp.dsp.preprocess import FLAT_RANGE_MIN_DEFAULT, lowres, preprocess_window
    from ppgcomp.export.convert import inspect_tflite
    from ppgcomp.export.verify import tflm_codes

    raw, _ = synthesize_subject(replay_set["expected"]["seed"], MINUTES)
    dec = decimate(raw, 4)
    model = inspect_tflite((replay_set["artifacts"] / TFLITE_FILE).read_bytes())
    for k in (0, 1, len(replay_set["packets"]) - 1):
        q = preprocess_window(dec[k * HOP : k * HOP + 400])
        flags = Flag.LOWRES if lowres(q) else Flag.NONE
        want = encode_packet(tflm_codes(model, q[None, :])[0], k, model.tag, flags)
        assert replay_set["packets"][k] == want
    # the only device flag the reference computes is LOWRES: the recording never reaches the others
    assert raw.max() < ADC_FULL_SCALE  # no SATURATED
    windows = np.stack([dec[k * HOP : k * HOP + 400] for k in range(len(replay_set["packets"]))])
    assert (windows.max(axis=1) - windows.min(axis=1)).min() >= FLAT_RANGE_MIN_DEFAULT  # no FLAT


def test_check_artifacts_names_each_missing_file(replay_set: dict, tmp_path: Path) -> None:
    """The cheap check before TensorFlow loads names every file that decoding and make_replay read."""
    import shutil

    from ppgcomp.constants import DECODER_FILE, HR_MODEL_FILE, MODEL_INFO_FILE, TFLITE_FILE

    art = replay_set["artifacts"]
    assert receive_cli.check_artifacts(art, need_tflite=True) is None
    for name in (MODEL_INFO_FILE, DECODER_FILE, HR_MODEL_FILE, TFLITE_FILE):
        partial = tmp_path / name
        shutil.copytree(art, partial, ignore=shutil.ignore_patterns(name, "checkpoints", "plots"))
        assert f"missing {name}" in receive_cli.check_artifacts(partial, need_tflite=True)


# -- receive.py --replay, in process and as a subprocess ----------------------------------------------------


def _check_rows(rows: list[dict[str, str]], n: int) -> None:
    assert [int(r["seq"]) for r in rows] == list(range(n))
    assert [float(r["time_s"]) for r in rows] == pytest.approx([(k * HOP + 400) / 25 for k in range(n)])
    assert all(r["flags"] in ("", "lowres") for r in rows)  # the reference recording flags LOWRES only
    assert all(r["hr_bpm"] == "" for r in rows if r["flags"])  # unreliable: no HR
    assert all(30.0 <= float(r["hr_bpm"]) <= 250.0 for r in rows if not r["flags"])


def test_unreliable_windows_have_no_hr_and_stay_out_of_the_mae(replay_set: dict, decoder, tmp_path: Path) -> None:
    """gap, saturated, flat and lowres windows: empty hr_bpm, the flag name, and no part in the HR MAE."""
    from ppgcomp.receiver.timeline import load_reference, mae_vs_reference

    packets = replay_set["packets"][:20]
    marks = {3: Flag.LOWRES, 5: Flag.GAP, 8: Flag.SATURATED | Flag.BACKLOG, 11: Flag.FLAT, 13: Flag.BACKLOG}
    stream = [_retag(p, flags=int(marks.get(k, Flag.NONE))) for k, p in enumerate(packets)]
    f = tmp_path / "p.txt"
    f.write_text("\n".join(_hex(stream)) + "\n")
    out, summary = tmp_path / "hr.csv", tmp_path / "s.json"
    assert receive_cli.main(["--replay", str(f), "--artifacts", str(replay_set["artifacts"]), "--hop", str(HOP),
                             "--csv", str(out), "--reference", str(replay_set["reference"]),
                             "--summary-json", str(summary)]) == 0
    rows = _read_csv(out.read_text())
    assert {int(r["seq"]): r["flags"] for r in rows if r["flags"]} == {
        3: "lowres", 5: "gap", 8: "backlog|saturated", 11: "flat", 13: "backlog"}
    assert [int(r["seq"]) for r in rows if r["hr_bpm"] == ""] == [3, 5, 8, 11]  # backlog alone is reliable
    s = json.loads(summary.read_text())
    assert s["unreliable"] == 4 and s["hr_mae_samples"] == (20 - 4) * min(HOP, 200)
    # the MAE is the one of the reliable rows alone
    _, all_rows = _replay(decoder, _hex(packets))
    keep = [r for r in all_rows if r.seq not in (3, 5, 8, 11)]
    from ppgcomp.receiver.timeline import trace

    t, hr = trace(np.array([r.index for r in keep]), np.stack([r.hr_trace for r in keep]), HOP)
    mae, n = mae_vs_reference(t, hr, *load_reference(replay_set["reference"]))
    assert s["hr_mae_bpm"] == pytest.approx(mae, abs=TOL_BPM) and n == s["hr_mae_samples"]


def test_receive_main_in_process(replay_set: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, summary, png = tmp_path / "hr.csv", tmp_path / "summary.json", tmp_path / "hr.png"
    rc = receive_cli.main(["--replay", str(replay_set["packets_file"]), "--artifacts", str(replay_set["artifacts"]),
                           "--hop", str(HOP), "--csv", str(out), "--reference", str(replay_set["reference"]),
                           "--summary-json", str(summary), "--plot", str(png)])
    assert rc == 0
    n = replay_set["expected"]["packets"]
    _check_rows(_read_csv(out.read_text()), n)
    s = json.loads(summary.read_text())
    assert (s["total"], s["valid"], s["malformed"], s["decoded"], s["gaps"], s["duplicates"]) == (n, n, 0, n, 0, 0)
    assert s["hr_mae_bpm"] == pytest.approx(replay_set["expected"]["hr_mae_bpm"], abs=TOL_BPM)
    assert s["hr_mae_samples"] == replay_set["expected"]["covered_samples"]
    err = capsys.readouterr().err
    summary_lines = [ln for ln in err.splitlines() if ln.startswith("receive.py: packets total=")]
    assert len(summary_lines) == 1 and f"total={n} valid={n} malformed=0" in summary_lines[0]
    assert png.stat().st_size > 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_receive_script_subprocess(replay_set: dict, repo_root: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(repo_root / "scripts" / "receive.py"), "--replay", str(replay_set["packets_file"]),
         "--artifacts", str(replay_set["artifacts"]), "--reference", str(replay_set["reference"])],  # hop: header
        check=False, capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    n = replay_set["expected"]["packets"]
    _check_rows(_read_csv(proc.stdout), n)
    line = [ln for ln in proc.stderr.splitlines() if "packets total=" in ln][-1]
    mae = float(line.split("hr_mae_bpm=")[1].split()[0])
    assert mae == pytest.approx(replay_set["expected"]["hr_mae_bpm"], abs=TOL_BPM)


# -- bad packets, sequence events, backlog ------------------------------------------------------------------


def test_malformed_lines_counted_and_skipped(replay_set: dict, decoder) -> None:
    packets = replay_set["packets"][:12]
    tag = parse_packet(packets[0]).model_tag
    clean_session, clean = _replay(decoder, _hex(packets))
    lines: list[str] = ["# a comment", "", "   "]
    junk = ["hello world", "abcd", packet_to_hex(packets[0]) + "00",  # hex garbage, 2 bytes, 21 bytes
            packet_to_hex(bytes([0x60]) + packets[1][1:]),  # version 3
            packet_to_hex(_retag(packets[2], tag=(tag + 1) % 256)),
            "zz" * 20, "\x00\xff binary", packet_to_hex(packets[3])[:-2]]
    for k, p in enumerate(packets):
        lines.append(packet_to_hex(p))
        if k < len(junk):
            lines.append(junk[k])
    s, rows = _replay(decoder, lines)
    st = s.stream.stats
    assert [r.seq for r in rows] == list(range(12))
    assert [r.hr_bpm for r in rows] == pytest.approx([r.hr_bpm for r in clean], abs=TOL_BPM)
    assert st.total == 12 + len(junk) and st.valid == 12 and st.malformed == len(junk)
    assert dict(st.malformed_by_reason) == {"hex": 3, "length": 3, "version": 1, "model_tag": 1}
    assert (st.gaps, st.duplicates) == (0, 0)
    assert "malformed=8 (hex=3, length=3, model_tag=1, version=1)" in s.summary().line()
    del clean_session


def test_malformed_file_via_main(replay_set: dict, tmp_path: Path) -> None:
    lines = _hex(replay_set["packets"][:5])
    f = tmp_path / "mixed.txt"
    f.write_bytes(("\n".join(lines[:2] + ["garbage!"] + lines[2:]) + "\n").encode() + b"\xff\xfe\n" + b"1" * 41)
    out, summary = tmp_path / "hr.csv", tmp_path / "s.json"
    rc = receive_cli.main(["--replay", str(f), "--artifacts", str(replay_set["artifacts"]), "--hop", str(HOP),
                           "--csv", str(out), "--summary-json", str(summary)])
    assert rc == 0
    assert [int(r["seq"]) for r in _read_csv(out.read_text())] == list(range(5))
    s = json.loads(summary.read_text())
    assert s["malformed"] == 3 and s["malformed_by_reason"] == {"hex": 3}


def test_wrong_model_tag_refused_per_packet(replay_set: dict, decoder) -> None:
    packets = replay_set["packets"][:10]
    tag = parse_packet(packets[0]).model_tag
    mixed = [(_retag(p, tag=tag ^ 0x5A) if k % 3 == 1 else p) for k, p in enumerate(packets)]
    s, rows = _replay(decoder, _hex(mixed))
    assert [r.seq for r in rows] == [k for k in range(10) if k % 3 != 1]
    st = s.stream.stats
    assert st.malformed_by_reason == {"model_tag": 3} and st.valid == 7
    assert "seq_gap" in rows[1].flags  # seq 2 follows 0: seq 1 is missing
    # A file from another model entirely: every packet refused, nothing decoded, not fatal.
    s2, rows2 = _replay(decoder, _hex([_retag(p, tag=tag ^ 0x5A) for p in packets]))
    assert rows2 == [] and s2.stream.stats.malformed_by_reason == {"model_tag": 10}


def test_gaps_and_duplicates(replay_set: dict, decoder) -> None:
    packets = replay_set["packets"][:16]
    order = [0, 1, 2, 3, 4, 7, 8, 9, 9, 10, 4, 11, 15]  # 5, 6 missing; 9 twice; 4 again; 12-14 missing
    s, rows = _replay(decoder, _hex([packets[k] for k in order]))
    st = s.stream.stats
    assert [r.seq for r in rows] == [0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 15]
    assert (st.gaps, st.missing, st.duplicates) == (2, 5, 2)
    flagged = {r.seq: r.flags_text for r in rows if r.flags}
    assert flagged == {7: "seq_gap", 15: "seq_gap"}
    assert [r.time_s for r in rows] == pytest.approx([(r.seq * HOP + 400) / 25 for r in rows])
    line = s.summary().line()
    assert "gaps=2 missing=5 duplicates=2" in line


def test_backlog_packets_in_order(replay_set: dict, decoder) -> None:
    packets = replay_set["packets"][:20]
    _, clean = _replay(decoder, _hex(packets))
    # After a disconnect the device drains its backlog (flagged, in order), then goes live again.
    stream = packets[:8] + [_retag(p, flags=int(Flag.BACKLOG)) for p in packets[8:14]] + packets[14:]
    s, rows = _replay(decoder, _hex(stream))
    st = s.stream.stats
    assert [r.seq for r in rows] == list(range(20))
    assert [r.flags_text for r in rows[8:14]] == ["backlog"] * 6 and all(not r.flags for r in rows[14:])
    assert (st.backlog, st.gaps, st.duplicates, st.malformed) == (6, 0, 0, 0)
    assert [r.hr_bpm for r in rows] == pytest.approx([r.hr_bpm for r in clean], abs=TOL_BPM)


def test_late_backlog_packets_take_their_place(replay_set: dict, decoder) -> None:
    packets = replay_set["packets"][:20]
    _, clean = _replay(decoder, _hex(packets))
    # Live packets resumed (14..) before the backlog (8..13) was sent: the gap is filled, rows come out ordered.
    stream = packets[:8] + packets[14:16] + [_retag(p, flags=int(Flag.BACKLOG)) for p in packets[8:14]] + packets[16:]
    s, rows = _replay(decoder, _hex(stream))
    st = s.stream.stats
    assert [r.seq for r in rows] == list(range(20))
    assert rows[14].flags == ("seq_gap",)
    assert all(r.flags == ("backlog", "late") for r in rows[8:14])
    assert (st.gaps, st.missing, st.recovered, st.backlog) == (1, 0, 6, 6)
    assert s.late == 6
    assert [r.hr_bpm for r in rows] == pytest.approx([r.hr_bpm for r in clean], abs=TOL_BPM)


def test_sequence_wrap_and_restart(replay_set: dict, decoder) -> None:
    packets = replay_set["packets"][:6]

    def with_seq(p: bytes, seq: int) -> bytes:
        pkt = parse_packet(p)
        return encode_packet(pkt.codes, seq, pkt.model_tag, int(pkt.flags))

    wrapped = [with_seq(p, (65533 + k) % 65536) for k, p in enumerate(packets)]
    s, rows = _replay(decoder, _hex(wrapped))
    assert [r.index for r in rows] == [65533 + k for k in range(6)] and not any(r.flags for r in rows)
    restarted = [with_seq(p, 9000 + k) for k, p in enumerate(packets[:3])] + [with_seq(p, k) for k, p in
                                                                                 enumerate(packets[3:])]
    s, rows = _replay(decoder, _hex(restarted))
    assert [r.index for r in rows] == list(range(9000, 9006))  # the timeline continues after the restart
    assert rows[3].flags == ("resync",) and s.stream.stats.resyncs == 1


def test_header_hop(replay_set: dict, decoder, caplog: pytest.LogCaptureFixture) -> None:
    from ppgcomp.receiver.replay import replay_lines

    lines = ["# ppgcomp packets model_tag=0x00 hop=50 model=" + "ab" * 32] + _hex(replay_set["packets"][:2])
    s = _session(decoder, 200)
    rows = replay_lines(s, lines, adopt_header_hop=True)
    assert s.hop == 50 and [r.time_s for r in rows] == [16.0, 18.0]
    assert "not the local artefacts" in caplog.text
    s = _session(decoder, 200)
    replay_lines(s, lines, adopt_header_hop=False)  # an explicit --hop wins, with a warning
    assert s.hop == 200 and "says hop=50 but --hop is 200" in caplog.text


def test_hop_above_target_uses_all_200(replay_set: dict, decoder) -> None:
    _, rows = _replay(decoder, _hex(replay_set["packets"][:3]), hop=300)
    assert all(r.hr_trace.size == 200 for r in rows)
    assert [r.time_s for r in rows] == pytest.approx([16.0, 28.0, 40.0])


# -- bad command-line input: exit 2, one line, no traceback -------------------------------------------------


@pytest.mark.parametrize("case", ["missing_file", "missing_artifacts", "no_source", "both_sources", "bad_hop",
                                  "live_plot_replay", "bad_reference", "csv_folder_missing", "incomplete_artifacts"])
def test_bad_cli_input(case: str, replay_set: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pf, art = str(replay_set["packets_file"]), str(replay_set["artifacts"])
    incomplete = tmp_path / "art"
    incomplete.mkdir()
    (incomplete / MODEL_INFO_FILE).write_text("{}")
    bad_ref = tmp_path / "ref.csv"
    bad_ref.write_text("a,b\n1,2\n")
    argv = {
        "missing_file": ["--replay", str(tmp_path / "nope.hex"), "--artifacts", art],
        "missing_artifacts": ["--replay", pf, "--artifacts", str(tmp_path / "none")],
        "no_source": ["--artifacts", art],
        "both_sources": ["--replay", pf, "--ble", "ppg", "--artifacts", art],
        "bad_hop": ["--replay", pf, "--artifacts", art, "--hop", "0"],
        "live_plot_replay": ["--replay", pf, "--artifacts", art, "--live-plot"],
        "bad_reference": ["--replay", pf, "--artifacts", art, "--reference", str(bad_ref)],
        "csv_folder_missing": ["--replay", pf, "--artifacts", art, "--csv", str(tmp_path / "no" / "x.csv")],
        "incomplete_artifacts": ["--replay", pf, "--artifacts", str(incomplete)],
    }[case]
    with pytest.raises(SystemExit) if case in ("no_source", "both_sources", "bad_hop") else _no_raise() as exc:
        rc = receive_cli.main(argv)
    rc = exc.value.code if exc is not None else rc
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and err.startswith("receive.py: error: "), err
    assert "Traceback" not in err


class _no_raise:  # reads like pytest.raises
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return False


def test_help_is_clear(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        receive_cli.main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for word in ("--ble", "--replay", "--artifacts", "--hop", "APP_ENCODE_HOP_SAMPLES", "--csv", "--plot",
                 "--reference", "--live-plot", "time_s,seq,hr_bpm,flags"):
        assert word in text
