"""ppgcomp-update against MockSmpDevice: a mock SMP server (named as one) behind a mock smpclient transport.

The mock decodes the real SMP frames that smpclient builds (8-byte header + CBOR) and implements the semantics
of docs/smp_model_group.md (group 64: offsets, BUSY, every rc, the open upload surviving a link loss) and of
MCUmgr's image management (upload with resume by SHA-256, image list, test, reset). No radio, no bleak backend.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import struct
from dataclasses import dataclass, field

import cbor2
import pytest
from smp import header as smphdr
from smp.image_management import IMG_MGMT_ERR
from smpclient.transport import SMPTransport, SMPTransportDisconnected
from smpclient.transport.ble import SMPBLETransportDeviceNotFound

from ppgcomp.constants import BLOB_FILE, FIRMWARE_MODEL_DIR, REPO_ROOT
from ppgcomp.update import cli
from ppgcomp.update.blob import check_blob
from ppgcomp.update.errors import EXIT_BAD_INPUT, EXIT_LINK, LinkError
from ppgcomp.update.link import DeviceLink
from ppgcomp.update.model import MAX_OFFSET_RESYNCS, ModelUpload
from ppgcomp.update.progress import Progress
from ppgcomp.update.smp_group import ERR_TEXT, PpgModelErr

NAME, ADDRESS = "PPG-Codes", "C0:11:22:33:44:55"
BUILTIN_SHA = hashlib.sha256(b"built-in model").digest()
MAX_BLOB = 16 * 1024 - 32


@dataclass
class Request:
    group: int
    cmd: int
    op: int
    body: dict


@dataclass
class MockSmpDevice:
    """The device's SMP server as the docs define it; scripted link drops and refusals."""

    buf_size: int = 256
    has_params: bool = True  # MCUmgr's parameters command (CONFIG_MCUMGR_GRP_OS_MCUMGR_PARAMS)
    has_model_group: bool = True
    # group 64
    active_sha: bytes = BUILTIN_SHA
    active_seq: int = 0
    up: dict | None = None  # {"len", "sha", "data"}
    refuse_always: int | None = None  # answer every upload chunk with this rc
    refuse_on_finish: int | None = None  # answer the completing chunk with this rc
    lose_chunk_once: bool = False  # forget the last chunk once (its next chunk then gets OFFSET)
    # image management
    slots: list[dict] = field(default_factory=list)
    img_up: dict | None = None
    img_refuse: int | None = None
    resets: int = 0
    # link
    drops: dict[int, str] = field(default_factory=dict)  # upload chunk number -> "before" | "after" it applies
    reachable: bool = True
    connects: int = 0
    requests: list[Request] = field(default_factory=list)
    chunks: int = 0

    def __post_init__(self) -> None:
        if not self.slots:
            self.slots = [{"image": 0, "slot": 0, "version": "0.1.0", "hash": hashlib.sha256(b"running").digest(),
                           "bootable": True, "confirmed": True, "active": True}]

    # -- group 64 -------------------------------------------------------------------------------------------

    def model_state(self) -> dict:
        up = self.up or {"len": 0, "sha": bytes(32), "data": b""}
        return {"tag": self.active_sha[0], "sha256": self.active_sha, "seq": self.active_seq,
                "builtin": self.active_seq == 0, "up_off": len(up["data"]), "up_len": up["len"], "up_sha": up["sha"]}

    def model_upload(self, body: dict) -> dict:
        if self.refuse_always is not None:
            return _err(64, self.refuse_always)
        off, data = body["off"], body["data"]
        if off == 0:
            assert set(body) == {"off", "data", "len", "sha"}, body
            if self.up is not None and self.up["sha"] != body["sha"]:
                return _err(64, PpgModelErr.BUSY)
            if body["len"] > MAX_BLOB:
                return _err(64, PpgModelErr.TOO_LARGE)
            self.up = {"len": body["len"], "sha": body["sha"], "data": b""}
        else:
            assert set(body) == {"off", "data"}, body
            if self.up is None:
                return _err(64, PpgModelErr.NO_SESSION)
            if off != len(self.up["data"]):
                return _err(64, PpgModelErr.OFFSET)
        self.up["data"] += data
        if self.lose_chunk_once and off > 0:
            self.lose_chunk_once = False
            self.up["data"] = self.up["data"][: off]
            return {"off": off + len(data)}  # the device answered, then lost the chunk (a flash retry, say)
        if len(self.up["data"]) < self.up["len"]:
            return {"off": len(self.up["data"])}
        blob, self.up = self.up, None
        if self.refuse_on_finish is not None:
            return _err(64, self.refuse_on_finish)
        if hashlib.sha256(blob["data"][44:]).digest() != blob["sha"]:
            return _err(64, PpgModelErr.HASH)
        self.active_sha, self.active_seq = blob["data"][52:84], self.active_seq + 1
        return {"off": blob["len"], "active": True}

    # -- image management -----------------------------------------------------------------------------------

    def image_upload(self, body: dict) -> dict:
        if self.img_refuse is not None:
            return _err(1, self.img_refuse)
        off = body["off"]
        if off == 0:
            assert {"len", "sha", "image"} <= set(body) and struct.unpack_from("<I", body["data"])[0] == 0x96F3B83D
            if self.img_up is not None and self.img_up["sha"] == body["sha"]:
                return {"off": len(self.img_up["data"])}  # resume (zephyr_img_mgmt.c: same data hash)
            self.img_up = {"len": body["len"], "sha": body["sha"], "data": b""}
        if self.img_up is None or off != len(self.img_up["data"]):
            return {"off": len(self.img_up["data"]) if self.img_up else 0}
        self.img_up["data"] += body["data"]
        if len(self.img_up["data"]) == self.img_up["len"]:
            data = self.img_up["data"]
            self.slots = [s for s in self.slots if s["slot"] == 0] + [
                {"image": 0, "slot": 1, "version": "1.2.3", "hash": _tlv_sha(data), "bootable": True}]
        return {"off": len(self.img_up["data"])}

    def image_state_write(self, body: dict) -> dict:
        for s in self.slots:
            if body.get("confirm") and "hash" not in body and s.get("active"):
                s["confirmed"] = True
            elif s["hash"] == body.get("hash"):
                s["pending"] = True
                s["permanent"] = bool(body.get("confirm"))
        return {"images": self.slots}

    # -- dispatch -------------------------------------------------------------------------------------------

    def handle(self, h: smphdr.Header, body: dict) -> dict:
        g, c, write = int(h.group_id), int(h.command_id), h.op == smphdr.OP.WRITE
        self.requests.append(Request(g, c, int(h.op), body))
        if (g, c) == (0, 6):
            return {"buf_size": self.buf_size, "buf_count": 4} if self.has_params else {"rc": 8}
        if (g, c) == (0, 5):
            self.resets += 1
            return {}
        if g == 64 and not self.has_model_group:
            return {"rc": 8}  # MGMT_ERR_ENOTSUP: no such group
        if (g, c, write) == (64, 0, False):
            assert body == {}
            return self.model_state()
        if (g, c, write) == (64, 1, True):
            return self.model_upload(body)
        if (g, c, write) == (64, 2, True):
            assert body == {}
            self.up = None
            return {}
        if (g, c) == (1, 0):
            return self.image_state_write(body) if write else {"images": self.slots}
        if (g, c, write) == (1, 1, True):
            return self.image_upload(body)
        return {"rc": 8}


