"""QAT set-up: the quantized encoder starts where the float one is, and its calibrated ranges hold in training."""

import numpy as np
import pytest

from ppgcomp.constants import WINDOW_LEN
from ppgcomp.tfenv import keras, set_seed
from ppgcomp.training.models import FILTER_LAYER, RECTIFY_LAYER, build_encoder, init_encoder, spectral_init

qat = pytest.importorskip("ppgcomp.training.qat")


@pytest.fixture(scope="module")
def encoders():
    set_seed(3)
    rng = np.random.default_rng(3)
    t = np.arange(WINDOW_LEN) / 25.0
    bpm = rng.uniform(45, 180, 256)
    x = 0.5 + 0.35 * np.sin(2 * np.pi * (bpm[:, None] / 60.0) * t[None, :] + rng.uniform(0, 6.3, (256, 1)))
    x = np.clip(x + rng.normal(0, 0.03, x.shape), 0, 1)
    x = (np.round(x * 255) / 255).astype(np.float32)  # on the int8 input grid, as preprocessed windows are
    enc = build_encoder("dense")
    spectral_init(enc)
    return enc, qat.quantize_encoder(enc, x), x


@pytest.fixture(scope="module")
def conv_encoders(encoders):
    _, _, x = encoders
    enc = build_encoder("conv")
    init_encoder(enc)
    return enc, qat.quantize_encoder(enc, x), x


def _var(model, suffix):
    return {w.name.split("/")[0]: float(w.numpy()) for w in model.weights if w.name.split("/")[-1].startswith(suffix)}


def test_kernel_ranges_start_symmetric_at_the_weights_range(encoders):
    enc, q, _ = encoders
    kmin, kmax = _var(q, "kernel_min"), _var(q, "kernel_max")
    for lyr in enc.layers:
        if isinstance(lyr, keras.layers.Dense):
            bound = np.abs(lyr.get_weights()[0]).max()
            # symmetric, so that the converter gives the int8 weights a zero point of 0
            assert kmin[f"quant_{lyr.name}"] == pytest.approx(-bound)
            assert kmax[f"quant_{lyr.name}"] == pytest.approx(bound)


def test_calibrated_qat_encoder_matches_the_float_encoder(encoders):
    enc, q, x = encoders
    cf = enc.predict(x, verbose=0)
    cq = q.predict(x, verbose=0)
    step = max(_var(q, "post_activation_max").values()) / 255
    # tfmot's initial [-6, 6] kernel range would quantize the spectral weights (|w| < 0.06) to 0 or +-0.047.
    assert np.mean(np.abs(cf - cq)) < 2 * step


def test_hold_activation_ranges_keeps_calibrated_ranges_through_training(encoders):
    enc, _, x = encoders
    q2 = qat.quantize_encoder(enc, x)
    before = _var(q2, "post_activation_max")
    q2.compile(keras.optimizers.Adam(1e-3), loss="mse")
    target = np.zeros((x.shape[0], q2.output_shape[-1]), np.float32)
    q2.fit(x, target, epochs=1, batch_size=32, verbose=0, callbacks=[qat.HoldActivationRanges(q2)])
    assert _var(q2, "post_activation_max") == before
    # Without it, tfmot's EMA moves them towards the batch maxima.
    q2.fit(x, target, epochs=1, batch_size=32, verbose=0)
    assert _var(q2, "post_activation_max") != before


def test_conv_kernels_are_quantized_per_channel_and_symmetric(conv_encoders):
    enc, q, _ = conv_encoders
    kernel = enc.get_layer(FILTER_LAYER).get_weights()[0]
    kmax = next(w.numpy() for w in q.weights if w.name.startswith(f"quant_{FILTER_LAYER}/kernel_max"))
    kmin = next(w.numpy() for w in q.weights if w.name.startswith(f"quant_{FILTER_LAYER}/kernel_min"))
    assert kmax.shape == (kernel.shape[-1],)
    np.testing.assert_allclose(kmax, np.abs(kernel).reshape(-1, kernel.shape[-1]).max(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(kmin, -kmax)


def test_abs_keeps_its_input_range(conv_encoders):
    """ABS at its input's scale and zero point: the int8 ABS then needs no requantization on the device."""
    _, q, _ = conv_encoders
    rng = {w.name.split("/")[-1].split(":")[0]: float(w.numpy()) for w in q.weights
           if w.name.startswith((f"quant_{FILTER_LAYER}/post_activation_m", f"quant_{RECTIFY_LAYER}/output_m"))}
    assert rng["post_activation_min"] == rng["output_min"] == -rng["output_max"]
    assert rng["post_activation_max"] == rng["output_max"] > 0


def test_calibrated_qat_conv_encoder_matches_the_float_encoder(conv_encoders):
    enc, q, x = conv_encoders
    cf = enc.predict(x, verbose=0)
    cq = q.predict(x, verbose=0)
    assert np.mean(np.abs(cf - cq)) < 0.05 * max(float(np.abs(cf).max()), 1e-3)
