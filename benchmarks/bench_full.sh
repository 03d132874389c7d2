#!/usr/bin/env bash
# Full inference benchmark for the "Speed and scale" issue: params, MACs @128/224, latency p50/p95 (batch 1)
# and throughput (batch 1 and 8) for torch, torch channels_last, onnxruntime and onnxruntime int8, at 128 and
# 224 px, 5 runs x 50 calls each, for the default model and the peers (peer_b, peer_c, random init).
# Writes results/bench.json and results/bench.md. Takes roughly 15-20 minutes on a 2-core CPU.
# Run it on an otherwise IDLE machine (no training job): the report records the background CPU load
# and flags the timings as pessimistic when other processes were busy.
#
#   CHECKPOINT=runs/real128_small/checkpoints/last.pt benchmarks/bench_full.sh   # time a trained checkpoint
#   benchmarks/bench_full.sh                                                     # the shipped default model
#                                    (random-init "small" architecture, said in the report, if none is shipped)
set -euo pipefail
cd "$(dirname "$0")/.."
MD=${MD:-.venv/bin/maskdepth}
OUT=${OUT:-results}
ARGS=(bench --peers --backends torch,torch_cl,onnxruntime,onnxruntime_int8 --sizes 128,224 --batches 1,8
      --repeats 5 --iters 50 --warmup 10 --out-dir "$OUT")
if [ -n "${CHECKPOINT:-}" ]; then ARGS+=(--checkpoint "$CHECKPOINT"); fi
exec "$MD" "${ARGS[@]}"
