"""Quantization-aware training of the encoder with tfmot, and pinning its input range to the spec."""

from __future__ import annotations

import logging

import numpy as np
import tensorflow_model_optimization as tfmot

from ppgcomp.tfenv import keras

log = logging.getLogger(__name__)

INPUT_MIN, INPUT_MAX = 0.0, 1.0  # (q + 128) / 255 spans exactly [0, 1]: scale 1/255, zero point -128


def quantize_encoder(encoder: keras.Model) -> keras.Model:
    """Wrap the float encoder for QAT and pin its input quantizer to [0, 1]."""
    q = tfmot.quantization.keras.quantize_model(encoder)
    pin_input_range(q)
    return q


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
