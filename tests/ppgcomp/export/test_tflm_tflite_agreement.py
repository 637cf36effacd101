"""The TFLM-vs-TFLite cross-check: the committed model's TFLM codes agree, and a 1-LSB change to any TFLM code
is caught (the final layer's rounding-tie allowance needs TFLM's own intermediates and codes to match)."""

import numpy as np

from ppgcomp.constants import ARTIFACTS_DIR, TFLITE_FILE
from ppgcomp.data.synthetic import synthetic_recording
from ppgcomp.data.windows import make_windows
from ppgcomp.export.convert import inspect_tflite
from ppgcomp.export.verify import final_rounding_ties, tflite_disagreement, tflm_codes


def test_tflm_codes_agree_and_a_changed_code_is_caught():
    model = inspect_tflite((ARTIFACTS_DIR / TFLITE_FILE).read_bytes())
    q = make_windows([synthetic_recording(7, 3.0)]).q[:24]
    micro = tflm_codes(model, q)
    assert not tflite_disagreement(model, q, micro).any()
    assert final_rounding_ties(model, q, micro).all()
    changed = micro.astype(int)
    changed[:, 5] += np.where(changed[:, 5] < 127, 1, -1)
    changed = changed.astype(np.int8)
    assert tflite_disagreement(model, q, changed).any(axis=1).all()
    assert not final_rounding_ties(model, q, changed).any()