def _err(group: int, rc: int) -> dict:
    return {"err": {"group": group, "rc": int(rc)}}


def _tlv_sha(image: bytes) -> bytes:
    hdr_size, prot, img_size = struct.unpack_from("<HHI", image, 8)
    pos = hdr_size + img_size + prot + 4
    assert struct.unpack_from("<BxH", image, pos) == (0x10, 32)
    return image[pos + 4 : pos + 36]


class MockSmpTransport(SMPTransport):
    """smpclient's transport interface over MockSmpDevice: real frames in, real frames out."""

    def __init__(self, device: MockSmpDevice) -> None:
        self.device = device
        self.connected = False

    async def connect(self, address: str, timeout_s: float) -> None:
        if address not in (NAME, ADDRESS) or not self.device.reachable:
            raise SMPBLETransportDeviceNotFound(f"Device '{address}' not found")
        self.device.connects += 1
        self.connected = True

    async def disconnect(self) -> None:
        self.connected = False

    async def send(self, data: bytes) -> None:  # pragma: no cover - send_and_receive is what smpclient uses
        raise NotImplementedError

    async def receive(self) -> bytes:  # pragma: no cover
        raise NotImplementedError

    async def send_and_receive(self, data: bytes) -> bytes:
        if not self.connected:
            raise SMPTransportDisconnected("mock: not connected")
        h = smphdr.Header.loads(data[: smphdr.Header.SIZE])
        assert h.length == len(data) - smphdr.Header.SIZE and len(data) <= self.device.buf_size
        body = cbor2.loads(data[smphdr.Header.SIZE :])
        d = self.device
        is_chunk = h.op == smphdr.OP.WRITE and int(h.command_id) == 1 and int(h.group_id) in (1, 64)
        drop = None
        if is_chunk:
            d.chunks += 1
            drop = d.drops.pop(d.chunks, None)
        if drop == "before":
            self.connected = False
            raise SMPTransportDisconnected("mock: link lost before the chunk arrived")
        answer = d.handle(h, body)
        if drop == "after" or (int(h.group_id), int(h.command_id)) == (0, 5):
            self.connected = False
            raise SMPTransportDisconnected("mock: link lost before the answer")
        payload = cbor2.dumps(answer)
        rh = smphdr.Header(op=smphdr.OP(int(h.op) + 1), version=h.version, flags=smphdr.Flag(0), length=len(payload),
                           group_id=h.group_id, sequence=h.sequence, command_id=h.command_id)
        return bytes(rh) + payload

    @property
    def mtu(self) -> int:
        return 244


class MockSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def factory(device: MockSmpDevice):
    return lambda: MockSmpTransport(device)


def run_cli(argv: list[str], device: MockSmpDevice, sleep: MockSleep | None = None) -> int:
    return cli.main(argv, transport_factory=factory(device), sleep=sleep or MockSleep())


@pytest.fixture(scope="module")
def blob_bytes() -> bytes:
    return (REPO_ROOT / FIRMWARE_MODEL_DIR / BLOB_FILE).read_bytes()


@pytest.fixture
def blob_file(tmp_path, blob_bytes: bytes):
    p = tmp_path / "model.blob"
    p.write_bytes(blob_bytes)
    return p


def make_image(body: bytes, version: tuple[int, int, int, int] = (1, 2, 3, 0)) -> bytes:
    """A minimal MCUboot image: 0x200-byte header, body, TLV area with the SHA-256 of header and body."""
    hdr_size = 0x200
    header = struct.pack("<IIHHIIBBHI4x", 0x96F3B83D, 0, hdr_size, 0, len(body), 0, *version)
    signed = header.ljust(hdr_size, b"\0") + body
    tlv = struct.pack("<BxH", 0x10, 32) + hashlib.sha256(signed).digest()
    return signed + struct.pack("<HH", 0x6907, 4 + len(tlv)) + tlv


def model_chunks(device: MockSmpDevice) -> list[dict]:
    return [r.body for r in device.requests if (r.group, r.cmd, r.op) == (64, 1, 2)]


# -- model blob -------------------------------------------------------------------------------------------------


