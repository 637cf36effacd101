"""Write the report files all together or not at all.

Each file is first written in full to a temporary file in its own folder (``.<name>.<random>.tmp``), and only
when every one of them is written are they renamed into place (``os.replace``, atomic on one file system).
A failure before that point removes the temporary files and raises :class:`InputError` naming the file and
the problem: no new or partial file is left, and an earlier report under the same name stays as it was. A
reader of a report therefore sees either the earlier file or the complete new one. (The renames themselves
come last, in the folders already written to; they fail only if those folders change under the tool.)
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ppgcomp.elfsize.errors import InputError


def _mode_for(path: Path) -> int:
    """Permissions for the new file: those of the file it replaces, else what ``open()`` would give."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _check_targets(outputs: Sequence[tuple[Path, str]]) -> None:
    seen: dict[Path, Path] = {}
    for path, _ in outputs:
        if path.is_dir():
            raise InputError(f"{path}: cannot write the report: is a directory")
        folder = path.parent
        if not folder.is_dir():
            reason = "is not a directory" if folder.exists() else "does not exist"
            raise InputError(f"{path}: cannot write the report: folder {folder} {reason}")
        key = folder.resolve() / path.name
        if key in seen:
            raise InputError(f"{path}: given for two reports ({seen[key]} and {path}); name two different files")
        seen[key] = path


def write_outputs(outputs: Sequence[tuple[Path, str]]) -> None:
    """Write each ``(path, text)`` (UTF-8) atomically, and all of them or none; raise :class:`InputError`."""
    _check_targets(outputs)
    staged: list[tuple[str, Path]] = []  # (temporary file, final path)
    try:
        for path, text in outputs:
            try:
                fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            except OSError as exc:
                raise InputError(f"{path}: cannot write the report: {exc.strerror or exc}") from None
            staged.append((tmp, path))
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                    fh.write(text)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, _mode_for(path))
            except OSError as exc:
                raise InputError(f"{path}: cannot write the report: {exc.strerror or exc}") from None
        while staged:
            tmp, path = staged[0]
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise InputError(f"{path}: cannot write the report: {exc.strerror or exc}") from None
            staged.pop(0)
    finally:
        for tmp, _ in staged:
            try:
                os.unlink(tmp)
            except OSError:
                pass
