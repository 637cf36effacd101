"""Quantization-aware training of the encoder with tfmot, and pinning its input range to the spec."""

from __future__ import annotations

import logging

import numpy as np
import tensorflow_model_optimization as tfmot

from ppgcomp.tfenv import keras

log = logging.getLogger(__name__)

RANGE_PERCENTILE = 99.9  # clip the rare outliers (motion artifacts) that would coarsen every other window's step
INPUT_MIN, INPUT_MAX = 0.0, 1.0  # (q + 128) / 255 spans exactly [0, 1]: scale 1/255, zero point -128


def quantize_encoder(encoder: keras.Model, calibration: np.ndarray) -> keras.Model:
    """Wrap the float encoder for QAT, pin its input quantizer to [0, 1] and calibrate activation ranges."""
    q = tfmot.quantization.keras.quantize_model(encoder)
    pin_input_range(q)
    calibrate_activation_ranges(q, encoder, calibration)
    return q


def calibrate_activation_ranges(qat_model: keras.Model, encoder: keras.Model, x: np.ndarray) -> None:
    """Start each layer's activation quantizer at the float model's real range.

    tfmot starts every activation range at [-6, 6] and moves it with an EMA of decay 0.999, so a few hundred
    QAT steps leave ReLU outputs of about [0, 1] quantized with a step 10x too coarse, and the converter bakes
    those ranges in. Setting them from the float activations first (up to the 99.9th percentile) makes QAT
    fine-tune around the real ranges.
    """
    dense = [lyr for lyr in encoder.layers if isinstance(lyr, keras.layers.Dense)]
    probe = keras.Model(encoder.inputs, [lyr.output for lyr in dense])
    acts = probe.predict(x, batch_size=512, verbose=0)
    for lyr, a in zip(dense, acts, strict=True):
        lo, hi = float(np.min(a)), float(np.percentile(a, RANGE_PERCENTILE))
        found = 0
        for w in qat_model.weights:
            if w.name.startswith(f"quant_{lyr.name}/post_activation_min"):
                w.assign(np.float32(min(lo, 0.0)))
                found += 1
            elif w.name.startswith(f"quant_{lyr.name}/post_activation_max"):
                w.assign(np.float32(max(hi, 1e-3)))
                found += 1
        if found != 2:
            raise RuntimeError(f"activation range variables of {lyr.name} not found in the QAT model")
        log.info("QAT range of %s: [%.4g, %.4g]", lyr.name, min(lo, 0.0), hi)


def pin_input_range(qat_model: keras.Model) -> None:
    """Set the QAT input quantizer's min/max to exactly the preprocessing spec's range.

    The converter takes the input tensor's scale and zero point from these variables, so pinning them makes
    the int8 input exactly the integer preprocessing output (scale 1/255, zero point -128).
    """
    layer = next(lyr for lyr in qat_model.layers if type(lyr).__name__ == "QuantizeLayer")
    mins = [w for w in layer.weights if w.name.endswith("min:0")]
    maxs = [w for w in layer.weights if w.name.endswith("max:0")]
    if len(mins) != 1 or len(maxs) != 1:
        raise RuntimeError(f"QAT input quantizer variables not found: {[w.name for w in layer.weights]}")
    # The AllValuesQuantizer keeps min(seen) and max(seen); every preprocessed window spans exactly [0, 1]
    # (or is flat at 0), so the pinned range stays put during QAT.
    mins[0].assign(np.float32(INPUT_MIN))
    maxs[0].assign(np.float32(INPUT_MAX))
