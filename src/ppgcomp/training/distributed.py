"""Multi-worker training with tf.distribute.MultiWorkerMirroredStrategy, configured by the standard TF_CONFIG.

* `parse_tf_config` checks TF_CONFIG and says in one line what is wrong with it.
* `connect` waits (bounded) until every peer's port answers, then starts the strategy with a coordination
  service whose heartbeats detect a dead worker, and a timeout on every collective op.
* `launch_local` (`--workers N`) starts N local workers on free localhost ports, one TF_CONFIG each, and watches
  them: the first worker to fail ends the run (the others are stopped) with a one-line error.

Worker 0 (or the `chief` task when TF_CONFIG has one) is the chief: only it writes checkpoints, artefacts and the
report, and only it runs QAT and the export. The others train stages 1-3 with it and keep their checkpoints and
recording cache in a private temporary folder.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
EXIT_WORKER_FAILED = 3
FAULT_ENV = "PPGCOMP_TEST_WORKER_EXIT"  # test hook: "RANK" makes that worker exit(17) after its first epoch
LOCAL_ENV = "PPGCOMP_LOCAL_WORKERS"  # set by launch_local in each child
COMMAND_ENV = "PPGCOMP_COMMAND"  # set by launch_local: the command the report and generated files name


class ClusterError(ValueError):
    """Bad TF_CONFIG or an unreachable worker. The message is one line."""


class WorkerFailed(RuntimeError):
    """A worker died or stopped responding during training. The message is one line."""


@dataclass(frozen=True)
class Cluster:
    """This process's place in a TF_CONFIG cluster."""

    spec: dict[str, list[str]]  # job name -> addresses ("chief" and/or "worker")
    task_type: str
    task_index: int

    @property
    def addresses(self) -> list[str]:
        """All training tasks in rank order: the chief (if any) first, then the workers."""
        return [*self.spec.get("chief", []), *self.spec.get("worker", [])]

    @property
    def num_workers(self) -> int:
        return len(self.addresses)

    @property
    def rank(self) -> int:
        return self.task_index + (len(self.spec.get("chief", [])) if self.task_type == "worker" else 0)

    @property
    def is_chief(self) -> bool:
        return self.rank == 0

    @property
    def address(self) -> str:
        return self.spec[self.task_type][self.task_index]


def parse_tf_config(text: str) -> Cluster:
    """TF_CONFIG ({"cluster": {"worker": ["host:port", ...], "chief": [...]}, "task": {"type", "index"}})."""
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as e:
        raise ClusterError(f"TF_CONFIG is not valid JSON ({e.msg} at character {e.pos})") from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("cluster"), dict) or not isinstance(cfg.get("task"), dict):
        raise ClusterError('TF_CONFIG needs a "cluster" object and a "task" object')
    spec: dict[str, list[str]] = {}
    for job, addrs in cfg["cluster"].items():
        if job not in ("chief", "worker"):
            raise ClusterError(f'TF_CONFIG cluster job "{job}" is not supported (use "chief" and "worker")')
        if not isinstance(addrs, list) or not addrs or not all(isinstance(a, str) for a in addrs):
            raise ClusterError(f'TF_CONFIG cluster "{job}" must be a non-empty list of "host:port" strings')
        for a in addrs:
            host, _, port = a.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ClusterError(f'TF_CONFIG address "{a}" is not "host:port"')
        spec[job] = list(addrs)
    if len(spec.get("chief", [])) > 1:
        raise ClusterError("TF_CONFIG may name at most one chief")
    if not spec:
        raise ClusterError('TF_CONFIG cluster has no "worker" (or "chief") task')
    all_addrs = [a for addrs in spec.values() for a in addrs]
    if len(set(all_addrs)) != len(all_addrs):
        raise ClusterError("TF_CONFIG names the same address twice")
    task_type, index = cfg["task"].get("type"), cfg["task"].get("index")
    if task_type not in spec:
        raise ClusterError(f'TF_CONFIG task type "{task_type}" is not a job of the cluster ({", ".join(spec)})')
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(spec[task_type]):
        raise ClusterError(f"TF_CONFIG task index {index!r} is out of range for {len(spec[task_type])} {task_type}(s)")
    return Cluster(spec, task_type, index)


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def wait_for_peers(cluster: Cluster, timeout_s: float) -> None:
    """Listen on our own port and wait until every peer's port accepts a connection, or raise ClusterError.

    TensorFlow's own cluster start-up waits for absent workers without a bound (and cannot be interrupted), so
    this rendezvous runs first: each worker's port answers while it waits here and once its TF server runs.
    """
    _host, port = _split(cluster.address)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("", port))
        listener.listen(64)
    except OSError as e:
        listener.close()
        raise ClusterError(f"cannot listen on {cluster.address} ({e.strerror})") from None
    deadline = time.monotonic() + timeout_s
    try:
        for peer in cluster.addresses:
            if peer == cluster.address:
                continue
            phost, pport = _split(peer)
            while True:
                try:
                    with socket.create_connection((phost, pport), timeout=2.0):
                        break
                except OSError:
                    if time.monotonic() >= deadline:
                        raise ClusterError(f"worker {peer} cannot be reached (no answer within {timeout_s:g} s)") from None
                    threading.Event().wait(0.2)
    finally:
        listener.close()


