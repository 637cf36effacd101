"""Command line of the receiver: `ppgcomp-receive` (also `python scripts/receive.py`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ppgcomp.constants import (
    ARTIFACTS_DIR,
    DECODER_FILE,
    DEVICE_DEFAULT_HOP,
    HR_MODEL_FILE,
    MODEL_INFO_FILE,
    TFLITE_FILE,
)
from ppgcomp.receiver.session import MAX_HOP

if TYPE_CHECKING:
    from ppgcomp.receiver.ble import ClientFactory
    from ppgcomp.receiver.models import ModelEntry, ModelLibrary
    from ppgcomp.receiver.session import ReceiverSession, Row

log = logging.getLogger(__name__)

PROG = "receive.py"


class UsageError(Exception):
    """Bad command-line input: one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints the usage too)
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _hop(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of samples: {text!r}") from None
    if not 1 <= v <= MAX_HOP:
        raise argparse.ArgumentTypeError(f"must be 1..{MAX_HOP} samples")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Receive the device's 20-byte code packets over BLE or from a native_sim packet file, "
        "check them against the local model, decode them (decoder + HR model, the training report's path) "
        "and write one CSV row per packet: time_s,seq,hr_bpm,flags.",
        epilog="time_s is the end of the packet's window, (index*hop + 400)/25 Hz, where index is the sequence "
        "number unwrapped (and continued across a device restart). hr_bpm is the mean HR over the last min(hop, "
        "200) samples of the window: the part of the timeline the packet newly covers. flags joins with '|' "
        "the packet's flags (backlog, gap = sensor gap in the window, saturated, flat, lowres = the pulse fills too few "
        "quantisation levels) and what the receiver "
        "saw: seq_gap (packets missing before this one), late (a missing packet that arrived after newer ones), "
        "resync (the device restarted its numbering). A window flagged gap, saturated, flat or lowres has unreliable HR: "
        "its hr_bpm is empty and it is left out of the HR MAE. Malformed packets (length, version, model tag, non-hex "
        "line) are counted and skipped. A summary line goes to stderr at the end. "
        "Models: every packet carries its model's tag and the device's model info its SHA-256; the receiver "
        "decodes each packet with the artefact folder of that model (each --artifacts DIR and its direct "
        "subfolders, by their model_info.json: artifacts/ and artifacts/dense/ by default), and switches when "
        "the device takes another model over the air. "
        "Exit status: 0 ok, 1 BLE link given up, 2 bad input, or a device or packets of a model that no "
        "artefact folder has.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--ble", metavar="NAME|ADDRESS", help="scan for this device name or address and connect")
    src.add_argument("--replay", type=Path, metavar="FILE",
                     help="a native_sim packet file: one hex packet per line, '#' comments and blank lines ignored")
    p.add_argument("--artifacts", type=Path, action="append", default=None, metavar="DIR",
                   help="model artefacts from train_export.py: the folder and its direct subfolders that hold a "
                   "model_info.json; repeatable (default: artifacts/, i.e. artifacts/ and artifacts/dense/)")
    p.add_argument("--hop", type=_hop, default=None, metavar="SAMPLES",
                   help=f"encoder hop in 25 Hz samples (default {DEVICE_DEFAULT_HOP}, the device's 8 s default); must "
                   "match the firmware's APP_ENCODE_HOP_SAMPLES. With --ble the device's model-info hop is used "
                   "(a different --hop is overridden with a warning); with --replay and no --hop, a 'hop=N' in the "
                   "file's '#' header (native_sim and make_replay.py write one) is used")
    p.add_argument("--csv", type=Path, default=None, metavar="OUT", help="CSV output (default: stdout)")
    p.add_argument("--plot", type=Path, default=None, metavar="OUT.png",
                   help="at the end, plot HR over time (with the reference when --reference is given)")
    p.add_argument("--reference", type=Path, default=None, metavar="REF.csv",
                   help="known HR (time_s,hr_bpm columns): adds it to --plot and the HR MAE to the summary")
    p.add_argument("--live-plot", action="store_true", help="an interactive HR plot while receiving (--ble only)")
    p.add_argument("--summary-json", type=Path, default=None, metavar="OUT",
                   help="also write the summary figures as JSON")
    ble = p.add_argument_group("BLE")
    ble.add_argument("--scan-timeout", type=float, default=10.0, metavar="S", help="scan time per attempt (10 s)")
    ble.add_argument("--max-retries", type=int, default=None, metavar="N",
                     help="give up after N failed attempts in a row (default: retry forever, Ctrl-C ends)")
    ble.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    ble.add_argument("--backoff-max", type=float, default=30.0, metavar="S",
                     help="longest wait between reconnects (back-off 1, 2, 4 ... s; default 30)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p




def check_artifacts(artifacts: Path, need_tflite: bool = False) -> str | None:
    """A one-line problem with the artefact folder, or None (cheap: no TensorFlow import)."""
    if not artifacts.is_dir():
        return f"{artifacts}: no such artefact folder; run scripts/train_export.py or pass --artifacts DIR"
    names = [MODEL_INFO_FILE, DECODER_FILE, HR_MODEL_FILE] + ([TFLITE_FILE] if need_tflite else [])
    missing = [n for n in names if not (artifacts / n).is_file()]
    if missing:
        return f"{artifacts}: missing {', '.join(missing)}; run scripts/train_export.py or pass --artifacts DIR"
    return None


def _validate(args: argparse.Namespace) -> None:
    if args.live_plot and not args.ble:
        raise UsageError("--live-plot needs --ble")
    if args.replay is not None and not args.replay.is_file():
        raise UsageError(f"--replay {args.replay}: no such file")
    if args.scan_timeout <= 0 or (args.max_retries is not None and args.max_retries < 1) or args.backoff_max < 1:
        raise UsageError("--scan-timeout must be > 0, --max-retries >= 1, --backoff-max >= 1")
    if args.duration is not None and args.duration <= 0:
        raise UsageError("--duration must be > 0")
    for opt in ("csv", "plot", "summary_json"):
        path = getattr(args, opt)
        if path is not None and not path.parent.is_dir():
            raise UsageError(f"--{opt.replace('_', '-')} {path}: folder {path.parent} does not exist")
    args.artifacts = args.artifacts or [ARTIFACTS_DIR]
    args.library = _library(args.artifacts)


def _library(roots: list[Path]) -> ModelLibrary:
    """The artefact folders under ``roots`` (model_info.json only: no TensorFlow yet)."""
    from ppgcomp.receiver.models import ArtifactsError, ModelLibrary

    try:
        return ModelLibrary.discover(roots)
    except ArtifactsError as e:
        raise UsageError(str(e)) from None


def _first_entry(args: argparse.Namespace) -> ModelEntry:
    """The model to start with: a replay file's (header, else first packet), else the first folder's."""
    from ppgcomp.receiver.models import UnknownModelError

    lib = args.library
    if args.replay is None:
        return lib.default  # BLE: the device's model info decides once connected
    from ppgcomp.receiver.replay import first_model

    sha, tag = first_model(args.replay)
    try:
        if sha is not None:
            try:
                return lib.by_sha(sha)
            except UnknownModelError:
                if tag is None:
                    raise
                log.warning("the file's header names model %s..., which no artefact folder has", sha[:16])
        return lib.for_tag(tag) if tag is not None else lib.default
    except UnknownModelError as e:
        raise UsageError(f"refusing the packets: {e}") from None


def _load_session(args: argparse.Namespace) -> ReceiverSession:
    from ppgcomp.receiver.models import ArtifactsError
    from ppgcomp.receiver.session import ReceiverSession
    from ppgcomp.training.decoding import ArtifactError

    entry = _first_entry(args)
    try:
        decoder = args.library.decoder(entry)
    except (ArtifactError, ArtifactsError) as e:
        raise UsageError(str(e)) from None
    except Exception as e:  # noqa: BLE001 - a corrupt Keras file raises anything; report it in one line
        raise UsageError(f"{entry.folder}: cannot load the decoder ({type(e).__name__}: {e})") from None
    return ReceiverSession(decoder, args.hop if args.hop is not None else DEVICE_DEFAULT_HOP, library=args.library)


async def _run_ble(args: argparse.Namespace, session: ReceiverSession, sink, factory: ClientFactory | None,
                   sleep=None) -> None:
    from ppgcomp.receiver.ble import Backoff, BleReceiver, bleak_factory
    from ppgcomp.receiver.output import LivePlot

    live = LivePlot() if args.live_plot else None

    def on_rows(rows: list[Row]) -> None:
        sink.write(rows)
        if live is not None:
            live.update(rows)

    receiver = BleReceiver(session, factory or bleak_factory(args.ble, args.scan_timeout),
                           expected_sha256=session.decoder.info.sha256, on_rows=on_rows,
                           backoff=Backoff(max_s=args.backoff_max), max_attempts=args.max_retries,
                           **({"sleep": sleep} if sleep is not None else {}))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
    if args.duration is not None:
        loop.call_later(args.duration, stop.set)
    try:
        await receiver.run(stop)
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signal.SIGINT)
        session.extra.update(connections=receiver.connections, reconnect_waits=len(receiver.delays))


