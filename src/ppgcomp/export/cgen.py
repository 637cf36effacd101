"""The C generation that the exporters share: the Jinja environment on templates/, the provenance fields every
generated file names, C initialiser lines, and rendering templates into a folder.

:mod:`ppgcomp.export.emit` (model, Kconfig fragment, golden vectors) generates C through these.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

import jinja2
import numpy as np

from ppgcomp import __version__

TEMPLATES_DIR = Path(__file__).parent / "templates"  # <file name>.j2 generates <file name>
GENERATOR = f"ppgcomp {__version__}"

# The generated files (FIRMWARE_MODEL_DIR / FIRMWARE_GOLDEN_DIR in ppgcomp.constants).
MODEL_HEADER = "ppg_encoder_model.h"
MODEL_SOURCE = "ppg_encoder_model.c"
MODEL_KCONFIG = "Kconfig.model"
GOLDEN_HEADER = "ppg_golden_vectors.h"


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def provenance(command: str, sha256: str) -> dict:
    """The fields every generated file's header names: the command, this generator and the model's SHA-256."""
    return {"command": command, "generator": GENERATOR, "sha256": sha256}


def c_lines(values, per_line: int, fmt: str) -> list[str]:
    """The values of an array as C initialiser lines of `per_line` values, each formatted with `fmt`."""
    vals = [fmt.format(int(v)) for v in np.asarray(values).reshape(-1)]
    return [", ".join(vals[i : i + per_line]) + "," for i in range(0, len(vals), per_line)]


def render(names: Iterable[str], ctx: dict, out_dir: Path) -> list[Path]:
    """Render the template of each generated file name with `ctx` into `out_dir` (created if missing); returns
    the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        path = out_dir / name
        path.write_text(environment().get_template(f"{name}.j2").render(ctx))
        written.append(path)
    return written
