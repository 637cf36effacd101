"""Streaming input and multi-worker training (issue 15): TF_CONFIG checks, the tf.data window stream, a --quick run
on 2 local workers, and the bad-input and dead-worker paths (exit 2 / exit 3 with one line, no hang)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support import export_checks as checks

from ppgcomp.constants import REPORT_JSON_FILE, TFLITE_FILE
from ppgcomp.training.distributed import Cluster, ClusterError, free_ports, parse_tf_config
from ppgcomp.training.streaming import Source, WindowStream, list_sources, split_sources

REPO = Path(__file__).resolve().parents[3]
# The smallest configuration that still trains every stage and exports: 2 training subjects, one per worker.
SMALL = ["--quick", "--subjects", "4", "--minutes", "2", "--epochs", "1,1,1,0"]


def _run(args: list[str], tmp: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    (tmp / "tmp").mkdir(exist_ok=True)
    full = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    full.update({"TMPDIR": str(tmp / "tmp"), **(env or {})})
    return subprocess.run([sys.executable, str(REPO / "scripts" / "train_export.py"), *args], cwd=REPO, env=full,
                          capture_output=True, text=True, timeout=900, check=False)


def _error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr
    return [ln for ln in stderr.splitlines() if ln.startswith("train_export.py: error:")]


# --- TF_CONFIG


def test_tf_config_ranks_and_chief():
    c = parse_tf_config(json.dumps({"cluster": {"worker": ["a:1", "b:2", "c:3"]}, "task": {"type": "worker", "index": 2}}))
    assert (c.rank, c.num_workers, c.is_chief, c.address) == (2, 3, False, "c:3")
    spec = {"chief": ["h0:5"], "worker": ["h1:5", "h2:5"]}
    assert parse_tf_config(json.dumps({"cluster": spec, "task": {"type": "chief", "index": 0}})).is_chief
    w = parse_tf_config(json.dumps({"cluster": spec, "task": {"type": "worker", "index": 0}}))
    assert (w.rank, w.is_chief, w.addresses) == (1, False, ["h0:5", "h1:5", "h2:5"])
    assert isinstance(w, Cluster)


@pytest.mark.parametrize("text, words", [
    ("{nope", "not valid JSON"),
    ("[]", '"cluster" object'),
    ('{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}', "non-empty list"),
    ('{"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}', "out of range"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "not a job"),
    ('{"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "not supported"),
    ('{"cluster": {"worker": ["a:1", "a:1"]}, "task": {"type": "worker", "index": 0}}', "same address"),
])
def test_tf_config_malformed(text, words):
    with pytest.raises(ClusterError, match=words) as e:
        parse_tf_config(text)
    assert "\n" not in str(e.value)


# --- the stream


def test_split_by_subject_matches_in_memory_path():
    from ppgcomp.data import Recording
    from ppgcomp.training.pipeline import split_by_subject

    for n in (3, 10, 80):
        sources = list_sources("synthetic", n, 1.0, 0, None)
        recs = [Recording(s.name, np.zeros(1, np.int32), np.zeros(1, np.float32)) for s in sources]
        for part_s, part_r in zip(split_sources(sources), split_by_subject(recs), strict=True):
            assert [s.name for s in part_s] == [r.subject for r in part_r]
    assert split_sources(list_sources("synthetic", 10, 1.0, 3, None)) == split_sources(list_sources("synthetic", 10, 1.0, 3, None))


def test_stream_yields_exactly_the_windows_of_its_shard(tmp_path):
    from ppgcomp.data.windows import make_windows

    sources = [Source(f"s{i}", "synthetic", seed=100 + i, minutes=1.0) for i in range(3)]
    stream = WindowStream(sources, seed=1, batch_size=4, cache_dir=tmp_path, shuffle_buffer=16)
    assert stream.shard(0, 2) == [0, 2] and stream.shard(1, 2) == [1]
    n = stream.count([0, 2])
    expected = make_windows([sources[0].load(), sources[2].load()])
    assert n == len(expected)
    want = {r.tobytes() for r in expected.x.astype(np.float32)}

    def first(k: int) -> np.ndarray:
        return np.concatenate([x.numpy() for x, _ in stream.dataset(0, 2, batch_size=4).take(k)])

    got = first(3 * n // 4)  # three passes over the shard
    assert {r.tobytes() for r in got} == want  # every window of the shard, nothing from the other shard
    assert np.array_equal(got, first(3 * n // 4))  # deterministic for a seed
    assert not np.array_equal(got[:n], expected.x)  # shuffled


# --- bad input


def test_workers_below_one_is_exit_2(tmp_path):
    r = _run([*SMALL, "--workers", "0", "--out", str(tmp_path / "a"), "--no-emit"], tmp_path)
    assert r.returncode == 2 and _error_lines(r.stderr) == ["train_export.py: error: --workers must be at least 1 (got 0)"]
    assert not (tmp_path / "a").exists()


def test_malformed_tf_config_is_exit_2(tmp_path):
    r = _run([*SMALL, "--out", str(tmp_path / "a"), "--no-emit"], tmp_path, {"TF_CONFIG": '{"cluster": {"worker": 5}}'})
    assert r.returncode == 2 and len(_error_lines(r.stderr)) == 1 and "TF_CONFIG" in r.stderr
    assert not (tmp_path / "a").exists()


def test_unreachable_worker_is_exit_2(tmp_path):
    ports = free_ports(2)
    cfg = {"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": "worker", "index": 0}}
    r = _run([*SMALL, "--out", str(tmp_path / "a"), "--no-emit", "--connect-timeout", "2"], tmp_path,
             {"TF_CONFIG": json.dumps(cfg)})
    assert r.returncode == 2
    want = f"train_export.py: error: worker localhost:{ports[1]} cannot be reached (no answer within 2 s)"
    assert _error_lines(r.stderr) == [want]
    assert not (tmp_path / "a").exists()


# --- two workers


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("two_workers")
    r = _run([*SMALL, "--workers", "2", "--out", str(root / "artifacts"), "--emit-c", str(root / "model"),
              "--emit-golden", str(root / "golden")], root)
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads((root / "artifacts" / REPORT_JSON_FILE).read_text())
    report["_dirs"] = {"root": root, "artifacts": root / "artifacts", "model": root / "model", "golden": root / "golden"}
    report["_stderr"] = r.stderr
    return report


def test_two_workers_both_took_part(two_workers):
    s = two_workers["streaming"]
    assert s["workers"] == 2 and s["replicas_in_sync"] == 2
    assert len(s["train_windows_per_worker"]) == 2 and min(s["train_windows_per_worker"]) > 0
    assert sum(s["train_windows_per_worker"]) == two_workers["data"]["train_windows"]
    for rank in (0, 1):  # each worker trained the float stages
        assert f"[worker {rank}] INFO ppgcomp.training.train: [3_end_to_end] epoch 1/1" in two_workers["_stderr"]
    assert "[worker 1] INFO ppgcomp.training.train: [4_qat_encoder]" not in two_workers["_stderr"]  # QAT on the chief only
    assert "--workers 2" in two_workers["command"]  # the report and generated files name the command as given


def test_two_workers_export_passes_the_single_worker_verification(two_workers, tmp_path):
    checks.check_report_figures(two_workers)
    checks.check_artifacts_and_plots_exist(two_workers)
    checks.check_tflm_and_tflite_agree_on_fresh_windows(two_workers)
    checks.check_golden_codes_reproduce(two_workers)
    checks.check_emitted_c_compiles_and_matches_report(two_workers, tmp_path)


def test_two_workers_write_one_set_of_artefacts(two_workers):
    root = two_workers["_dirs"]["root"]
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.parts[len(root.parts)] != "tmp")
    assert sum(f.endswith(REPORT_JSON_FILE) for f in files) == 1
    assert sum(f.endswith(TFLITE_FILE) for f in files) == 1
    assert sum(f.endswith("ppg_encoder_model.c") for f in files) == 1
    assert not [f for f in files if "workertemp" in f or "ppgcomp-" in f]
    assert {p.name for p in (root / "artifacts" / "checkpoints").iterdir()} == {
        "1_autoencoder.weights.h5", "2_hr_raw.weights.h5", "3_end_to_end.weights.h5"}
    # The non-chief worker kept its checkpoints and recording cache in a private temporary folder, now removed.
    assert not [p for p in (root / "tmp").iterdir() if p.name.startswith("ppgcomp-")]


# --- a worker dies mid-run


def test_dead_worker_stops_the_local_run_with_exit_3(tmp_path):
    r = _run([*SMALL, "--epochs", "2,0,0,0", "--workers", "2", "--out", str(tmp_path / "a"), "--no-emit"], tmp_path,
             {"PPGCOMP_TEST_WORKER_EXIT": "1"})
    assert r.returncode == 3
    want = "train_export.py: error: worker 1 exited with status 17 during the run; stopped the other workers"
    assert _error_lines(r.stderr) == [want]
    assert not (tmp_path / "a" / REPORT_JSON_FILE).exists()


def test_chief_alone_detects_a_dead_worker(tmp_path):
    """TF_CONFIG on each host, no launcher: the chief itself notices the missing heartbeats and exits 3."""
    ports = free_ports(2)
    spec = {"worker": [f"localhost:{p}" for p in ports]}
    args = [sys.executable, str(REPO / "scripts" / "train_export.py"), *SMALL, "--epochs", "2,0,0,0", "--no-emit",
            "--worker-timeout", "10"]
    procs = []
    for rank in (0, 1):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": spec, "task": {"type": "worker", "index": rank}}),
               "TMPDIR": str(tmp_path), **({"PPGCOMP_TEST_WORKER_EXIT": "1"} if rank == 1 else {})}
        procs.append(subprocess.Popen([*args, "--out", str(tmp_path / f"out{rank}")], cwd=REPO, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=600) for p in procs]
    assert procs[1].returncode == 17
    assert procs[0].returncode == 3
    want = (f"train_export.py: error: worker 1 (localhost:{ports[1]}) stopped responding during training "
            "(no heartbeat for 10 s); the run is stopped")
    assert _error_lines(outs[0][1]) == [want]
    assert not (tmp_path / "out1").exists()
