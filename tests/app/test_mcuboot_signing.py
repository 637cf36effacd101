"""scripts/check_mcuboot_signing.py on build folders laid out as sysbuild writes them, with real imgtool keys and
signatures: a correct chain passes; an image signed with another key, a compiled-in key that is not the key
file's, and a configuration without slot0 validation each fail (exit 1); a folder without MCUboot is bad input
(exit 2). Needs the Zephyr workspace's MCUboot (imgtool); skipped without ZEPHYR_BASE."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "check_mcuboot_signing.py"
KEY = REPO / "app" / "keys" / "dev-ecdsa-p256.pem"
GOOD_CONFIG = {
    "CONFIG_BOOT_SIGNATURE_TYPE_ECDSA_P256": "y",
    "CONFIG_BOOT_VALIDATE_SLOT0": "y",
    "CONFIG_BOOT_SWAP_USING_OFFSET": "y",
}


def _imgtool() -> list[str]:
    zb = os.environ.get("ZEPHYR_BASE")
    script = Path(zb).parent / "bootloader" / "mcuboot" / "scripts" / "imgtool.py" if zb else None
    py = shutil.which("python3")
    if script is None or not script.is_file() or py is None:
        pytest.skip("no Zephyr workspace with MCUboot's imgtool (ZEPHYR_BASE)")
    return [py, str(script)]


def _run(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], check=False, capture_output=True,
                          text=True)


def _build(tmp: Path, tool: list[str], *, sign_key: Path = KEY, compiled_key: Path = KEY,
           config: dict[str, str] = GOOD_CONFIG) -> Path:
    """A sysbuild-shaped folder: mcuboot/zephyr/{.config, autogen-pubkey.c}, app/zephyr/zephyr.signed.bin."""
    build = tmp / "build"
    (build / "mcuboot" / "zephyr").mkdir(parents=True)
    (build / "app" / "zephyr").mkdir(parents=True)
    lines = [f"{k}={v}" for k, v in config.items()] + [f'CONFIG_BOOT_SIGNATURE_KEY_FILE="{KEY}"']
    (build / "mcuboot" / "zephyr" / ".config").write_text("\n".join(lines) + "\n")
    pub = subprocess.run([*tool, "getpub", "-k", str(compiled_key)], capture_output=True, text=True, check=True)
    (build / "mcuboot" / "zephyr" / "autogen-pubkey.c").write_text(pub.stdout)
    raw = tmp / "payload.bin"
    raw.write_bytes(bytes((k * 13 + 1) & 0xFF for k in range(2048)))
    subprocess.run([*tool, "sign", "--key", str(sign_key), "--header-size", "0x200", "--pad-header", "--align", "4",
                    "--version", "1.0.0", "--slot-size", "0x70000", str(raw),
                    str(build / "app" / "zephyr" / "zephyr.signed.bin")], capture_output=True, check=True)
    return build


@pytest.fixture
def tool() -> list[str]:
    return _imgtool()


@pytest.fixture
def other_key(tmp_path: Path, tool: list[str]) -> Path:
    key = tmp_path / "other.pem"
    subprocess.run([*tool, "keygen", "-t", "ecdsa-p256", "-k", str(key)], capture_output=True, check=True)
    return key


def test_the_repository_key_chain_passes(tmp_path: Path, tool: list[str]) -> None:
    r = _run(_build(tmp_path, tool))
    assert r.returncode == 0, r.stdout + r.stderr
    assert ": ok (" in r.stdout


def test_an_image_signed_with_another_key_fails(tmp_path: Path, tool: list[str], other_key: Path) -> None:
    r = _run(_build(tmp_path, tool, sign_key=other_key))
    assert r.returncode == 1
    assert "imgtool verify with the build's key failed" in r.stdout


def test_mcuboot_compiled_with_another_key_fails(tmp_path: Path, tool: list[str], other_key: Path) -> None:
    r = _run(_build(tmp_path, tool, compiled_key=other_key))
    assert r.returncode == 1
    assert "public key compiled into MCUboot is not the key file's" in r.stdout


def test_a_configuration_without_slot0_validation_fails(tmp_path: Path, tool: list[str]) -> None:
    cfg = {**GOOD_CONFIG, "CONFIG_BOOT_VALIDATE_SLOT0": "n"}
    r = _run(_build(tmp_path, tool, config=cfg))
    assert r.returncode == 1
    assert "CONFIG_BOOT_VALIDATE_SLOT0=n (want y)" in r.stdout


def test_a_folder_without_mcuboot_is_bad_input(tmp_path: Path, tool: list[str]) -> None:
    r = _run(tmp_path)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "no mcuboot/zephyr/.config" in r.stderr
