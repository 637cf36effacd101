"""BLE GATT client loop (docs/protocol.md): model check, pairing, notifications, reconnect with back-off.

The loop talks to a *client* with bleak's :class:`bleak.BleakClient` interface (:class:`GattClient`), made by
a *factory* that scans for the device and wires the disconnect callback. :func:`bleak_factory` is the real
one; tests pass a fake. Notifications go into the same :class:`ReceiverSession` as a replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ppgcomp.protocol.gatt import GattModelInfo, RecordError, parse_model_info
from ppgcomp.receiver.models import ArtifactsError, UnknownModelError
from ppgcomp.receiver.session import ReceiverSession, Row

log = logging.getLogger(__name__)

SERVICE_UUID = "7c3e0001-5a1b-4d2e-9f3a-6b8c1d2e3f40"
CODES_UUID = "7c3e0002-5a1b-4d2e-9f3a-6b8c1d2e3f40"
MODEL_INFO_UUID = "7c3e0003-5a1b-4d2e-9f3a-6b8c1d2e3f40"
STATS_UUID = "7c3e0004-5a1b-4d2e-9f3a-6b8c1d2e3f40"

# ATT errors that pairing (encryption) fixes: insufficient authentication / authorization / key size /
# encryption, and their spellings in BlueZ, CoreBluetooth and WinRT messages.
AUTH_ATT_CODES = frozenset({0x05, 0x08, 0x0C, 0x0F})
_AUTH_TEXT = re.compile(r"insufficient\s*(authentication|encryption|authorization)|not\s*authori[sz]ed|"
                        r"notpermitted|authentication\s*required|encryption\s*required", re.IGNORECASE)
_ADDRESS = re.compile(r"([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}")


class ModelMismatchError(RuntimeError):
    """The device runs another model than the local artefacts (or sent no valid model-info record, or packets of a
    model that no artefact folder has)."""


class DeviceNotFoundError(ConnectionError):
    """The scan did not find the device."""


class GaveUpError(ConnectionError):
    """No connection after the allowed number of attempts."""


class GattClient(Protocol):
    """The part of :class:`bleak.BleakClient` the receiver uses."""

    @property
    def is_connected(self) -> bool: ...

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def pair(self) -> None: ...

    async def read_gatt_char(self, char: str) -> bytes | bytearray: ...

    async def start_notify(self, char: str, callback: Callable[[Any, bytearray], None]) -> None: ...


# factory(on_disconnect) -> a client, not yet connected. Raise DeviceNotFoundError when the scan fails.
ClientFactory = Callable[[Callable[[], None]], Awaitable[GattClient]]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: ``initial * factor**k``, capped at ``max_s``, for the k-th wait since the last
    working link (so 1, 2, 4, 8, 16, 30, 30 ... s by default, and 1 s again after a link that worked)."""

    initial_s: float = 1.0
    factor: float = 2.0
    max_s: float = 30.0

    def __post_init__(self) -> None:
        if self.initial_s <= 0 or self.factor < 1 or self.max_s < self.initial_s:
            raise ValueError("back-off needs initial > 0, factor >= 1 and max >= initial")

    def delay(self, attempt: int) -> float:
        return float(min(self.max_s, self.initial_s * self.factor ** min(attempt, 64)))

    def schedule(self, n: int) -> list[float]:
        return [self.delay(k) for k in range(n)]


def is_auth_error(exc: BaseException) -> bool:
    """True for an ATT insufficient-authentication/encryption error (bleak's or a backend's)."""
    code = getattr(exc, "code", None)
    if isinstance(code, int) and int(code) in AUTH_ATT_CODES:
        return True
    return bool(_AUTH_TEXT.search(f"{type(exc).__name__} {exc}"))


def looks_like_address(target: str) -> bool:
    """A Bluetooth address (AA:BB:CC:DD:EE:FF) or a macOS device UUID, rather than a name."""
    return bool(_ADDRESS.fullmatch(target.strip()))