def connect(cluster: Cluster, worker_timeout_s: float, connect_timeout_s: float):
    """Start MultiWorkerMirroredStrategy for this TF_CONFIG task once every peer answers."""
    wait_for_peers(cluster, connect_timeout_s)
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.eager import context

    from ppgcomp.tfenv import tf

    leader = "/job:chief/replica:0/task:0" if "chief" in cluster.spec else "/job:worker/replica:0/task:0"
    context.context().configure_coordination_service(
        service_type="standalone", service_leader=leader,
        cluster_register_timeout_in_ms=int(connect_timeout_s * 1000),
        heartbeat_timeout_in_ms=int(worker_timeout_s * 1000),
        shutdown_barrier_timeout_in_ms=int(worker_timeout_s * 1000),
        coordinated_jobs=[coordination_config_pb2.CoordinatedJob(name=job, num_tasks=len(addrs))
                          for job, addrs in cluster.spec.items()])
    # A collective op may wait for a slow peer (reading its shard), so its bound is wider than the heartbeat's.
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=10 * worker_timeout_s)
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    log.info("worker %d of %d (%s) joined the cluster%s", cluster.rank, cluster.num_workers, cluster.address,
             " as the chief" if cluster.is_chief else "")
    return strategy


def all_gather_counts(strategy, rank: int, n: int, value: int) -> np.ndarray:
    """Every worker's `value`, indexed by rank (one all-reduce of one-hot vectors)."""
    from ppgcomp.tfenv import tf

    local = np.zeros(n, dtype=np.float64)
    local[rank] = value

    @tf.function
    def step():
        ctx = tf.distribute.get_replica_context()
        return ctx.all_reduce(tf.distribute.ReduceOp.SUM, tf.constant(local))

    out = strategy.run(step)
    return np.asarray(strategy.experimental_local_results(out)[0].numpy()).round().astype(np.int64)


def barrier(name: str, timeout_s: float) -> None:
    from tensorflow.python.eager import context

    context.context().wait_at_barrier(name, int(timeout_s * 1000))


def is_worker_failure(e: BaseException) -> bool:
    """Errors TensorFlow raises when a peer died or a collective timed out."""
    from ppgcomp.tfenv import tf

    return isinstance(e, (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError,
                          tf.errors.CancelledError, tf.errors.InternalError))


def failure_message(e: BaseException, cluster: Cluster, worker_timeout_s: float) -> str:
    """One line for a worker failure: which worker, if TensorFlow's error names it."""
    text = str(e)
    m = re.search(r"unhealthy.*?/job:(\w+)/replica:0/task:(\d+)", text, re.DOTALL)
    if m:
        job, task = m.group(1), int(m.group(2))
        rank = task + (len(cluster.spec.get("chief", [])) if job == "worker" else 0)
        return (f"worker {rank} ({cluster.spec[job][task]}) stopped responding during training (no heartbeat "
                f"for {worker_timeout_s:g} s); the run is stopped")
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(e).__name__)
    return f"a worker died or stopped responding during training ({type(e).__name__}: {first[:160]})"


def fault_hook(rank: int):
    """The test hook: a callback that kills this worker after its first epoch when FAULT_ENV names its rank."""
    target = os.environ.get(FAULT_ENV, "")
    if not target or int(target) != rank:
        return None
    from ppgcomp.tfenv import keras

    class _Die(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            log.warning("test hook %s: worker %d exits now", FAULT_ENV, rank)
            os._exit(17)

    return _Die()


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("localhost", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def child_command() -> list[str]:
    """The command that runs train_export's command line (ppgcomp.training.cli) in a child process: the local
    workers, and the benchmarks."""
    return [sys.executable, "-m", "ppgcomp.training.cli"]


def launch_local(n: int, child_argv: list[str], prog: str, command: str = "") -> int:
    """Start n local workers (`python -m ppgcomp.training.cli child_argv` with TF_CONFIG) and wait for them.

    Returns the chief's exit status when every worker succeeds; otherwise stops the others and returns the first
    failing worker's status (2 for bad input) or EXIT_WORKER_FAILED, after one line on stderr.
    """
    ports = free_ports(n)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    threads = max(1, (os.cpu_count() or 1) // n)
    src = str(Path(__file__).resolve().parents[2])
    procs: list[subprocess.Popen] = []
    done: queue.Queue[tuple[int, int]] = queue.Queue()
    for rank in range(n):
        env = dict(os.environ)
        env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": rank}})
        env[LOCAL_ENV] = str(n)
        if command:
            env[COMMAND_ENV] = command
        env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
        env.setdefault("TF_NUM_INTRAOP_THREADS", str(threads))
        env.setdefault("TF_NUM_INTEROP_THREADS", str(threads))
        p = subprocess.Popen([*child_command(), *child_argv], env=env)
        procs.append(p)
        threading.Thread(target=lambda r=rank, q=p: done.put((r, q.wait())), daemon=True).start()
    log.info("started %d local workers on ports %s (pids %s)", n, ", ".join(map(str, ports)),
             ", ".join(str(p.pid) for p in procs))
    status = 0
    remaining = n
    try:
        while remaining:
            rank, rc = done.get()
            remaining -= 1
            if rc == 0:
                log.info("worker %d finished", rank)
                continue
            status = rc if rc == EXIT_BAD_INPUT else EXIT_WORKER_FAILED
            if rc != EXIT_BAD_INPUT and rc != EXIT_WORKER_FAILED:
                how = f"was killed by signal {-rc}" if rc < 0 else f"exited with status {rc}"
                print(f"{prog}: error: worker {rank} {how} during the run; stopped the other workers",
                      file=sys.stderr, flush=True)
            break
    finally:
        _stop(procs)
    return status


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:  # TensorFlow can ignore SIGTERM while blocked in a collective
            p.kill()
            p.wait()
