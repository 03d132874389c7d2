#!/usr/bin/env bash
# Everything measured after the real run's training, in order, on an otherwise idle machine:
# ship the weights, evaluate, predict on CDnet, report, then the speed benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
MD=.venv/bin/maskdepth
CK=runs/real128_small/checkpoints/last.pt
mkdir -p maskdepth/weights
# (this run was the shipped model until the quality run; benchmarks/quality_publish.sh ships today's)
$MD evaluate --checkpoint $CK --data work/real128 --realtest $SHARED/data/realtest \
    --rgbd-test $SHARED/data/rgbd/tum_rgbd --out results/real128 --quiet
$MD predict --checkpoint $CK --bg $SHARED/data/realtest/pairs/cdnet_pedestrians/bg.png \
    --image $SHARED/data/realtest/pairs/cdnet_pedestrians/frames --out results/real128/cdnet_predictions --quiet
$MD report runs/real128_small --eval results/real128 --out results/real128/report
