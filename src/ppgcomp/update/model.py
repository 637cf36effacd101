"""Upload a model blob in our SMP group (docs/smp_model_group.md), resuming after a link loss.

The flow: read ``state``; if the device already runs this model, stop. If it holds an open upload of this very
blob (``up_sha``, ``up_len``), go on at ``up_off``; else open one at offset 0 (with ``len`` and ``sha``). Send
chunks as large as the device's SMP buffer allows; each answer names the next offset. The chunk that completes
the blob makes the device check and activate it (``active``: true) or refuse it (an ``rc``: the old model keeps
running). After a link loss: reconnect, read ``state`` again, resume at ``up_off`` (or, if the blob got
activated just before the link dropped, stop there).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ppgcomp.update.blob import BlobInfo
from ppgcomp.update.errors import DeviceRefusedError, LinkLost, UpdateError
from ppgcomp.update.link import DeviceLink
from ppgcomp.update.progress import Progress
from ppgcomp.update.smp_group import AbortWrite, PpgModelErr, StateRead, UploadWrite

log = logging.getLogger(__name__)

MIN_CHUNK = 16  # below this the SMP buffer is too small to make progress (first chunk: len + sha + data)
MAX_OFFSET_RESYNCS = 8  # OFFSET refusals (or answers that do not move on) in a row before giving up


@dataclass(frozen=True)
class ModelState:
    """The device's ``state`` answer."""

    tag: int
    sha256: bytes
    seq: int
    builtin: bool
    up_off: int
    up_len: int
    up_sha: bytes

    @classmethod
    def of(cls, r) -> ModelState:
        return cls(int(r.tag), bytes(r.sha256), int(r.seq), bool(r.builtin), int(r.up_off), int(r.up_len),
                   bytes(r.up_sha))

    def line(self) -> str:
        what = "built-in" if self.builtin else f"blob, commit {self.seq}"
        text = f"model 0x{self.tag:02x} active ({what}, sha256 {self.sha256.hex()})"
        if self.up_len:
            text += f"; upload open: {self.up_off:,}/{self.up_len:,} B of blob {self.up_sha.hex()[:16]}..."
        return text

    def runs(self, blob: BlobInfo) -> bool:
        return not self.builtin and self.sha256 == blob.model_sha256


async def read_state(link: DeviceLink) -> ModelState:
    return ModelState.of(await link.request(StateRead()))


async def abort_upload(link: DeviceLink) -> None:
    await link.request(AbortWrite())


def _refused(e: DeviceRefusedError) -> UpdateError:
    return DeviceRefusedError(f"the device refused the model: {e}", e.group, e.rc)


def _chunk(link: DeviceLink, blob: BlobInfo, off: int) -> UploadWrite:
    """The largest upload request at ``off`` that fits the device's SMP buffer."""
    first = {"len": blob.total_len, "sha": blob.blob_sha256} if off == 0 else {}
    empty = UploadWrite(off=off, data=b"", **first)
    _, room = link.client.get_max_cbor_and_data_size(empty)
    if room < MIN_CHUNK:
        raise UpdateError(f"the device's SMP buffer leaves {room} B for data in a chunk: too small for an upload "
                          "(raise CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE, or the link's MTU)")
    return UploadWrite(off=off, data=blob.data[off : off + room], **first)


class ModelUpload:
    """One blob to one device; :meth:`run` returns the device's final state."""

    def __init__(self, link: DeviceLink, blob: BlobInfo, progress: Progress) -> None:
        self.link = link
        self.blob = blob
        self.progress = progress
        self.link_losses = 0

    def _resume_offset(self, st: ModelState) -> int:
        """Where this blob's upload stands on the device: ``up_off`` if the open upload is ours, else 0."""
        if st.up_len == self.blob.total_len and st.up_sha == self.blob.blob_sha256:
            return st.up_off
        return 0

    async def run(self) -> ModelState:
        state = lambda: read_state(self.link)
        st = await self.link.retrying(state)
        if st.runs(self.blob):
            log.info("the device already runs this model")
            return st
        if st.up_len and st.up_sha != self.blob.blob_sha256:
            raise DeviceRefusedError(f"the device holds an open upload of another blob ({st.up_sha.hex()[:16]}..., "
                                     f"{st.up_off:,}/{st.up_len:,} B): run 'ppgcomp-update abort' first, then "
                                     "try again", 64, int(PpgModelErr.BUSY))
        off = self._resume_offset(st)
        if off:
            self.progress.resumed(off)
        resyncs = stalls = losses = 0
        while True:
            try:
                done, nxt = await self._send(off)
                resyncs = 0
                if done:
                    break
                losses = 0 if nxt > off else losses
                stalls = stalls + 1 if nxt <= off else 0
                if stalls > MAX_OFFSET_RESYNCS:
                    raise UpdateError(f"the device keeps answering offset {nxt} to chunks at {off}: no progress")
                off = nxt
            except LinkLost as e:
                self.link_losses += 1
                losses += 1
                self.link.check_losses(losses, e)  # LinkError (exit 3)
                log.warning("link lost at byte %d (%s): reconnecting", off, e)
                await self.link.reconnect()  # LinkError (exit 3) beyond --retries
                st = await self.link.retrying(state)
                if st.runs(self.blob):
                    break  # the last chunk got through and activated it before the link dropped
                off = self._resume_offset(st)
                self.progress.resumed(off)
            except DeviceRefusedError as e:
                if e.group != 64 or e.rc != PpgModelErr.OFFSET or resyncs >= MAX_OFFSET_RESYNCS:
                    raise _refused(e) from None
                resyncs += 1
                st = await self.link.retrying(state)
                off = self._resume_offset(st)
                log.info("the device expects offset %d: resuming there", off)
                self.progress.resumed(off)
        self.progress.close()
        st = await self.link.retrying(state)
        if not st.runs(self.blob):
            raise UpdateError(f"the upload completed but the device runs model 0x{st.tag:02x} "
                              f"(sha256 {st.sha256.hex()[:16]}...), not 0x{self.blob.model_tag:02x}")
        return st

    async def _send(self, off: int) -> tuple[bool, int]:
        """One chunk at ``off``: (activated, next offset)."""
        r = await self.link.request(_chunk(self.link, self.blob, off))
        nxt = int(r.off)
        self.progress.update(nxt)
        if r.active:
            return True, nxt
        if nxt >= self.blob.total_len:
            raise UpdateError(f"the device took all {self.blob.total_len:,} B but did not activate the model "
                              "(no 'active' in its answer)")
        return False, nxt
