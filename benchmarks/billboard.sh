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
MD=${MD:-.venv/bin/maskdepth}
PY=${PY:-.venv/bin/python}
EV=${EV:-runs/bb_eval}
export OMP_WAIT_POLICY=PASSIVE
case "${1:-}" in
  "") ;;
  -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
  *) echo "error: unknown argument $1" >&2; exit 2 ;;
esac
done_run() { [ -f "$1/summary.json" ] && $PY -c "import json,sys; s=json.load(open('$1/summary.json')); sys.exit(s['steps'] < s['total_steps'])"; }
for a in fronto upright; do
  [ -f work/bb_$a/manifest.json ] || $MD generate --config configs/billboard_$a.yaml --quiet
done
for a in fronto upright; do
  if ! done_run runs/bb_$a; then
    $MD train --config configs/billboard_$a.yaml --quiet $([ -f runs/bb_$a/checkpoints/last.pt ] && echo --resume)
  fi
done
for m in fronto upright; do
  for d in fronto upright; do
    out=$EV/${m}_on_$d
    [ -f $out/metrics.json ] || $MD evaluate --checkpoint runs/bb_$m/checkpoints/last.pt --data work/bb_$d --split val --out $out --quiet > /dev/null
  done
done
$PY benchmarks/billboard.py --eval $EV --runs runs --out results/billboard
