#!/usr/bin/env bash
# The real run of results/README.md: generate 24,000 composites at 128 px from ../shared/data
# (real photos, real cutouts, TUM RGB-D, 600 rendered rooms), train the default model on CPU,
# evaluate on held-out composites and on ../shared/data/realtest, predict on the CDnet pairs.
# About 1.5 hours on a 2-core CPU. Outputs: work/real128 (dataset), runs/real128_small (run), results/real128/.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
MD=${MD:-.venv/bin/maskdepth}
$MD generate --out work/real128 --bg-dir $SHARED/data/real/bg --fg-dir $SHARED/data/real/fg \
    --rgbd-dir $SHARED/data/rgbd/tum_rgbd --render 600 -n 24000 --size 128 --workers 2 --quiet
OMP_WAIT_POLICY=PASSIVE $MD train --data work/real128 --run-dir runs/real128_small --model small --epochs 4 \
    --batch-size 32 --lr 1.5e-3 --workers 1 --threads 2 --max-minutes 75 --ckpt-every 100
$MD evaluate --checkpoint runs/real128_small/checkpoints/last.pt --data work/real128 \
    --realtest $SHARED/data/realtest --out results/real128 --quiet
$MD predict --checkpoint runs/real128_small/checkpoints/last.pt \
    --bg $SHARED/data/realtest/pairs/cdnet_pedestrians/bg.png \
    --image $SHARED/data/realtest/pairs/cdnet_pedestrians/frames --out results/real128/cdnet_predictions --quiet
# ship the trained weights (model only) as the default model of `predict`
# shipping: benchmarks/quality_publish.sh ships the quality run (results/quality.md) since it replaced this one
