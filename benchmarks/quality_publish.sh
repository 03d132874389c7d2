#!/usr/bin/env bash
# Round 2 of the quality benchmark (reproduces results/quality_round2.{md,json}), after benchmarks/quality.sh:
# evaluate round 2's main run (runs/q128_main/checkpoints/last.pt, stripped to the model alone into
# runs/q128_main/round2_model.pt) with the headline command, write its evaluation to
# results/quality/round2_shipped/ (results/quality/shipped/ is round 3's), copy the peers' into results/quality/,
# and write results/quality_round2.md + .json. It never touches the shipped weights
# (maskdepth/weights/default.pt is round 3's since c1122e1, made by benchmarks/quality3.sh) nor
# results/quality.md (round 3's page).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
MD=${MD:-.venv/bin/maskdepth}
R=results/quality
CK=runs/q128_main/checkpoints/last.pt
[ -f $CK ] || { echo "error: $CK not found: run bash benchmarks/quality.sh first" >&2; exit 2; }
mkdir -p $R
.venv/bin/python -m maskdepth.checkpoint strip $CK runs/q128_main/round2_model.pt > /dev/null
$MD evaluate --checkpoint runs/q128_main/round2_model.pt --data work/q128 --realtest $SHARED/data/realtest \
    --rgbd-test $SHARED/data/rgbd/tum_rgbd --out $R/round2_shipped --quiet > /dev/null
for run in q128_peer_b q128_peer_c q128_peer_c_prior; do  # ours: results/quality/round2_shipped (round 2's weights)
  [ -f runs/$run/eval/metrics.md ] || continue
  mkdir -p $R/${run#q128_}
  cp runs/$run/eval/metrics.md runs/$run/eval/test_grid.png runs/$run/eval/realpairs_grid.png $R/${run#q128_}/
done
.venv/bin/python -m benchmarks.quality_table --round 2 --shipped $R/round2_shipped/metrics.json --out results/quality_round2
