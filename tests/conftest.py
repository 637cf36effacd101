"""Shared fixtures. `quick_export` runs `train_export --quick` once per session into a temporary folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def quick_export(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A real `--quick` export: artefacts, emitted C and golden vectors in a temp folder; returns the report."""
    from ppgcomp.cli import main

    out = tmp_path_factory.mktemp("quick_export")
    rc = main(["--quick", "--out", str(out / "artifacts"), "--emit-c", str(out / "model"),
               "--emit-golden", str(out / "golden")])
    assert rc == 0
    import json

    report = json.loads((out / "artifacts" / "report.json").read_text())
    report["_dirs"] = {"root": out, "artifacts": out / "artifacts", "model": out / "model", "golden": out / "golden"}
    return report
