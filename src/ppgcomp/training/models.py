"""The encoders (the compact convolutional one, default; the seed's dense 400-256-64-16), the decoder and the GRU
HR model, built with tf_keras."""

from __future__ import annotations

import numpy as np

from ppgcomp.constants import (
    CODE_LEN,
    DEFAULT_ENCODER_ARCH,
    ENCODER_ARCHS,
    MODEL_RATE_HZ,
    TARGET_LEN,
    WARMUP_LEN,
    WINDOW_LEN,
)
from ppgcomp.tfenv import keras

ENCODER_UNITS = (256, 64, CODE_LEN)
SPECTRAL_BAND_HZ = (0.55, 3.4)  # 33-204 bpm
# The filter bank's time segments (sample ranges of the window): four 6.4 s Hann segments overlapping by half.
# The HR label of sample t counts the beats of the 8 s before t, so the target's labels depend on the whole 16 s
# window; one spectrum per segment lets the decoder follow a trend within the window, and a motion artifact
# spoils only the segments it overlaps. Measured, float AE HR MAE on the held-out subjects after 20 end-to-end
# epochs: two 8 s halves 2.22 bpm, four 6.4 s segments 1.84, four 8 s segments 2.46, eight 4.8 s segments
# 2.03; the earlier single 10 s segment reached 2.96 after the full 38 epochs.
SPECTRAL_SEGMENTS = ((0, 160), (80, 240), (160, 320), (240, 400))
SPECTRAL_LAYERS = ("enc_dense0", "enc_dense1")
HR_GRU_UNITS = 64
HR_OFFSET_BPM, HR_SCALE_BPM = 100.0, 40.0
HR_FRAME = 4  # samples per GRU step
DIFF_GAIN = 10.0


# --arch: "conv" stores each distinct weight once (build_conv_encoder), "dense" is the seed's 400-256-64-16.
ARCHS, DEFAULT_ARCH = ENCODER_ARCHS, DEFAULT_ENCODER_ARCH

