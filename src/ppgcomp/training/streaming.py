"""Streaming input: training windows produced by tf.data from the recordings on disk, one recording at a time.

The in-memory path (`pipeline.load_data` + `make_windows`) holds every recording and every window at once. Here a
`Source` names one recording (a file, or one synthetic subject, which is generated on demand as if read from a
file); the subject split is made on the sources, and only the training windows stream:

    sources -> shard by file (one shard per worker) -> shuffle the file order -> interleave a few recordings
      -> windows -> shuffle (bounded buffer) -> batch -> prefetch

Peak memory is bounded by the interleave cycle, the shuffle buffer and the (capped) validation and test subjects,
not by the number of recordings. A recording is parsed once per process and cached as NPZ in a private temporary
folder, so later epochs read the compact 25 Hz form instead of parsing CSV or synthesizing again.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ppgcomp.constants import TARGET_LEN, WINDOW_LEN
from ppgcomp.data import DataError, Recording
from ppgcomp.data.loaders import _files, load_generic, load_osu
from ppgcomp.data.synthetic import SENSOR_RATE_HZ, synthetic_recording
from ppgcomp.data.windows import WindowSet, make_windows, usable_window_starts

log = logging.getLogger(__name__)

SHUFFLE_BUFFER = 2048  # windows; about 6 recordings of 12 min
CYCLE_LENGTH = 4  # recordings read at once by the interleave
EVAL_MAX_SUBJECTS = 8  # validation and test each keep at most this many subjects in memory
CALIBRATION_WINDOWS = 2048  # training windows held for QAT calibration and the converter's representative set
TIME_SPLIT = {"train": (0.0, 0.7), "val": (0.7, 0.85), "test": (0.85, 1.0)}


@dataclass(frozen=True)
class Source:
    """One recording that can be loaded on its own: a file, or one seeded synthetic subject."""

    name: str
    kind: str  # synthetic | osu | csv
    path: str = ""
    seed: int = 0
    minutes: float = 0.0
    rate_hz: float | None = None
    part: str = ""  # with fewer than 3 subjects: the time slice (train/val/test) of the recording

    def load(self) -> Recording:
        if self.kind == "synthetic":
            rec = synthetic_recording(self.seed, self.minutes, SENSOR_RATE_HZ, subject=self.name)
        elif self.kind == "osu":
            rec = load_osu(Path(self.path))[0]
        else:
            rec = load_generic(Path(self.path), self.rate_hz)[0]
        if not self.part:
            return rec
        lo, hi = TIME_SPLIT[self.part]
        a, b = int(lo * rec.ppg.size), int(hi * rec.ppg.size)
        return Recording(f"{rec.subject}-{self.part}", rec.ppg[a:b], rec.hr_bpm[a:b])


def list_sources(data: str, subjects: int, minutes: float, seed: int, rate_hz: float | None) -> list[Source]:
    """The recordings of `--data`, without loading them (the same subjects, in the same order, as `load_data`)."""
    from ppgcomp.realdata.guard import refuse_validation_only

    refuse_validation_only(data)
    kind, _, arg = data.partition(":")
    if kind == "synthetic":
        return [Source(f"synthetic-{i:02d}", "synthetic", seed=seed * 1000 + i, minutes=minutes) for i in range(subjects)]
    if kind not in ("osu", "csv"):
        raise DataError(f"--data {data}: not supported on the streaming path (use synthetic, osu:PATH or csv:PATH)")
    if not arg:
        raise DataError(f"--data {data}: give a path, as {kind}:PATH")
    suffixes = (".csv",) if kind == "osu" else (".csv", ".npz")
    return [Source(f.stem, kind, path=str(f), rate_hz=rate_hz) for f in _files(Path(arg), suffixes)]


def split_sources(sources: list[Source]) -> tuple[list[Source], list[Source], list[Source]]:
    """The same subject split as `pipeline.split_by_subject` (deterministic, by order), on sources."""
    n = len(sources)
    if n >= 3:
        n_test = max(1, round(0.2 * n))
        n_val = max(1, round(0.15 * n))
        return sources[: n - n_test - n_val], sources[n - n_test - n_val : n - n_test], sources[-n_test:]
    log.warning("only %d subject(s): splitting each recording by time (70/15/15 %%) instead of by subject", n)
    return tuple([_with_part(s, part) for s in sources] for part in ("train", "val", "test"))  # type: ignore[return-value]


def _with_part(s: Source, part: str) -> Source:
    return Source(s.name, s.kind, s.path, s.seed, s.minutes, s.rate_hz, part)


def load_eval_windows(sources: list[Source], name: str, max_subjects: int = EVAL_MAX_SUBJECTS) -> WindowSet:
    """Validation or test windows in memory, from at most `max_subjects` subjects (so memory stays bounded)."""
    if len(sources) > max_subjects:
        log.warning("%s: using %d of %d subjects (the streaming path keeps held-out sets bounded)",
                    name, max_subjects, len(sources))
        sources = sources[:max_subjects]
    return make_windows([s.load() for s in sources])


class WindowStream:
    """Training windows of some sources as a tf.data pipeline; recordings cached in a private temporary folder."""

    def __init__(self, sources: list[Source], seed: int, batch_size: int, cache_dir: Path | None = None,
                 shuffle_buffer: int = SHUFFLE_BUFFER, cycle_length: int = CYCLE_LENGTH) -> None:
        if not sources:
            raise DataError("the training split has no recording")
        self.sources = sources
        self.seed, self.batch_size = seed, batch_size
        self.shuffle_buffer, self.cycle_length = shuffle_buffer, cycle_length
        self._own_cache = cache_dir is None
        self.cache_dir = Path(tempfile.mkdtemp(prefix="ppgcomp-stream-")) if cache_dir is None else cache_dir
        self.windows: dict[int, int] = {}  # source index -> windows, for the sources this process has read

    def close(self) -> None:
        if self._own_cache:
            shutil.rmtree(self.cache_dir, ignore_errors=True)

    def shard(self, index: int, count: int) -> list[int]:
        """The source indices of one shard: every count-th file, starting at `index` (sharding by file)."""
        return list(range(index, len(self.sources), count))

    def _cached(self, i: int) -> Path:
        path = self.cache_dir / f"{i:06d}.npz"
        if not path.exists():
            rec = self.sources[i].load()
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, ppg=rec.ppg, hr_bpm=rec.hr_bpm)
            tmp.replace(path)
            self.windows[i] = int(usable_window_starts(rec.hr_bpm).size)
        return path

    def count(self, indices: list[int]) -> int:
        """Windows in these sources (reads and caches each one once)."""
        total = 0
        for i in indices:
            self._cached(i)
            if i not in self.windows:
                with np.load(self._cached(i)) as z:
                    self.windows[i] = int(usable_window_starts(z["hr_bpm"]).size)
            total += self.windows[i]
        return total

    def recording_windows(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Float model input and HR target of every window of source i."""
        with np.load(self._cached(int(i))) as z:
            ws = make_windows([Recording(self.sources[int(i)].name, z["ppg"], z["hr_bpm"])])
        return ws.x.astype(np.float32), ws.hr_bpm.astype(np.float32)

    def dataset(self, shard_index: int = 0, shard_count: int = 1, batch_size: int | None = None):
        """An endless, shuffled stream of (x, hr) batches from one shard; epochs are counted in steps."""
        from ppgcomp.tfenv import tf

        indices = np.asarray(self.shard(shard_index, shard_count), dtype=np.int64)
        if indices.size == 0:
            raise DataError(f"shard {shard_index} of {shard_count} has no recording: use at most "
                            f"{len(self.sources)} workers for {len(self.sources)} training recordings")
        spec = (tf.TensorSpec((None, WINDOW_LEN), tf.float32), tf.TensorSpec((None, TARGET_LEN), tf.float32))

        def one_recording(i):
            return tf.data.Dataset.from_generator(lambda j: iter([self.recording_windows(int(j))]),
                                                  output_signature=spec, args=(i,)).unbatch()

        files = tf.data.Dataset.from_tensor_slices(indices)
        files = files.shuffle(indices.size, seed=self.seed, reshuffle_each_iteration=True).repeat()
        ds = files.interleave(one_recording, cycle_length=min(self.cycle_length, int(indices.size)), block_length=1,
                              num_parallel_calls=1, deterministic=True)
        ds = ds.shuffle(self.shuffle_buffer, seed=self.seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size or self.batch_size, drop_remainder=True).prefetch(2)
        opts = tf.data.Options()
        opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF  # sharded above
        opts.deterministic = True
        return ds.with_options(opts)

    def calibration(self, n: int = CALIBRATION_WINDOWS) -> np.ndarray:
        """The first n training windows in file order (QAT calibration, the converter's representative set)."""
        parts, have = [], 0
        for i in range(len(self.sources)):
            x, _ = self.recording_windows(i)
            parts.append(x[: n - have])
            have += parts[-1].shape[0]
            if have >= n:
                break
        return np.concatenate(parts)


