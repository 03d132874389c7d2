#!/usr/bin/env bash
# Issue 13 fix 6: fronto vs upright billboard as the generator's default, measured (results/billboard.md).
#
#   bash benchmarks/billboard.sh
#
# Two datasets that differ only in --billboard (configs/billboard_{fronto,upright}.yaml: same sources,
# seed, size, augmentations), one short run on each (same model, schedule and seed), then every model
# on the validation composites of both datasets (never the test split or real pairs). The rule, fixed
# before any number existed: upright becomes the default when its object AbsRel on the upright
# (physical) labels is lower with a paired 95 % interval below 0, and its mask IoU on the same
# composites is not lower by more than 0.01; else fronto stays. Sequential and resumable: a stage whose
# output exists is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
. benchmarks/common.sh
EV=${EV:-runs/bb_eval}
no_args 12 "$@"
for a in fronto upright; do generate_and_train configs/billboard_$a.yaml; done
for m in fronto upright; do
  for d in fronto upright; do
    out=$EV/${m}_on_$d
    [ -f $out/metrics.json ] || $MD evaluate --checkpoint runs/bb_$m/checkpoints/last.pt --data work/bb_$d --split val --out $out --quiet > /dev/null
  done
done
$PY -m benchmarks.billboard --eval $EV --runs runs --out results/billboard