# The conv encoder. The window (400 int8 samples at 25 Hz) is declared [1, 1, 50, 8]: 8 consecutive samples per
# "pixel", so that every op reads contiguous channels (CMSIS-NN's im2col copies whole channel runs).
CONV_DECIMATION = 2  # pairs of samples averaged: the filters run at 12.5 Hz (the HR band ends at 3.4 Hz)
CONV_DEC_GROUP = 4  # output samples per pixel of the decimator: [1,1,50,8] -> [1,1,50,4] (1x1 CONV_2D 8 -> 4)
CONV_SEGMENT, CONV_HOP = 160, 80  # samples at 25 Hz: (400 - 160) / 80 + 1 = 4 segments, as SPECTRAL_SEGMENTS
CONV_FREQS = 16  # frequencies per segment, as the dense front-end (64 magnitudes / 4 segments)
CONV_SEGMENTS = (WINDOW_LEN - CONV_SEGMENT) // CONV_HOP + 1
CONV_INPUT_SHAPE = (1, WINDOW_LEN // (CONV_DECIMATION * CONV_DEC_GROUP), CONV_DECIMATION * CONV_DEC_GROUP)
DECIMATE_LAYER, FILTER_LAYER, RECTIFY_LAYER, CODES_LAYER = "enc_decimate", "enc_filters", "enc_rectify", "enc_codes"


@keras.utils.register_keras_serializable(package="ppgcomp")
class GroupTied(keras.constraints.Constraint):
    """Ties a Dense kernel's rows in groups of `group` consecutive inputs (each row := the group's mean).

    The conv encoder's codes layer reads |cos|, |sin| of every frequency and segment; tied in pairs it is exactly
    the dense front-end's frozen magnitude sum (|cos| + |sin|) followed by a 64 -> 16 layer, without an op for
    the sum (per-tensor int8 quantization keeps tied rows identical). Untied, the layer weights cos and sin
    differently (phase-dependent) and learned about 1.5 bpm worse in our measurements.
    """

    def __init__(self, group: int = 2) -> None:
        self.group = group

    def __call__(self, w):
        from ppgcomp.tfenv import tf

        g = tf.reshape(w, (-1, self.group, w.shape[-1]))
        return tf.reshape(tf.broadcast_to(tf.reduce_mean(g, axis=1, keepdims=True), tf.shape(g)), tf.shape(w))

    def get_config(self) -> dict:
        return {"group": self.group}


@keras.utils.register_keras_serializable(package="ppgcomp")
class Abs(keras.layers.Layer):
    """|x|: the int8 TFLite ABS builtin (quantized in QAT by training.qat.AbsQuantizeConfig, at its input's
    scale so that TFLM's ABS does not requantize)."""

    def call(self, x):
        from ppgcomp.tfenv import tf

        return tf.abs(x)


def build_encoder(arch: str = DEFAULT_ARCH) -> keras.Model:
    if arch == "conv":
        return build_conv_encoder()
    if arch != "dense":
        raise ValueError(f"unknown encoder architecture {arch!r} (choose from {', '.join(ARCHS)})")
    inp = keras.Input((WINDOW_LEN,), name="ppg_window")
    x = inp
    for i, units in enumerate(ENCODER_UNITS):
        x = keras.layers.Dense(units, activation="relu", name=f"enc_dense{i}")(x)
    return keras.Model(inp, x, name="encoder")


def build_conv_encoder() -> keras.Model:
    """int8 [400] -> [16], each distinct weight stored once, as TFLM int8 builtins that CMSIS-NN accelerates.

    ::

        window [1,1,50,8] (8 consecutive samples per pixel; the same 400 bytes)
        CONV_2D 1x1, 8 -> 4, frozen (1/2, 1/2) pair means     -> [1,1,50,4]  200 samples at 12.5 Hz
        RESHAPE                                                 -> [1,1,5,40]  40 samples (3.2 s) per pixel
        CONV_2D 32 filters, kernel 1x2 (80 taps = 6.4 s), frozen -> [1,1,4,32]  cos, sin of 16 freqs x 4 segments
        ABS (its input's scale: no requantization)              -> |cos|, |sin|
        RESHAPE                                                 -> [1,128]
        FULLY_CONNECTED 128 -> 16, ReLU, rows tied in pairs      -> the 16 codes

    The filters are the dense front-end's (spectral_init): the same Hann-tapered frequencies over the four
    half-overlapping 6.4 s segments; ABS + the tied codes layer give its magnitude sum. Only the codes layer learns.
    """
    inp = keras.Input((WINDOW_LEN,), name="ppg_window")
    x = keras.layers.Reshape(CONV_INPUT_SHAPE, name="enc_pairs")(inp)
    x = keras.layers.Conv2D(CONV_DEC_GROUP, 1, name=DECIMATE_LAYER)(x)
    hop = CONV_HOP // CONV_DECIMATION
    x = keras.layers.Reshape((1, WINDOW_LEN // CONV_DECIMATION // hop, hop), name="enc_to_image")(x)
    x = keras.layers.Conv2D(2 * CONV_FREQS, (1, CONV_SEGMENT // CONV_HOP), name=FILTER_LAYER)(x)
    x = Abs(name=RECTIFY_LAYER)(x)
    x = keras.layers.Reshape((CONV_SEGMENTS * 2 * CONV_FREQS,), name="enc_flatten")(x)
    x = keras.layers.Dense(CODE_LEN, activation="relu", kernel_constraint=GroupTied(2), name=CODES_LAYER)(x)
    return keras.Model(inp, x, name="encoder")


def encoder_arch(encoder: keras.Model) -> str:
    """"conv" or "dense", of a float encoder or its QAT wrapper (whose layers are named quant_<name>)."""
    names = {lyr.name.removeprefix("quant_") for lyr in encoder.layers}
    return "conv" if FILTER_LAYER in names else "dense"


def conv_spectral_init(encoder: keras.Model) -> None:
    """Fill and freeze the conv encoder's decimator and filter bank; start the codes layer phase-invariant."""
    dec = encoder.get_layer(DECIMATE_LAYER)
    k = np.zeros(dec.kernel.shape, np.float32)  # [1, 1, 8, 4]: output j = mean of inputs 2j, 2j + 1
    for j in range(k.shape[-1]):
        k[0, 0, CONV_DECIMATION * j : CONV_DECIMATION * (j + 1), j] = 1.0 / CONV_DECIMATION
    dec.set_weights([k, np.zeros(k.shape[-1], np.float32)])
    dec.trainable = False

    conv = encoder.get_layer(FILTER_LAYER)
    _, kw, kin, n_out = conv.kernel.shape  # [1, 2, 40, 32]: tap j is kernel[0, j // 40, j % 40]
    klen = kw * kin
    t = (CONV_DECIMATION * np.arange(klen) + (CONV_DECIMATION - 1) / 2) / MODEL_RATE_HZ  # the pair means' times
    taper = np.hanning(klen)
    taper *= 4.0 / taper.sum()
    kernel = np.zeros((klen, n_out), np.float32)
    for i, f in enumerate(np.linspace(*SPECTRAL_BAND_HZ, n_out // 2)):
        kernel[:, 2 * i] = np.cos(2 * np.pi * f * t) * taper
        kernel[:, 2 * i + 1] = np.sin(2 * np.pi * f * t) * taper
    conv.set_weights([kernel.reshape(1, kw, kin, n_out), np.zeros(n_out, np.float32)])
    conv.trainable = False

    # Codes layer: (pair sum) x (its own Glorot init rescaled to 64 inputs) / 2, so it starts as the frozen
    # magnitude sum followed by a 64 -> 16 layer; GroupTied(2) keeps it so.
    codes = encoder.get_layer(CODES_LAYER)
    n_in = codes.kernel.shape[0]
    w = codes.get_weights()[0][::2] * np.sqrt((n_in + CODE_LEN) / (n_in // 2 + CODE_LEN))
    codes.set_weights([np.repeat(w, 2, axis=0) / 2.0, np.zeros(CODE_LEN, np.float32)])


def init_encoder(encoder: keras.Model) -> None:
    """The frozen spectral front-end of either architecture."""
    if encoder_arch(encoder) == "dense":
        spectral_init(encoder)
    else:
        conv_spectral_init(encoder)


def spectral_init(encoder: keras.Model, segments: tuple[tuple[int, int], ...] = SPECTRAL_SEGMENTS) -> None:
    """Make the encoder's first two layers a magnitude spectrum over the HR band, and freeze them.

    Layer 1 (256 units) becomes, for each time segment, n frequencies x {+cos, -cos, +sin, -sin} Hann-windowed
    over that segment (n = 64 / number of segments); after the ReLU, layer 2 (64 units) sums each frequency's
    four units, |cos| + |sin|, a phase-invariant magnitude. Layer 2's unit s * n + i is segment s, frequency i.
    Layer 3 (the 16 codes) and everything downstream are trained. Measured on our synthetic data: a dense
    encoder trained from random weights, or pre-trained as a plain autoencoder, does not learn a shift-invariant
    HR feature within the run's budget (HR MAE through the codes stays above 15 bpm); with this front-end it
    reaches a few bpm. The layers stay ordinary Dense+ReLU, quantized to int8 like the rest.
    """
    d0, d1 = encoder.get_layer(SPECTRAL_LAYERS[0]), encoder.get_layer(SPECTRAL_LAYERS[1])
    if d0.units != 4 * d1.units or d1.units % len(segments):
        raise ValueError("the spectral front-end needs layer 1 = 4 x layer 2 units, split evenly over the segments")
    n_freq = d1.units // len(segments)
    t = np.arange(WINDOW_LEN) / MODEL_RATE_HZ
    k0 = np.zeros((WINDOW_LEN, d0.units), np.float32)
    k1 = np.zeros((d0.units, d1.units), np.float32)
    for s, (lo, hi) in enumerate(segments):
        taper = np.zeros(WINDOW_LEN)
        taper[lo:hi] = np.hanning(hi - lo)
        taper *= 4.0 / taper.sum()
        for i, f in enumerate(np.linspace(*SPECTRAL_BAND_HZ, n_freq)):
            unit = s * n_freq + i
            c, sn = np.cos(2 * np.pi * f * t) * taper, np.sin(2 * np.pi * f * t) * taper
            for j, v in enumerate((c, -c, sn, -sn)):
                k0[:, 4 * unit + j] = v
                k1[4 * unit + j, unit] = 1.0
    d0.set_weights([k0, np.zeros(d0.units, np.float32)])
    d1.set_weights([k1, np.zeros(d1.units, np.float32)])
    d0.trainable = d1.trainable = False


def build_decoder() -> keras.Model:
    inp = keras.Input((CODE_LEN,), name="codes")
    x = inp
    for i, units in enumerate(reversed(ENCODER_UNITS[:-1])):
        x = keras.layers.Dense(units, activation="relu", name=f"dec_dense{i}")(x)
    x = keras.layers.Dense(WINDOW_LEN, activation=None, name="dec_out")(x)
    return keras.Model(inp, x, name="decoder")


def build_hr_model() -> keras.Model:
    """GRU(64) over the whole 16 s window (the first 8 s warm it up), Conv1D(1x1) over the last 8 s -> bpm.

    The GRU steps over frames of HR_FRAME samples, each carrying the samples and their first difference (a
    fixed, non-trainable kernel that brings out the pulses under the baseline wander). The 1x1 convolution
    emits the HR of each of a frame's samples, so the output is still one HR value per sample of the last 8 s.
    On this data the plain one-sample-per-step GRU stays at the mean predictor for 10+ epochs; this learns in a
    few, at a quarter of the cost.
    """
    inp = keras.Input((WINDOW_LEN,), name="ppg_window")
    x = keras.layers.Reshape((WINDOW_LEN, 1))(inp)
    diff = keras.layers.Conv1D(1, 2, padding="causal", use_bias=False, trainable=False, name="first_difference",
                               kernel_initializer=keras.initializers.Constant([[[-DIFF_GAIN]], [[DIFF_GAIN]]]))(x)
    x = keras.layers.Concatenate(name="sample_and_difference")([x, diff])
    x = keras.layers.Reshape((WINDOW_LEN // HR_FRAME, 2 * HR_FRAME), name="frames")(x)
    x = keras.layers.GRU(HR_GRU_UNITS, return_sequences=True, name="hr_gru")(x)
    x = keras.layers.Cropping1D((WARMUP_LEN // HR_FRAME, 0), name="drop_warmup")(x)
    x = keras.layers.Conv1D(HR_FRAME, 1, name="hr_conv1x1")(x)
    x = keras.layers.Reshape((TARGET_LEN,))(x)
    x = keras.layers.Rescaling(HR_SCALE_BPM, offset=HR_OFFSET_BPM, name="to_bpm")(x)
    return keras.Model(inp, x, name="hr_model")


def build_pipeline(encoder: keras.Model, decoder: keras.Model, hr_model: keras.Model) -> keras.Model:
    """Encoder -> decoder -> HR model, with two outputs: the reconstruction and the HR in bpm."""
    inp = keras.Input((WINDOW_LEN,), name="ppg_window")
    recon = decoder(encoder(inp))
    recon_out = keras.layers.Activation("linear", name="recon")(recon)
    hr_out = keras.layers.Activation("linear", name="hr")(hr_model(recon))
    return keras.Model(inp, [recon_out, hr_out], name="task_specific_ae")
