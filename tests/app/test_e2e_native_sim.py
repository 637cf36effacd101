"""Hardware-free end to end: the Zephyr app on native_sim, fed a held-out recording, decoded by receive.py.

Skipped (with the reason) unless a Zephyr workspace is present (ZEPHYR_BASE, or a west workspace whose manifest
repository is this repo) and ``west build -b native_sim app`` succeeds. Set PPG_E2E_REQUIRE=1 (CI with a
workspace) to turn those skips into failures. The receiver uses artifacts/, which must be the model compiled into
the app (lib/encoder_model); PPG_E2E_MODEL_DIR=DIR (passed to the build as PPG_MODEL_DIR) and PPG_E2E_ARTIFACTS=DIR
test another export and its artefacts (e.g. a fresh export before committing it), PPG_E2E_APP=DIR another app copy.

Checks: the app exits 0 at the end of the replay file; exactly one packet per window, in order (seq 0..n-1);
the HR MAE against the known HR is within 0.5 bpm of the Python reference's figure (make_replay); and, reported
rather than asserted, whether the packets equal the Python reference packets byte for byte.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

from ppgcomp.constants import DEVICE_DEFAULT_HOP, FIRMWARE_MODEL_DIR
from ppgcomp.protocol.packet import parse_hex_line, parse_packet
from ppgcomp.receiver import cli as receive_cli
from ppgcomp.replay import make_replay

REPO = Path(__file__).resolve().parents[2]
APP = Path(os.environ.get("PPG_E2E_APP", REPO / "app"))
MODEL_DIR = Path(os.environ.get("PPG_E2E_MODEL_DIR", REPO / FIRMWARE_MODEL_DIR))
ARTIFACTS = Path(os.environ.get("PPG_E2E_ARTIFACTS", REPO / "artifacts"))
MAE_TOLERANCE_BPM = 0.5
BUILD_TIMEOUT_S = 3600
RUN_TIMEOUT_S = 1800


def _skip(reason: str) -> None:
    if os.environ.get("PPG_E2E_REQUIRE") == "1":
        pytest.fail(f"PPG_E2E_REQUIRE=1 but: {reason}")
    pytest.skip(reason)


def _west() -> str | None:
    venv_west = REPO / ".venv" / "bin" / "west"
    return shutil.which("west") or (str(venv_west) if venv_west.is_file() else None)


def zephyr_workspace() -> tuple[str | None, str]:
    """(ZEPHYR_BASE, "") for a usable workspace, else (None, why not)."""
    zb = os.environ.get("ZEPHYR_BASE")
    if zb:
        return (zb, "") if Path(zb).is_dir() else (None, f"ZEPHYR_BASE={zb} is not a folder")
    west = _west()
    if west is None:
        return None, "no Zephyr workspace: ZEPHYR_BASE is unset and west is not installed"
    try:
        top = subprocess.run([west, "topdir"], cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
        man = subprocess.run([west, "manifest", "--path"], cwd=REPO, capture_output=True, text=True, timeout=60,
                             check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"no Zephyr workspace: west failed ({e})"
    if top.returncode != 0 or man.returncode != 0:
        return None, "no Zephyr workspace: ZEPHYR_BASE is unset and `west topdir` finds none (west init -l; west update)"
    if Path(man.stdout.strip()).resolve().parent != REPO.resolve():
        return None, f"the west workspace at {top.stdout.strip()} does not use this repo as its manifest repository"
    zb = Path(top.stdout.strip()) / "zephyr"
    return (str(zb), "") if zb.is_dir() else (None, f"west workspace without zephyr/ ({zb}); run west update")


def _firmware_model_sha() -> str | None:
    header = MODEL_DIR / "ppg_encoder_model.h"
    m = re.search(r'PPG_MODEL_SHA256_HEX\s+"([0-9a-f]{64})"', header.read_text()) if header.is_file() else None
    return m.group(1) if m else None


def _image_dir(build: Path) -> Path:
    """build/zephyr, or build/app/zephyr when sysbuild built the app as the image named 'app'."""
    for d in (build / "zephyr", build / "app" / "zephyr"):
        if (d / "zephyr.exe").is_file():
            return d
    return build / "zephyr"


def _kconfig_hop(build: Path) -> int:
    config = _image_dir(build) / ".config"
    text = config.read_text() if config.is_file() else ""
    m = re.search(r"^CONFIG_APP_ENCODE_HOP_SAMPLES=(\d+)$", text, re.MULTILINE)
    return int(m.group(1)) if m else DEVICE_DEFAULT_HOP


@pytest.fixture(scope="module")
def native_sim_exe(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Build the app for native_sim; returns (zephyr.exe, build folder)."""
    zb, why = zephyr_workspace()
    if zb is None:
        _skip(why)
    if not (APP / "CMakeLists.txt").is_file():
        _skip(f"{APP}/CMakeLists.txt is missing: no Zephyr application to build yet")
    west = _west()
    if west is None:
        _skip("west is not installed (needed for `west build`)")
    build = tmp_path_factory.mktemp("native_sim") / "build"
    cmd = [west, "build", "--no-sysbuild", "-b", "native_sim", str(APP), "-d", str(build), "--",
           f"-DPPG_MODEL_DIR={MODEL_DIR}"]
    try:
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False,
                              env={**os.environ, "ZEPHYR_BASE": zb, "ZEPHYR_TOOLCHAIN_VARIANT": "host"})
    except subprocess.TimeoutExpired:
        _skip(f"`{' '.join(cmd)}` did not finish in {BUILD_TIMEOUT_S} s")
    exe = _image_dir(build) / "zephyr.exe"
    if proc.returncode != 0 or not exe.is_file():
        log = proc.stdout + proc.stderr
        errors = [ln.strip() for ln in log.splitlines() if re.search(r"error|undefined reference|No module", ln)]
        hint = (" (west's Python lacks Zephyr's requirements: source the workspace's environment, e.g. "
                "zephyr-env.sh, or pip install -r $ZEPHYR_BASE/scripts/requirements.txt)"
                if "No module named" in log else "")
        _skip(f"native_sim build of {APP} failed (rc {proc.returncode}){hint}: " + " | ".join(errors[:6])[:1500])
    return exe, build


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """The committed artefacts, which must be the model compiled into the firmware."""
    info = ARTIFACTS / "model_info.json"
    if not info.is_file():
        _skip(f"{info} is missing: commit the default model (scripts/train_export.py)")
    fw = _firmware_model_sha()
    local = json.loads(info.read_text()).get("sha256")
    if fw is None or fw != local:
        _skip(f"{ARTIFACTS} (model {str(local)[:16]}) is not the model in {MODEL_DIR} (model {str(fw)[:16]}): "
              "export both from the same run")
    return ARTIFACTS


