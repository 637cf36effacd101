"""A firmware image over MCUmgr image management (group 1), for MCUboot's swap with revert.

The flow: check the file on the host (an MCUboot image whose SHA-256 TLV matches its header and body); list the
device's slots; upload it (smpclient's :meth:`~smpclient.SMPClient.upload`: the device writes it to the slot
it does not run, slot 1); after a link loss, upload again with the same SHA-256, which image management takes
as a resume and answers with the offset it holds. Then mark it for test (``confirm`` false): at the next reset
MCUboot swaps it in, and the new app confirms itself once its boot self-test passed (app/src/boot_confirm.c);
an app that never confirms is swapped back out at the reset after that.
"""

from __future__ import annotations

import hashlib
import logging
import struct
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from ppgcomp.update.errors import BadInputError, DeviceRefusedError, LinkLost, UpdateError
from ppgcomp.update.link import DeviceLink, refusal
from ppgcomp.update.progress import Progress

log = logging.getLogger(__name__)

IMAGE_NUMBER = 0  # the app core's image (image management's "image"; the slot is the one not running)


@dataclass(frozen=True)
class FirmwareImage:
    data: bytes
    sha256: bytes  # the SHA-256 TLV: the "hash" that image management's list shows
    version: str


@dataclass(frozen=True)
class SlotState:
    image: int
    slot: int
    version: str
    sha256: bytes
    flags: tuple[str, ...]

    def line(self) -> str:
        return (f"image {self.image} slot {self.slot}: version {self.version}, hash {self.sha256.hex()}"
                f"{'  [' + ' '.join(self.flags) + ']' if self.flags else ''}")


def check_image(data: bytes, name: str = "image") -> FirmwareImage:
    """An MCUboot image (header magic, TLV area, SHA-256 TLV equal to the hash of header, body and protected
    TLVs); :class:`BadInputError` in one line otherwise."""
    from smpclient.mcuboot import (
        IMAGE_TLV,
        IMAGE_TLV_INFO_MAGIC,
        IMAGE_TLV_PROT_INFO_MAGIC,
        ImageHeader,
        ImageTLVInfo,
        MCUBootImageError,
    )

    try:
        f = BytesIO(data)
        hdr = ImageHeader.load_from(f)
        hashed = hdr.hdr_size + hdr.img_size + hdr.protect_tlv_size
        f.seek(hdr.hdr_size + hdr.img_size)
        tlvs = []
        if hdr.protect_tlv_size:
            tlvs += ImageTLVInfo.load_from(f, IMAGE_TLV_PROT_INFO_MAGIC).load_tlvs_from(f)
        tlvs += ImageTLVInfo.load_from(f, IMAGE_TLV_INFO_MAGIC).load_tlvs_from(f)
    except (MCUBootImageError, struct.error, ValueError) as e:
        raise BadInputError(f"{name}: not an MCUboot image (sign it: west build --sysbuild, or imgtool sign): "
                            f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    if hashed > len(data):
        raise BadInputError(f"{name}: truncated: the header says {hashed:,} B, the file has {len(data):,} B")
    sha = [t.value for t in tlvs if t.header.type == IMAGE_TLV.SHA256]
    if not sha:
        raise BadInputError(f"{name}: the MCUboot image has no SHA-256 TLV")
    if hashlib.sha256(data[:hashed]).digest() != sha[0]:
        raise BadInputError(f"{name}: the image's SHA-256 TLV does not match its header and body (corrupt file)")
    v = hdr.ver
    return FirmwareImage(data=bytes(data), sha256=bytes(sha[0]),
                         version=f"{v.major}.{v.minor}.{v.revision}" + (f"+{v.build_num}" if v.build_num else ""))


def read_image(path: Path) -> FirmwareImage:
    try:
        if path.suffix.lower() == ".hex":
            from intelhex import IntelHex

            data = IntelHex(str(path)).tobinstr()
        else:
            data = path.read_bytes()
    except OSError as e:
        raise BadInputError(f"{path}: {e.strerror or e}") from None
    except Exception as e:  # noqa: BLE001 - intelhex raises its own errors for a bad HEX file
        raise BadInputError(f"{path}: not an Intel HEX file ({e})") from None
    return check_image(data, str(path))


def _slots(response) -> list[SlotState]:
    out = []
    for s in response.images:
        flags = tuple(name for name in ("active", "confirmed", "pending", "permanent", "bootable")
                      if getattr(s, name, None))
        out.append(SlotState(int(s.image or 0), int(s.slot), str(s.version), bytes(s.hash or b""), flags))
    return out


async def list_slots(link: DeviceLink) -> list[SlotState]:
    from smpclient.requests.image_management import ImageStatesRead

    return _slots(await link.request(ImageStatesRead()))


async def mark(link: DeviceLink, sha256: bytes | None, confirm: bool) -> list[SlotState]:
    """Mark an image for test (``confirm`` false) or confirm one (``sha256`` None: the running image)."""
    from smpclient.requests.image_management import ImageStatesWrite

    kw = {"hash": sha256} if sha256 is not None else {}
    return _slots(await link.request(ImageStatesWrite(confirm=confirm, **kw)))


async def reset(link: DeviceLink) -> None:
    """OS management's reset; the device may drop the link before its answer arrives."""
    from smpclient.requests.os_management import ResetWrite

    try:
        await link.request(ResetWrite())
    except LinkLost:
        log.info("the link dropped on reset (expected)")


class ImageUpload:
    """Upload :class:`FirmwareImage` to the slot the device does not run, resuming after a link loss."""

    def __init__(self, link: DeviceLink, image: FirmwareImage, progress: Progress, *,
                 first_timeout_s: float = 40.0) -> None:
        self.link = link
        self.image = image
        self.progress = progress
        self.first_timeout_s = first_timeout_s  # the first chunk erases the slot
        self.link_losses = 0

    async def run(self) -> None:
        from smpclient.exceptions import SMPUploadError

        resuming = False
        losses = best = 0
        while True:
            first = True
            try:
                with self.link.translating("ImageUploadWrite"):
                    async for off in self.link.client.upload(self.image.data, slot=IMAGE_NUMBER, upgrade=False,
                                                             first_timeout_s=self.first_timeout_s, use_sha=True):
                        if first and resuming:
                            self.progress.resumed(off)
                        first = False
                        self.progress.update(off)
                        if off > best:
                            best, losses = off, 0
                break
            except SMPUploadError as e:
                answer = e.args[0] if e.args else None
                if hasattr(answer, "RESPONSE_TYPE"):
                    r = refusal(answer)
                    raise DeviceRefusedError(f"the device refused the image: {r}", r.group, r.rc) from None
                raise UpdateError(f"the image upload failed: {answer}") from None
            except LinkLost as e:
                self.link_losses += 1
                losses += 1
                self.link.check_losses(losses, e)  # LinkError (exit 3)
                log.warning("link lost during the image upload (%s): reconnecting", e)
                await self.link.reconnect()
                resuming = True
        self.progress.close()