def check_model(record: bytes | bytearray, expected_sha256: str, code_len: int, window_len: int,
                rate_hz: int) -> GattModelInfo:
    """Parse the model-info record and refuse a device whose model is not the local artefacts' model."""
    try:
        info = parse_model_info(bytes(record))
    except RecordError as e:
        raise ModelMismatchError(f"the device's model-info record is invalid ({e})") from None
    device = info.model_sha256.hex()
    if device != expected_sha256.lower():
        raise ModelMismatchError(
            f"the device runs model {device[:16]}... but the local artefacts are model {expected_sha256[:16]}...; "
            "use --artifacts with the matching model (or flash the firmware built from these artefacts)")
    if (info.code_len, info.window_len, info.sample_rate_hz) != (code_len, window_len, rate_hz):
        raise ModelMismatchError(
            f"the device's geometry (codes {info.code_len}, window {info.window_len}, {info.sample_rate_hz} Hz) "
            f"differs from the artefacts' ({code_len}, {window_len}, {rate_hz} Hz)")
    return info


async def _sleep_unless(stop: asyncio.Event, delay: float, sleep: Sleep) -> None:
    """Sleep for `delay` seconds or until `stop` is set, whichever comes first."""
    waiter = asyncio.ensure_future(stop.wait())
    sleeper = asyncio.ensure_future(sleep(delay))
    try:
        await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiter, sleeper):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class BleReceiver:
    """Connect, check the model, subscribe and decode; reconnect with exponential back-off when the link drops.

    A model mismatch ends :meth:`run` with :class:`ModelMismatchError`; any other connection failure is
    retried (``max_attempts`` consecutive failures raise :class:`GaveUpError`; None retries forever).

    When the session has a model library (:class:`ppgcomp.receiver.models.ModelLibrary`), the device's
    model-info SHA-256 picks the artefacts at every connection (``expected_sha256`` is then only the first
    guess), and packets whose tag changes mid-link (a model pushed over the air) switch the decoder; a model that
    no folder has ends :meth:`run` with :class:`ModelMismatchError`.
    """

    def __init__(self, session: ReceiverSession, factory: ClientFactory, *, expected_sha256: str,
                 on_rows: Callable[[list[Row]], None] | None = None, backoff: Backoff | None = None,
                 sleep: Sleep = asyncio.sleep, max_attempts: int | None = None, adopt_device_hop: bool = True) -> None:
        self.session = session
        self.factory = factory
        self.expected_sha256 = expected_sha256
        self.on_rows = on_rows
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.adopt_device_hop = adopt_device_hop
        self.delays: list[float] = []  # every back-off delay waited, in order
        self.connections = 0  # links that got as far as subscribing
        self.pairings = 0
        self.device_info: GattModelInfo | None = None
        self._new_data = asyncio.Event()
        self._fatal: ModelMismatchError | None = None  # raised by run(): a packet of a model no folder has
        self._fatal_set = asyncio.Event()

    # -- notifications ------------------------------------------------------------------------------

    def _on_notify(self, _char: object, data: bytearray) -> None:
        if self._fatal is not None:
            return
        try:
            self.session.feed(bytes(data))
        except (UnknownModelError, ArtifactsError) as e:
            self._fatal = ModelMismatchError(str(e))
            self._fatal_set.set()
        self._new_data.set()

    def _flush(self) -> None:
        rows = self.session.flush()
        if rows and self.on_rows is not None:
            self.on_rows(rows)

    async def _consume(self) -> None:
        """Decode whatever arrived since the last batch (a backlog burst is decoded as one batch)."""
        while True:
            await self._new_data.wait()
            self._new_data.clear()
            await asyncio.sleep(0)  # let a burst of notifications queue up
            self._flush()

    # -- one link -----------------------------------------------------------------------------------

    async def _with_pairing(self, client: GattClient, what: str, op: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await op()
        except Exception as e:
            if not is_auth_error(e):
                raise
            log.info("%s needs an encrypted link (%s): pairing", what, e)
        try:
            await client.pair()
            self.pairings += 1
        except NotImplementedError:
            log.info("this BLE backend pairs on its own (the OS prompts); retrying")
        return await op()

    async def _session_on(self, client: GattClient, disconnected: asyncio.Event, stop: asyncio.Event) -> None:
        record = await self._with_pairing(client, "reading model info",
                                          lambda: client.read_gatt_char(MODEL_INFO_UUID))
        if self.session.library is not None:
            self._pick_model(record)
        info = self.session.decoder.info
        dev = check_model(record, self.expected_sha256, int(info.code_len), int(info.window_len),
                          int(info.sample_rate_hz))
        self.device_info = dev
        log.info("device model %s (tag 0x%02x), hop %d samples, firmware %s", dev.model_sha256.hex()[:16],
                 dev.model_tag, dev.hop, ".".join(map(str, dev.fw_version)))
        if dev.hop != self.session.hop:
            if self.adopt_device_hop and dev.hop > 0:
                log.warning("the device's hop is %d samples (--hop %d): using the device's", dev.hop,
                            self.session.hop)
                self.session.hop = dev.hop
            else:
                log.warning("the device's hop is %d samples but --hop is %d", dev.hop, self.session.hop)
        await self._with_pairing(client, "subscribing to codes", lambda: client.start_notify(CODES_UUID,
                                                                                            self._on_notify))
        self.connections += 1
        log.info("subscribed to codes; receiving")
        waiters = [asyncio.ensure_future(disconnected.wait()), asyncio.ensure_future(stop.wait()),
                   asyncio.ensure_future(self._fatal_set.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
        if self._fatal is not None:
            raise self._fatal
        if disconnected.is_set():
            log.warning("link lost")

    def _pick_model(self, record: bytes | bytearray) -> None:
        """The artefacts of the model the device reports (its model-info SHA-256), from the session's library."""
        try:
            device_sha = parse_model_info(bytes(record)).model_sha256.hex()
        except RecordError as e:
            raise ModelMismatchError(f"the device's model-info record is invalid ({e})") from None
        lib = self.session.library
        try:
            entry = lib.by_sha(device_sha)
            self.session.use_model(entry)
        except UnknownModelError:
            raise ModelMismatchError(
                f"the device runs model {device_sha[:16]}... (tag 0x{device_sha[:2]}) but no local artefacts "
                f"decode it (have {lib.describe()}); use --artifacts with the matching model's folder") from None
        except ArtifactsError as e:
            raise ModelMismatchError(str(e)) from None
        self.expected_sha256 = entry.sha256

    # -- the loop -----------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        consumer = asyncio.ensure_future(self._consume())
        failures = 0  # consecutive attempts that did not get a working link
        waits = 0  # back-off steps since the last working link
        try:
            while not stop.is_set():
                disconnected = asyncio.Event()
                linked = False
                try:
                    client = await self.factory(disconnected.set)
                    await client.connect()
                    try:
                        before = self.connections
                        await self._session_on(client, disconnected, stop)
                        linked = self.connections > before
                    finally:
                        with contextlib.suppress(Exception):
                            if client.is_connected:
                                await client.disconnect()
                except ModelMismatchError:
                    raise
                except Exception as e:  # noqa: BLE001 - BleakError, OSError, TimeoutError, a backend's own
                    log.warning("connection failed: %s", e or type(e).__name__)
                self._flush()
                if stop.is_set():
                    break
                if linked:
                    failures = waits = 0
                else:
                    failures += 1
                if self.max_attempts is not None and failures >= self.max_attempts:
                    raise GaveUpError(f"no connection after {failures} attempt(s)")
                delay = self.backoff.delay(waits)
                waits += 1
                self.delays.append(delay)
                log.info("reconnecting in %.1f s", delay)
                await _sleep_unless(stop, delay, self.sleep)
        finally:
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer
            self._flush()


def bleak_factory(target: str, scan_timeout_s: float = 10.0) -> ClientFactory:
    """Scan for the device by address or name and build a :class:`bleak.BleakClient` for it."""

    async def make(on_disconnect: Callable[[], None]) -> GattClient:
        from bleak import BleakClient, BleakScanner

        if looks_like_address(target):
            device = await BleakScanner.find_device_by_address(target, timeout=scan_timeout_s)
        else:
            device = await BleakScanner.find_device_by_name(target, timeout=scan_timeout_s)
        if device is None:
            raise DeviceNotFoundError(f"no BLE device {target!r} found in {scan_timeout_s:g} s")
        log.info("found %s (%s)", device.name, device.address)
        return BleakClient(device, disconnected_callback=lambda _c: on_disconnect(), timeout=scan_timeout_s)

    return make
