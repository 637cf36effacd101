"""The model blob to upload (docs/model_blob.md), checked on the host before a byte goes out.

The checks are the exporter's own parser's (:mod:`ppgcomp.export.model_blob`): a blob it refuses never reaches
the device. This module only turns its verdict into one line (exit 2) and keeps what the upload needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ppgcomp.update.errors import BadInputError


@dataclass(frozen=True)
class BlobInfo:
    data: bytes
    blob_sha256: bytes  # what the upload's "sha" carries, and the device's up_sha
    model_sha256: bytes  # the model's identity: state's sha256 once active
    model_tag: int

    @property
    def total_len(self) -> int:
        return len(self.data)


def check_blob(data: bytes, name: str = "blob", run_model: bool = False) -> BlobInfo:
    """Parse ``data`` with the exporter's parser (checks 1-4 of docs/model_blob.md; with ``run_model`` also 5-6 in
    TFLM's Python runtime); :class:`BadInputError` in one line when it refuses it."""
    from ppgcomp.export import model_blob

    try:
        blob = model_blob.parse(data, run_model=run_model)
    except model_blob.BlobError as e:
        raise BadInputError(f"{name}: refused: {e}") from None
    except OSError as e:  # the firmware's op list comes from the committed blob
        raise BadInputError(f"cannot read the firmware's op list: {e.filename or ''}: {e.strerror or e}") from None
    h = blob.header
    return BlobInfo(data=bytes(data), blob_sha256=bytes(h.blob_sha256), model_sha256=bytes(h.model_sha256),
                    model_tag=int(h.model_tag))


def read_blob(path: Path, run_model: bool = False) -> BlobInfo:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise BadInputError(f"{path}: {e.strerror or e}") from None
    return check_blob(data, str(path), run_model)
