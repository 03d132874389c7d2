#!/usr/bin/env bash
# After benchmarks/quality.sh: evaluate the shipped checkpoint (maskdepth/weights/default.pt, the
# stripped runs/q128_main/checkpoints/last.pt) with the headline command, copy the evaluations
# into results/quality/, and write results/quality.md + results/quality.json.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
MD=${MD:-.venv/bin/maskdepth}
R=results/quality
mkdir -p $R
# ship the main run's weights (model only) as the default model of predict / evaluate / serve
.venv/bin/python -m maskdepth.checkpoint strip runs/q128_main/checkpoints/last.pt maskdepth/weights/default.pt > /dev/null
$MD evaluate --data work/q128 --realtest $SHARED/data/realtest \
    --rgbd-test $SHARED/data/rgbd/tum_rgbd --out $R/shipped --quiet > /dev/null
for run in q128_peer_b q128_peer_c q128_peer_c_prior; do  # ours: results/quality/shipped (the same weights)
  [ -f runs/$run/eval/metrics.md ] || continue
  mkdir -p $R/${run#q128_}
  cp runs/$run/eval/metrics.md runs/$run/eval/test_grid.png runs/$run/eval/realpairs_grid.png $R/${run#q128_}/
done
.venv/bin/python -m benchmarks.quality_table --round 2 --shipped $R/shipped/metrics.json
