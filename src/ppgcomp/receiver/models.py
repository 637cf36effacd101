"""The receiver's models: artefact folders indexed by model tag and SHA-256, decoders loaded on first use.

Since the device can take a new encoder over the air (docs/update.md), the model that made a packet is the one
its tag names (docs/protocol.md: the first byte of the model's SHA-256), and the Model info characteristic
reports the full SHA-256. Each artefact folder from train_export.py says which model it decodes in its
model_info.json (``sha256``, ``tag``). :class:`ModelLibrary` finds the folders (a folder given with
``--artifacts`` and its direct subfolders: ``artifacts/`` holds the conv model, ``artifacts/dense/`` the dense
one), reads only their model_info.json up front (no TensorFlow), and loads a folder's decoder and HR model the
first time a packet or a device needs it. A tag or SHA-256 that no folder has is refused
(:class:`UnknownModelError`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ppgcomp.constants import DECODER_FILE, HR_MODEL_FILE, MODEL_INFO_FILE

log = logging.getLogger(__name__)


class UnknownModelError(LookupError):
    """No artefact folder decodes this model (tag or SHA-256), or two do and nothing says which."""


class ArtifactsError(ValueError):
    """An artefact folder that cannot be used (missing files, a model_info.json that is not one)."""


@dataclass(frozen=True)
class ModelEntry:
    folder: Path
    sha256: str  # lower-case hex, as model_info.json has it
    tag: int

    def describe(self) -> str:
        return f"0x{self.tag:02x} ({self.sha256[:16]}...) in {self.folder}"


def _entry(folder: Path) -> ModelEntry:
    missing = [n for n in (MODEL_INFO_FILE, DECODER_FILE, HR_MODEL_FILE) if not (folder / n).is_file()]
    if missing:
        raise ArtifactsError(f"{folder}: missing {', '.join(missing)}; run scripts/train_export.py or pass "
                             "--artifacts DIR")
    try:
        info = json.loads((folder / MODEL_INFO_FILE).read_text())
        sha = str(info["sha256"]).lower()
        tag = int(info.get("tag", int(sha[:2], 16)))
        if len(bytes.fromhex(sha)) != 32 or tag != int(sha[:2], 16):
            raise ValueError("sha256 is not 32 bytes of hex, or tag is not its first byte")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ArtifactsError(f"{folder / MODEL_INFO_FILE}: not a model-info file ({e})") from None
    return ModelEntry(folder, sha, tag)


def find_folders(root: Path) -> list[Path]:
    """``root`` if it holds a model_info.json, then its direct subfolders that do (sorted by name)."""
    if not root.is_dir():
        raise ArtifactsError(f"{root}: no such artefact folder; run scripts/train_export.py or pass --artifacts DIR")
    found = [root] if (root / MODEL_INFO_FILE).is_file() else []
    found += sorted(p for p in root.iterdir() if p.is_dir() and (p / MODEL_INFO_FILE).is_file())
    if not found:
        raise ArtifactsError(f"{root}: no {MODEL_INFO_FILE} in it or its subfolders; run scripts/train_export.py "
                             "or pass --artifacts DIR")
    return found


def _load_decoder(folder: Path) -> Any:
    from ppgcomp.training.decoding import CodeDecoder

    return CodeDecoder.load(folder)


class ModelLibrary:
    """Model entries by tag and SHA-256; :meth:`decoder` loads (once) the decoder of an entry."""

    def __init__(self, entries: Iterable[ModelEntry], loader: Callable[[Path], Any] = _load_decoder) -> None:
        self.entries: list[ModelEntry] = []
        seen: set[str] = set()
        for e in entries:
            if e.sha256 in seen:  # the same model in two folders: the first one given wins
                log.debug("%s: same model as an earlier folder; ignored", e.folder)
                continue
            seen.add(e.sha256)
            self.entries.append(e)
        if not self.entries:
            raise ArtifactsError("no artefact folder given")
        self._loader = loader
        self._decoders: dict[str, Any] = {}

    @classmethod
    def discover(cls, roots: Iterable[Path], loader: Callable[[Path], Any] = _load_decoder) -> ModelLibrary:
        """Every artefact folder under ``roots`` (see :func:`find_folders`); ArtifactsError for a broken one."""
        return cls([_entry(f) for root in roots for f in find_folders(Path(root))], loader)

    @property
    def default(self) -> ModelEntry:
        """The first folder given (``artifacts/`` itself by default)."""
        return self.entries[0]

    def describe(self) -> str:
        return ", ".join(e.describe() for e in self.entries)

    def by_sha(self, sha256: str | bytes) -> ModelEntry:
        sha = sha256.hex() if isinstance(sha256, bytes | bytearray) else str(sha256).lower()
        for e in self.entries:
            if e.sha256 == sha:
                return e
        raise UnknownModelError(f"no artefacts for model {sha[:16]}... (tag 0x{int(sha[:2], 16):02x}); have "
                                f"{self.describe()}")

    def for_tag(self, tag: int, prefer_sha256: str | None = None) -> ModelEntry:
        """The entry whose model has this tag; when two have it, the one with ``prefer_sha256`` (else refused)."""
        hits = [e for e in self.entries if e.tag == int(tag)]
        if len(hits) > 1 and prefer_sha256 is not None:
            hits = [e for e in hits if e.sha256 == prefer_sha256.lower()] or hits
        if not hits:
            raise UnknownModelError(f"packets with model tag 0x{int(tag):02x}, and no artefacts for it; have "
                                    f"{self.describe()}")
        if len(hits) > 1:
            raise UnknownModelError(f"model tag 0x{int(tag):02x} is ambiguous: {' and '.join(e.describe() for e in hits)}"
                                    "; pass --artifacts with only the one the device runs")
        return hits[0]

    def decoder(self, entry: ModelEntry) -> Any:
        if entry.sha256 not in self._decoders:
            log.info("loading the decoder of model %s", entry.describe())
            dec = self._loader(entry.folder)
            got = str(dec.info.sha256).lower()
            if got != entry.sha256:  # the folder changed since discover()
                raise ArtifactsError(f"{entry.folder}: model_info.json now says {got[:16]}...")
            self._decoders[entry.sha256] = dec
        return self._decoders[entry.sha256]


__all__ = ["ArtifactsError", "ModelEntry", "ModelLibrary", "UnknownModelError", "find_folders"]
