"""The committed fixture blobs (tests/fixtures/model_blobs/): each refused for its reason, alt_good a real model
the firmware can run, and the files exactly what scripts/make_model_blobs.py makes."""

import hashlib
import re
import subprocess
import sys

import numpy as np
import pytest

from ppgcomp.constants import ARTIFACTS_DIR, GOLDEN_VECTORS_FILE, MODEL_BLOB_FIXTURES_DIR, REPO_ROOT, TFLITE_FILE
from ppgcomp.export import blob_fixtures, model_blob, tflm_host
from ppgcomp.export.model_blob import BlobError, ModelErr

DIR = REPO_ROOT / MODEL_BLOB_FIXTURES_DIR
BUILTIN = (REPO_ROOT / ARTIFACTS_DIR / TFLITE_FILE).read_bytes()


@pytest.mark.parametrize("fx", blob_fixtures.FIXTURES, ids=[f.name for f in blob_fixtures.FIXTURES])
def test_fixture_refused_for_its_reason(fx):
    try:
        model_blob.read(DIR / f"{fx.name}.blob", run_model=True)
        got = ModelErr.OK
    except BlobError as e:
        got = e.reason
    assert got == fx.reason
    assert fx.name in (DIR / "README.md").read_text()


def test_alt_good_is_a_different_model_with_the_firmware_contract():
    from ppgcomp.export.convert import inspect_tflite
    from ppgcomp.export.verify import tflite_disagreement

    alt = model_blob.read(DIR / "alt_good.blob", run_model=True)
    assert alt.tflite == (DIR / "alt_good.tflite").read_bytes()
    builtin = inspect_tflite(BUILTIN)
    model = inspect_tflite(alt.tflite)  # int8 in/out, input quantization, layouts: the exporter's contract
    assert alt.tag != builtin.tag and alt.tag == model.tag
    assert model.ops == builtin.ops and model.op_list == builtin.op_list
    assert model.input_shape == builtin.input_shape
    assert model_blob.tflite_op_codes(alt.tflite) == model_blob.tflite_op_codes(BUILTIN)
    # the same architecture: the same host arena as the built-in model (which fits the device's 2 KB)
    assert tflm_host.arena_used(alt.tflite) == tflm_host.arena_used(BUILTIN)
    rng = np.random.default_rng(3)
    q = rng.integers(-128, 128, (64, 400)).astype(np.int8)
    with np.load(REPO_ROOT / ARTIFACTS_DIR / GOLDEN_VECTORS_FILE) as z:
        q = np.concatenate([z["q"], q])
        builtin_codes = z["codes"]
    codes = tflm_host.codes(alt.tflite, q)
    assert not tflite_disagreement(model, q, codes).any()  # TFLM and TFLite agree: no kernel-specific rounding
    assert (codes[:8] != builtin_codes).any()
    assert f"tag **0x{alt.tag:02x}**" in (DIR / "README.md").read_text()


def test_alt_good_header_has_its_codes_for_the_golden_windows():
    text = (DIR / "alt_good.h").read_text()
    alt = (DIR / "alt_good.tflite").read_bytes()
    assert re.search(r"ALT_GOOD_TAG 0x([0-9a-f]{2})U", text).group(1) == hashlib.sha256(alt).hexdigest()[:2]
    rows = [[int(v) for v in r.split(",") if v.strip()] for r in re.findall(r"\{ ([-\d, ]+) \}", text)]
    with np.load(REPO_ROOT / ARTIFACTS_DIR / GOLDEN_VECTORS_FILE) as z:
        assert np.array_equal(np.array(rows), tflm_host.codes(alt, z["q"]))


def test_fixtures_regenerate_identically(tmp_path):
    proc = subprocess.run([sys.executable, "scripts/make_model_blobs.py", "--out", str(tmp_path)], cwd=REPO_ROOT,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(p.name for p in DIR.iterdir() if p.name != "README.md")
    for name in made:
        assert (tmp_path / name).read_bytes() == (DIR / name).read_bytes(), name


def test_missing_artifacts_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "scripts/make_model_blobs.py", "--artifacts", str(tmp_path), "--out",
                           str(tmp_path / "out")], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("make_model_blobs.py: error:")
