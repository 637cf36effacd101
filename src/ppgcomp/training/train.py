"""The four training stages, each with checkpoints, early stopping and a progress display."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ppgcomp.data.windows import WindowSet
from ppgcomp.tfenv import keras, tf
from ppgcomp.training.models import (
    DEFAULT_ARCH,
    build_decoder,
    build_encoder,
    build_hr_model,
    build_pipeline,
    init_encoder,
)

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
    arch: str = DEFAULT_ARCH  # models.ARCHS


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


def _memory_fit_args(x, y, val, cfg: TrainConfig) -> dict:
    """`model.fit` arguments for windows in memory."""
    return {"x": x, "y": y, "validation_data": val, "batch_size": cfg.batch_size, "shuffle": True}


def _fit(model: keras.Model, stage: str, x, y, val, epochs: int, cfg: TrainConfig, ckpt_dir: Path,
         patience: int | None = None, extra_callbacks: list | None = None) -> dict:
    return _fit_with(model, stage, _memory_fit_args(x, y, val, cfg), f"{len(x)} windows", epochs, cfg, ckpt_dir,
                     patience, extra_callbacks)


def _fit_with(model: keras.Model, stage: str, fit_args: dict, what: str, epochs: int, cfg: TrainConfig,
              ckpt_dir: Path, patience: int | None = None, extra_callbacks: list | None = None) -> dict:
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
    log.info("[%s] training for up to %d epochs on %s", stage, epochs, what)
    hist = model.fit(**fit_args, epochs=epochs, callbacks=callbacks, verbose=1 if sys.stderr.isatty() else 0)
    return {k: [float(v) for v in vals] for k, vals in hist.history.items()}


def train_all(train: WindowSet, val: WindowSet, cfg: TrainConfig, ckpt_dir: Path) -> TrainedModels:
    xtr, xva = train.x, val.x
    history: dict[str, dict[str, list[float]]] = {}
    encoder, decoder, hr_model = build_encoder(cfg.arch), build_decoder(), build_hr_model()
    init_encoder(encoder)

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
    qat_encoder, qpipe = _qat_pipeline(encoder, decoder, hr_model, xtr, cfg)
    history["4_qat_encoder"] = _qat_fit(qpipe, qat_encoder, _memory_fit_args(xtr, ytr, (xva, yva), cfg),
                                        f"{len(xtr)} windows", cfg, ckpt_dir)
    return TrainedModels(encoder, decoder, hr_model, hr_model_raw, qat_encoder, history)


def _qat_pipeline(encoder: keras.Model, decoder: keras.Model, hr_model: keras.Model, calibration: np.ndarray,
                  cfg: TrainConfig) -> tuple[keras.Model, keras.Model]:
    """The QAT encoder (calibrated on `calibration`, spectral front-end frozen) in a compiled pipeline with the
    frozen decoder and HR model; returns (QAT encoder, pipeline)."""
    from ppgcomp.training.qat import quantize_encoder  # tfmot import is slow; only when training

    frozen = {lyr.name for lyr in encoder.layers if not lyr.trainable}
    qat_encoder = quantize_encoder(encoder, calibration)
    for layer in qat_encoder.layers:  # the spectral front-end stays as designed
        if getattr(getattr(layer, "layer", None), "name", "") in frozen:
            layer.trainable = False
    decoder.trainable = False
    hr_model.trainable = False
    qpipe = build_pipeline(qat_encoder, decoder, hr_model)
    qpipe.compile(keras.optimizers.Adam(cfg.lr * QAT_LR_FACTOR), loss={"recon": "mse", "hr": "mae"},
                  loss_weights={"recon": RECON_WEIGHT, "hr": 1.0})
    return qat_encoder, qpipe


def _qat_fit(qpipe: keras.Model, qat_encoder: keras.Model, fit_args: dict, what: str, cfg: TrainConfig,
             ckpt_dir: Path) -> dict:
    """QAT on the calibrated activation ranges, keeping the calibrated start when no epoch beats it on validation.

    EarlyStopping restores the best epoch, but its first candidate is the end of epoch 1; a QAT epoch can land
    on a worse quantization grid than the calibrated float weights it started from, so those compete too.
    `fit_args` are `model.fit`'s (windows in memory or a stream); `what` names them in the log.
    """
    from ppgcomp.training.qat import HoldActivationRanges

    start = qat_encoder.get_weights()
    xva, yva = fit_args["validation_data"]
    start_val = float(qpipe.evaluate(xva, yva, batch_size=256, verbose=0, return_dict=True)["loss"])
    log.info("[4_qat_encoder] calibrated start: val_loss=%.4g", start_val)
    hist = _fit_with(qpipe, "4_qat_encoder", fit_args, what, cfg.epochs.qat, cfg, ckpt_dir,
                     extra_callbacks=[HoldActivationRanges(qat_encoder)])
    if hist.get("val_loss") and min(hist["val_loss"]) > start_val:
        log.info("[4_qat_encoder] no epoch beat the calibrated start (%.4g > %.4g): keeping it",
                 min(hist["val_loss"]), start_val)
        qat_encoder.set_weights(start)
    return {"start_val_loss": [start_val], **hist}


def predict(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    return np.asarray(model.predict(tf.constant(x), batch_size=batch_size, verbose=0))


# --- The streaming / multi-worker path (`--stream`, `--workers`, TF_CONFIG). The in-memory path above is unchanged.

def _targets(kind: str):
    """Map (x, hr) stream elements to one stage's (inputs, targets)."""
    if kind == "ae":
        return lambda x, hr: (x, x)
    if kind == "hr":
        return lambda x, hr: (x, hr)
    return lambda x, hr: (x, {"recon": x, "hr": hr})


