"""Folding the conv encoder's RESHAPEs: the same codes from fewer ops, in TFLite and in TFLM."""

import numpy as np
import pytest

from ppgcomp.constants import ARTIFACTS_DIR, DENSE_SUBDIR, REPO_ROOT, TFLITE_FILE, WINDOW_LEN
from ppgcomp.export.convert import inspect_tflite
from ppgcomp.export.fold import fold_reshapes
from ppgcomp.export.verify import tflite_codes, tflm_codes
from ppgcomp.tfenv import set_seed

qat = pytest.importorskip("ppgcomp.training.qat")


@pytest.fixture(scope="module")
def converted():
    """An untrained, calibrated conv encoder as the converter emits it, and folded."""
    from ppgcomp.export.convert import convert_to_tflite
    from ppgcomp.training.models import build_encoder, init_encoder

    set_seed(5)
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, (128, WINDOW_LEN)).astype(np.float32)
    x[0], x[1] = 0.0, 1.0
    enc = build_encoder("conv")
    init_encoder(enc)
    raw = convert_to_tflite(qat.quantize_encoder(enc, x), x)
    return raw, fold_reshapes(raw)


def _ops(data: bytes) -> list[str]:
    from ppgcomp.tfenv import tf

    return [d["op_name"] for d in tf.lite.Interpreter(model_content=data)._get_ops_details()]


def test_the_converter_keeps_two_reshapes_and_folding_removes_them(converted):
    raw, folded = converted
    assert _ops(raw) == ["CONV_2D", "RESHAPE", "CONV_2D", "ABS", "RESHAPE", "FULLY_CONNECTED"]
    assert _ops(folded) == ["CONV_2D", "CONV_2D", "ABS", "FULLY_CONNECTED"]
    model = inspect_tflite(folded)
    assert model.ops == ["ABS", "CONV_2D", "FULLY_CONNECTED"]  # no unused operator code left for TFLM to check
    assert len(folded) < len(raw)
    assert fold_reshapes(folded) == folded  # nothing left to fold


def test_folded_model_gives_the_same_codes(converted):
    raw, folded = converted
    rng = np.random.default_rng(11)
    q = rng.integers(-128, 128, (64, WINDOW_LEN)).astype(np.int8)
    q[0], q[1] = -128, 127
    q[2, ::2] = 127
    m_raw, m_folded = inspect_tflite(raw), inspect_tflite(folded)
    assert (tflm_codes(m_raw, q) == tflm_codes(m_folded, q)).all()
    assert (tflite_codes(m_raw, q) == tflite_codes(m_folded, q)).all()
    assert (tflite_codes(m_raw, q, reference=True) == tflite_codes(m_folded, q, reference=True)).all()


def test_a_model_without_reshape_is_returned_unchanged():
    raw = (REPO_ROOT / ARTIFACTS_DIR / DENSE_SUBDIR / TFLITE_FILE).read_bytes()  # the dense encoder: 3 x FC
    assert fold_reshapes(raw) is raw
