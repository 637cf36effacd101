"""ppgcomp-study-frontends: what limits HR from the codes on the real-data development set (model selection only).

Three measurements, each on the development set's windows at rest (pooled) and on the motion recording:

1. Spectral peak variants, no learning: which part of the 16 s window the reference rewards (the reference of a
   window is the mean over its last 8 s of the trailing-8 s beat HR, so it depends on beats across all 16 s).
2. The shipped conv encoder's front-end, before its only learned layer: the frozen filter bank's |cos| + |sin|
   (what the codes layer reads), summed over the segments and decoded by parabolic interpolation between the
   frequencies. Nothing learned: it shows what the 16 codes start from.
3. Front-ends within about the encoder's multiply-accumulate budget (three more at about twice it on request), each
   followed by a learned 16-code layer (ReLU) and a small host head, a regression or a classification over 1 bpm
   bins. Trained on the built-in
   synthetic data only (train_export's subjects and split, validation split for early stopping); scored on the
   synthetic test subjects (per-sample labels, as the report) and on the real windows. Several seeds: the spread
   matters as much as the mean.

The development set is never trained on: only the synthetic data reaches `fit`.

Exit status: 0 done; 2 bad arguments or missing artefacts (one line); 3 a recording could not be fetched.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ppgcomp.constants import ARTIFACTS_DIR, ENCODER_FLOAT_FILE, MODEL_RATE_HZ, WINDOW_LEN

log = logging.getLogger("ppgcomp.realdata.study")

DECIMATOR_MACS = 1600  # the 1x1 CONV_2D 8 -> 4 over 50 pixels
HR_GRID = np.arange(30.0, 211.0, 1.0)  # the classification head's bins, bpm
LABEL_SIGMA_BPM = 1.5  # the classification targets: a Gaussian around the label
LOCAL_BINS = 5  # the classification estimate: the expectation over +-5 bins around the most probable one


@dataclass(frozen=True)
class FrontEnd:
    """Hann-tapered cos/sin filters over time segments of the pair-mean signal (12.5 Hz), |cos| + |sin| each."""

    name: str
    segments: tuple[tuple[int, int], ...]  # (first sample, length) at 12.5 Hz
    n_freqs: int
    band_hz: tuple[float, float] = (0.55, 3.4)

    @property
    def freqs_hz(self) -> np.ndarray:
        return np.linspace(*self.band_hz, self.n_freqs)

    @property
    def n_features(self) -> int:
        return len(self.segments) * self.n_freqs

    @property
    def macs(self) -> int:
        """Per inference as the conv encoder would run it: decimator, filter bank, 16-code layer (its 2 inputs per
        magnitude, tied)."""
        filters = sum(2 * self.n_freqs * n for _, n in self.segments)
        return DECIMATOR_MACS + filters + 2 * self.n_features * 16


SHIPPED = FrontEnd("4 x 6.4 s, 16 freqs (shipped)", ((0, 80), (40, 80), (80, 80), (120, 80)), 16)
FRONT_ENDS = (
    SHIPPED,
    FrontEnd("3 x 9.6 s, 16 freqs", ((0, 120), (40, 120), (80, 120)), 16),
    FrontEnd("2 x 12.8 s, 16 freqs", ((0, 160), (40, 160)), 16),
    FrontEnd("1 x 16 s, 25 freqs", ((0, 200),), 25),
    # About twice the budget (--front-ends 4 5 6): does a finer front-end alone close the gap?
    FrontEnd("1 x 16 s, 57 freqs (3 bpm)", ((0, 200),), 57),
    FrontEnd("4 x 6.4 s, 32 freqs", ((0, 80), (40, 80), (80, 80), (120, 80)), 32),
    FrontEnd("3 x 9.6 s, 32 freqs", ((0, 120), (40, 120), (80, 120)), 32),
)
DEFAULT_FRONT_ENDS = (0, 1, 2, 3)  # within about the shipped encoder's budget
HEADS = ("regression", "classification")


def filter_magnitudes(q: np.ndarray, fe: FrontEnd) -> np.ndarray:
    """(n, 400) int8 windows -> (n, segments, freqs, 2): |cos|, |sin| of each filter, in the encoder's float
    arithmetic (the shipped front-end's output equals the conv encoder's ABS layer; tests check it)."""
    from ppgcomp.dsp.preprocess import int8_to_float

    x = int8_to_float(q).astype(np.float64)
    x = 0.5 * (x[:, 0::2] + x[:, 1::2])
    out = np.empty((x.shape[0], len(fe.segments), fe.n_freqs, 2))
    for s, (lo, n) in enumerate(fe.segments):
        t = (2 * np.arange(n) + 0.5) / MODEL_RATE_HZ
        taper = np.hanning(n)
        taper *= 4.0 / taper.sum()
        arg = 2 * np.pi * np.outer(t, fe.freqs_hz)
        seg = x[:, lo : lo + n]
        out[:, s, :, 0] = np.abs(seg @ (np.cos(arg) * taper[:, None]))
        out[:, s, :, 1] = np.abs(seg @ (np.sin(arg) * taper[:, None]))
    return out


def features(q: np.ndarray, fe: FrontEnd) -> np.ndarray:
    """What a codes layer reads: |cos| + |sin| per segment and frequency, (n, segments * freqs) float32."""
    return filter_magnitudes(q, fe).sum(axis=3).reshape(len(q), -1).astype(np.float32)


def interpolated_peak_bpm(mag: np.ndarray, freqs_hz: np.ndarray) -> np.ndarray:
    """(n, freqs) magnitudes -> (n,) bpm: the largest, refined by a parabola through it and its neighbours."""
    i = np.clip(np.argmax(mag, axis=1), 1, mag.shape[1] - 2)
    rows = np.arange(len(i))
    a, b, c = mag[rows, i - 1], mag[rows, i], mag[rows, i + 1]
    den = a - 2 * b + c
    off = np.where(np.abs(den) > 1e-12, 0.5 * (a - c) / np.where(np.abs(den) > 1e-12, den, 1.0), 0.0)
    return 60.0 * (freqs_hz[i] + np.clip(off, -1, 1) * (freqs_hz[1] - freqs_hz[0]))


def spectral_variants() -> dict[str, tuple[np.ndarray, int]]:
    half, three_q = WINDOW_LEN // 2, 3 * WINDOW_LEN // 4
    return {
        "16 s Hann, 4096 points (the baseline)": (np.hanning(WINDOW_LEN), 4096),
        "16 s Hann, 8192 points": (np.hanning(WINDOW_LEN), 8192),
        "16 s rectangular, 8192 points": (np.ones(WINDOW_LEN), 8192),
        "last 12 s Hann, 8192 points": (np.r_[np.zeros(WINDOW_LEN - three_q), np.hanning(three_q)], 8192),
        "last 8 s Hann, 8192 points": (np.r_[np.zeros(WINDOW_LEN - half), np.hanning(half)], 8192),
    }


@dataclass
class RealSet:
    name: str
    condition: str
    raw: np.ndarray
    q: np.ndarray
    ref: np.ndarray


def real_sets(cache: Path | None, hop: int) -> list[RealSet]:
    from ppgcomp.dsp.preprocess import preprocess_windows
    from ppgcomp.realdata.recordings import load_all, windows

    out = []
    for r in load_all(cache):
        w = windows(r, hop)
        if len(w.ref_bpm):
            out.append(RealSet(r.name, r.condition, w.raw, preprocess_windows(w.raw), w.ref_bpm))
    return out


def row(sets: list[RealSet], predict) -> dict[str, float]:
    """MAE per recording, pooled over the rest recordings ("pooled rest")."""
    out: dict[str, float] = {}
    rest = []
    for s in sets:
        e = np.abs(np.asarray(predict(s), np.float64) - s.ref)
        out[s.name] = float(e.mean())
        if s.condition == "rest":
            rest.append(e)
    out["pooled rest"] = float(np.concatenate(rest).mean())
    return out


def shipped_frontend_row(sets: list[RealSet], encoder) -> dict[str, float]:
    """Measurement 2 from the committed float encoder's own layers (not the emulation)."""
    from ppgcomp.dsp.preprocess import int8_to_float
    from ppgcomp.tfenv import keras
    from ppgcomp.training.models import CONV_FREQS, CONV_SEGMENTS, RECTIFY_LAYER, SPECTRAL_BAND_HZ

    fe = keras.Model(encoder.input, encoder.get_layer(RECTIFY_LAYER).output)
    freqs = np.linspace(*SPECTRAL_BAND_HZ, CONV_FREQS)

    def predict(s: RealSet) -> np.ndarray:
        m = np.asarray(fe(int8_to_float(s.q), training=False)).reshape(len(s.q), CONV_SEGMENTS, CONV_FREQS, 2)
        return interpolated_peak_bpm(m.sum(axis=(1, 3)), freqs)

    return row(sets, predict)


