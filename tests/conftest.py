"""Shared fixtures. `quick_export` runs `train_export --quick` once per session into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]  # src/ and tests/ (for tests/support/) are on pyproject's pythonpath
pytest_plugins = ["support.c_fixtures"]  # `c` (the firmware C on the host) and `no_undefined_behaviour`


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Twister's pytest harnesses (tests/**/pytest/) drive a zephyr.exe that twister built: twister runs them
    (with --build-dir); a plain pytest run leaves them out instead of skipping them."""
    if collection_path.is_relative_to(REPO) and "pytest" in collection_path.relative_to(REPO).parts:
        try:
            return not config.getoption("--build-dir")
        except ValueError:  # the twister harness plugin is not loaded
            return True
    return None


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """The figures that passing tests recorded (record_property: HR MAE, packet counts, ...), one line a test, so
    that a quiet run still shows what the end-to-end tests measured."""
    lines = [f"{r.nodeid}: " + ", ".join(f"{k}={v}" for k, v in r.user_properties)
             for r in terminalreporter.stats.get("passed", []) if r.when == "call" and r.user_properties]
    if lines:
        terminalreporter.section("figures recorded by the tests")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def quick_export(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A real `--quick` export: artefacts, emitted C and golden vectors in a temp folder; returns the report."""
    from ppgcomp.training.cli import main

    out = tmp_path_factory.mktemp("quick_export")
    rc = main(["--quick", "--out", str(out / "artifacts"), "--emit-c", str(out / "model"),
               "--emit-golden", str(out / "golden")])
    assert rc == 0
    import json

    from ppgcomp.constants import REPORT_JSON_FILE

    report = json.loads((out / "artifacts" / REPORT_JSON_FILE).read_text())
    report["_dirs"] = {"root": out, "artifacts": out / "artifacts", "model": out / "model", "golden": out / "golden"}
    return report