def test_native_sim_end_to_end(artifacts: Path, native_sim_exe: tuple[Path, Path], tmp_path: Path,
                               record_property: pytest.RecordProperty) -> None:
    exe, build = native_sim_exe
    hop = _kconfig_hop(build)
    ref_dir = tmp_path / "reference"
    assert make_replay.main(["--artifacts", str(artifacts), "--out", str(ref_dir), "--hop", str(hop)]) == 0
    expected = json.loads((ref_dir / make_replay.EXPECTED_FILE).read_text())

    packets_out = tmp_path / "native_sim_packets.hex"
    proc = subprocess.run([str(exe), f"--ppg-file={ref_dir / make_replay.REPLAY_FILE}",
                           f"--packets-out={packets_out}"], capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                          check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert packets_out.is_file(), "the app wrote no --packets-out file"

    summary_path, csv_path = tmp_path / "summary.json", tmp_path / "hr.csv"
    rc = receive_cli.main(["--replay", str(packets_out), "--artifacts", str(artifacts), "--hop", str(hop),
                           "--reference", str(ref_dir / make_replay.REFERENCE_FILE), "--csv", str(csv_path),
                           "--summary-json", str(summary_path), "--plot", str(tmp_path / "hr.png")])
    assert rc == 0
    summary = json.loads(summary_path.read_text())

    def packets(path: Path) -> list[bytes]:
        return [b for b in map(parse_hex_line, path.read_text().splitlines()) if b is not None]

    device, python = packets(packets_out), packets(ref_dir / make_replay.PACKETS_FILE)
    seqs = [parse_packet(p).seq for p in device]
    assert summary["malformed"] == 0 and summary["duplicates"] == 0 and summary["gaps"] == 0
    assert seqs == list(range(expected["packets"])), "not exactly one packet per window, in order"

    mae, want = summary["hr_mae_bpm"], expected["hr_mae_bpm"]
    record_property("hr_mae_bpm_native_sim", mae)
    record_property("hr_mae_bpm_python_reference", want)
    assert abs(mae - want) <= MAE_TOLERANCE_BPM, f"HR MAE {mae:.3f} bpm vs Python reference {want:.3f} bpm"

    differing = [k for k, (a, b) in enumerate(zip(device, python)) if a != b]
    record_property("packets_identical", not differing and len(device) == len(python))
    record_property("packets_differing", len(differing))
    if differing:
        k = differing[0]
        warnings.warn(f"native_sim packets differ from the Python reference in {len(differing)} of {len(python)} "
                      f"packets (first: seq {k}: {device[k].hex()} vs {python[k].hex()})", stacklevel=1)
    print(f"native_sim e2e: {len(device)} packets, HR MAE {mae:.3f} bpm (Python reference {want:.3f}); "
          f"byte-identical to the Python reference: {not differing}")
