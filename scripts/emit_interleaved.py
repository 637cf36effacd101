#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write ppg_encoder_fc_interleaved.{h,c} (weights for CONFIG_TFLM_KERNELS_PPG_FC) from the int8 encoder.

The model is read from --tflite (default artifacts/encoder_int8.tflite) or, when that file does not exist,
from the committed C array in <out>/ppg_encoder_model.c, so that the interleaved weights always belong to the
committed model:

    python scripts/emit_interleaved.py                 # -> app/src/model/ppg_encoder_fc_interleaved.{h,c}
    python scripts/emit_interleaved.py --tflite artifacts/encoder_int8.tflite --out app/src/model
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ppgcomp.interleave import InterleaveError, emit_interleaved

log = logging.getLogger("emit_interleaved")


def model_from_c(path: Path) -> bytes:
    """The bytes of ppg_encoder_model_data in a generated ppg_encoder_model.c."""
    text = path.read_text()
    start = text.index("{", text.index("ppg_encoder_model_data"))
    body = text[start : text.index("}", start)]
    return bytes(int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]{2})", body))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tflite", type=Path, default=ROOT / "artifacts" / "encoder_int8.tflite",
                    help="int8 encoder .tflite (default artifacts/encoder_int8.tflite)")
    ap.add_argument("--out", type=Path, default=ROOT / "app" / "src" / "model",
                    help="output directory (default app/src/model)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s")

    if args.tflite.is_file():
        data, src = args.tflite.read_bytes(), args.tflite
    else:
        src = args.out / "ppg_encoder_model.c"
        log.info("%s not found: using the committed model in %s", args.tflite, src)
        data = model_from_c(src)
    try:
        rel = src.resolve().relative_to(ROOT)
    except ValueError:
        rel = src
    command = f"python scripts/emit_interleaved.py  # from {rel}"
    try:
        for path in emit_interleaved(data, args.out, command):
            print(path)
    except InterleaveError as exc:
        log.error("the PPG FC kernel cannot run this model: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
