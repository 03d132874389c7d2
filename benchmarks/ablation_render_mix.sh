#!/usr/bin/env bash
# Does mixing rendered rooms into the training data improve depth on real RGB-D test data?
# Two datasets that differ only in --render (0 vs 400), same size, same seed, same budget
# (a fixed number of optimiser steps, so the result does not depend on machine load), then the
# same evaluation on the held-out TUM scene (depth only) and ../shared/data/realtest.
# Writes results/ablation_render_mix.md. About 25 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
MD=.venv/bin/maskdepth
STEPS=${STEPS:-300}
for R in 0 400; do
  D=work/abl_render$R
  [ -f $D/manifest.json ] || $MD generate --out $D --bg-dir $SHARED/data/real/bg --fg-dir $SHARED/data/real/fg \
      --rgbd-dir $SHARED/data/rgbd/tum_rgbd --render $R -n 6000 --size 96 --workers 2 --quiet
  $MD train --data $D --run-dir runs/abl_render$R --model small --max-steps $STEPS --batch-size 32 --lr 1.5e-3 \
      --workers 1 --quiet $( [ -f runs/abl_render$R/checkpoints/last.pt ] && echo --resume )
  $MD evaluate --checkpoint runs/abl_render$R/checkpoints/last.pt --realtest $SHARED/data/realtest \
      --rgbd-test $SHARED/data/rgbd/tum_rgbd --out runs/abl_render$R/eval --quiet > /dev/null
done
.venv/bin/python - <<'PY'
import json
rows = []
for r in (0, 400):
    s = json.load(open(f"runs/abl_render{r}/eval/metrics.json"))["summary"]
    for st in ("depth/tum_fr3_cabinet", "depth/middlebury2014_trainingQ", "depth/open3d_testdata_tum_sun", "depth/7scenes_unregistered"):
        m = s[st]["model"]
        rows.append(f"| {r} | {st} | {m['n']} | {m['metric_absrel']:.3f} | {m['aligned_absrel']:.3f} | {m['aligned_delta1']:.3f} |")
md = ["# Ablation: rendered rooms in the training mix", "",
      "Command: `bash benchmarks/ablation_render_mix.sh` (6,000 composites at 96 px from the real photos, cutouts and TUM frames,",
      "plus 0 or 400 rendered rooms; `small` model, 300 steps of batch 32 each; evaluated depth-only on real RGB-D).", "",
      "| rendered rooms | set | n | AbsRel metric | AbsRel aligned | δ1 aligned |", "|---|---|---|---|---|---|", *rows, ""]
open("results/ablation_render_mix.md", "w").write("\n".join(md))
print("\n".join(md))
PY
