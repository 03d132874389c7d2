#!/usr/bin/env bash
# Issue 13 item 6, one attempt at learned depth beyond the row prior (results/depth_variety.md).
#
#   bash benchmarks/depth_variety.sh            # after (or alongside) benchmarks/billboard.sh
#
# Arm "variety" (configs/depth_variety.yaml: twice the rendered rooms, wider render ranges) against
# the control bb_fronto (configs/billboard_fronto.yaml: the same data otherwise, same model, schedule
# and seed). Both models on the validation composites of both datasets (rendered rooms carry the
# metric depth there), then, reported once and not used for any choice, on the real RGB-D sets
# (depth only). The question is whether rendered variety moves aligned depth on real scenes toward
# 0.85x the depth-from-row prior; the variety arm is not shipped by this script.
# Sequential and resumable: a stage whose output exists is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
MD=${MD:-.venv/bin/maskdepth}
PY=${PY:-.venv/bin/python}
EV=${EV:-runs/bb_eval}
export OMP_WAIT_POLICY=PASSIVE
case "${1:-}" in
  "") ;;
  -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
  *) echo "error: unknown argument $1" >&2; exit 2 ;;
esac
done_run() { [ -f "$1/summary.json" ] && $PY -c "import json,sys; s=json.load(open('$1/summary.json')); sys.exit(s['steps'] < s['total_steps'])"; }
[ -f work/dv_variety/manifest.json ] || $MD generate --config configs/depth_variety.yaml --quiet
for c in depth_variety billboard_fronto; do
  run=$($PY -c "import yaml; print(yaml.safe_load(open('configs/$c.yaml'))['train']['run_dir'])")
  if ! done_run $run; then
    while pgrep -f "maskdepth train --config configs/$c.yaml" > /dev/null; do sleep 60; done  # billboard.sh trains it
    done_run $run && continue
    $MD train --config configs/$c.yaml --quiet $([ -f $run/checkpoints/last.pt ] && echo --resume)
  fi
done
# real depth sets only (the pairs are not part of this question)
RD=runs/realdepth_only
mkdir -p $RD && [ -e $RD/depth ] || ln -s "$(realpath $SHARED/data/realtest/depth)" $RD/depth
for m in variety fronto; do
  ck=runs/dv_variety/checkpoints/last.pt; [ $m = fronto ] && ck=runs/bb_fronto/checkpoints/last.pt
  for d in variety fronto; do
    data=work/dv_variety; [ $d = fronto ] && data=work/bb_fronto
    out=$EV/${m}_on_$d
    [ -f $out/metrics.json ] || $MD evaluate --checkpoint $ck --data $data --split val --out $out --quiet > /dev/null
  done
  out=$EV/${m}_realdepth
  [ -f $out/metrics.json ] || $MD evaluate --checkpoint $ck --realtest $RD --rgbd-test $SHARED/data/rgbd/tum_rgbd --out $out --quiet > /dev/null
done
$PY benchmarks/depth_variety.py --eval $EV --runs runs --out results/depth_variety
