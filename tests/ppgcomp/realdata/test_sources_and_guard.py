"""The development set's sources are pinned and cached with their licence; training refuses to read them."""

import zipfile
from pathlib import Path

import pytest

from ppgcomp.data.recording import DataError
from ppgcomp.realdata import sources as S
from ppgcomp.realdata.guard import refuse_validation_only


def test_sources_are_pinned_and_none_is_excluded_by_the_issue():
    excluded = {"heartpy", "systole", "pyphysio", "biosignalsnotebooks", "e2epyppg"}
    for s in S.SOURCES:
        name, _, version = s.requirement.partition("==")
        assert version and name.lower() not in excluded
        assert len(s.archive_sha256) == 64 and len(s.member_sha256) == 64 and s.licence


def fake_source(tmp_path: Path, payload: bytes) -> tuple[S.Source, Path]:
    archive = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("demo/data.csv", payload)
        zf.writestr("demo-1.0.dist-info/LICENSE", "MIT licence text")
    src = S.Source("demo", "demo==1.0", archive.name, S.sha256(archive.read_bytes()), "demo/data.csv",
                   S.sha256(b"1\n2\n3\n"), "MIT", "demo-1.0.dist-info/LICENSE")
    return src, archive


def test_fetch_checks_hashes_caches_and_notes_the_licence(tmp_path, monkeypatch):
    src, archive = fake_source(tmp_path, b"1\n2\n3\n")
    calls = []
    monkeypatch.setattr(S, "_download", lambda s, dest: calls.append(s) or archive)
    cache = tmp_path / "cache"
    out = S.fetch(src, cache)
    assert out.read_bytes() == b"1\n2\n3\n" and (cache / S.MARKER_FILE).is_file()
    assert "MIT" in (cache / "demo.LICENSE").read_text()
    S.fetch(src, cache)
    assert len(calls) == 1, "the second fetch reads the cache"


def test_fetch_refuses_a_member_that_does_not_match(tmp_path, monkeypatch):
    src, archive = fake_source(tmp_path, b"tampered\n")
    monkeypatch.setattr(S, "_download", lambda s, dest: archive)
    with pytest.raises(S.FetchError, match="does not match its pinned SHA-256"):
        S.fetch(src, tmp_path / "cache")
    assert not (tmp_path / "cache" / "demo.csv").exists()


def test_training_refuses_the_development_set(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    S.mark(cache)
    (cache / "peakdet_ppg.csv").write_text("ppg,hr_bpm\n")
    with pytest.raises(DataError, match="validation and model selection only"):
        refuse_validation_only(f"csv:{cache / 'peakdet_ppg.csv'}")
    monkeypatch.setenv(S.CACHE_ENV, str(tmp_path / "elsewhere"))
    with pytest.raises(DataError):  # the configured cache folder, even before its marker exists
        refuse_validation_only(f"csv:{tmp_path / 'elsewhere' / 'x.csv'}")
    refuse_validation_only(f"csv:{tmp_path / 'mine.csv'}")
    refuse_validation_only("synthetic")


def test_train_export_exits_2_on_the_development_set(tmp_path):
    import subprocess
    import sys

    cache = tmp_path / "cache"
    S.mark(cache)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "scripts/train_export.py", "--quick", "--data", f"csv:{cache}",
                           "--out", str(out)], capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "validation and model selection only" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
