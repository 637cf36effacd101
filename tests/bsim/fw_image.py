"""A small MCUboot image for the BabbleSim update test: signed with imgtool, its SHA-256 TLV read back.

The test central uploads it into slot 1 with MCUmgr's image management and checks that `image list` reports the
hash that ppgcomp-update's image check (`ppgcomp.update.image.check_image`) reads from the image's TLV area and
checks against the image's own bytes. The payload is not a program (MCUboot does not run on nrf5340bsim; image
management only checks the header's magic on upload and reads the header and TLVs for the list), deterministic,
`size` bytes.

By hand: `python tests/bsim/fw_image.py OUT.bin` (prints the hash).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ppgcomp.update.errors import BadInputError
from ppgcomp.update.image import check_image

REPO = Path(__file__).resolve().parents[2]
KEY = REPO / "app" / "keys" / "dev-ecdsa-p256.pem"  # the repository's development key (app/keys/README.md)
HEADER_SIZE = 0x200
SLOT_SIZE = 0x70000  # slot1_partition (docs/flash_layout.md)
VERSION = "1.2.3+4"


class ImageError(RuntimeError):
    """imgtool is missing or failed, or the image it wrote is not what MCUboot reads."""


def imgtool_command() -> list[str]:
    """`python imgtool.py` of the Zephyr workspace's MCUboot (ZEPHYR_BASE/../bootloader/mcuboot), run by the
    workspace's Python (the `python3` on PATH after sourcing its environment: imgtool's requirements)."""
    zb = os.environ.get("ZEPHYR_BASE")
    script = Path(zb).parent / "bootloader" / "mcuboot" / "scripts" / "imgtool.py" if zb else None
    py = shutil.which("python3")
    if script is None or not script.is_file() or py is None:
        raise ImageError(f"imgtool.py not found (ZEPHYR_BASE={zb!r}: want ../bootloader/mcuboot/scripts/imgtool.py)")
    return [py, str(script)]


def make_image(out: Path, size: int = 3000) -> tuple[bytes, bytes]:
    """Signs a deterministic `size`-byte payload into `out`; returns (image bytes, its SHA-256 TLV)."""
    raw = out.with_suffix(".raw")
    raw.write_bytes(bytes((k * 7 + 3) & 0xFF for k in range(size)))
    cmd = [*imgtool_command(), "sign", "--key", str(KEY), "--header-size", hex(HEADER_SIZE), "--pad-header",
           "--align", "4", "--version", VERSION, "--slot-size", hex(SLOT_SIZE), str(raw), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ImageError(f"imgtool failed (rc {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-500:]}")
    image = out.read_bytes()
    try:  # ppgcomp-update's own check: header, TLV area, the SHA-256 TLV against the image's bytes
        return image, check_image(image, str(out)).sha256
    except BadInputError as e:
        raise ImageError(str(e)) from None


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: fw_image.py OUT.bin", file=sys.stderr)
        sys.exit(2)
    try:
        img, digest = make_image(Path(sys.argv[1]))
    except ImageError as e:
        print(f"fw_image: {e}", file=sys.stderr)
        sys.exit(2)
    print(f"{len(img)} bytes, sha256 {digest.hex()}")