def _finish(args: argparse.Namespace, session: ReceiverSession, rows: list[Row]) -> None:
    from ppgcomp.receiver.timeline import load_reference, mae_vs_reference

    summary = session.summary()
    reference = None
    if args.reference is not None:
        reference = load_reference(args.reference)
        t, hr = session.trace()
        if t.size:
            mae, n = mae_vs_reference(t, hr, *reference)
            summary.hr_mae_bpm, summary.hr_mae_samples = (mae, n) if n else (None, 0)
    if args.plot is not None:
        from ppgcomp.receiver.output import plot_hr

        t, hr = session.trace()
        plot_hr(rows, t, hr, args.plot, reference,
                title=f"{args.replay or args.ble} (hop {session.hop}, model 0x{session.stream.expected_tag:02x})")
    if args.summary_json is not None:
        args.summary_json.write_text(json.dumps(summary.to_dict(), indent=2) + "\n")
    sys.stderr.write(f"{PROG}: {summary.line()}\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None, *, ble_factory: ClientFactory | None = None, ble_sleep=None) -> int:
    """``ble_factory``/``ble_sleep`` replace bleak and asyncio.sleep (tests)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    try:
        return _main(args, ble_factory, ble_sleep)
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"{PROG}: error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2


def _main(args: argparse.Namespace, ble_factory: ClientFactory | None, ble_sleep) -> int:
    _validate(args)
    if args.reference is not None:
        from ppgcomp.receiver.timeline import ReferenceError, load_reference

        try:
            load_reference(args.reference)  # refuse a bad reference before the session, not after it
        except ReferenceError as e:
            raise UsageError(str(e)) from None
    if args.ble and ble_factory is None:
        try:
            import bleak  # noqa: F401
        except ImportError:
            raise UsageError("--ble needs the bleak package (pip install bleak)") from None
    session = _load_session(args)
    from ppgcomp.receiver.output import CsvSink

    with contextlib.ExitStack() as stack:
        out: TextIO = (stack.enter_context(open(args.csv, "w", newline="", encoding="utf-8"))
                       if args.csv is not None else sys.stdout)
        sink = CsvSink(out)
        if args.replay is not None:
            from ppgcomp.receiver.models import ArtifactsError, UnknownModelError
            from ppgcomp.receiver.replay import replay_file

            try:
                rows = replay_file(session, args.replay, adopt_header_hop=args.hop is None)
            except (UnknownModelError, ArtifactsError) as e:
                raise UsageError(f"refusing the packets: {e}") from None
            sink.write(rows)
        else:
            from ppgcomp.receiver.ble import GaveUpError, ModelMismatchError

            try:
                asyncio.run(_run_ble(args, session, sink, ble_factory, ble_sleep))
            except ModelMismatchError as e:
                raise UsageError(f"refusing the device: {e}") from None
            except GaveUpError as e:
                _finish(args, session, session.ordered_rows())
                print(f"{PROG}: error: {e}", file=sys.stderr)
                return 1
            except KeyboardInterrupt:
                log.info("interrupted")
            rows = session.ordered_rows()
    _finish(args, session, rows)
    return 0

