"""Quantization-aware training of the encoder with tfmot, and pinning its input range to the spec."""

from __future__ import annotations

import logging

import numpy as np
import tensorflow_model_optimization as tfmot

from ppgcomp.tfenv import keras

log = logging.getLogger(__name__)

RANGE_PERCENTILE = 99.9  # clip the rare outliers (motion artifacts) that would coarsen every other window's step
INPUT_MIN, INPUT_MAX = 0.0, 1.0  # (q + 128) / 255 spans exactly [0, 1]: scale 1/255, zero point -128


class AbsQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):
    """models.Abs has no weights; its output gets a per-tensor 8-bit range (set to its input's range by
    calibrate_activation_ranges, so that the int8 ABS needs no requantization)."""

    def get_weights_and_quantizers(self, layer):
        return []

    def get_activations_and_quantizers(self, layer):
        return []

    def set_quantize_weights(self, layer, quantize_weights):
        pass

    def set_quantize_activations(self, layer, quantize_activations):
        pass

    def get_output_quantizers(self, layer):
        return [tfmot.quantization.keras.quantizers.MovingAverageQuantizer(
            num_bits=8, per_axis=False, symmetric=False, narrow_range=False)]

    def get_config(self):
        return {}


def _quantize(encoder: keras.Model) -> keras.Model:
    """tfmot's quantize_model, with models.Abs annotated by AbsQuantizeConfig (tfmot does not know tf.abs)."""
    from ppgcomp.training.models import Abs, GroupTied

    qk = tfmot.quantization.keras
    if not any(isinstance(lyr, Abs) for lyr in encoder.layers):
        return qk.quantize_model(encoder)

    def annotate(layer):
        if isinstance(layer, Abs):
            return qk.quantize_annotate_layer(layer, AbsQuantizeConfig())
        if isinstance(layer, keras.layers.InputLayer):
            return layer
        return qk.quantize_annotate_layer(layer)

    annotated = keras.models.clone_model(encoder, clone_function=annotate)
    annotated.set_weights(encoder.get_weights())
    with qk.quantize_scope({"AbsQuantizeConfig": AbsQuantizeConfig, "Abs": Abs, "GroupTied": GroupTied}):
        return qk.quantize_apply(annotated)


def quantize_encoder(encoder: keras.Model, calibration: np.ndarray) -> keras.Model:
    """Wrap the float encoder for QAT, pin its input quantizer to [0, 1] and calibrate activation ranges."""
    q = _quantize(encoder)
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
    FULLY_CONNECTED and CONV_2D (CMSIS-NN) need zero-point-0 weights. Conv2D kernels are quantized per output
    channel (tfmot's per-axis range), Dense kernels per tensor.
    """
    found = 0
    for layer in qat_model.layers:
        inner = getattr(layer, "layer", None)
        if not isinstance(inner, (keras.layers.Dense, keras.layers.Conv2D)):
            continue
        kernel = encoder.get_layer(inner.name).get_weights()[0]  # the wrapper's kernel is symbolic
        per_axis = isinstance(inner, keras.layers.Conv2D)
        bound = np.abs(kernel).reshape(-1, kernel.shape[-1]).max(axis=0) if per_axis else np.abs(kernel).max()
        bound = np.maximum(bound, 1e-6).astype(np.float32)
        for w in layer.weights:
            if w.name.startswith(f"{layer.name}/kernel_min"):
                w.assign(np.broadcast_to(-bound, w.shape))
                found += 1
            elif w.name.startswith(f"{layer.name}/kernel_max"):
                w.assign(np.broadcast_to(bound, w.shape))
                found += 1
    if found == 0:
        raise RuntimeError("kernel range variables not found in the QAT model")


def activation_range_variables(qat_model: keras.Model) -> list:
    """The QAT model's activation-range variables (post_activation_min/max of every wrapped layer, and the
    output_min/max of a layer with its own QuantizeConfig: models.Abs)."""
    return [w for w in qat_model.weights if "/post_activation_m" in w.name or "/output_m" in w.name]


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
    from ppgcomp.training.models import Abs

    layers = [lyr for lyr in encoder.layers if isinstance(lyr, (keras.layers.Dense, keras.layers.Conv2D, Abs))]
    probe = keras.Model(encoder.inputs, [lyr.output for lyr in layers])
    acts = probe.predict(x, batch_size=512, verbose=0)
    ranges: dict[str, tuple[float, float]] = {}
    for lyr, a in zip(layers, acts, strict=True):
        if isinstance(lyr, Abs):
            # ABS at its input's scale and zero point: TFLM's int8 ABS then skips the per-element requantization
            # (measured on the Cortex-M33: 5,350 instead of 9,300 instructions for 128 elements), at the cost of
            # one bit of resolution for |x|.
            lo, hi = ranges[_quantized_source(lyr)]
            _assign_range(qat_model, lyr.name, "output", lo, hi)
            continue
        # A linear conv output (the filter bank before ABS) is signed: clip both tails, symmetrically.
        lo = float(np.percentile(a, 100 - RANGE_PERCENTILE)) if a.min() < 0 else 0.0
        hi = float(np.percentile(a, RANGE_PERCENTILE))
        if lo < 0:
            hi = max(hi, -lo)
            lo = -hi
        lo, hi = min(lo, 0.0), max(hi, 1e-3)
        if isinstance(lyr, keras.layers.Dense):  # as before the conv encoder: the min is the real min
            lo = min(float(np.min(a)), 0.0)
        ranges[lyr.name] = (lo, hi)
        _assign_range(qat_model, lyr.name, "post_activation", lo, hi)


def _quantized_source(layer) -> str:
    """The layer whose quantized output `layer` reads, through Reshape layers ('' = the model input)."""
    node = layer.inbound_nodes[0]
    src = node.inbound_layers if not isinstance(node.inbound_layers, list) else node.inbound_layers[0]
    while isinstance(src, keras.layers.Reshape):
        n = src.inbound_nodes[0]
        src = n.inbound_layers if not isinstance(n.inbound_layers, list) else n.inbound_layers[0]
    return "" if isinstance(src, keras.layers.InputLayer) else src.name


def _assign_range(qat_model: keras.Model, name: str, prefix: str, lo: float, hi: float) -> None:
    found = 0
    for w in qat_model.weights:
        if w.name.startswith(f"quant_{name}/{prefix}_min"):
            w.assign(np.float32(lo))
            found += 1
        elif w.name.startswith(f"quant_{name}/{prefix}_max"):
            w.assign(np.float32(hi))
            found += 1
    if found != 2:
        raise RuntimeError(f"activation range variables of {name} not found in the QAT model")
    log.info("QAT range of %s: [%.4g, %.4g]", name, lo, hi)


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