def test_model_upload_sends_the_documented_messages(blob_file, blob_bytes: bytes, capsys) -> None:
    dev = MockSmpDevice()
    assert run_cli(["model", "-d", NAME, str(blob_file)], dev) == 0
    info = check_blob(blob_bytes)
    out = capsys.readouterr()
    assert out.out.strip() == f"model 0x{info.model_tag:02x} active (sha256 {info.model_sha256.hex()}, commit 1)"
    assert dev.active_sha == info.model_sha256 and dev.up is None
    model_reqs = [r for r in dev.requests if r.group == 64]
    assert (model_reqs[0].cmd, model_reqs[0].op, model_reqs[0].body) == (0, 0, {})  # state first
    assert (model_reqs[-1].cmd, model_reqs[-1].op) == (0, 0)  # state again at the end
    chunks = model_chunks(dev)
    assert chunks[0]["off"] == 0 and chunks[0]["len"] == len(blob_bytes) and chunks[0]["sha"] == info.blob_sha256
    assert all(set(c) == {"off", "data"} for c in chunks[1:])
    offs = [c["off"] for c in chunks]
    assert offs == sorted(offs) and b"".join(c["data"] for c in chunks) == blob_bytes
    # 256-byte SMP frames: each chunk as large as the frame allows, so about len/220 of them
    assert -(-len(blob_bytes) // 256) <= len(chunks) <= -(-len(blob_bytes) // 200)
    assert max(len(c["data"]) for c in chunks) > 200


def test_model_resume_after_link_losses(blob_bytes: bytes) -> None:
    """A loss before a chunk arrives and one after it applied: both resume at the device's up_off, never at 0."""
    dev = MockSmpDevice(drops={5: "before", 9: "after"})
    sleep = MockSleep()
    progress = Progress("model", len(blob_bytes), io.StringIO())

    async def go() -> DeviceLink:
        link = DeviceLink(NAME, factory(dev), retries=3, sleep=sleep)
        await link.connect()
        await ModelUpload(link, check_blob(blob_bytes), progress).run()
        await link.close()
        return link

    link = asyncio.run(go())
    assert link.reconnects == 2 and dev.connects == 3 and sleep.delays == []
    chunks = model_chunks(dev)
    assert [c["off"] for c in chunks].count(0) == 1  # never reopened
    # after each loss: a state read, then the chunk at up_off
    assert len(progress.resumes) == 2 and 0 < progress.resumes[0] < progress.resumes[1] < len(blob_bytes)
    assert progress.offsets[-1] == len(blob_bytes) and progress.offsets == sorted(progress.offsets)
    sent_after_loss = [c["off"] for c in chunks if c["off"] in progress.resumes]
    assert sent_after_loss == progress.resumes
    assert dev.active_sha == check_blob(blob_bytes).model_sha256


def test_model_resumes_an_upload_left_open_by_an_earlier_run(blob_file, blob_bytes: bytes) -> None:
    info = check_blob(blob_bytes)
    dev = MockSmpDevice(up={"len": len(blob_bytes), "sha": info.blob_sha256, "data": blob_bytes[:3000]})
    assert run_cli(["model", "-d", ADDRESS, str(blob_file)], dev) == 0
    chunks = model_chunks(dev)
    assert chunks[0] == {"off": 3000, "data": blob_bytes[3000 : 3000 + len(chunks[0]["data"])]}
    assert dev.active_sha == info.model_sha256


def test_model_answer_to_the_last_chunk_lost(blob_file, blob_bytes: bytes, capsys) -> None:
    """The completing chunk activates the model, then the link drops: after reconnecting, state shows it: done."""
    probe = MockSmpDevice()  # a clean run first: how many chunks there are
    dev = MockSmpDevice()
    run_cli(["model", "-d", NAME, str(blob_file)], probe)
    n = len(model_chunks(probe))
    dev.drops = {n: "after"}
    assert run_cli(["model", "-d", NAME, str(blob_file)], dev) == 0
    assert len(model_chunks(dev)) == n and dev.connects == 2
    assert "active" in capsys.readouterr().out


def test_model_offset_refusal_resyncs_from_state(blob_bytes: bytes) -> None:
    dev = MockSmpDevice(lose_chunk_once=True)
    progress = Progress("model", len(blob_bytes), io.StringIO())

    async def go() -> None:
        link = DeviceLink(NAME, factory(dev), sleep=MockSleep())
        await link.connect()
        await ModelUpload(link, check_blob(blob_bytes), progress).run()

    asyncio.run(go())
    assert len(progress.resumes) == 1 and dev.active_seq == 1
    offs = [c["off"] for c in model_chunks(dev)]
    assert offs.count(progress.resumes[0]) == 2  # the lost chunk, sent again


def test_model_already_active_sends_nothing(blob_file, blob_bytes: bytes, capsys) -> None:
    info = check_blob(blob_bytes)
    dev = MockSmpDevice(active_sha=info.model_sha256, active_seq=4)
    assert run_cli(["model", "-d", NAME, str(blob_file)], dev) == 0
    assert model_chunks(dev) == [] and "commit 4" in capsys.readouterr().out


@pytest.mark.parametrize("rc", [int(e) for e in PpgModelErr if e != PpgModelErr.OK])
def test_every_group_error_is_one_line_and_exit_2(rc: int, blob_file, capsys) -> None:
    dev = MockSmpDevice(refuse_always=rc)
    assert run_cli(["model", "-d", NAME, str(blob_file)], dev) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    name = PpgModelErr(rc).name
    assert err == [f"ppgcomp-update: error: the device refused the model: rc {rc} {name}: {ERR_TEXT[rc]}"]
    assert dev.active_sha == BUILTIN_SHA


def test_refusal_of_the_completed_blob_keeps_the_old_model(blob_file, capsys) -> None:
    dev = MockSmpDevice(refuse_on_finish=int(PpgModelErr.GOLDEN))
    assert run_cli(["model", "-d", NAME, str(blob_file)], dev) == EXIT_BAD_INPUT
    assert "rc 10 GOLDEN" in capsys.readouterr().err and dev.active_sha == BUILTIN_SHA


def test_unknown_rc_and_missing_group(blob_file, capsys) -> None:
    assert run_cli(["model", "-d", NAME, str(blob_file)], MockSmpDevice(refuse_always=77)) == EXIT_BAD_INPUT
    assert capsys.readouterr().err.strip().endswith("rc 77 rc 77: an error this tool does not know")
    assert run_cli(["model", "-d", NAME, str(blob_file)], MockSmpDevice(has_model_group=False)) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ENOTSUP" in err[0] and "does not have this command group" in err[0]


def test_another_blob_open_on_the_device(blob_file, capsys) -> None:
    dev = MockSmpDevice(up={"len": 5000, "sha": b"\x11" * 32, "data": b"\0" * 100})
    assert run_cli(["model", "-d", NAME, str(blob_file)], dev) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ppgcomp-update abort" in err[0] and model_chunks(dev) == []
    assert run_cli(["abort", "-d", NAME], dev) == 0 and dev.up is None
    assert run_cli(["model", "-d", NAME, str(blob_file)], dev) == 0


def test_bad_blob_refused_before_any_link(tmp_path, blob_bytes: bytes, capsys) -> None:
    cases = {"flipped": bytearray(blob_bytes), "short": blob_bytes[:50], "version": bytearray(blob_bytes)}
    cases["flipped"][600] ^= 0x40
    cases["version"][4] = 2
    want = {"flipped": "HASH", "short": "TRUNCATED", "version": "VERSION"}
    for name, data in cases.items():
        p = tmp_path / f"{name}.blob"
        p.write_bytes(bytes(data))
        dev = MockSmpDevice()
        assert run_cli(["model", "-d", NAME, str(p)], dev) == EXIT_BAD_INPUT
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"refused: {want[name]}:" in err[0], err
        assert dev.connects == 0 and dev.requests == []
    assert run_cli(["model", "-d", NAME, str(tmp_path / "missing.blob")], MockSmpDevice()) == EXIT_BAD_INPUT
    assert "no such file" in capsys.readouterr().err


# -- link -------------------------------------------------------------------------------------------------------


def test_device_not_found_exit_3_after_retries(blob_file, capsys) -> None:
    sleep = MockSleep()
    assert run_cli(["model", "-d", "Other-Device", "--retries", "4", str(blob_file)], MockSmpDevice(),
                   sleep) == EXIT_LINK
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["ppgcomp-update: error: no BLE device 'Other-Device' found (4 scans of 10 s)"]
    assert sleep.delays == [1.0, 2.0, 4.0]


def test_link_lost_beyond_retries_exit_3(blob_bytes: bytes) -> None:
    dev = MockSmpDevice(drops={4: "before"})

    async def go() -> None:
        link = DeviceLink(NAME, factory(dev), retries=2, sleep=MockSleep())
        await link.connect()
        dev.reachable = False  # the device went away for good
        await ModelUpload(link, check_blob(blob_bytes), Progress("m", 1, io.StringIO())).run()

    with pytest.raises(LinkError, match="no BLE device 'PPG-Codes' found") as e:
        asyncio.run(go())
    assert e.value.exit_code == EXIT_LINK and dev.up is not None  # the open upload waits for a later run


# -- firmware image ---------------------------------------------------------------------------------------------


def test_image_upload_resumes_lists_hashes_and_marks_for_test(tmp_path, capsys) -> None:
    image = make_image(bytes(range(256)) * 12)
    path = tmp_path / "zephyr.signed.bin"
    path.write_bytes(image)
    sha = hashlib.sha256(image[: 0x200 + 256 * 12]).digest()
    dev = MockSmpDevice(drops={6: "before"})
    assert run_cli(["image", "-d", NAME, str(path)], dev) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == (f"image in slot 1, hash {sha.hex()}, version 1.2.3, marked for test: reset to swap "
                       f"(ppgcomp-update reset -d {NAME})")
    assert any(line.startswith(f"image 0 slot 1: version 1.2.3, hash {sha.hex()}") and "pending" in line
               for line in out)
    assert any(line.startswith("image 0 slot 0:") and "active" in line for line in out)
    uploads = [r.body for r in dev.requests if (r.group, r.cmd, r.op) == (1, 1, 2)]
    firsts = [u for u in uploads if u["off"] == 0]
    assert len(firsts) == 2 and all(u["sha"] == hashlib.sha256(image).digest() and u["len"] == len(image)
                                    for u in firsts)  # the resume: off 0 with the same sha again
    assert dev.img_up["data"] == image and dev.connects == 2 and dev.resets == 0
    assert dev.slots[1]["pending"] and not dev.slots[1]["permanent"]


def test_image_reset_and_already_uploaded(tmp_path, capsys) -> None:
    image = make_image(b"\xa5" * 3000)
    path = tmp_path / "app.bin"
    path.write_bytes(image)
    dev = MockSmpDevice()
    assert run_cli(["image", "-d", NAME, "--no-test", str(path)], dev) == 0
    assert "not marked" in capsys.readouterr().out and not dev.slots[1].get("pending")
    n = len(dev.requests)
    assert run_cli(["image", "-d", NAME, "--reset", str(path)], dev) == 0
    assert not any((r.group, r.cmd, r.op) == (1, 1, 2) for r in dev.requests[n:])  # in slot 1 already: no upload
    assert dev.resets == 1 and dev.slots[1]["pending"]
    assert "reset sent" in capsys.readouterr().out.strip().splitlines()[-1]


def test_image_refused_by_device_and_bad_files(tmp_path, capsys) -> None:
    image = make_image(b"\x01" * 2000)
    good, bad, junk = tmp_path / "good.bin", tmp_path / "bad.bin", tmp_path / "junk.bin"
    good.write_bytes(image)
    bad.write_bytes(image[:700] + bytes([image[700] ^ 1]) + image[701:])
    junk.write_bytes(b"not an image at all, but long enough for a header")
    no_slot = int(IMG_MGMT_ERR.NO_FREE_SLOT)
    assert run_cli(["image", "-d", NAME, str(good)], MockSmpDevice(img_refuse=no_slot)) == EXIT_BAD_INPUT
    assert capsys.readouterr().err.strip().splitlines() == [
        f"ppgcomp-update: error: the device refused the image: image management rc {no_slot} NO_FREE_SLOT"]
    for p, what in ((bad, "SHA-256 TLV does not match"), (junk, "not an MCUboot image")):
        dev = MockSmpDevice()
        assert run_cli(["image", "-d", NAME, str(p)], dev) == EXIT_BAD_INPUT and dev.connects == 0
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and what in err[0]


def test_list_confirm_and_check(blob_file, blob_bytes: bytes, capsys) -> None:
    dev = MockSmpDevice()
    dev.slots[0]["confirmed"] = False
    assert run_cli(["list", "-d", NAME], dev) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("image 0 slot 0: version 0.1.0, hash ") and out[1].startswith(
        f"model 0x{BUILTIN_SHA[0]:02x} active (built-in")
    assert run_cli(["confirm", "-d", NAME], dev) == 0 and dev.slots[0]["confirmed"]
    assert capsys.readouterr().out.startswith("running image confirmed: image 0 slot 0:")
    assert cli.main(["check", str(blob_file)]) == 0
    tag = check_blob(blob_bytes).model_tag
    assert capsys.readouterr().out.startswith(f"{blob_file}: model blob, {len(blob_bytes):,} B, model 0x{tag:02x}")


def test_script_wrapper_runs() -> None:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "update.py"), "model", "--help"],
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0 and "--run-model" in r.stdout and "Exit status" in r.stdout


