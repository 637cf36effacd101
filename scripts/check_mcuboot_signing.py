#!/usr/bin/env python3
"""Check the MCUboot signing chain of sysbuild builds, without hardware.

    python scripts/check_mcuboot_signing.py BUILD_DIR [BUILD_DIR ...]

Each BUILD_DIR is a `west build --sysbuild` folder (or twister's build folder of a sysbuild scenario) with an
`mcuboot/` image and the app image beside it. For each one it checks that:

- MCUboot is configured as docs/flash_layout.md says: ECDSA P-256 signatures, slot0 validated at every boot,
  swap using offset (with revert), and the key file the build names;
- the public key compiled into MCUboot (`mcuboot/zephyr/autogen-pubkey.c`) is that key's (`imgtool getpub`);
- the signed app (`zephyr.signed.bin`) verifies with that key (`imgtool verify`), and does not verify with a key
  generated here (an image signed with another key is not one MCUboot accepts).

imgtool comes from the Zephyr workspace's MCUboot (ZEPHYR_BASE/../bootloader/mcuboot/scripts/imgtool.py), run
by the workspace's `python3` (its requirements). What only hardware shows (MCUboot booting, swapping and
reverting) is listed in docs/flash_layout.md.

Exit status: 0 every build checked, 1 a check failed, 2 bad input (no such build, no MCUboot image in it, imgtool
missing). One line per build.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WANT = {
    "CONFIG_BOOT_SIGNATURE_TYPE_ECDSA_P256": "y",
    "CONFIG_BOOT_VALIDATE_SLOT0": "y",
    "CONFIG_BOOT_SWAP_USING_OFFSET": "y",
}


class BadInput(Exception):
    """A build folder or a tool that is not there."""


def imgtool() -> list[str]:
    zb = os.environ.get("ZEPHYR_BASE")
    script = Path(zb).parent / "bootloader" / "mcuboot" / "scripts" / "imgtool.py" if zb else None
    py = shutil.which("python3")
    if script is None or not script.is_file() or py is None:
        raise BadInput(f"imgtool.py not found (ZEPHYR_BASE={zb!r}: want ../bootloader/mcuboot/scripts/imgtool.py)")
    return [py, str(script)]


def read_config(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^(CONFIG_\w+)=(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip('"')
    return out


def c_bytes(text: str) -> bytes:
    """The bytes of the first C array initialiser in text (0x.. literals)."""
    body = text[text.index("{") + 1 : text.index("}")]
    return bytes(int(v, 16) for v in re.findall(r"0x([0-9a-fA-F]{1,2})", body))


def find_signed(build: Path) -> Path:
    found = sorted(p for p in build.glob("*/zephyr/zephyr.signed.bin") if p.parts[-3] != "mcuboot")
    if not found:
        raise BadInput(f"{build}: no */zephyr/zephyr.signed.bin (not a sysbuild build with MCUboot?)")
    return found[0]


def check(build: Path, tool: list[str]) -> list[str]:
    """The failed checks of one build (empty: all passed)."""
    cfg_path = build / "mcuboot" / "zephyr" / ".config"
    if not cfg_path.is_file():
        raise BadInput(f"{build}: no mcuboot/zephyr/.config (not a sysbuild build with MCUboot?)")
    cfg = read_config(cfg_path)
    fails = [f"{k}={cfg.get(k, 'unset')} (want {v})" for k, v in WANT.items() if cfg.get(k) != v]
    key = Path(cfg.get("CONFIG_BOOT_SIGNATURE_KEY_FILE", ""))
    if not key.is_file():
        return [*fails, f"CONFIG_BOOT_SIGNATURE_KEY_FILE {str(key)!r} is not a file"]

    getpub = subprocess.run([*tool, "getpub", "-k", str(key)], check=False, capture_output=True, text=True)
    compiled = (build / "mcuboot" / "zephyr" / "autogen-pubkey.c").read_text()
    if getpub.returncode != 0 or c_bytes(getpub.stdout) != c_bytes(compiled):
        fails.append("the public key compiled into MCUboot is not the key file's")

    signed = find_signed(build)
    ok = subprocess.run([*tool, "verify", "-k", str(key), str(signed)], check=False, capture_output=True, text=True)
    if ok.returncode != 0:
        fails.append(f"imgtool verify with the build's key failed: {(ok.stdout + ok.stderr).strip()[-200:]}")
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other.pem"
        subprocess.run([*tool, "keygen", "-t", "ecdsa-p256", "-k", str(other)], check=True, capture_output=True)
        bad = subprocess.run([*tool, "verify", "-k", str(other), str(signed)], check=False, capture_output=True,
                             text=True)
        if bad.returncode == 0:
            fails.append("the signed app also verifies with a freshly generated key")
    return fails


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="Exit status: 0 all checked, 1 a check failed, 2 bad input.")
    ap.add_argument("builds", nargs="+", type=Path, metavar="BUILD_DIR", help="sysbuild build folder(s)")
    args = ap.parse_args(argv)
    try:
        tool = imgtool()
        failed = 0
        for b in args.builds:
            if not b.is_dir():
                raise BadInput(f"{b}: no such build folder")
            fails = check(b, tool)
            failed += bool(fails)
            print(f"mcuboot signing: {b}: " + ("ok (ECDSA P-256, slot0 validated, swap using offset; "
                  "compiled key = key file; signed app verifies with it, not with another key)"
                  if not fails else "FAILED: " + "; ".join(fails)))
    except (BadInput, OSError, ValueError, subprocess.CalledProcessError) as e:
        print(f"check_mcuboot_signing: {e}", file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
