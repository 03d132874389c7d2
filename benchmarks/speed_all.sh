#!/usr/bin/env bash
# The speed figures of results/: inference bench (results/bench.*), generation bench
# (results/generate_bench.*) and the server load test (results/load_test.json), one after
# the other on an otherwise idle machine (about 20 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
MD=.venv/bin/maskdepth
$MD bench --peers --backends torch,onnxruntime --sizes 128,224 --batches 1,8 \
    --repeats 3 --iters 12 --warmup 3 --out-dir results
OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.generate_bench
.venv/bin/python -m benchmarks.load_test --checkpoint maskdepth/weights/default.pt --queue 32 --omp-threads 2
