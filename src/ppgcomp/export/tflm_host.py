"""TFLite Micro's Python runtime on a .tflite's bytes: the codes it gives and the arena it needs (no TensorFlow).

The runtime has the reference kernels the firmware's native_sim build runs; the exporter's verification
(:mod:`ppgcomp.export.verify`) and the blob validator (:mod:`ppgcomp.export.model_blob`) use it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np
from tflite_micro.python.tflite_micro import runtime as tflm_runtime

from ppgcomp.constants import WINDOW_LEN

MAX_ARENA = 1 << 24  # the bisection gives up beyond 16 MiB


def interpreter(tflite: bytes, arena_size: int | None = None):
    return tflm_runtime.Interpreter.from_bytes(bytes(tflite), arena_size=arena_size)


def _batch(interp, q: np.ndarray) -> np.ndarray:
    """int8 windows (n, 400) in the input tensor's layout: (n, *shape[1:]); x[k : k + 1] is one input."""
    shape = tuple(int(n) for n in interp.get_input_details(0)["shape"])
    return np.asarray(q, np.int8).reshape((-1, *shape[1:]))


def codes(tflite: bytes, q: np.ndarray, arena_size: int | None = None) -> np.ndarray:
    """The int8 codes (n, code_len) that TFLM gives for the int8 windows `q` (n, 400); `arena_size` default: the
    runtime's (10 times the model's size)."""
    interp = interpreter(tflite, arena_size)
    n_out = int(np.prod(interp.get_output_details(0)["shape"]))
    x = _batch(interp, q)
    out = np.empty((x.shape[0], n_out), np.int8)
    for k in range(x.shape[0]):
        interp.set_input(x[k : k + 1], 0)
        interp.invoke()
        out[k] = np.asarray(interp.get_output(0)).reshape(-1)
    return out


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence TFLM's C-level allocation-failure messages while probing arena sizes."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _works(tflite: bytes, probe: np.ndarray, size: int) -> bool:
    # In a child process: TFLM's Python runtime crashes (SIGSEGV, not an exception) when a CONV_2D's Prepare runs
    # out of arena, and on a malformed model.
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            interp = interpreter(tflite, size)
            interp.set_input(_batch(interp, probe)[:1], 0)
            interp.invoke()
            code = 0
        except BaseException:  # noqa: BLE001 - any failure means "too small"; the child must not return
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def arena_used(tflite: bytes, probe: np.ndarray | None = None) -> int | None:
    """Smallest arena (bytes, to 16) with which TFLM allocates and invokes the model, by bisection on one window
    (`probe`, default zeros); None when 16 MiB is not enough or the model does not load. The model is loaded
    in child processes only, so a model that crashes TFLM does not take this process with it."""
    x = np.zeros(WINDOW_LEN, np.int8) if probe is None else np.asarray(probe, np.int8)
    lo, hi = 0, 1024
    with _quiet_stderr():
        if not _works(tflite, x, MAX_ARENA):
            return None
        while not _works(tflite, x, hi):
            lo, hi = hi, hi * 2
            if hi > MAX_ARENA:
                return None
        while hi - lo > 16:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if _works(tflite, x, mid) else (mid, hi)
    return hi
