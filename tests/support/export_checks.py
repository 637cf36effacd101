"""The checks of one train-and-export run's outputs (report, artefacts, bit-exactness, the emitted C compiled with
host gcc), shared by tests/ppgcomp/training/test_train_export_quick.py (one process) and test_train_distributed.py
(two workers). Each takes the report dict of the `quick_export` fixture (with its "_dirs")."""

import hashlib
import json
import re
import subprocess

import numpy as np
import pytest

from ppgcomp.constants import (
    ARENA_BUDGET_BYTES,
    CODE_LEN,
    GOLDEN_VECTORS_FILE,
    MODEL_INFO_FILE,
    TFLITE_FILE,
    WINDOW_LEN,
)


def check_report_figures(quick_export):
    r = quick_export
    v = r["verification"]
    assert v["tflm_vs_tflite_mismatched_codes"] == 0
    # The Keras fake-quant model and the int8 kernels round |x| (ABS at its input's scale) and the per-channel
    # CONV_2D requantization slightly differently: at most 2 LSB apart on any code (the dense encoder: 1).
    assert v["keras_max_lsb"] <= 2
    # The host measures with 64-bit pointers; the emitted arena is capped at the device budget (export.verify).
    assert 0 < v["arena_used_bytes"] and 0 < v["arena_bytes"] <= ARENA_BUDGET_BYTES
    m = r["model"]
    assert m["arch"] == "conv" and m["tflite_bytes"] <= 16 * 1024
    assert m["ops"] == ["ABS", "CONV_2D", "FULLY_CONNECTED"]  # the converter's two RESHAPEs are folded away
    assert m["op_list"] == ["CONV_2D", "CONV_2D", "ABS", "FULLY_CONNECTED"]
    assert m["input_shape"] == [1, 1, 50, 8]  # the 400 int8 samples, 8 per pixel
    # decimator 50 x 4 outputs x 8 inputs, filters 4 segments x 32 x 80 taps, codes 16 x 128
    assert m["macs"] == 50 * 4 * 8 + 4 * 32 * 80 + 16 * 128
    assert r["compression"]["packet_bytes"] == 20
    assert r["compression"]["per_hop"]["device default hop 8 s"]["ratio"] == 20.0
    for key in ("raw_ppg", "float_autoencoder", "int8_codes"):
        assert np.isfinite(r["hr_mae_bpm"][key]) and r["hr_mae_bpm"][key] > 0
    assert set(r["training"]["epochs_run"]) == {"1_autoencoder", "2_hr_raw", "3_end_to_end", "4_qat_encoder"}


def check_artifacts_and_plots_exist(quick_export):
    art = quick_export["_dirs"]["artifacts"]
    # the names themselves, as the README and the receiver's users know them (ppgcomp.constants spells them once)
    for name in ("encoder_int8.tflite", "decoder.keras", "hr_model.keras", "model_info.json", "report.md",
                 "golden_vectors.npz", "plots/training_curves.png", "plots/reconstructions.png", "plots/hr_traces.png"):
        assert (art / name).is_file(), name
    info = json.loads((art / MODEL_INFO_FILE).read_text())
    data = (art / TFLITE_FILE).read_bytes()
    assert info["sha256"] == hashlib.sha256(data).hexdigest() == quick_export["model"]["sha256"]
    assert info["tag"] == hashlib.sha256(data).digest()[0]


def check_tflm_and_tflite_agree_on_fresh_windows(quick_export):
    """Independent of the pipeline's own check: random and adversarial int8 windows, both runtimes."""
    from ppgcomp.export.convert import inspect_tflite
    from ppgcomp.export.verify import tflite_disagreement, tflm_codes

    model = inspect_tflite((quick_export["_dirs"]["artifacts"] / TFLITE_FILE).read_bytes())
    rng = np.random.default_rng(7)
    q = rng.integers(-128, 128, (200, WINDOW_LEN)).astype(np.int8)
    q[0] = -128
    q[1] = 127
    q[2, ::2] = 127
    # every window's TFLM codes equal TFLite's optimized or its reference kernels' (they differ on CONV_2D rounding)
    assert not tflite_disagreement(model, q, tflm_codes(model, q)).any()


