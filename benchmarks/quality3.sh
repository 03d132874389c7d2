#!/usr/bin/env bash
# results/quality.md, round 3 (issue 13), in one command. Sequential, resumable: a stage whose
# output exists is skipped (delete it to redo it).
#
#   bash benchmarks/quality3.sh                 # data, main run, every evaluation, the page
#   bash benchmarks/quality3.sh --shipped-only  # the shipped model alone -> results/quality_round3_shipped.md
#
# Stages (full mode):
#   data     maskdepth generate --config configs/quality3.yaml          (work/q3, unless it exists)
#   main     maskdepth train --config configs/quality3.yaml [--resume]  (runs/q3_main until its last step;
#            refuses to start while another `maskdepth train --config configs/quality3.yaml` runs).
#            A GPU is used when PyTorch sees one (train's --device auto); every slice this script
#            trains is logged to runs/q3_main/budget.jsonl (device, steps, wall seconds).
#   val      maskdepth evaluate --split val of the main run and of the shipped model: validation
#            composites only, the one place where a choice (main run vs shipped) is made
#   test     maskdepth evaluate --split test + every real set, once, for both models
#   native   benchmarks/native_refine.py: boundary F at the input's resolution on 704-px composites
#            (work/val704, generated if absent) and the real pairs, for both models
#   table    benchmarks/quality_table.py -> results/quality.md + results/quality.json (round 3);
#            round 2's page is kept as results/quality_round2.{md,json} (peers' rows come from it)
#
# --shipped-only: stages val, test, native (shipped model only; native needs work/val704, else the published
#   results/native_refine.json of the shipped model is used) and table -> results/quality_round3_shipped.{md,json}.
# Environment: SHARED (../shared), MD (.venv/bin/maskdepth), PY (.venv/bin/python), EV (runs/q3_eval: evaluations).
set -euo pipefail
cd "$(dirname "$0")/.."
. benchmarks/common.sh
EV=${EV:-runs/q3_eval}
CFG=configs/quality3.yaml
D=work/q3
RUN=runs/q3_main
V704=work/val704
CK=$RUN/checkpoints/last.pt
MODE=full
case "${1:-}" in
  "") ;;
  --shipped-only) MODE=shipped ;;
  -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
  *) echo "error: unknown argument $1 (use --shipped-only or nothing)" >&2; exit 2 ;;
esac
REAL="--realtest $SHARED/data/realtest --rgbd-test $SHARED/data/rgbd/tum_rgbd"

# ------------------------------------------------------------------ data
[ -f $D/manifest.json ] || $MD generate --config $CFG --quiet

# ------------------------------------------------------------------ main run
device() { $PY -c "import torch; print('cuda: ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu: %d cores' % len(__import__('os').sched_getaffinity(0)))"; }
if [ $MODE = full ] && ! done_run $RUN; then
  if pgrep -f "maskdepth train --config $CFG" > /dev/null; then
    echo "error: a training run of $CFG is running; rerun this script when it has stopped" >&2
    exit 2
  fi
  step0=$($PY -c "import json; print(json.load(open('$RUN/summary.json'))['steps'])" 2> /dev/null || echo 0)
  dev=$(device)
  t0=$(date +%s)
  $MD train --config $CFG --quiet $([ -f $CK ] && echo --resume)
  t1=$(date +%s)
  step1=$($PY -c "import json; print(json.load(open('$RUN/summary.json'))['steps'])")
  echo "{\"device\": \"$dev\", \"start\": $t0, \"seconds\": $((t1 - t0)), \"steps_from\": $step0, \"steps_to\": $step1}" >> $RUN/budget.jsonl
  done_run $RUN || { echo "error: $RUN stopped before its last step (time limit?): run this script again to resume" >&2; exit 2; }
fi

# ------------------------------------------------------------------ evaluations
fresh() {  # fresh FILE MODEL: FILE exists and, for the main run, is newer than its checkpoint (a resumed run re-evaluates)
  [ -f "$1" ] && { [ "$2" != main ] || [ "$1" -nt $CK ]; }
}
evaluate() {  # evaluate MODEL OUT_DIR ARGS...: skipped when fresh
  local m=$1 out=$2; shift 2
  fresh "$out/metrics.json" $m || $MD evaluate --data $D --out "$out" --quiet "$@" > /dev/null
}
MODELS=shipped
[ $MODE = full ] && MODELS="main shipped"
# the model shipped when this round started: its sidecar is kept beside its evaluations, so the page still
# names it (source run, steps) after the main run is shipped in its place
[ -f $EV/shipped_meta.json ] || { mkdir -p $EV && cp maskdepth/weights/default.onnx.json $EV/shipped_meta.json; }
for m in $MODELS; do  # validation first: the choice is made there, before any test number exists
  ck=(); [ $m = main ] && ck=(--checkpoint $CK)
  evaluate $m $EV/${m}_val --split val "${ck[@]}"
done
for m in $MODELS; do
  ck=(); [ $m = main ] && ck=(--checkpoint $CK)
  # shellcheck disable=SC2086
  evaluate $m $EV/${m}_test --split test $REAL "${ck[@]}"
done

# ------------------------------------------------------------------ native resolution
# (the timing part of native_refine.py is not used here: --iters 5 --repeats 1 keeps it short)
if [ $MODE = full ] && [ ! -f $V704/manifest.json ]; then
  $MD generate --out $V704 --bg-dir $SHARED/data/real/bg --fg-dir $SHARED/data/real/fg --size 704 -n 600 --seed 11 --workers 1 --quiet
fi
NATIVE_SHIPPED=$EV/native_shipped.json
if [ -f $V704/manifest.json ]; then
  [ -f $NATIVE_SHIPPED ] || $PY -m benchmarks.native_refine --data $V704 --iters 5 --repeats 1 --out $EV/native_shipped > /dev/null
else  # --shipped-only without work/val704: the published measurement of the shipped model
  NATIVE_SHIPPED=results/native_refine.json
fi
if [ $MODE = full ] && ! fresh $EV/native_main.json main; then
  $PY -m benchmarks.native_refine --data $V704 --checkpoint $CK --iters 5 --repeats 1 --out $EV/native_main > /dev/null
fi

# ------------------------------------------------------------------ the page
# round 2's page (peers keep their round-2 budget and results): results/quality.md until round 3
# replaces it, then results/quality_round2.{md,json}, copied here before the first overwrite
R2=results/quality_round2
if [ ! -f $R2.md ] && head -1 results/quality.md | grep -q "ours vs baselines vs peers"; then
  if [ $MODE = full ]; then cp results/quality.md $R2.md && cp results/quality.json $R2.json; else R2=results/quality; fi
fi
if [ $MODE = full ]; then
  $PY -m benchmarks.quality_table --round 3 --device "$(device)" --main-run $RUN \
    --main-val $EV/main_val/metrics.json --main-test $EV/main_test/metrics.json --native-main $EV/native_main.json \
    --shipped-meta $EV/shipped_meta.json --shipped-val $EV/shipped_val/metrics.json --shipped-test $EV/shipped_test/metrics.json --native-shipped $NATIVE_SHIPPED \
    --round2 $R2.json --round2-md $R2.md --out results/quality > /dev/null
else
  $PY -m benchmarks.quality_table --round 3 --shipped-only --main-run $RUN --device "$(device)" \
    --shipped-meta $EV/shipped_meta.json --shipped-val $EV/shipped_val/metrics.json --shipped-test $EV/shipped_test/metrics.json --native-shipped $NATIVE_SHIPPED \
    --round2 $R2.json --round2-md $R2.md --out results/quality_round3_shipped > /dev/null
fi
