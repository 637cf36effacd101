"""Fixture blobs for the firmware, BabbleSim and Python tests (tests/fixtures/model_blobs/, README there).

``python scripts/make_model_blobs.py [--out DIR]`` writes them, deterministically, from the committed artefacts:

* ``alt_good``: a real, different conv encoder (the shipped float encoder, artifacts/encoder_float.keras, with its
  codes layer's weights scaled by a seeded random factor per tied pair of rows and output, quantized as the
  exporter does and converted by the real TFLite converter, calibrated on seeded synthetic windows): the
  built-in model's ops, shapes and quantization, another tag, its own golden windows. Also ``alt_good.tflite`` and ``alt_good.h`` (its codes for the 8 golden windows of
  tests/golden/ppg_golden_vectors.h).
* one blob per refusal reason, each correctly hashed except where the hash is the fault (:data:`FIXTURES`).

Every blob is checked here with :func:`ppgcomp.export.model_blob.parse` (``run_model``): refused for its intended
reason, or accepted.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ppgcomp.constants import (
    ARTIFACTS_DIR,
    BLOB_GOLDEN_WINDOWS,
    CODE_LEN,
    ENCODER_FLOAT_FILE,
    GOLDEN_VECTORS_FILE,
    MODEL_BLOB_FIXTURES_DIR,
    REPO_ROOT,
    TFLITE_FILE,
    WINDOW_LEN,
)
from ppgcomp.export import model_blob, tflm_host
from ppgcomp.export.model_blob import BlobError, ModelErr

log = logging.getLogger(__name__)

COMMAND = "python scripts/make_model_blobs.py"
SEED = 23  # issue #23
PERTURB = 0.3  # the codes layer's weights are scaled by 1 + PERTURB * N(0, 1)
REPRESENTATIVE = {"subjects": 2, "minutes": 3.0, "seed": 7}  # synthetic windows for the converter's calibration
BIG_CHANNELS = 128  # big_arena: a 1x1 CONV_2D to [1,1,50,128] (6,400 int8 activations: beyond the 2 KB arena)


@dataclass(frozen=True)
class Fixture:
    name: str
    reason: ModelErr  # OK: the device takes it
    what: str


FIXTURES = (
    Fixture("alt_good", ModelErr.OK, "a real different encoder (same ops and shapes, another tag)"),
    Fixture("corrupt", ModelErr.HASH, "alt_good with one .tflite byte flipped after hashing (blob_sha256 wrong)"),
    Fixture("bad_hash", ModelErr.HASH, "alt_good with model_sha256 wrong (blob_sha256 recomputed)"),
    Fixture("bad_op", ModelErr.OP, "a real model with a TANH after the codes (the firmware does not register it)"),
    Fixture("big_arena", ModelErr.ARENA, f"a real model with a [1,1,50,{BIG_CHANNELS}] activation, its header "
            "claiming a 1,024-byte arena"),
    Fixture("bad_golden", ModelErr.GOLDEN, "alt_good with the built-in model's golden codes"),
    Fixture("truncated", ModelErr.TRUNCATED, "alt_good cut in the middle of the model"),
    Fixture("bad_version", ModelErr.VERSION, "alt_good with format_version 2"),
    Fixture("misaligned", ModelErr.HEADER, "alt_good with the model at offset 120 (not a multiple of 16)"),
    Fixture("too_large", ModelErr.TOO_LARGE, "a header alone claiming 16,353 bytes (one more than a slot takes)"),
)


class FixtureError(RuntimeError):
    """A fixture is not refused for its intended reason (or the artefacts are missing)."""


def representative_windows() -> np.ndarray:
    """Float windows (what the int8 input dequantizes to) of a few seeded synthetic subjects: the converter's
    calibration set."""
    from ppgcomp.data.synthetic import SyntheticConfig, synthetic_dataset
    from ppgcomp.data.windows import make_windows

    return make_windows(synthetic_dataset(SyntheticConfig(**REPRESENTATIVE))).x


def _float_encoder(artifacts: Path):
    import ppgcomp.training.models  # noqa: F401 - registers the custom layers and constraints for loading
    from ppgcomp.tfenv import keras

    return keras.models.load_model(artifacts / ENCODER_FLOAT_FILE, compile=False)


def perturbed_encoder(artifacts: Path, seed: int = SEED):
    """The shipped float encoder with its codes layer's kernel scaled by a seeded factor per (tied pair of input
    rows, output): the pairs stay tied, the decimator and filter bank stay as they are."""
    from ppgcomp.training.models import CODES_LAYER

    enc = _float_encoder(artifacts)
    layer = enc.get_layer(CODES_LAYER)
    kernel, bias = layer.get_weights()  # [128, 16], [16]
    rng = np.random.default_rng(seed)
    factor = 1.0 + PERTURB * rng.standard_normal((kernel.shape[0] // 2, kernel.shape[1]))
    layer.set_weights([(kernel * np.repeat(factor, 2, axis=0)).astype(np.float32), bias])
    return enc


def _convert(encoder, rep: np.ndarray) -> bytes:
    """The real TFLite converter (the exporter's conv path, RESHAPEs folded), without the contract check."""
    from ppgcomp.export.convert import convert_to_tflite
    from ppgcomp.export.fold import fold_reshapes

    return fold_reshapes(convert_to_tflite(encoder, rep))


def alt_model(artifacts: Path, rep: np.ndarray) -> bytes:
    """The perturbed encoder quantized as the exporter does (training.qat: input range pinned to the spec, ABS at
    its input's scale, ranges calibrated on `rep`; no QAT epochs), converted and checked."""
    from ppgcomp.export.convert import inspect_tflite
    from ppgcomp.training.qat import quantize_encoder

    data = _convert(quantize_encoder(perturbed_encoder(artifacts), rep), rep)
    inspect_tflite(data)  # the firmware's contract (ops, layouts, int8 in/out, input quantization)
    return data


def tanh_model(artifacts: Path, rep: np.ndarray) -> bytes:
    """alt_good's encoder with a TANH on its codes: TANH is an op the firmware does not register."""
    from ppgcomp.tfenv import keras

    enc = perturbed_encoder(artifacts)
    return _convert(keras.Model(enc.input, keras.layers.Activation("tanh")(enc.output)), rep)


def big_arena_model(rep: np.ndarray, seed: int = SEED) -> bytes:
    """A real conv model with the firmware's ops only whose activations do not fit the device's arena: the window
    [1,1,50,8] -> 1x1 CONV_2D to BIG_CHANNELS channels -> 1x1 CONV_2D to 2 -> ABS -> FULLY_CONNECTED 100 -> 16."""
    from ppgcomp.tfenv import keras, set_seed
    from ppgcomp.training.models import CONV_INPUT_SHAPE, DECIMATE_LAYER, FILTER_LAYER, Abs

    set_seed(seed)
    inp = keras.Input((WINDOW_LEN,), name="ppg_window")
    x = keras.layers.Reshape(CONV_INPUT_SHAPE)(inp)
    x = keras.layers.Conv2D(BIG_CHANNELS, 1, name=DECIMATE_LAYER)(x)
    x = keras.layers.Conv2D(2, 1, name=FILTER_LAYER)(x)  # the layer name selects the conv conversion
    x = Abs()(x)
    x = keras.layers.Reshape((2 * CONV_INPUT_SHAPE[1],))(x)
    x = keras.layers.Dense(CODE_LEN, activation="relu")(x)
    return _convert(keras.Model(inp, x), rep)


def _flip(blob: bytes, pos: int) -> bytes:
    return blob[:pos] + bytes([blob[pos] ^ 0x01]) + blob[pos + 1 :]


def make(artifacts: Path = REPO_ROOT / ARTIFACTS_DIR) -> dict[str, bytes]:
    """Every fixture's bytes by file name (the blobs, alt_good.tflite and alt_good.h)."""
    from ppgcomp.export.verify import emitted_arena

    with np.load(artifacts / GOLDEN_VECTORS_FILE) as z:
        gq, builtin_codes = z["q"], z["codes"]
    q = gq[:BLOB_GOLDEN_WINDOWS]
    rep = representative_windows()
    alt = alt_model(artifacts, rep)
    builtin = (artifacts / TFLITE_FILE).read_bytes()
    if hashlib.sha256(alt).digest()[0] == hashlib.sha256(builtin).digest()[0]:
        raise FixtureError("the alt model's tag equals the built-in model's: change SEED")
    alt_arena = emitted_arena(tflm_host.arena_used(alt))
    good = model_blob.build_blob(alt, q, tflm_host.codes(alt, q), alt_arena)
    tanh = tanh_model(artifacts, rep)
    big = big_arena_model(rep)
    h = model_blob.Header.unpack(good)
    out = {
        "alt_good.blob": good,
        "corrupt.blob": _flip(good, h.model_offset + h.model_len // 2),
        "bad_hash.blob": model_blob.build_blob(alt, q, tflm_host.codes(alt, q), alt_arena,
                                               model_sha256=hashlib.sha256(alt + b"x").digest()),
        "bad_op.blob": model_blob.build_blob(tanh, q, tflm_host.codes(tanh, q), alt_arena),
        "big_arena.blob": model_blob.build_blob(big, q, tflm_host.codes(big, q), 1024),
        "bad_golden.blob": model_blob.build_blob(alt, q, builtin_codes[:BLOB_GOLDEN_WINDOWS], alt_arena),
        "truncated.blob": good[: h.model_offset + h.model_len // 2],
        "bad_version.blob": model_blob.build_blob(alt, q, tflm_host.codes(alt, q), alt_arena, format_version=2),
        "misaligned.blob": model_blob.build_blob(alt, q, tflm_host.codes(alt, q), alt_arena, model_offset=120),
        "too_large.blob": model_blob.rehash(dataclasses.replace(h, total_len=model_blob.MAX_TOTAL_LEN + 1).pack()),
        "alt_good.tflite": alt,
        "alt_good.h": alt_header(alt, gq).encode(),
    }
    check(out, allowed_ops=set(model_blob.tflite_op_codes(builtin)))
    return out


def alt_header(alt: bytes, gq: np.ndarray) -> str:
    """C header: alt_good's identity and its codes for the golden windows of tests/golden/ppg_golden_vectors.h."""
    from ppgcomp.export.convert import inspect_tflite

    sha = hashlib.sha256(alt).hexdigest()
    m = inspect_tflite(alt)
    rows = "\n".join("\t{ " + ", ".join(str(int(c)) for c in row) + " }," for row in tflm_host.codes(alt, gq))
    return f"""/*
 * Generated by `{COMMAND}`. Do not edit: re-run it.
 * The alt_good fixture model (alt_good.blob, alt_good.tflite): its identity and the int8 codes TFLM gives for
 * the golden windows golden_window_q of tests/golden/ppg_golden_vectors.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#ifndef PPG_ALT_GOOD_H_
#define PPG_ALT_GOOD_H_

#include <stdint.h>

#define ALT_GOOD_SHA256_HEX "{sha}"
#define ALT_GOOD_TAG 0x{sha[:2]}U
#define ALT_GOOD_TFLITE_LEN {len(alt)}
#define ALT_GOOD_GOLDEN_WINDOWS {gq.shape[0]}
/* Its quantization (what Model info reports while it is the active model). */
#define ALT_GOOD_INPUT_SCALE {float(np.float32(m.input_scale))!r}f
#define ALT_GOOD_INPUT_ZERO_POINT ({m.input_zero_point})
#define ALT_GOOD_OUTPUT_SCALE {float(np.float32(m.output_scale))!r}f
#define ALT_GOOD_OUTPUT_ZERO_POINT ({m.output_zero_point})

static const int8_t alt_good_golden_codes[ALT_GOOD_GOLDEN_WINDOWS][{CODE_LEN}] = {{
{rows}
}};

#endif /* PPG_ALT_GOOD_H_ */
"""


def check(files: dict[str, bytes], allowed_ops: set[int]) -> None:
    """Every blob is refused for its intended reason by the host validator (all six checks), alt_good accepted."""
    for fx in FIXTURES:
        try:
            model_blob.parse(files[f"{fx.name}.blob"], allowed_ops=allowed_ops, run_model=True)
            got = ModelErr.OK
        except BlobError as e:
            got = e.reason
        if got != fx.reason:
            raise FixtureError(f"{fx.name}.blob: {got.name}, want {fx.reason.name}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write the fixture blobs (tests/fixtures/model_blobs/README.md) from "
                                "the committed artefacts, deterministically, and check each one's refusal reason.")
    p.add_argument("--artifacts", type=Path, default=REPO_ROOT / ARTIFACTS_DIR, help="artefact folder")
    p.add_argument("--out", type=Path, default=REPO_ROOT / MODEL_BLOB_FIXTURES_DIR, help="where the fixtures go")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        files = make(args.artifacts)
    except (FixtureError, OSError) as e:
        print(f"make_model_blobs.py: error: {e}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (args.out / name).write_bytes(data)
    sha = hashlib.sha256(files["alt_good.tflite"]).hexdigest()
    print(f"wrote {len(files)} files to {args.out}; alt_good tag 0x{sha[:2]}, SHA-256 {sha}")
    return 0
