"""Our SMP group "ppg model" (docs/smp_model_group.md) in the message model of the `smp` / `smpclient` packages.

Group 64 (``MGMT_GROUP_ID_PERUSER``), commands 0 ``state`` (read), 1 ``upload`` (write), 2 ``abort`` (write). The
field names are the document's; the error codes are ``enum ppg_model_err`` (include/ppgcomp/model_store.h).
The request classes pair each request with its response and error types, as smpclient's own groups do, so that
:meth:`smpclient.SMPClient.request` returns typed, validated messages.

Group 64 is also the number that the `smp` package gives Intercreate's user group (``UserGroupId.INTERCREATE``):
user groups are per product, so the header shows that name for ours; it changes nothing on the wire.
"""

from __future__ import annotations

from enum import IntEnum, unique

from smp import error as smperror
from smp import message as smpmsg

from ppgcomp.export.model_blob import ModelErr

GROUP_ID = 64  # MGMT_GROUP_ID_PERUSER


@unique
class Command(IntEnum):
    STATE = 0
    UPLOAD = 1
    ABORT = 2


# ``enum ppg_model_err``: why the device refused (the ``rc`` of a group error). One definition, the blob
# parser's: the host's refusal reasons and the device's are the same codes.
PpgModelErr = ModelErr


# One line each, as include/ppgcomp/model_store.h explains them.
ERR_TEXT: dict[int, str] = {
    PpgModelErr.BUSY: "another upload is already open (abort it first: ppgcomp-update abort)",
    PpgModelErr.TOO_LARGE: "the blob is larger than a model slot",
    PpgModelErr.TRUNCATED: "the device got fewer bytes than the header says",
    PpgModelErr.OFFSET: "a chunk was not at the offset the device expected",
    PpgModelErr.HEADER: "the blob's header is malformed (magic, lengths, offsets or alignment)",
    PpgModelErr.VERSION: "the blob's format version is not one the firmware reads",
    PpgModelErr.HASH: "a SHA-256 in the blob does not match its bytes",
    PpgModelErr.OP: "the model uses an op that the firmware does not register",
    PpgModelErr.ARENA: "the model's tensor arena does not fit the firmware's CONFIG_TFLM_ARENA_SIZE",
    PpgModelErr.GOLDEN: "a golden window did not reproduce its codes on the device",
    PpgModelErr.FLASH: "a flash erase, write or read failed on the device",
    PpgModelErr.NO_SESSION: "no upload is open on the device",
}


def err_name(rc: int) -> str:
    """``GOLDEN`` for 10; ``rc 99`` for a code this tool does not know."""
    try:
        return PpgModelErr(rc).name
    except ValueError:
        return f"rc {rc}"


class _Group:
    _GROUP_ID = GROUP_ID


class ErrorV1(smperror.ErrorV1, _Group):
    """An SMP version-1 error (``{"rc": N}``): MCUmgr's own codes (e.g. 8 ENOTSUP: the group is not there)."""

    rc: int  # type: ignore[assignment]  # any code, so that an unknown one is still reported in one line


class ErrorV2(smperror.ErrorV2[int], _Group):
    """``{"err": {"group": 64, "rc": N}}``, N an ``enum ppg_model_err`` value."""


class StateReadRequest(smpmsg.ReadRequest, _Group):
    _COMMAND_ID = Command.STATE


class StateReadResponse(smpmsg.ReadResponse, _Group):
    _COMMAND_ID = Command.STATE

    tag: int  # the active model's tag (its SHA-256's first byte)
    sha256: bytes  # SHA-256 of the active .tflite
    seq: int  # commit sequence of its slot (0: the built-in model)
    builtin: bool
    up_off: int  # the open upload: bytes received
    up_len: int  # its total length; 0 when no upload is open
    up_sha: bytes  # its blob_sha256


class UploadWriteRequest(smpmsg.WriteRequest, _Group):
    _COMMAND_ID = Command.UPLOAD

    off: int
    data: bytes
    len: int | None = None  # only with off 0
    sha: bytes | None = None  # only with off 0: the blob's blob_sha256


class UploadWriteResponse(smpmsg.WriteResponse, _Group):
    _COMMAND_ID = Command.UPLOAD

    off: int  # the next offset the device expects
    active: bool | None = None  # true in the answer to the chunk that completed, checked and activated the blob


class AbortWriteRequest(smpmsg.WriteRequest, _Group):
    _COMMAND_ID = Command.ABORT


class AbortWriteResponse(smpmsg.WriteResponse, _Group):
    _COMMAND_ID = Command.ABORT


class _Errors:
    _ErrorV1 = ErrorV1
    _ErrorV2 = ErrorV2


class StateRead(StateReadRequest, _Errors):
    _Response = StateReadResponse


class UploadWrite(UploadWriteRequest, _Errors):
    _Response = UploadWriteResponse


class AbortWrite(AbortWriteRequest, _Errors):
    _Response = AbortWriteResponse


__all__ = ["ERR_TEXT", "GROUP_ID", "AbortWrite", "Command", "ErrorV1", "ErrorV2", "PpgModelErr", "StateRead",
           "UploadWrite", "err_name"]
