"""Keeps the real-data development set out of training: a `--data` path inside a folder that carries the
VALIDATION_ONLY marker (the set's cache, see sources.py) is refused before anything is read."""

from __future__ import annotations

from pathlib import Path

from ppgcomp.data.recording import DataError
from ppgcomp.realdata.sources import MARKER_FILE, cache_dir


def validation_only_root(path: Path) -> Path | None:
    """The folder that marks `path` (or one of its parents) validation-only, else None."""
    p = path.expanduser().resolve()
    for folder in (p, *p.parents):
        if (folder / MARKER_FILE).is_file():
            return folder
    cache = cache_dir().expanduser().resolve()
    return cache if p == cache or cache in p.parents else None


def refuse_validation_only(data: str) -> None:
    """DataError when a `--data KIND:PATH` names the real-data development set."""
    _, sep, arg = data.partition(":")
    if not sep or not arg:
        return
    root = validation_only_root(Path(arg))
    if root is not None:
        raise DataError(
            f"--data {data}: {root} holds the real-data development set ({MARKER_FILE}): it is for "
            "validation and model selection only, never for training"
        )
