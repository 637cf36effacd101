"""The four training stages, each with checkpoints, early stopping and a progress display."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ppgcomp.data.windows import WindowSet
from ppgcomp.models import SPECTRAL_LAYERS, build_decoder, build_encoder, build_hr_model, build_pipeline, spectral_init
from ppgcomp.tfenv import keras, tf

log = logging.getLogger(__name__)

RECON_WEIGHT = 5.0  # task-specific loss: HR MAE (bpm) + RECON_WEIGHT * reconstruction MSE
# QAT learning rate = lr * QAT_LR_FACTOR. Measured on the validation subjects (float AE 1.93 bpm, calibrated
# int8 start 1.93): at lr/50 validation HR swung between 3.0 and 7.4 bpm from epoch to epoch; at lr/1000 it
# improves steadily to 1.85.
QAT_LR_FACTOR = 1e-3


@dataclass
class StageEpochs:
    ae: int = 10
    hr: int = 20
    e2e: int = 40
    qat: int = 6


@dataclass
class TrainConfig:
    epochs: StageEpochs = field(default_factory=StageEpochs)
    batch_size: int = 32
    lr: float = 2e-3
    patience: int = 6
    seed: int = 0


@dataclass
class TrainedModels:
    encoder: keras.Model
    decoder: keras.Model
    hr_model: keras.Model  # after end-to-end training (used behind the decoder)
    hr_model_raw: keras.Model  # stage 2's model, trained on raw PPG (the baseline)
    qat_encoder: keras.Model
    history: dict[str, dict[str, list[float]]]


class EpochLogger(keras.callbacks.Callback):
    """One log line per epoch: stage, epoch/total, metrics and the epoch's duration."""

    def __init__(self, stage: str, total: int) -> None:
        super().__init__()
        self.stage, self.total, self.t0 = stage, total, 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.t0 = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        metrics = "  ".join(f"{k}={v:.4g}" for k, v in (logs or {}).items())
        log.info("[%s] epoch %d/%d  %s  (%.1f s)", self.stage, epoch + 1, self.total, metrics, time.monotonic() - self.t0)


def _fit(model: keras.Model, stage: str, x, y, val, epochs: int, cfg: TrainConfig, ckpt_dir: Path,
         patience: int | None = None, extra_callbacks: list | None = None) -> dict:
    if epochs <= 0:
        return {}
    patience = patience or cfg.patience
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(str(ckpt_dir / f"{stage}.weights.h5"), monitor="val_loss",
                                        save_best_only=True, save_weights_only=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(2, patience // 2)),
        *(extra_callbacks or []),
        EpochLogger(stage, epochs),
    ]
    log.info("[%s] training for up to %d epochs on %d windows", stage, epochs, len(x))
    hist = model.fit(x, y, validation_data=val, epochs=epochs, batch_size=cfg.batch_size, shuffle=True,
                     callbacks=callbacks, verbose=1 if sys.stderr.isatty() else 0)
    return {k: [float(v) for v in vals] for k, vals in hist.history.items()}


def train_all(train: WindowSet, val: WindowSet, cfg: TrainConfig, ckpt_dir: Path) -> TrainedModels:
    from ppgcomp.qat import quantize_encoder  # tfmot import is slow; only when training

    xtr, xva = train.x, val.x
    history: dict[str, dict[str, list[float]]] = {}
    encoder, decoder, hr_model = build_encoder(), build_decoder(), build_hr_model()
    spectral_init(encoder)

    # Stage 1: autoencoder pre-training on reconstruction.
    ae = keras.Sequential([encoder, decoder], name="autoencoder")
    ae.compile(keras.optimizers.Adam(cfg.lr), loss="mse")
    history["1_autoencoder"] = _fit(ae, "1_autoencoder", xtr, xtr, (xva, xva), cfg.epochs.ae, cfg, ckpt_dir)

    # Stage 2: the HR model on raw PPG.
    hr_model.compile(keras.optimizers.Adam(1.5 * cfg.lr), loss="mae")
    history["2_hr_raw"] = _fit(hr_model, "2_hr_raw", xtr, train.hr_bpm, (xva, val.hr_bpm), cfg.epochs.hr, cfg, ckpt_dir)
    hr_model_raw = keras.models.clone_model(hr_model)
    hr_model_raw.set_weights(hr_model.get_weights())

    # Stage 3: end-to-end, task-specific: the codes must keep what the HR model needs.
    pipe = build_pipeline(encoder, decoder, hr_model)
    pipe.compile(keras.optimizers.Adam(cfg.lr), loss={"recon": "mse", "hr": "mae"},
                 loss_weights={"recon": RECON_WEIGHT, "hr": 1.0})
    ytr, yva = {"recon": xtr, "hr": train.hr_bpm}, {"recon": xva, "hr": val.hr_bpm}
    history["3_end_to_end"] = _fit(pipe, "3_end_to_end", xtr, ytr, (xva, yva), cfg.epochs.e2e, cfg, ckpt_dir,
                                   patience=cfg.patience + cfg.patience // 3)

    # Stage 4: quantization-aware training of the encoder; decoder and HR model frozen (the receiver decodes
    # with the float decoder and HR model, so they stay the ones the end-to-end stage trained).
    qat_encoder = quantize_encoder(encoder, xtr)
    for layer in qat_encoder.layers:  # the spectral front-end stays as designed
        if getattr(getattr(layer, "layer", None), "name", "") in SPECTRAL_LAYERS:
            layer.trainable = False
    decoder.trainable = False
    hr_model.trainable = False
    qpipe = build_pipeline(qat_encoder, decoder, hr_model)
    qpipe.compile(keras.optimizers.Adam(cfg.lr * QAT_LR_FACTOR), loss={"recon": "mse", "hr": "mae"},
                  loss_weights={"recon": RECON_WEIGHT, "hr": 1.0})
    history["4_qat_encoder"] = _qat_fit(qpipe, qat_encoder, xtr, ytr, (xva, yva), cfg, ckpt_dir)
    return TrainedModels(encoder, decoder, hr_model, hr_model_raw, qat_encoder, history)


def _qat_fit(qpipe: keras.Model, qat_encoder: keras.Model, xtr, ytr, val, cfg: TrainConfig, ckpt_dir: Path) -> dict:
    """QAT on the calibrated activation ranges, keeping the calibrated start when no epoch beats it on validation.

    EarlyStopping restores the best epoch, but its first candidate is the end of epoch 1; a QAT epoch can land
    on a worse quantization grid than the calibrated float weights it started from, so those compete too.
    """
    from ppgcomp.qat import HoldActivationRanges

    start = qat_encoder.get_weights()
    start_val = float(qpipe.evaluate(val[0], val[1], batch_size=256, verbose=0, return_dict=True)["loss"])
    log.info("[4_qat_encoder] calibrated start: val_loss=%.4g", start_val)
    hist = _fit(qpipe, "4_qat_encoder", xtr, ytr, val, cfg.epochs.qat, cfg, ckpt_dir,
                extra_callbacks=[HoldActivationRanges(qat_encoder)])
    if hist.get("val_loss") and min(hist["val_loss"]) > start_val:
        log.info("[4_qat_encoder] no epoch beat the calibrated start (%.4g > %.4g): keeping it",
                 min(hist["val_loss"]), start_val)
        qat_encoder.set_weights(start)
    return {"start_val_loss": [start_val], **hist}


def predict(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    return np.asarray(model.predict(tf.constant(x), batch_size=batch_size, verbose=0))
