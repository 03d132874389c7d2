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
. benchmarks/common.sh
EV=${EV:-runs/bb_eval}
no_args 13 "$@"
for c in depth_variety billboard_fronto; do generate_and_train configs/$c.yaml; done  # billboard.sh may be training the control
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
$PY -m benchmarks.depth_variety --eval $EV --runs runs --out results/depth_variety
