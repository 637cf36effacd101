"""pytest fixtures for the tests that run the firmware C through :mod:`support.c_harness`; tests/conftest.py loads
them as a plugin, so every test may ask for them.

* ``c``: the firmware's portable C, built once with host gcc and UBSan.
* ``no_undefined_behaviour``: fails a test whose stderr has a UBSan report; a module turns it on for all its tests
  with ``pytestmark = pytest.mark.usefixtures("no_undefined_behaviour")``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def c():
    from support.c_harness import lib

    return lib()


@pytest.fixture
def no_undefined_behaviour(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    from support.c_harness import ubsan_reports

    yield
    err = capfd.readouterr().err
    assert not ubsan_reports(err), f"UBSan in the firmware C:\n{err}"