def test_help_documents_exit_codes(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "2 bad input" in text and "3 no BLE adapter, device not found, or the link lost beyond --retries" in text
    with pytest.raises(SystemExit) as e:
        cli.main(["model", "-d", NAME, "x.blob", "--retries", "0"])
    assert e.value.code == EXIT_BAD_INPUT
    assert capsys.readouterr().err.strip().splitlines() == [
        "ppgcomp-update model: error: argument --retries: must be >= 1 (see --help)"]


def test_no_adapter_exit_3_at_once(blob_file, capsys) -> None:
    class NoAdapterTransport(MockSmpTransport):
        async def connect(self, address: str, timeout_s: float) -> None:
            raise FileNotFoundError(2, "No such file or directory")  # what bleak gives without BlueZ's D-Bus

    sleep = MockSleep()
    rc = cli.main(["model", "-d", NAME, str(blob_file)], transport_factory=lambda: NoAdapterTransport(MockSmpDevice()),
                  sleep=sleep)
    assert rc == EXIT_LINK and sleep.delays == []
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ppgcomp-update: error: no Bluetooth adapter is available")


def test_small_smp_buffer_and_stalled_device(blob_file, capsys) -> None:
    dev = MockSmpDevice(buf_size=60)
    assert run_cli(["model", "-d", NAME, str(blob_file)], dev) == EXIT_BAD_INPUT
    assert "too small for an upload" in capsys.readouterr().err and model_chunks(dev) == []

    class StalledDevice(MockSmpDevice):
        def model_upload(self, body: dict) -> dict:
            super().model_upload(body)
            return {"off": 0}  # never moves on

    dev = StalledDevice()
    assert run_cli(["model", "-d", NAME, str(blob_file)], dev) == EXIT_BAD_INPUT
    assert "no progress" in capsys.readouterr().err and len(model_chunks(dev)) == MAX_OFFSET_RESYNCS + 1


def test_smp_frame_size_without_mcumgr_parameters(blob_file, blob_bytes: bytes) -> None:
    """No parameters command on the device: frames up to 384 B (Zephyr's default buffer); --smp-buffer overrides."""
    dev = MockSmpDevice(buf_size=384, has_params=False)
    assert run_cli(["model", "-d", NAME, str(blob_file)], dev) == 0
    sizes = [len(cbor2.dumps(c)) + 8 for c in model_chunks(dev)]
    assert max(sizes) <= 384 and max(sizes) > 330
    dev = MockSmpDevice(buf_size=384, has_params=False)
    assert run_cli(["model", "-d", NAME, "--smp-buffer", "128", str(blob_file)], dev) == 0
    sizes = [len(cbor2.dumps(c)) + 8 for c in model_chunks(dev)]
    assert max(sizes) <= 128 and b"".join(c["data"] for c in model_chunks(dev)) == blob_bytes


def test_repeated_losses_without_progress_exit_3(blob_file, tmp_path, capsys) -> None:
    """A device that drops the link at every chunk: --retries losses in a row, then exit 3 (model and image)."""
    dev = MockSmpDevice(drops={k: "before" for k in range(1, 50)})
    assert run_cli(["model", "-d", NAME, "--retries", "3", str(blob_file)], dev) == EXIT_LINK
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lost 4 times in a row without progress" in err[0] and dev.connects == 4
    image = tmp_path / "app.bin"
    image.write_bytes(make_image(b"\x07" * 4000))
    dev = MockSmpDevice(drops={k: "before" for k in range(1, 50)})
    assert run_cli(["image", "-d", NAME, "--retries", "2", str(image)], dev) == EXIT_LINK
    assert "lost 3 times in a row without progress" in capsys.readouterr().err and dev.connects == 3


def test_link_lost_on_a_state_read_is_retried(blob_file) -> None:
    class FlakyTransport(MockSmpTransport):
        async def send_and_receive(self, data: bytes) -> bytes:
            h = smphdr.Header.loads(data[: smphdr.Header.SIZE])
            if (int(h.group_id), int(h.command_id), h.op) == (64, 0, smphdr.OP.READ) and self.device.connects < 3:
                self.connected = False
                raise SMPTransportDisconnected("mock: lost on state")
            return await super().send_and_receive(data)

    dev = MockSmpDevice()
    rc = cli.main(["model", "-d", NAME, str(blob_file)], transport_factory=lambda: FlakyTransport(dev),
                  sleep=MockSleep())
    assert rc == 0 and dev.connects == 3 and dev.active_seq == 1