def _val_targets(kind: str, xva: np.ndarray, hva: np.ndarray):
    return {"ae": xva, "hr": hva, "e2e": {"recon": xva, "hr": hva}}[kind]


@dataclass
class StreamFeed:
    """Training windows from a `WindowStream`, validation windows in memory, optionally over a strategy.

    `steps` is the global number of batches per epoch (all training windows / global batch size), the same on
    every worker, so every worker runs the same number of collective steps even when shards differ in size.
    """

    stream: object  # ppgcomp.training.streaming.WindowStream
    val: WindowSet
    steps: int
    strategy: object | None = None  # tf.distribute.MultiWorkerMirroredStrategy
    val_batch: int = 256

    def fit_args(self, kind: str, cfg: TrainConfig) -> dict:
        from ppgcomp.tfenv import tf

        xva, hva = self.val.x, self.val.hr_bpm
        fn = _targets(kind)
        if self.strategy is None:
            return {"x": self.stream.dataset(0, 1, cfg.batch_size).map(fn), "steps_per_epoch": self.steps,
                    "validation_data": (xva, _val_targets(kind, xva, hva)), "validation_batch_size": self.val_batch}

        def train_fn(ctx: tf.distribute.InputContext):
            return self.stream.dataset(ctx.input_pipeline_id, ctx.num_input_pipelines,
                                       ctx.get_per_replica_batch_size(cfg.batch_size)).map(fn)

        def val_fn(ctx: tf.distribute.InputContext):
            ds = tf.data.Dataset.from_tensor_slices((xva, hva)).shard(ctx.num_input_pipelines, ctx.input_pipeline_id)
            return ds.repeat().batch(ctx.get_per_replica_batch_size(self.val_batch)).map(fn)

        creator = keras.utils.experimental.DatasetCreator
        return {"x": creator(train_fn), "steps_per_epoch": self.steps, "validation_data": creator(val_fn),
                "validation_steps": max(1, -(-len(self.val) // self.val_batch))}


def train_streaming(feed: StreamFeed, local_feed: StreamFeed | None, calibration: np.ndarray | None,
                    cfg: TrainConfig, ckpt_dir: Path, fault_hook: keras.callbacks.Callback | None = None,
                    after_float=None) -> TrainedModels | None:
    """The four stages on streamed windows. With a strategy, stages 1-3 run on every worker in its scope; then
    `after_float()` runs (a barrier), and only the chief (`local_feed` given) runs QAT, locally, on plain copies of
    the models. Non-chief workers return None."""
    strategy = feed.strategy
    history: dict[str, dict[str, list[float]]] = {}
    what = f"{feed.steps} batches of {cfg.batch_size} streamed windows per epoch"
    with strategy.scope() if strategy is not None else _no_scope():
        encoder, decoder, hr_model = build_encoder(cfg.arch), build_decoder(), build_hr_model()
        init_encoder(encoder)
        ae = keras.Sequential([encoder, decoder], name="autoencoder")
        ae.compile(keras.optimizers.Adam(cfg.lr), loss="mse")
        hr_model.compile(keras.optimizers.Adam(1.5 * cfg.lr), loss="mae")
        pipe = build_pipeline(encoder, decoder, hr_model)
        pipe.compile(keras.optimizers.Adam(cfg.lr), loss={"recon": "mse", "hr": "mae"},
                     loss_weights={"recon": RECON_WEIGHT, "hr": 1.0})
    extra = [fault_hook] if fault_hook is not None else []
    history["1_autoencoder"] = _fit_with(ae, "1_autoencoder", feed.fit_args("ae", cfg), what, cfg.epochs.ae, cfg,
                                         ckpt_dir, extra_callbacks=extra)
    history["2_hr_raw"] = _fit_with(hr_model, "2_hr_raw", feed.fit_args("hr", cfg), what, cfg.epochs.hr, cfg, ckpt_dir)
    hr_raw_weights = hr_model.get_weights()
    history["3_end_to_end"] = _fit_with(pipe, "3_end_to_end", feed.fit_args("e2e", cfg), what, cfg.epochs.e2e, cfg,
                                        ckpt_dir, patience=cfg.patience + cfg.patience // 3)
    if after_float is not None:
        after_float()
    if local_feed is None:
        return None
    if strategy is not None:  # plain copies outside the strategy: QAT, export and evaluation are the chief's alone
        encoder, decoder, hr_model = (_plain_copy(m) for m in (encoder, decoder, hr_model))
    hr_model_raw = keras.models.clone_model(hr_model)
    hr_model_raw.set_weights(hr_raw_weights)

    qat_encoder, qpipe = _qat_pipeline(encoder, decoder, hr_model, calibration, cfg)
    history["4_qat_encoder"] = _qat_fit(qpipe, qat_encoder, local_feed.fit_args("e2e", cfg),
                                        f"{local_feed.steps} batches per epoch", cfg, ckpt_dir)
    return TrainedModels(encoder, decoder, hr_model, hr_model_raw, qat_encoder, history)


class _no_scope:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _plain_copy(model: keras.Model) -> keras.Model:
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy
