"""The model builders: shapes, and the spectral front-end's phase invariance."""

import numpy as np
import pytest

from ppgcomp.constants import CODE_LEN, TARGET_LEN, WINDOW_LEN
from ppgcomp.models import (
    SPECTRAL_BAND_HZ,
    SPECTRAL_LAYERS,
    build_decoder,
    build_encoder,
    build_hr_model,
    spectral_init,
)
from ppgcomp.tfenv import keras


def test_shapes():
    assert build_encoder().output_shape == (None, CODE_LEN)
    assert build_decoder().output_shape == (None, WINDOW_LEN)
    assert build_hr_model().output_shape == (None, TARGET_LEN)
    units = [lyr.units for lyr in build_encoder().layers if isinstance(lyr, keras.layers.Dense)]
    assert units == [256, 64, 16]


@pytest.mark.parametrize("bpm", [45, 72, 120, 180])
def test_spectral_front_end_finds_the_rate_whatever_the_phase(bpm):
    enc = build_encoder()
    spectral_init(enc)
    assert not any(enc.get_layer(n).trainable for n in SPECTRAL_LAYERS)
    mag = keras.Model(enc.inputs, enc.get_layer(SPECTRAL_LAYERS[1]).output)
    t = np.arange(WINDOW_LEN) / 25.0
    f = bpm / 60.0
    x = np.stack([0.5 + 0.4 * np.cos(2 * np.pi * f * t + ph) for ph in np.linspace(0, 2 * np.pi, 8, endpoint=False)])
    out = mag.predict(x.astype(np.float32), verbose=0)
    freqs = np.linspace(*SPECTRAL_BAND_HZ, out.shape[1])
    peaks = freqs[out.argmax(axis=1)]
    assert np.all(np.abs(peaks - f) <= freqs[1] - freqs[0])  # the right bin, for every phase
    top = out.max(axis=1)
    assert top.min() > 0.75 * top.max()  # |cos| + |sin| varies by at most 1/sqrt(2)
