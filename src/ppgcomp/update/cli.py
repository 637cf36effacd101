"""Command line of the update tool: ``ppgcomp-update`` (also ``python scripts/update.py``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from ppgcomp.update.errors import (
    EXIT_BAD_INPUT,
    EXIT_CODES_TEXT,
    EXIT_INTERRUPTED,
    EXIT_LINK,
    EXIT_OK,
    BadInputError,
    LinkLost,
    UpdateError,
)
from ppgcomp.update.link import DeviceLink, Sleep, TransportFactory

log = logging.getLogger(__name__)

PROG = "ppgcomp-update"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def _positive(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return v


def _count(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return v


def build_parser() -> argparse.ArgumentParser:
    device = argparse.ArgumentParser(add_help=False)
    g = device.add_argument_group("device")
    g.add_argument("-d", "--device", required=True, metavar="NAME|ADDRESS",
                   help="the device's advertised name (e.g. PPGcomp) or Bluetooth address (AA:BB:CC:DD:EE:FF; "
                   "a UUID on macOS)")
    g.add_argument("--scan-timeout", type=_positive, default=10.0, metavar="S", help="scan time per attempt (10 s)")
    g.add_argument("--timeout", type=_positive, default=5.0, metavar="S",
                   help="answer time per SMP request (5 s; the first image chunk waits 40 s: it erases the slot)")
    g.add_argument("--retries", type=_count, default=5, metavar="N",
                   help="connection attempts in a row, at the start and after each link loss, before giving up "
                   "(5; back-off 1, 2, 4, 8 s)")
    g.add_argument("--smp-buffer", type=_count, default=None, metavar="BYTES",
                   help="largest SMP frame the device takes, header included (default: what the device reports "
                   "with MCUmgr's parameters command, else 384, Zephyr's CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE default)")
    g.add_argument("-v", "--verbose", action="store_true", help="debug logging (SMP frames included)")

    p = _Parser(
        prog=PROG,
        description="Update the device over BLE (MCUmgr's SMP): a firmware image through MCUboot (image "
        "management: upload to slot 1, mark for test, reset to swap, the new app confirms itself after its boot "
        "self-test) or a new encoder model blob, activated in seconds without a reset (the 'ppg model' SMP "
        "group, docs/smp_model_group.md). Both uploads resume where they stopped after a disconnect. The device "
        "only lets a bonded, encrypted central write the SMP characteristic: pair with it first if your OS does "
        "not do it on its own.",
        epilog=EXIT_CODES_TEXT + " See docs/update.md.",
    )
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND", parser_class=_Parser)
    s = sub.add_parser("model", parents=[device], help="upload a model blob and switch the encoder to it",
                       description="Upload a model blob (the exporter's .blob, docs/model_blob.md). It is checked "
                       "here first; the device checks it again (hashes, ops, arena, golden windows) and activates "
                       "it, or refuses it and keeps the old model.", epilog=EXIT_CODES_TEXT)
    s.add_argument("blob", type=Path, metavar="BLOB", help="the model blob (e.g. lib/encoder_model/"
                   "ppg_encoder_model.blob)")
    s.add_argument("--run-model", action="store_true",
                   help="also run the model here in TFLM's Python runtime (arena, golden windows), as the device "
                   "will; slower")
    s = sub.add_parser("image", parents=[device], help="upload a signed firmware image to slot 1 and mark it for test",
                       description="Upload an MCUboot-signed image (zephyr.signed.bin or .hex from the sysbuild "
                       "build) to the slot the device does not run, list the slots' hashes and mark it for test.",
                       epilog=EXIT_CODES_TEXT)
    s.add_argument("file", type=Path, metavar="FILE", help="zephyr.signed.bin (or .hex)")
    s.add_argument("--reset", action="store_true", help="reset the device at the end, so MCUboot swaps the image in")
    s.add_argument("--no-test", action="store_true", help="only upload: do not mark the image for test")
    sub.add_parser("list", parents=[device], help="show the image slots (hashes, flags) and the active model",
                   epilog=EXIT_CODES_TEXT)
    sub.add_parser("confirm", parents=[device], epilog=EXIT_CODES_TEXT,
                   help="confirm the running image (only needed when the app does not confirm itself)")
    sub.add_parser("reset", parents=[device], help="reset the device (MCUboot swaps in an image marked for test)",
                   epilog=EXIT_CODES_TEXT)
    sub.add_parser("abort", parents=[device], help="drop an open model upload on the device", epilog=EXIT_CODES_TEXT)
    s = sub.add_parser("check", help="check an image or a model blob here, without a device", epilog=EXIT_CODES_TEXT)
    s.add_argument("file", type=Path, metavar="FILE", help="a model blob or an MCUboot image")
    s.add_argument("--run-model", action="store_true",
                   help="also run the model here in TFLM's Python runtime (arena, golden windows), as the device "
                   "will; slower")
    return p


def _progress(label: str, total: int):
    from ppgcomp.update.progress import Progress

    return Progress(label, total, sys.stderr)


def _read_model(path: Path, run_model: bool = False):
    from ppgcomp.update.blob import read_blob

    if not path.is_file():
        raise BadInputError(f"{path}: no such file")
    return read_blob(path, run_model)


def _read_image(path: Path):
    from ppgcomp.update.image import read_image

    if not path.is_file():
        raise BadInputError(f"{path}: no such file")
    return read_image(path)


def _check(path: Path, run_model: bool) -> str:
    if not path.is_file():
        raise BadInputError(f"{path}: no such file")
    if path.read_bytes()[:4] == b"PPGM":
        b = _read_model(path, run_model)
        return (f"{path}: model blob, {b.total_len:,} B, model 0x{b.model_tag:02x} (sha256 {b.model_sha256.hex()}), "
                f"blob sha256 {b.blob_sha256.hex()}")
    img = _read_image(path)
    return f"{path}: MCUboot image, version {img.version}, {len(img.data):,} B, hash {img.sha256.hex()}"


async def _run(args: argparse.Namespace, factory: TransportFactory | None, sleep: Sleep | None) -> str:
    from ppgcomp.update import image as img
    from ppgcomp.update import model as mdl

    payload = None  # checked before any link: a file the local checks refuse never reaches the device
    if args.cmd == "model":
        payload = _read_model(args.blob, args.run_model)
    elif args.cmd == "image":
        payload = _read_image(args.file)
    kw = {"sleep": sleep} if sleep is not None else {}
    link = DeviceLink(args.device, factory, timeout_s=args.timeout, scan_timeout_s=args.scan_timeout,
                      retries=args.retries, smp_buffer=args.smp_buffer, **kw)
    await link.connect()
    try:
        if args.cmd == "model":
            up = mdl.ModelUpload(link, payload, _progress(f"model 0x{payload.model_tag:02x}", payload.total_len))
            st = await up.run()
            return f"model 0x{st.tag:02x} active (sha256 {st.sha256.hex()}, commit {st.seq})"
        if args.cmd == "image":
            return await _image(link, payload, args)
        if args.cmd == "list":
            lines = [s.line() for s in await link.retrying(lambda: img.list_slots(link))]
            try:
                lines.append((await link.retrying(lambda: mdl.read_state(link))).line())
            except UpdateError as e:
                lines.append(f"model: not available ({e})")
            return "\n".join(lines)
        if args.cmd == "confirm":
            slots = await img.mark(link, None, confirm=True)
            running = [s for s in slots if "active" in s.flags]
            return f"running image confirmed: {running[0].line() if running else '(no active slot listed)'}"
        if args.cmd == "reset":
            await img.reset(link)
            return "reset sent"
        if args.cmd == "abort":
            await mdl.abort_upload(link)
            return f"open upload dropped; {(await mdl.read_state(link)).line()}"
        raise BadInputError(f"unknown command {args.cmd}")  # argparse refuses it first
    finally:
        await link.close()


async def _image(link: DeviceLink, fw, args: argparse.Namespace) -> str:
    from ppgcomp.update import image as img

    slots = await link.retrying(lambda: img.list_slots(link))
    for s in slots:
        log.info("before: %s", s.line())
    mine = [s for s in slots if s.sha256 == fw.sha256]
    if any("active" in s.flags for s in mine):
        return f"image {fw.sha256.hex()} (version {fw.version}) already runs in slot {mine[0].slot}: nothing to do"
    if not mine:
        up = img.ImageUpload(link, fw, _progress(f"image {fw.version}", len(fw.data)))
        await up.run()
        slots = await link.retrying(lambda: img.list_slots(link))
        mine = [s for s in slots if s.sha256 == fw.sha256]
        if not mine:
            raise UpdateError("the upload completed but the device's image list does not show its hash")
    slot = mine[0].slot
    lines = [s.line() for s in slots]
    if args.no_test:
        lines.append(f"image in slot {slot}, hash {fw.sha256.hex()}, not marked: run without --no-test to test it")
        return "\n".join(lines)
    slots = await link.retrying(lambda: img.mark(link, fw.sha256, confirm=False))
    lines = [s.line() for s in slots]
    end = f"image in slot {slot}, hash {fw.sha256.hex()}, version {fw.version}, marked for test"
    if args.reset:
        await img.reset(link)
        lines.append(end + "; reset sent: MCUboot swaps it in, the app confirms it after its self-test (else the "
                     "next reset reverts it)")
    else:
        lines.append(end + f": reset to swap ({PROG} reset -d {args.device})")
    return "\n".join(lines)


def main(argv: list[str] | None = None, *, transport_factory: TransportFactory | None = None,
         sleep: Sleep | None = None) -> int:
    """``transport_factory``/``sleep`` replace smpclient's BLE transport and asyncio.sleep (tests)."""
    args = build_parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if not verbose:  # smpclient logs its own errors (timeouts, tracebacks); ours is the one line below
        for name in ("smpclient", "smp", "bleak"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        logging.getLogger("ppgcomp.update").setLevel(logging.ERROR)
    try:
        if args.cmd == "check":
            print(_check(args.file, args.run_model))
        else:
            print(asyncio.run(_run(args, transport_factory, sleep)))
        return EXIT_OK
    except UpdateError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return e.exit_code
    except LinkLost as e:
        print(f"{PROG}: error: link lost: {e}", file=sys.stderr)
        return EXIT_LINK
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
