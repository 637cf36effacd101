# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the app-level replay test: the built zephyr.exe and the golden vectors."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
GOLDEN_H = REPO / "tests" / "golden" / "ppg_golden_vectors.h"

# ppgcomp (the one Python packet decoder) from the repository's src/.
sys.path.insert(0, str(REPO / "src"))


@dataclass(frozen=True)
class Golden:
    sensor_rate_hz: int
    hop: int
    window_len: int
    model_tag: int
    raw: list[int]
    decimated_len: int
    codes: list[list[int]]


def _int_array(text: str, name: str) -> list[int]:
    m = re.search(rf"\b{name}\b[^=]*=\s*\{{(.*?)\}};", text, re.DOTALL)
    if m is None:
        raise ValueError(f"{name} not found in {GOLDEN_H}")
    return [int(v) for v in re.findall(r"-?\d+", m.group(1))]


def _define(text: str, name: str) -> int:
    m = re.search(rf"^#define {name} (\S+)", text, re.MULTILINE)
    if m is None:
        raise ValueError(f"{name} not found in {GOLDEN_H}")
    return int(m.group(1).rstrip("uU"), 0)


@pytest.fixture(scope="session")
def golden() -> Golden:
    text = GOLDEN_H.read_text()
    code_len = _define(text, "GOLDEN_CODE_LEN")
    flat = _int_array(text, "golden_codes")
    return Golden(
        sensor_rate_hz=_define(text, "GOLDEN_SENSOR_RATE_HZ"),
        hop=_define(text, "GOLDEN_HOP"),
        window_len=_define(text, "GOLDEN_WINDOW_LEN"),
        model_tag=_define(text, "GOLDEN_MODEL_TAG"),
        raw=_int_array(text, "golden_raw"),
        decimated_len=_define(text, "GOLDEN_DECIMATED_LEN"),
        codes=[flat[i : i + code_len] for i in range(0, len(flat), code_len)],
    )


@pytest.fixture(scope="session")
def zephyr_exe(request: pytest.FixtureRequest) -> Path:
    build_dir = request.config.getoption("--build-dir", default=None)
    if not build_dir:
        pytest.skip("no --build-dir (run through twister)")
    exe = Path(build_dir) / "zephyr" / "zephyr.exe"
    if not exe.is_file():
        pytest.fail(f"{exe} not found")
    return exe
