"""A real `train_export.py --quick` run: outputs, bit-exactness, and the emitted C compiled with host gcc."""

import shutil
import subprocess
import sys

import pytest
from support import export_checks as checks


def test_report_figures(quick_export):
    checks.check_report_figures(quick_export)


def test_artifacts_and_plots_exist(quick_export):
    checks.check_artifacts_and_plots_exist(quick_export)


def test_tflm_and_tflite_agree_on_fresh_windows(quick_export):
    """Independent of the pipeline's own check: random and adversarial int8 windows, both runtimes."""
    checks.check_tflm_and_tflite_agree_on_fresh_windows(quick_export)


def test_golden_codes_reproduce(quick_export):
    checks.check_golden_codes_reproduce(quick_export)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="host gcc not installed")
def test_emitted_c_compiles_and_matches_report(quick_export, tmp_path):
    checks.check_emitted_c_compiles_and_matches_report(quick_export, tmp_path)


def test_cli_help():
    out = subprocess.run([sys.executable, "scripts/train_export.py", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for flag in ("--data", "--out", "--emit-c", "--epochs", "--seed", "--quick"):
        assert flag in out
