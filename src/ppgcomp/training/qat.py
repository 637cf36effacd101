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
    calibrate_kernel_ranges(q, encoder)
    calibrate_activation_ranges(q, encoder, calibration)
    return q


def calibrate_kernel_ranges(qat_model: keras.Model, encoder: keras.Model) -> None:
    """Set each kernel quantizer's range to +-max|w|, as its first training step would.

    tfmot's LastValueQuantizer (per-tensor, symmetric for Dense) starts kernel_min/max at [-6, 6] and only
    updates them in training mode, so until the first step an evaluation quantizes the weights (|w| < 0.1 in
    the spectral layers) with a step of 12/255: the calibrated starting point would look several bpm worse than
    it is. The range must stay symmetric: the converter takes the weights' zero point from it, and int8
    FULLY_CONNECTED (CMSIS-NN, the PPG_FC kernel) needs zero-point-0 weights.
    """
    found = 0
    for layer in qat_model.layers:
        inner = getattr(layer, "layer", None)
        if not isinstance(inner, keras.layers.Dense):
            continue
        kernel = encoder.get_layer(inner.name).get_weights()[0]  # the wrapper's kernel is symbolic
        bound = np.float32(max(float(np.abs(kernel).max()), 1e-6))
        for w in layer.weights:
            if w.name.startswith(f"{layer.name}/kernel_min"):
                w.assign(-bound)
                found += 1
            elif w.name.startswith(f"{layer.name}/kernel_max"):
                w.assign(bound)
                found += 1
    if found == 0:
        raise RuntimeError("kernel range variables not found in the QAT model")


def activation_range_variables(qat_model: keras.Model) -> list:
    """The QAT model's activation-range variables (post_activation_min/max of every wrapped layer)."""
    return [w for w in qat_model.weights if "/post_activation_m" in w.name]


class HoldActivationRanges(keras.callbacks.Callback):
    """Keep the calibrated activation ranges fixed during QAT.

    tfmot moves each range with an EMA of the batch min/max in training mode, so the ranges the converter
    bakes in would depend on the batches seen last (a batch's max is not the whole set's 99.9th percentile).
    Restoring the calibrated values after every batch makes QAT fine-tune the weights on the grid the int8
    model will have, and keeps the ranges the same for every epoch that competes as the exported model.
    """

    def __init__(self, qat_model: keras.Model) -> None:
        super().__init__()
        self.variables = activation_range_variables(qat_model)
        self.values = [v.numpy() for v in self.variables]

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        for v, value in zip(self.variables, self.values, strict=True):
            v.assign(value)


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
