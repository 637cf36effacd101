"""The model builders: shapes, the spectral front-end's phase invariance, and the conv encoder = the dense one's
front-end with each weight stored once."""

import numpy as np
import pytest

from ppgcomp.constants import CODE_LEN, TARGET_LEN, WINDOW_LEN
from ppgcomp.tfenv import keras
from ppgcomp.training.models import (
    CODES_LAYER,
    DECIMATE_LAYER,
    FILTER_LAYER,
    RECTIFY_LAYER,
    SPECTRAL_BAND_HZ,
    SPECTRAL_LAYERS,
    SPECTRAL_SEGMENTS,
    build_decoder,
    build_encoder,
    build_hr_model,
    conv_spectral_init,
    encoder_arch,
    spectral_init,
)


def test_shapes():
    assert build_encoder().output_shape == (None, CODE_LEN)
    assert build_encoder("dense").output_shape == (None, CODE_LEN)
    assert build_decoder().output_shape == (None, WINDOW_LEN)
    assert build_hr_model().output_shape == (None, TARGET_LEN)
    units = [lyr.units for lyr in build_encoder("dense").layers if isinstance(lyr, keras.layers.Dense)]
    assert units == [256, 64, 16]
    assert encoder_arch(build_encoder()) == "conv" and encoder_arch(build_encoder("dense")) == "dense"
    with pytest.raises(ValueError, match="unknown encoder architecture"):
        build_encoder("lstm")


def test_conv_encoder_stores_each_weight_once():
    enc = build_encoder("conv")
    shapes = {lyr.name: [tuple(w.shape) for w in lyr.weights] for lyr in enc.layers if lyr.weights}
    assert shapes == {DECIMATE_LAYER: [(1, 1, 8, 4), (4,)], FILTER_LAYER: [(1, 2, 40, 32), (32,)],
                      CODES_LAYER: [(128, 16), (16,)]}
    assert enc.count_params() < 5000  # the dense encoder: 120,144


def _conv_front_end(enc):
    return keras.Model(enc.inputs, enc.get_layer(RECTIFY_LAYER).output)


def test_conv_front_end_is_the_dense_filter_bank_on_decimated_input():
    """|cos|, |sin| of every segment and frequency: the dense front-end's rows, at 12.5 Hz and up to a phase."""
    enc = build_encoder("conv")
    conv_spectral_init(enc)
    assert not enc.get_layer(DECIMATE_LAYER).trainable and not enc.get_layer(FILTER_LAYER).trainable
    assert enc.get_layer(CODES_LAYER).trainable
    dense = build_encoder("dense")
    spectral_init(dense)
    rng = np.random.default_rng(1)
    t = np.arange(WINDOW_LEN) / 25.0
    x = np.stack([0.5 + 0.4 * np.cos(2 * np.pi * f * t + ph) for f, ph in zip(rng.uniform(0.6, 3.3, 16),
                                                                                 rng.uniform(0, 6.3, 16))])
    x = x.astype(np.float32)
    mag_conv = _conv_front_end(enc).predict(x, verbose=0).reshape(16, len(SPECTRAL_SEGMENTS), -1, 2).sum(axis=3)
    mag_dense = keras.Model(dense.inputs, dense.get_layer(SPECTRAL_LAYERS[1]).output).predict(x, verbose=0)
    mag_dense = mag_dense.reshape(16, len(SPECTRAL_SEGMENTS), -1)
    # the same peak frequency in every segment; magnitudes within the phase dependence of |cos| + |sin|
    assert (mag_conv.argmax(axis=2) == mag_dense.argmax(axis=2)).mean() > 0.9
    peak = np.abs(mag_conv.max(axis=2) / mag_dense.max(axis=2) - 1)
    assert peak.max() < 0.45


def test_conv_codes_layer_stays_tied_in_cos_sin_pairs():
    """GroupTied(2): the codes layer weights |cos| and |sin| of a frequency alike, also after a training step."""
    enc = build_encoder("conv")
    conv_spectral_init(enc)
    enc.compile(keras.optimizers.Adam(1e-2), loss="mse")
    rng = np.random.default_rng(2)
    enc.fit(rng.uniform(0, 1, (64, WINDOW_LEN)).astype(np.float32), rng.uniform(0, 1, (64, CODE_LEN)), epochs=1,
            verbose=0)
    k = enc.get_layer(CODES_LAYER).get_weights()[0]
    assert np.array_equal(k[0::2], k[1::2]) and np.abs(k).max() > 0


@pytest.mark.parametrize("bpm", [45, 72, 120, 180])
def test_spectral_front_end_finds_the_rate_whatever_the_phase(bpm):
    enc = build_encoder("dense")
    spectral_init(enc)
    assert not any(enc.get_layer(n).trainable for n in SPECTRAL_LAYERS)
    mag = keras.Model(enc.inputs, enc.get_layer(SPECTRAL_LAYERS[1]).output)
    t = np.arange(WINDOW_LEN) / 25.0
    f = bpm / 60.0
    x = np.stack([0.5 + 0.4 * np.cos(2 * np.pi * f * t + ph) for ph in np.linspace(0, 2 * np.pi, 8, endpoint=False)])
    out = mag.predict(x.astype(np.float32), verbose=0).reshape(x.shape[0], len(SPECTRAL_SEGMENTS), -1)
    freqs = np.linspace(*SPECTRAL_BAND_HZ, out.shape[2])
    peaks = freqs[out.argmax(axis=2)]
    assert np.all(np.abs(peaks - f) <= freqs[1] - freqs[0])  # the right bin, in every segment, for every phase
    # Between bins the peak also depends on where the tone falls; at a bin's own frequency only |cos| + |sin|
    # varies with the phase, by a factor of at most 1/sqrt(2) (a little more at the lowest bins, where the DC
    # offset and the negative frequency leak in).
    on_bin = np.stack([0.5 + 0.4 * np.cos(2 * np.pi * freqs[np.abs(freqs - f).argmin()] * t + ph)
                       for ph in np.linspace(0, 2 * np.pi, 8, endpoint=False)])
    top = mag.predict(on_bin.astype(np.float32), verbose=0).reshape(x.shape[0], len(SPECTRAL_SEGMENTS), -1).max(axis=2)
    assert top.min() > 0.65 * top.max()


def test_spectral_front_end_segments_see_only_their_own_time_range():
    """A burst confined to the first segment leaves the last segment's spectrum at zero."""
    enc = build_encoder("dense")
    spectral_init(enc)
    mag = keras.Model(enc.inputs, enc.get_layer(SPECTRAL_LAYERS[1]).output)
    x = np.zeros((1, WINDOW_LEN), np.float32)
    lo, hi = SPECTRAL_SEGMENTS[0]
    x[0, lo:hi] = np.cos(2 * np.pi * 1.5 * np.arange(hi - lo) / 25.0)
    out = mag.predict(x, verbose=0).reshape(len(SPECTRAL_SEGMENTS), -1)
    assert out[0].max() > 0.1
    assert out[-1].max() == 0.0  # the first and last segments do not overlap
