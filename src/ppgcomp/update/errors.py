"""What can end an update, and the exit status each one gives (``ppgcomp-update --help``, docs/update.md)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_BAD_INPUT = 2  # bad arguments, a file the local parser refuses, or the device refused it (an SMP error)
EXIT_LINK = 3  # no BLE adapter, device not found, link lost beyond --retries, no answer in time
EXIT_INTERRUPTED = 130  # Ctrl-C

EXIT_CODES_TEXT = (f"Exit status: {EXIT_OK} done; {EXIT_BAD_INPUT} bad input (arguments, a file that the local "
                   f"checks refuse) or the device refused the request (its SMP error, named); {EXIT_LINK} no BLE "
                   f"adapter, device not found, or the link lost beyond --retries; {EXIT_INTERRUPTED} interrupted.")


class UpdateError(Exception):
    """Ends the tool with one line on stderr and :attr:`exit_code`."""

    exit_code = EXIT_BAD_INPUT


class BadInputError(UpdateError):
    """An argument or a file that the local checks refuse."""


class DeviceRefusedError(UpdateError):
    """The device answered with an SMP error (``group``, ``rc``)."""

    def __init__(self, message: str, group: int, rc: int) -> None:
        super().__init__(message)
        self.group = group
        self.rc = rc


class LinkError(UpdateError):
    """No link to the device: no adapter, not found, or lost beyond the retries."""

    exit_code = EXIT_LINK


class NoAdapterError(LinkError):
    """No Bluetooth adapter (or no BlueZ/D-Bus) on this computer: retrying cannot help."""


class LinkLost(ConnectionError):
    """The link dropped (or the device did not answer) during a request: reconnect and resume."""