@dataclass
class Synthetic:
    q: dict[str, np.ndarray]  # "train", "val", "test" -> (n, 400) int8
    hr: dict[str, np.ndarray]  # -> (n, 200) per-sample labels


def synthetic_splits() -> Synthetic:
    """train_export's default data and subject split."""
    from ppgcomp.data.windows import make_windows
    from ppgcomp.training.pipeline import ExportConfig, load_data, split_by_subject

    parts = dict(zip(("train", "val", "test"), split_by_subject(load_data(ExportConfig()))))
    ws = {k: make_windows(v) for k, v in parts.items()}
    return Synthetic({k: w.q for k, w in ws.items()}, {k: w.hr_bpm for k, w in ws.items()})


def _soft_labels(hr_mean: np.ndarray) -> np.ndarray:
    t = np.exp(-0.5 * ((HR_GRID[None, :] - hr_mean[:, None]) / LABEL_SIGMA_BPM) ** 2)
    return (t / t.sum(axis=1, keepdims=True)).astype(np.float32)


def classification_bpm(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    i = np.argmax(p, axis=1)
    out = np.empty(len(p))
    for k in range(len(p)):
        lo, hi = max(0, i[k] - LOCAL_BINS), min(len(HR_GRID), i[k] + LOCAL_BINS + 1)
        out[k] = float((p[k, lo:hi] * HR_GRID[lo:hi]).sum() / p[k, lo:hi].sum())
    return out


def train_and_score(fe: FrontEnd, head: str, seed: int, syn: Synthetic, sets: list[RealSet],
                    epochs: int) -> dict[str, float]:
    """One learned 16-code layer + head on `fe`, trained on synthetic windows; the real rows and the synthetic
    test MAE ("synthetic test", per-sample labels, a prediction held over the last 8 s)."""
    from ppgcomp.tfenv import keras, tf

    tf.keras.utils.set_random_seed(seed)
    x = {k: features(q, fe) for k, q in syn.q.items()}
    hr_mean = {k: v.mean(axis=1) for k, v in syn.hr.items()}
    inp = keras.Input((fe.n_features,))
    h = keras.layers.Dense(16, activation="relu", name="codes")(inp)
    for units in (128, 128):
        h = keras.layers.Dense(units, activation="relu")(h)
    if head == "regression":
        out = keras.layers.Rescaling(40.0, offset=100.0)(keras.layers.Dense(1)(h))
        loss, y = "mae", {k: v[:, None] for k, v in hr_mean.items()}

        def to_bpm(o: np.ndarray) -> np.ndarray:
            return o[:, 0]
    else:
        out = keras.layers.Dense(len(HR_GRID))(h)
        loss, y = keras.losses.CategoricalCrossentropy(from_logits=True), {k: _soft_labels(v) for k, v in hr_mean.items()}
        to_bpm = classification_bpm
    model = keras.Model(inp, out)
    model.compile(keras.optimizers.Adam(2e-3), loss=loss)
    model.fit(x["train"], y["train"], validation_data=(x["val"], y["val"]), epochs=epochs, batch_size=32, verbose=0,
              callbacks=[keras.callbacks.EarlyStopping(patience=8, restore_best_weights=True),
                         keras.callbacks.ReduceLROnPlateau(patience=4, factor=0.5)])

    def predict(s: RealSet) -> np.ndarray:
        return to_bpm(model.predict(features(s.q, fe), verbose=0))

    r = row(sets, predict)
    test = to_bpm(model.predict(x["test"], verbose=0))
    r["synthetic test"] = float(np.abs(test[:, None] - syn.hr["test"]).mean())
    return r


def _table(title: str, rows: dict[str, dict], cols: list[str], extra: dict | None = None) -> str:
    extra = extra or {}
    head = ["HR MAE, bpm", *extra, *cols]
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for name, r in rows.items():
        cells = [fn(name) for fn in extra.values()]
        lines.append(f"| {name} | " + " | ".join([*cells, *(f"{r[c]:.2f}" if c in r else "-" for c in cols)]) + " |")
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    from ppgcomp.realdata.score import DEFAULT_HOP

    p = argparse.ArgumentParser(
        prog="ppgcomp-study-frontends",
        description="What limits HR from the codes on the real-data development set: spectral-peak variants, the "
        "shipped encoder's frozen front-end decoded without learning, and front-ends within the encoder's budget "
        "with a learned 16-code layer and head trained on the synthetic data only. Validation and model "
        "selection only: the real recordings are never trained on.",
        epilog="Exit status: 0 done; 2 bad arguments or missing artefacts; 3 a recording could not be fetched.",
    )
    p.add_argument("--artifacts", type=Path, default=ARTIFACTS_DIR,
                   help=f"the conv encoder's train_export folder (default {ARTIFACTS_DIR})")
    p.add_argument("--seeds", type=int, default=3, help="seeds per front-end and head (default 3)")
    p.add_argument("--epochs", type=int, default=60, help="most epochs per learned run, early stopped (default 60)")
    p.add_argument("--no-train", action="store_true", help="measurements 1 and 2 only (no learning, seconds)")
    p.add_argument("--front-ends", type=int, nargs="+", metavar="I", choices=range(len(FRONT_ENDS)),
                   help="indices of the front-ends to train (default " + " ".join(map(str, DEFAULT_FRONT_ENDS))
                   + "): " + "; ".join(f"{i} = {f.name} ({f.macs:,} MACs)" for i, f in enumerate(FRONT_ENDS)))
    p.add_argument("--heads", nargs="+", choices=HEADS, default=list(HEADS), help="heads to train (default both)")
    p.add_argument("--hop", type=int, default=DEFAULT_HOP, help=f"window hop, 25 Hz samples (default {DEFAULT_HOP})")
    p.add_argument("--cache", type=Path, help="the development set's cache folder (as ppgcomp-bench-real)")
    p.add_argument("--json", type=Path, help="write every figure as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    prog = "ppgcomp-study-frontends"
    if args.seeds < 1 or args.epochs < 1 or args.hop < 1:
        print(f"{prog}: --seeds, --epochs and --hop must be at least 1", file=sys.stderr)
        return 2
    enc_path = args.artifacts / ENCODER_FLOAT_FILE
    if not enc_path.is_file():
        print(f"{prog}: {enc_path}: missing; run scripts/train_export.py first", file=sys.stderr)
        return 2
    from ppgcomp.realdata.baselines import spectral_hr
    from ppgcomp.realdata.sources import FetchError

    try:
        sets = real_sets(args.cache, args.hop)
    except FetchError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 3
    from ppgcomp.tfenv import keras
    from ppgcomp.training import models  # registers the custom layers for loading

    encoder = keras.models.load_model(enc_path, compile=False)
    if models.encoder_arch(encoder) != "conv":
        print(f"{prog}: {enc_path}: not a conv encoder", file=sys.stderr)
        return 2
    cols = ["pooled rest", *(s.name for s in sets if s.condition == "rest"),
            *(s.name for s in sets if s.condition != "rest")]
    report: dict[str, object] = {"hop_samples": args.hop, "windows": {s.name: len(s.ref) for s in sets}}

    spectral = {name: row(sets, lambda s, t=taper, n=nfft: spectral_hr(s.raw, t, n))
                for name, (taper, nfft) in spectral_variants().items()}
    report["spectral_peak"] = spectral
    print(_table("1. Spectral peak variants (no learning)", spectral, cols))
    shipped = {"shipped front-end, parabolic interpolation": shipped_frontend_row(sets, encoder)}
    report["shipped_front_end"] = shipped
    print(_table("2. The shipped encoder's frozen front-end, before the codes layer (no learning)", shipped, cols))

    if not args.no_train:
        syn = synthetic_splits()
        chosen = [FRONT_ENDS[i] for i in (args.front_ends if args.front_ends is not None else DEFAULT_FRONT_ENDS)]
        learned: dict[str, dict[str, float]] = {}
        runs = [(fe, head) for fe in chosen for head in args.heads]
        for k, (fe, head) in enumerate(runs, 1):
            per_seed = []
            for seed in range(args.seeds):
                log.info("[%d/%d] %s, %s head, seed %d", k, len(runs), fe.name, head, seed)
                per_seed.append(train_and_score(fe, head, seed, syn, sets, args.epochs))
            keys = per_seed[0].keys()
            mean = {c: float(np.mean([r[c] for r in per_seed])) for c in keys}
            mean["rest min"] = float(min(r["pooled rest"] for r in per_seed))
            mean["rest max"] = float(max(r["pooled rest"] for r in per_seed))
            learned[f"{fe.name}, {head}"] = {**mean, "macs": fe.macs, "seeds": per_seed}
        report["learned"] = learned
        print(_table(
            f"3. Learned 16-code layer + head, trained on synthetic data (mean of {args.seeds} seed(s))",
            learned, ["synthetic test", *cols, "rest min", "rest max"],
            {"MACs": lambda n: f"{learned[n]['macs']:,}"}))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
