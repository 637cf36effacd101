"""The receiver picks the decoder by model: the packet's tag, the device's model-info SHA-256 (issue #23).

Real artefacts: the committed conv model (artifacts/, tag 0x88) and dense model (artifacts/dense/), their
packets computed by TFLM from the same synthetic recording. A mock GATT client (no radio) stands in for BLE.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ppgcomp.constants import ARTIFACTS_DIR, DECODER_FILE, HR_MODEL_FILE, MODEL_INFO_FILE, REPO_ROOT, TFLITE_FILE
from ppgcomp.protocol.gatt import GattModelInfo, encode_model_info
from ppgcomp.protocol.packet import encode_packet, packet_to_hex, parse_packet
from ppgcomp.receiver import ble
from ppgcomp.receiver import cli as receive_cli
from ppgcomp.receiver.models import ArtifactsError, ModelLibrary, UnknownModelError

HOP = 200
ART = REPO_ROOT / ARTIFACTS_DIR
DENSE = ART / "dense"


def _info(folder: Path) -> dict:
    return json.loads((folder / MODEL_INFO_FILE).read_text())


@pytest.fixture(scope="module")
def library() -> ModelLibrary:
    return ModelLibrary.discover([ART])


@pytest.fixture(scope="module")
def packets() -> dict[str, list[bytes]]:
    """20 packets of each model (seq 0..19) from the same held-out synthetic recording."""
    from ppgcomp.replay.reference import build_reference

    return {name: build_reference((folder / TFLITE_FILE).read_bytes(), minutes=3.0, hop=HOP).packets[:20]
            for name, folder in (("conv", ART), ("dense", DENSE))}


def _reseq(p: bytes, seq: int, tag: int | None = None) -> bytes:
    pkt = parse_packet(p)
    return encode_packet(pkt.codes, seq, pkt.model_tag if tag is None else tag, int(pkt.flags), version=pkt.version)


def _decode_alone(decoder, pkts: list[bytes]) -> list[float]:
    from ppgcomp.receiver.replay import replay_lines
    from ppgcomp.receiver.session import ReceiverSession

    return [r.hr_bpm for r in replay_lines(ReceiverSession(decoder, HOP), [packet_to_hex(p) for p in pkts])]


def _fake_folder(root: Path, name: str, sha: str) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / MODEL_INFO_FILE).write_text(json.dumps({"sha256": sha, "tag": int(sha[:2], 16)}))
    (d / DECODER_FILE).write_bytes(b"")
    (d / HR_MODEL_FILE).write_bytes(b"")
    return d


# -- the library: cheap, no TensorFlow ---------------------------------------------------------------------------


def test_library_finds_the_folder_and_its_subfolders(library: ModelLibrary) -> None:
    conv, dense = _info(ART), _info(DENSE)
    assert [(e.folder, e.sha256, e.tag) for e in library.entries] == [
        (ART, conv["sha256"], conv["tag"]), (DENSE, dense["sha256"], dense["tag"])]
    assert library.default.folder == ART and conv["tag"] != dense["tag"]
    assert library.for_tag(dense["tag"]).folder == DENSE
    assert library.by_sha(bytes.fromhex(conv["sha256"])).folder == ART
    with pytest.raises(UnknownModelError, match=r"packets with model tag 0x11, and no artefacts for it; have 0x"):
        library.for_tag(0x11)
    with pytest.raises(UnknownModelError, match=r"no artefacts for model 1111111111111111\.\.\. \(tag 0x11\)"):
        library.by_sha("11" * 32)


def test_library_ambiguous_tags_duplicates_and_broken_folders(tmp_path: Path) -> None:
    a, b = "ab" + "01" * 31, "ab" + "02" * 31
    _fake_folder(tmp_path, "m1", a)
    _fake_folder(tmp_path, "m2", b)
    _fake_folder(tmp_path, "m1_copy", a)  # the same model twice: one entry
    (tmp_path / "plots").mkdir()  # no model_info.json: not a model folder
    lib = ModelLibrary.discover([tmp_path])
    assert [e.folder.name for e in lib.entries] == ["m1", "m2"]
    with pytest.raises(UnknownModelError, match="model tag 0xab is ambiguous"):
        lib.for_tag(0xAB)
    assert lib.for_tag(0xAB, prefer_sha256=b).folder.name == "m2"
    (tmp_path / "m2" / HR_MODEL_FILE).unlink()
    with pytest.raises(ArtifactsError, match=f"m2: missing {HR_MODEL_FILE}"):
        ModelLibrary.discover([tmp_path])
    bad = _fake_folder(tmp_path / "x", "bad", "cd" * 32)
    (bad / MODEL_INFO_FILE).write_text(json.dumps({"sha256": "cd" * 32, "tag": 1}))
    with pytest.raises(ArtifactsError, match="not a model-info file"):
        ModelLibrary.discover([tmp_path / "x"])
    with pytest.raises(ArtifactsError, match="no model_info.json in it or its subfolders"):
        ModelLibrary.discover([tmp_path / "plots"])


# -- decoding with the model each packet names (real models) -----------------------------------------------------


def test_session_switches_to_the_tagged_model(library: ModelLibrary, packets: dict[str, list[bytes]]) -> None:
    """Conv packets, then the device takes the dense model: each packet is decoded with its own model."""
    from ppgcomp.receiver.replay import replay_lines
    from ppgcomp.receiver.session import ReceiverSession

    conv, dense = packets["conv"][:10], packets["dense"][10:20]
    conv_dec, dense_dec = library.decoder(library.entries[0]), library.decoder(library.entries[1])
    s = ReceiverSession(conv_dec, HOP, library=library)
    rows = replay_lines(s, [packet_to_hex(p) for p in conv + dense])
    assert [r.seq for r in rows] == list(range(20)) and s.model_switches == 1
    assert s.stream.stats.malformed == 0 and s.decoder is dense_dec
    want = _decode_alone(conv_dec, conv) + _decode_alone(dense_dec, packets["dense"])[10:20]
    assert [r.hr_bpm for r in rows] == pytest.approx(want, abs=1e-3)
    # the wrong model would give other HR: the choice matters
    wrong = _decode_alone(conv_dec, [_reseq(p, parse_packet(p).seq, tag=conv_dec.info.tag) for p in dense])
    assert np.max(np.abs(np.array(wrong) - np.array(want[10:]))) > 0.5
    assert "model_switches=1" in s.summary().line()
    with pytest.raises(UnknownModelError, match="0x11"):
        s.feed(_reseq(conv[0], 30, tag=0x11))


def test_session_without_library_still_counts_other_tags(library: ModelLibrary, packets) -> None:
    from ppgcomp.receiver.session import ReceiverSession

    s = ReceiverSession(library.decoder(library.entries[0]), HOP)
    assert not s.feed(packets["dense"][0]) and s.stream.stats.malformed_by_reason == {"model_tag": 1}


def test_replay_cli_picks_by_tag_and_refuses_unknown(packets, tmp_path: Path, capsys) -> None:
    dense_file, alien_file, out = tmp_path / "dense.hex", tmp_path / "alien.hex", tmp_path / "rows.csv"
    dense_file.write_text("# packets without a model= header\n" + "\n".join(map(packet_to_hex, packets["dense"])))
    alien_file.write_text("\n".join(packet_to_hex(_reseq(p, k, tag=0x11)) for k, p in enumerate(packets["conv"])))
    assert receive_cli.main(["--replay", str(dense_file), "--artifacts", str(ART), "--hop", str(HOP),
                             "--csv", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 21 and "accepted=20" in capsys.readouterr().err
    assert receive_cli.main(["--replay", str(alien_file), "--artifacts", str(ART), "--hop", str(HOP)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "receive.py: error: refusing the packets: packets with model tag 0x11, and no artefacts for it")
    # the dense folder alone cannot decode conv packets
    mixed = tmp_path / "mixed.hex"
    mixed.write_text("\n".join(map(packet_to_hex, packets["dense"][:3] + [_reseq(packets["conv"][3], 3)])))
    assert receive_cli.main(["--replay", str(mixed), "--artifacts", str(DENSE), "--hop", str(HOP)]) == 2
    assert "refusing the packets: packets with model tag 0x" in capsys.readouterr().err


# -- BLE: the device's model info picks the artefacts --------------------------------------------------------------


class MockGattClient:
    """A scripted peripheral: model-info record, then notifications, then the link stays up until stop."""

    def __init__(self, record: bytes, packets: list[bytes], on_disconnect: Callable[[], None]) -> None:
        self.record, self.packets, self.on_disconnect = record, packets, on_disconnect
        self.is_connected = False

    async def connect(self) -> None:
        self.is_connected = True

    async def disconnect(self) -> None:
        self.is_connected = False

    async def pair(self) -> None:
        raise NotImplementedError

    async def read_gatt_char(self, char: str) -> bytes:
        assert char == ble.MODEL_INFO_UUID
        return self.record

    async def start_notify(self, char: str, callback) -> None:
        loop = asyncio.get_running_loop()
        for p in self.packets:
            loop.call_soon(callback, "codes", bytearray(p))
        loop.call_soon(self._drop)

    def _drop(self) -> None:
        self.is_connected = False
        self.on_disconnect()


def _record(folder: Path, sha: str | None = None) -> bytes:
    i = _info(folder)
    return encode_model_info(GattModelInfo(1, i["code_len"], i["sample_rate_hz"], i["window_len"], HOP,
                                           i["input_scale"], i["input_zero_point"], i["output_zero_point"],
                                           i["output_scale"], bytes.fromhex(sha or i["sha256"]), (1, 0, 0, 0)))


def _run_ble(library: ModelLibrary, record: bytes, pkts: list[bytes]):
    from ppgcomp.receiver.session import ReceiverSession

    session = ReceiverSession(library.decoder(library.default), HOP, library=library)
    stop = asyncio.Event()
    calls = {"n": 0}

    async def factory(on_disconnect):
        calls["n"] += 1
        if calls["n"] > 1:
            stop.set()
            raise ble.DeviceNotFoundError("mock: gone")
        return MockGattClient(record, pkts, on_disconnect)

    async def no_sleep(_delay: float) -> None:
        await asyncio.sleep(0)

    rx = ble.BleReceiver(session, factory, expected_sha256=library.default.sha256, sleep=no_sleep)
    asyncio.run(rx.run(stop))
    return rx


def test_ble_device_model_info_picks_the_folder(library: ModelLibrary, packets) -> None:
    rx = _run_ble(library, _record(DENSE), packets["dense"][:6])
    assert rx.session.decoder.info.sha256 == _info(DENSE)["sha256"] and rx.expected_sha256 == _info(DENSE)["sha256"]
    want = _decode_alone(library.decoder(library.entries[1]), packets["dense"][:6])
    assert [r.hr_bpm for r in rx.session.ordered_rows()] == pytest.approx(want, abs=1e-3)


def test_ble_model_pushed_mid_link_then_unknown_model(library: ModelLibrary, packets) -> None:
    pkts = packets["conv"][:4] + packets["dense"][4:8]
    rx = _run_ble(library, _record(ART), pkts)
    assert [r.seq for r in rx.session.ordered_rows()] == list(range(8)) and rx.session.model_switches == 1
    with pytest.raises(ble.ModelMismatchError, match="packets with model tag 0x11"):
        _run_ble(library, _record(ART), packets["conv"][:2] + [_reseq(packets["conv"][2], 2, tag=0x11)])


def test_ble_device_with_unknown_model_exit_2(packets, capsys) -> None:
    async def factory(on_disconnect):
        return MockGattClient(_record(ART, sha="11" * 32), [], on_disconnect)

    rc = receive_cli.main(["--ble", "PPG", "--artifacts", str(ART)], ble_factory=factory)
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("receive.py: error: refusing the device: the device runs model 1111111111111111... "
                          "(tag 0x11) but no local artefacts decode it (have 0x")

