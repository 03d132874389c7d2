"""``python -m maskdepth.bench --worker SPEC.json RESULT.json``: the benchmark's worker process (internal)."""

import sys

from .timing import worker_main

sys.exit(worker_main(sys.argv[1:]))