def check_golden_codes_reproduce(quick_export):
    from ppgcomp.dsp.decimate import decimate
    from ppgcomp.dsp.preprocess import preprocess_windows
    from ppgcomp.export.convert import inspect_tflite
    from ppgcomp.export.verify import tflite_disagreement, tflm_codes

    g = np.load(quick_export["_dirs"]["artifacts"] / GOLDEN_VECTORS_FILE)
    m = int(g["sensor_rate_hz"]) // 25
    assert (decimate(g["raw"], m) == g["decimated"]).all()
    hop = int(g["hop"])
    windows = np.stack([g["decimated"][k * hop : k * hop + WINDOW_LEN] for k in range(g["q"].shape[0])])
    assert (preprocess_windows(windows) == g["q"]).all()
    model = inspect_tflite((quick_export["_dirs"]["artifacts"] / TFLITE_FILE).read_bytes())
    assert (tflm_codes(model, g["q"]) == g["codes"]).all()
    assert not tflite_disagreement(model, g["q"], g["codes"]).any()
    assert g["codes"].shape == (8, CODE_LEN)


C_MAIN = r"""
#include <stdint.h>
#include <stdio.h>
#include "ppg_encoder_model.h"
#include "ppg_golden_vectors.h"
static const uint8_t sha[32] = PPG_MODEL_SHA256_BYTES;
#define STR(x) #x
int main(int argc, char **argv) {
	FILE *f = fopen(argv[1], "wb");
	fwrite(ppg_encoder_model_data, 1, PPG_MODEL_DATA_LEN, f);
	fclose(f);
	printf("rate=%d window=%d warmup=%d hop=%d code_len=%d\n", PPG_MODEL_SAMPLE_RATE_HZ, PPG_MODEL_WINDOW_LEN,
	       PPG_MODEL_WARMUP_LEN, PPG_MODEL_TRAIN_HOP_LEN, PPG_MODEL_CODE_LEN);
	printf("in_scale=%.9g in_zp=%d out_scale=%.9g out_zp=%d\n", (double)PPG_MODEL_INPUT_SCALE,
	       PPG_MODEL_INPUT_ZERO_POINT, (double)PPG_MODEL_OUTPUT_SCALE, PPG_MODEL_OUTPUT_ZERO_POINT);
	printf("tag=%u sha0=%u arena=%d macs=%d ops=%d aligned=%d\n", PPG_MODEL_TAG, sha[0], PPG_MODEL_ARENA_BYTES,
	       PPG_MODEL_MACS, PPG_MODEL_OP_COUNT, (int)((uintptr_t)ppg_encoder_model_data % 16 == 0));
	printf("sha=%s golden_tag=%u golden0=%d\n", PPG_MODEL_SHA256_HEX, GOLDEN_MODEL_TAG, golden_codes[0][0]);
#define NAME(op) printf("op=%s\n", #op);
	PPG_MODEL_FOR_EACH_OP(NAME)
	return argc > 5;
}
"""


def check_emitted_c_compiles_and_matches_report(quick_export, tmp_path):
    d = quick_export["_dirs"]
    (tmp_path / "main.c").write_text(C_MAIN)
    exe = tmp_path / "probe"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", str(d["model"]), "-I", str(d["golden"]),
                    str(tmp_path / "main.c"), str(d["model"] / "ppg_encoder_model.c"), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe), str(tmp_path / "model.bin")], check=True, capture_output=True, text=True).stdout
    vals = dict(re.findall(r"(\w+)=(\S+)", out))
    m, v = quick_export["model"], quick_export["verification"]
    assert (tmp_path / "model.bin").read_bytes() == (d["artifacts"] / TFLITE_FILE).read_bytes()
    assert vals["rate"] == "25" and vals["window"] == "400" and vals["warmup"] == "200" and vals["code_len"] == "16"
    assert float(vals["in_scale"]) == pytest.approx(m["input_scale"], rel=1e-7)
    assert int(vals["in_zp"]) == m["input_zero_point"] == -128
    assert float(vals["out_scale"]) == pytest.approx(m["output_scale"], rel=1e-7)
    assert int(vals["out_zp"]) == m["output_zero_point"]
    assert int(vals["tag"]) == int(vals["sha0"]) == int(vals["golden_tag"]) == m["tag"]
    assert vals["sha"] == m["sha256"]
    assert int(vals["arena"]) == v["arena_bytes"] and int(vals["macs"]) == m["macs"]
    assert vals["aligned"] == "1" and vals["ops"] == "3"
    assert re.findall(r"^op=(\w+)$", out, re.MULTILINE) == ["Abs", "Conv2D", "FullyConnected"]
    g = np.load(d["artifacts"] / GOLDEN_VECTORS_FILE)
    assert int(vals["golden0"]) == int(g["codes"][0][0])
    kconfig = (d["model"] / "Kconfig.model").read_text()
    assert f"default {v['arena_bytes']}" in kconfig
    # the op symbols modules/tflm compiles the kernels by
    assert re.findall(r"^config PPG_MODEL_OP_(\w+)$", kconfig, re.MULTILINE) == m["ops"]
