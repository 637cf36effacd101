"""The SMP link to the device: smpclient's :class:`~smpclient.SMPClient` on a BLE transport, with reconnects.

:class:`DeviceLink` connects (scanning by name or address, with retries and back-off), sends one request at a
time and turns what comes back into either the typed response or one of :mod:`ppgcomp.update.errors`'
exceptions: an SMP error answer -> :class:`DeviceRefusedError`, a dropped link or a missing answer ->
:class:`LinkLost` (the caller reconnects with :meth:`DeviceLink.reconnect` and resumes). The transport comes
from a factory: smpclient's :class:`~smpclient.transport.ble.SMPBLETransport` by default, a mock in the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from ppgcomp.update.errors import DeviceRefusedError, LinkError, LinkLost, NoAdapterError, UpdateError
from ppgcomp.update.smp_group import ERR_TEXT, GROUP_ID, err_name

log = logging.getLogger(__name__)

TransportFactory = Callable[[], Any]  # -> an smpclient.transport.SMPTransport, not connected
# The SMP frame size (header included) to assume when the device does not report its own (MCUmgr's parameters
# command, CONFIG_MCUMGR_GRP_OS_MCUMGR_PARAMS, is off by default): Zephyr's CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE
# default. Without it smpclient would send one ATT write's worth per frame, too little for an image's first chunk.
DEFAULT_SMP_BUFFER = 384
Sleep = Callable[[float], Awaitable[None]]


def ble_transport_factory() -> TransportFactory:
    """smpclient's BLE transport (bleak); refuses in one line when the BLE extra is not installed."""
    try:
        from smpclient.transport.ble import SMPBLETransport
    except ImportError as e:
        raise NoAdapterError(f"BLE needs smpclient[ble] and bleak (pip install -r requirements.txt): {e}") from None
    return SMPBLETransport


def _is_no_adapter(exc: BaseException) -> bool:
    """No adapter / no BlueZ: bleak's BleakBluetoothNotAvailableError, or no D-Bus socket at all."""
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError):
        return True
    if type(exc).__name__ == "BleakBluetoothNotAvailableError":
        return True
    return "adapter" in str(exc).lower() and "not found" in str(exc).lower() or "no bluetooth adapter" in str(
        exc).lower()


def _is_not_found(exc: BaseException) -> bool:
    return type(exc).__name__ in ("SMPBLETransportDeviceNotFound", "BleakDeviceNotFoundError")


def describe_error(response: Any) -> tuple[int, int, str]:
    """(group, rc, one-line text) of an SMP error answer, version 1 (``rc``) or 2 (``err``)."""
    err = getattr(response, "err", None)
    if err is not None:
        group, rc = int(err.group), int(err.rc)
        if group == GROUP_ID:
            return group, rc, f"rc {rc} {err_name(rc)}: {ERR_TEXT.get(rc, 'an error this tool does not know')}"
        if group == 1:
            from smp.image_management import IMG_MGMT_ERR

            try:
                return group, rc, f"image management rc {rc} {IMG_MGMT_ERR(rc).name}"
            except ValueError:
                return group, rc, f"image management rc {rc}"
        return group, rc, f"group {group} rc {rc}"
    from smp.error import MGMT_ERR

    rc = int(response.rc)
    try:
        name = MGMT_ERR(rc).name
    except ValueError:
        name = "unknown"
    rsn = getattr(response, "rsn", None)
    text = f"MCUmgr rc {rc} {name}" + (f" ({rsn})" if rsn else "")
    if rc == MGMT_ERR.ENOTSUP:
        text += ": the firmware does not have this command group"
    return int(response.header.group_id), rc, text


def refusal(response: Any) -> DeviceRefusedError:
    group, rc, text = describe_error(response)
    return DeviceRefusedError(text, group, rc)


