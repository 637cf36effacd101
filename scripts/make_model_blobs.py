#!/usr/bin/env python3
"""`python scripts/make_model_blobs.py [--out DIR]`: the fixture blobs of tests/fixtures/model_blobs/
(ppgcomp.export.blob_fixtures). Needs the package installed into the environment (scripts/setup_env.sh)."""

import sys

from ppgcomp.export.blob_fixtures import main

if __name__ == "__main__":
    sys.exit(main())
