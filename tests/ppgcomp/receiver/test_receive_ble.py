"""The BLE session (ppgcomp.receiver.ble) against a mock GATT client: no radio, no bleak backend."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ppgcomp.constants import TFLITE_FILE
from ppgcomp.protocol.gatt import GattModelInfo, encode_model_info
from ppgcomp.protocol.packet import Flag, encode_packet, parse_packet
from ppgcomp.receiver import ble
from ppgcomp.receiver import cli as receive_cli

HOP = 200


class MockAttError(Exception):
    """What a backend raises for an ATT error (bleak's BleakGATTProtocolError carries .code the same way)."""

    def __init__(self, code: int) -> None:
        super().__init__(code, f"GATT Protocol Error: 0x{code:02x}")
        self.code = code


class MockGattClient:
    """A scripted peripheral: model-info record, encrypted codes characteristic, packets, then a link drop."""

    def __init__(self, model_info: bytes, packets: list[bytes], on_disconnect: Callable[[], None], *,
                 requires_pairing: bool = False, fail_connect: bool = False, drop_after: bool = True) -> None:
        self.model_info = model_info
        self.packets = packets
        self.on_disconnect = on_disconnect
        self.requires_pairing = requires_pairing
        self.fail_connect = fail_connect
        self.drop_after = drop_after
        self.paired = False
        self.calls: list[str] = []
        self._connected = False

    @property
    def is_connected(self) -> bool:
        return self._connected

    async def connect(self) -> None:
        self.calls.append("connect")
        if self.fail_connect:
            raise ConnectionError("mock: device did not answer")
        self._connected = True

    async def disconnect(self) -> None:
        self.calls.append("disconnect")
        self._connected = False

    async def pair(self) -> None:
        self.calls.append("pair")
        self.paired = True

    async def read_gatt_char(self, char: str) -> bytearray:
        self.calls.append(f"read {char}")
        assert char == ble.MODEL_INFO_UUID
        return bytearray(self.model_info)

    async def start_notify(self, char: str, callback: Callable[[object, bytearray], None]) -> None:
        self.calls.append(f"notify {char}")
        assert char == ble.CODES_UUID
        if self.requires_pairing and not self.paired:
            raise MockAttError(0x0F)  # insufficient encryption
        loop = asyncio.get_running_loop()
        for p in self.packets:
            loop.call_soon(callback, "codes", bytearray(p))
        if self.drop_after:
            loop.call_soon(self._drop)

    def _drop(self) -> None:
        self._connected = False
        self.on_disconnect()


class MockFactory:
    """Hands out scripted clients, one per connection attempt; sets `stop` when the script is over."""

    def __init__(self, script: list[dict], model_info: bytes, stop: asyncio.Event | None = None) -> None:
        self.script = list(script)
        self.model_info = model_info
        self.stop = stop
        self.clients: list[MockGattClient] = []

    async def __call__(self, on_disconnect: Callable[[], None]) -> MockGattClient:
        if not self.script:
            if self.stop is not None:
                self.stop.set()
            raise ble.DeviceNotFoundError("mock: script over")
        step = self.script.pop(0)
        if step.get("not_found"):
            raise ble.DeviceNotFoundError("mock: not found")
        c = MockGattClient(step.get("model_info", self.model_info), step.get("packets", []), on_disconnect,
                           requires_pairing=step.get("requires_pairing", False),
                           fail_connect=step.get("fail_connect", False))
        self.clients.append(c)
        return c


class MockSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


@pytest.fixture(scope="module")
def artifacts(quick_export: dict) -> Path:
    return quick_export["_dirs"]["artifacts"]


@pytest.fixture(scope="module")
def decoder(artifacts: Path):
    from ppgcomp.training.decoding import CodeDecoder

    return CodeDecoder.load(artifacts)


@pytest.fixture(scope="module")
def packets(artifacts: Path) -> list[bytes]:
    """30 reference packets (TFLM codes of a held-out synthetic recording), seq 0..29."""
    from ppgcomp.replay.reference import build_reference

    return build_reference((artifacts / TFLITE_FILE).read_bytes(), minutes=4.5, hop=HOP).packets[:30]


def model_info_record(decoder, *, sha: str | None = None, hop: int = HOP) -> bytes:
    i = decoder.info
    return encode_model_info(GattModelInfo(1, i.code_len, i.sample_rate_hz, i.window_len, hop, i.input_scale,
                                       i.input_zero_point, i.output_zero_point, i.output_scale,
                                       bytes.fromhex(sha or i.sha256), (1, 2, 3, 0)))


def make_receiver(decoder, factory, sleep, **kw):
    from ppgcomp.receiver.session import ReceiverSession

    session = ReceiverSession(decoder, HOP)
    rows: list = []
    rx = ble.BleReceiver(session, factory, expected_sha256=decoder.info.sha256, on_rows=rows.extend, sleep=sleep,
                         **kw)
    return rx, rows


def replay_rows(decoder, packets: list[bytes]):
    from ppgcomp.receiver.replay import replay_lines
    from ppgcomp.receiver.session import ReceiverSession

    return replay_lines(ReceiverSession(decoder, HOP), [p.hex() for p in packets])


# -- pure parts ---------------------------------------------------------------------------------------------


def test_backoff_schedule() -> None:
    assert ble.Backoff().schedule(8) == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert ble.Backoff(initial_s=0.5, factor=3.0, max_s=10.0).schedule(5) == [0.5, 1.5, 4.5, 10.0, 10.0]
    with pytest.raises(ValueError):
        ble.Backoff(initial_s=0)


def test_auth_errors_and_addresses() -> None:
    assert ble.is_auth_error(MockAttError(0x05)) and ble.is_auth_error(MockAttError(0x0F))
    assert not ble.is_auth_error(MockAttError(0x0A))
    assert ble.is_auth_error(Exception("org.bluez.Error.NotPermitted: Insufficient Encryption"))
    assert not ble.is_auth_error(TimeoutError("timed out"))
    assert ble.looks_like_address("C0:11:22:33:44:55") and ble.looks_like_address(
        "12345678-1234-1234-1234-123456789abc")
    assert not ble.looks_like_address("PPG-Codes")


# -- the loop with the mock client --------------------------------------------------------------------------


def test_hash_mismatch_refused(decoder) -> None:
    other = "00" * 32
    sleep = MockSleep()
    factory = MockFactory([{}], model_info_record(decoder, sha=other))
    rx, rows = make_receiver(decoder, factory, sleep)
    with pytest.raises(ble.ModelMismatchError, match="local artefacts"):
        asyncio.run(rx.run())
    client = factory.clients[0]
    assert f"notify {ble.CODES_UUID}" not in client.calls  # refused before subscribing
    assert client.calls[-1] == "disconnect" and sleep.delays == [] and rows == []


def test_hash_mismatch_exit_2(decoder, artifacts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    factory = MockFactory([{}], model_info_record(decoder, sha="11" * 32))
    rc = receive_cli.main(["--ble", "PPG", "--artifacts", str(artifacts)], ble_factory=factory,
                          ble_sleep=MockSleep())
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("receive.py: error: refusing the device: the device runs model 1111111111111111")


def test_invalid_model_info_refused(decoder) -> None:
    factory = MockFactory([{"model_info": b"\x01" * 10}], model_info_record(decoder))
    rx, _ = make_receiver(decoder, factory, MockSleep())
    with pytest.raises(ble.ModelMismatchError, match="invalid"):
        asyncio.run(rx.run())


def test_reconnect_backoff_schedule(decoder, packets: list[bytes]) -> None:
    """7 failed attempts (1, 2, 4 ... capped at 30 s), a link that works, then the schedule starts again."""
    stop = asyncio.Event()
    script = ([{"fail_connect": True}] * 4 + [{"not_found": True}] * 3 + [{"packets": packets[:3]}]
              + [{"fail_connect": True}] * 2)
    sleep = MockSleep()

    async def go() -> ble.BleReceiver:
        factory = MockFactory(script, model_info_record(decoder), stop)
        rx, _ = make_receiver(decoder, factory, sleep)
        await rx.run(stop)
        return rx

    rx = asyncio.run(go())
    assert rx.delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 1.0, 2.0, 4.0]
    assert sleep.delays == rx.delays
    assert rx.connections == 1 and [r.seq for r in rx.session.rows] == [0, 1, 2]


def test_gives_up_after_max_attempts(decoder) -> None:
    factory = MockFactory([{"fail_connect": True}] * 5, model_info_record(decoder))
    rx, _ = make_receiver(decoder, factory, MockSleep(), max_attempts=3)
    with pytest.raises(ble.GaveUpError):
        asyncio.run(rx.run())
    assert rx.delays == [1.0, 2.0] and len(factory.clients) == 3


def test_notifications_decoded_like_replay(decoder, packets: list[bytes]) -> None:
    """Pair on insufficient encryption, decode notifications; after a drop, reconnect and take the backlog."""
    stop = asyncio.Event()
    live1 = packets[:10]
    backlog = [encode_packet(parse_packet(p).codes, parse_packet(p).seq, parse_packet(p).model_tag,
                             int(Flag.BACKLOG)) for p in packets[10:16]]
    live2 = packets[16:]
    script = [{"packets": live1, "requires_pairing": True}, {"fail_connect": True},
              {"packets": backlog + live2, "requires_pairing": True}]
    sleep = MockSleep()
    factory = MockFactory(script, model_info_record(decoder), stop)

    async def go() -> tuple[ble.BleReceiver, list]:
        rx, rows = make_receiver(decoder, factory, sleep)
        await rx.run(stop)
        return rx, rows

    rx, streamed = asyncio.run(go())
    assert rx.pairings == 2 and all(c.paired for c in factory.clients if "connect" in c.calls and not c.fail_connect)
    assert factory.clients[0].calls[:5] == ["connect", f"read {ble.MODEL_INFO_UUID}", f"notify {ble.CODES_UUID}",
                                            "pair", f"notify {ble.CODES_UUID}"]
    assert rx.connections == 2 and rx.delays[:2] == [1.0, 2.0]
    rows = rx.session.ordered_rows()
    assert [r.seq for r in rows] == list(range(30)) == sorted(r.seq for r in streamed)
    assert [r.flags_text for r in rows[10:16]] == ["backlog"] * 6
    st = rx.session.stream.stats
    assert (st.total, st.malformed, st.gaps, st.duplicates, st.backlog) == (30, 0, 0, 0, 6)
    want = replay_rows(decoder, packets)
    assert [r.hr_bpm for r in rows] == pytest.approx([r.hr_bpm for r in want], abs=1e-3)
    assert [r.time_s for r in rows] == [r.time_s for r in want]


def test_device_hop_adopted(decoder, packets: list[bytes]) -> None:
    stop = asyncio.Event()
    factory = MockFactory([{"packets": packets[:2]}], model_info_record(decoder, hop=50), stop)
    rx, _ = make_receiver(decoder, factory, MockSleep())
    asyncio.run(rx.run(stop))
    assert rx.session.hop == 50 and [r.time_s for r in rx.session.rows] == [16.0, 18.0]


def test_ble_main_writes_csv(decoder, artifacts: Path, packets: list[bytes], tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    """receive.py --ble end to end with the mock: CSV rows, summary; stops when the device is gone for good."""
    factory = MockFactory([{"packets": packets[:5], "requires_pairing": True}], model_info_record(decoder))
    out, summary = tmp_path / "ble.csv", tmp_path / "s.json"
    rc = receive_cli.main(["--ble", "C0:11:22:33:44:55", "--artifacts", str(artifacts), "--csv", str(out),
                           "--max-retries", "2", "--summary-json", str(summary)],
                          ble_factory=factory, ble_sleep=MockSleep())
    assert rc == 1  # gave up after the link went away and two attempts failed
    lines = out.read_text().splitlines()
    assert lines[0] == "time_s,seq,hr_bpm,flags" and [ln.split(",")[1] for ln in lines[1:]] == list("01234")
    err = capsys.readouterr().err
    assert "receive.py: error: no connection after 2 attempt(s)" in err
    assert "receive.py: packets total=5 valid=5 malformed=0" in err
    s = json.loads(summary.read_text())
    assert (s["decoded"], s["connections"], s["reconnect_waits"], s["malformed"]) == (5, 1, 2, 0)