class DeviceLink:
    """One device, found by name or address; every request goes through :meth:`request`."""

    def __init__(self, target: str, transport_factory: TransportFactory | None = None, *, timeout_s: float = 5.0,
                 scan_timeout_s: float = 10.0, retries: int = 5, backoff_max_s: float = 8.0,
                 smp_buffer: int | None = None, sleep: Sleep = asyncio.sleep) -> None:
        if retries < 1:
            raise ValueError("retries must be >= 1")
        self.target = target
        self._factory = transport_factory
        self.timeout_s = timeout_s
        self.scan_timeout_s = scan_timeout_s
        self.retries = retries
        self.backoff_max_s = backoff_max_s
        self.smp_buffer = smp_buffer  # None: the device's figure, else DEFAULT_SMP_BUFFER
        self.sleep = sleep
        self.client: Any = None
        self.connections = 0  # links made
        self.reconnects = 0  # links made again after a loss

    async def connect(self) -> None:
        """Connect, trying up to ``retries`` times (back-off 1, 2, 4 ... s); :class:`LinkError` after that."""
        from smpclient import SMPClient

        factory = self._factory or ble_transport_factory()
        last: BaseException | None = None
        for attempt in range(self.retries):
            if attempt:
                delay = min(self.backoff_max_s, 2.0 ** (attempt - 1))
                log.info("connecting again in %.0f s (attempt %d of %d)", delay, attempt + 1, self.retries)
                await self.sleep(delay)
            transport = factory()
            client = SMPClient(transport, self.target, timeout_s=self.timeout_s)
            try:
                await client.connect(connect_timeout_s=self.scan_timeout_s)
            except Exception as e:  # noqa: BLE001 - bleak, D-Bus and the OS raise anything here
                if _is_no_adapter(e):
                    raise NoAdapterError(f"no Bluetooth adapter is available ({type(e).__name__}: {e})") from None
                last = e
                log.warning("connecting to %s failed: %s", self.target, e or type(e).__name__)
                continue
            reported = getattr(transport, "_smp_server_transport_buffer_size", None)
            if self.smp_buffer is not None or not reported:
                transport.initialize(self.smp_buffer or DEFAULT_SMP_BUFFER)
            log.info("connected to %s; SMP frames up to %d B (the device reported %s)", self.target,
                     transport.max_unencoded_size, reported or "none")
            self.client = client
            self.connections += 1
            return
        if last is not None and _is_not_found(last):
            raise LinkError(f"no BLE device {self.target!r} found ({self.retries} scans of "
                            f"{self.scan_timeout_s:g} s)")
        raise LinkError(f"no link to {self.target!r} after {self.retries} attempt(s): {last or 'failed'}")

    async def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.disconnect()
            self.client = None

    async def reconnect(self) -> None:
        """After a :class:`LinkLost`: drop what is left of the link and connect again."""
        await self.close()
        await self.connect()
        self.reconnects += 1

    def check_losses(self, losses: int, cause: BaseException) -> None:
        """:class:`LinkError` once the link has been lost more than ``retries`` times without progress."""
        if losses > self.retries:
            raise LinkError(f"the link to {self.target!r} was lost {losses} times in a row without progress "
                            f"({cause})")

    async def retrying(self, op: Callable[[], Awaitable[Any]]) -> Any:
        """``await op()``; after a :class:`LinkLost`, reconnect and try again (``retries`` times)."""
        losses = 0
        while True:
            try:
                return await op()
            except LinkLost as e:
                losses += 1
                self.check_losses(losses, e)
                log.warning("link lost (%s): reconnecting", e)
                await self.reconnect()

    @contextlib.contextmanager
    def translating(self, what: str) -> Iterator[None]:
        """Inside: a dropped link or a missing answer -> :class:`LinkLost`; an unparsable answer -> one line."""
        from smpclient.exceptions import SMPBadSequence, SMPValidationException
        from smpclient.transport import SMPTransportDisconnected

        try:
            yield
        except (SMPTransportDisconnected, TimeoutError, SMPBadSequence, ConnectionError) as e:
            raise LinkLost(str(e) or type(e).__name__) from None
        except SMPValidationException:
            raise UpdateError(f"the device's answer to {what} is not what docs/smp_model_group.md or MCUmgr "
                              "define (run with -v for the frame)") from None
        except Exception as e:  # a backend error while writing: the link is gone
            if type(e).__module__.startswith("bleak") or isinstance(e, OSError):
                raise LinkLost(f"{type(e).__name__}: {e}") from None
            raise

    async def request(self, request: Any, timeout_s: float | None = None) -> Any:
        """Send ``request``; its typed response, :class:`DeviceRefusedError` or :class:`LinkLost`."""
        from smpclient.generics import error

        if self.client is None:
            raise LinkLost("not connected")
        with self.translating(type(request).__name__):
            response = await self.client.request(request, timeout_s=timeout_s)
        if error(response):
            raise refusal(response)
        return response