def run_streaming(cfg, cluster=None, worker_timeout_s: float = 60.0, connect_timeout_s: float = 300.0) -> dict | None:
    """The main job on streamed training windows, single-process or as one worker of a TF_CONFIG cluster.

    Returns the report on the chief, None on the other workers (which write nothing outside a private temporary
    folder). Raises DataError for bad data, distributed.ClusterError when the cluster cannot form, and
    distributed.WorkerFailed when a worker dies or stops responding during training.
    """
    from ppgcomp.training import distributed as dist
    from ppgcomp.training.pipeline import export, train_config

    t_start = time.monotonic()
    sources = list_sources(cfg.data, cfg.subjects, cfg.minutes, cfg.seed, cfg.rate_hz)
    train_s, val_s, test_s = split_sources(sources)
    rank, n = (cluster.rank, cluster.num_workers) if cluster is not None else (0, 1)
    is_chief = rank == 0
    if len(train_s) < n:
        raise DataError(f"--data {cfg.data}: {len(train_s)} training recording(s) cannot feed {n} workers "
                        "(the stream is sharded by file)")
    log.info("streaming %d training recordings (%d val, %d test subjects)%s", len(train_s), len(val_s), len(test_s),
             f"; worker {rank} of {n}" if cluster is not None else "")
    val = load_eval_windows(val_s, "validation")
    test = load_eval_windows(test_s, "test") if is_chief else None
    for name, ws in (("validation", val), ("test", test)):
        if ws is not None and len(ws) == 0:
            raise DataError(f"--data {cfg.data}: the {name} split has no full 16 s window")

    from ppgcomp.tfenv import set_seed
    from ppgcomp.training.train import StreamFeed, train_streaming

    set_seed(cfg.seed)
    tcfg = train_config(cfg)
    stream = WindowStream(train_s, cfg.seed, tcfg.batch_size)
    private = None if is_chief else Path(tempfile.mkdtemp(prefix="ppgcomp-worker-"))
    try:
        strategy = None
        if cluster is not None:
            strategy = dist.connect(cluster, worker_timeout_s, connect_timeout_s)
        mine = stream.count(stream.shard(rank, n))
        if mine == 0:
            raise DataError(f"--data {cfg.data}: worker {rank}'s recordings have no full 16 s window")
        per_worker = dist.all_gather_counts(strategy, rank, n, mine) if strategy is not None else np.array([mine])
        total = int(per_worker.sum())
        steps = max(1, total // tcfg.batch_size)
        log.info("%d training windows (per worker: %s): %d steps of %d per epoch", total,
                 ", ".join(map(str, per_worker)), steps, tcfg.batch_size)
        feed = StreamFeed(stream, val, steps, strategy)
        local_feed = StreamFeed(stream, val, steps, None) if is_chief else None
        calibration = stream.calibration() if is_chief else None
        if is_chief:
            cfg.out.mkdir(parents=True, exist_ok=True)
        ckpt_dir = cfg.out / "checkpoints" if is_chief else private
        after = (lambda: dist.barrier("ppgcomp-float-stages-done", 10 * worker_timeout_s)) if cluster else None
        t_train = time.monotonic()
        models = train_streaming(feed, local_feed, calibration, tcfg, ckpt_dir,  # type: ignore[arg-type]
                                 dist.fault_hook(rank) if cluster is not None else None, after)
        t_train = time.monotonic() - t_train
    except Exception as e:
        if cluster is not None and dist.is_worker_failure(e):
            raise dist.WorkerFailed(dist.failure_message(e, cluster, worker_timeout_s)) from None
        raise
    finally:
        stream.close()
        if private is not None:
            shutil.rmtree(private, ignore_errors=True)
    if models is None:
        log.info("worker %d: stages 1-3 done; the chief runs QAT and the export", rank)
        return None
    data = {"source": cfg.data, "subjects": len(sources), "train_windows": total, "val_windows": len(val)}
    extra = {"streaming": {"workers": n, "train_windows_per_worker": [int(c) for c in per_worker],
                           "steps_per_epoch": steps, "shuffle_buffer": stream.shuffle_buffer,
                           "interleave_cycle": stream.cycle_length, "eval_max_subjects": EVAL_MAX_SUBJECTS,
                           "replicas_in_sync": int(strategy.num_replicas_in_sync) if strategy is not None else 1}}
    return export(cfg, models, calibration, test, [], data, t_start, t_train, extra)  # type: ignore[arg-type]
