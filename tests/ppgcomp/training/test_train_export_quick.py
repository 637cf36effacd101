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
    for flag in ("--data", "--out", "--emit-c", "--epochs", "--seed", "--quick", "--arch"):
        assert flag in out


def test_bad_arch_is_one_line_and_exit_2():
    proc = subprocess.run([sys.executable, "scripts/train_export.py", "--arch", "lstm"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 2 and "invalid choice: 'lstm'" in proc.stderr and "Traceback" not in proc.stderr


def test_report_puts_conv_and_dense_side_by_side(quick_export):
    """--arch both: report.md gets one table with both encoders' figures (here the dense column is a copy of
    the conv run's report with its architecture changed, to check the rendering)."""
    import copy

    from ppgcomp.training.report import render_markdown

    r = {k: v for k, v in quick_export.items() if k != "_dirs"}
    dense = copy.deepcopy(r)
    dense["model"].update(arch="dense", tflite_bytes=122104, macs=119808)
    r["dense_comparison"] = {"dir": "artifacts/dense", "report": dense}
    md = render_markdown(r)
    assert "## Conv and dense encoders side by side" in md
    assert "| encoder | conv | dense |" in md
    assert f"| .tflite bytes | {r['model']['tflite_bytes']} | 122104 |" in md
    assert "## Conv and dense" not in render_markdown({k: v for k, v in r.items() if k != "dense_comparison"})
