"""The model builders: shapes, and the spectral front-end's phase invariance."""

import numpy as np
import pytest

from ppgcomp.constants import CODE_LEN, TARGET_LEN, WINDOW_LEN
from ppgcomp.tfenv import keras
from ppgcomp.training.models import (
    SPECTRAL_BAND_HZ,
    SPECTRAL_LAYERS,
    SPECTRAL_SEGMENTS,
    build_decoder,
    build_encoder,
    build_hr_model,
    spectral_init,
)


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
    enc = build_encoder()
    spectral_init(enc)
    mag = keras.Model(enc.inputs, enc.get_layer(SPECTRAL_LAYERS[1]).output)
    x = np.zeros((1, WINDOW_LEN), np.float32)
    lo, hi = SPECTRAL_SEGMENTS[0]
    x[0, lo:hi] = np.cos(2 * np.pi * 1.5 * np.arange(hi - lo) / 25.0)
    out = mag.predict(x, verbose=0).reshape(len(SPECTRAL_SEGMENTS), -1)
    assert out[0].max() > 0.1
    assert out[-1].max() == 0.0  # the first and last segments do not overlap
