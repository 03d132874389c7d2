"""The background of ``maskdepth watch`` on real fixed-camera clips and on a long synthetic day
(issue 20, "Real data and what to report"): the F-measure part of ``results/live.md``.

For each clip of ``--sequences`` (``<name>/frames/*.jpg``, ``<name>/gt/*.png`` with 0 background,
255 foreground, 170 unknown = not scored; ``roi.png`` 255 = scored, where given):

a. ``watch`` without ``--bg`` (the product: :func:`maskdepth.live.watch.run_watch` on the folder with
   ``--save-masks``; the background initialised from the frames and maintained);
b. the same with maintenance off (``run_watch`` with a background model whose ``update`` does nothing:
   the initial estimate is used for every frame);
c. ``watch --bg KNOWN`` with a *known* background: per pixel, the median over the frames where the
   GT says background (``gt == 0``); this uses the GT, so it is an upper reference, not a method;
d. the classical baseline: :func:`maskdepth.evaluate.baselines.classical_mask` (threshold
   :data:`~maskdepth.evaluate.baselines.CLASSICAL_THRESHOLD`) against the clip's temporal median of all frames
   (which sees the future: a batch method);
e. OpenCV MOG2 with its default parameters (``createBackgroundSubtractorMOG2()``: history 500,
   varThreshold 16, shadows detected and counted as background, no post-processing), fed every frame in order;
f. the shipped model against the plain per-pixel temporal median of the same frames ``watch`` buffers
   for its initialisation (what the initialisation replaces), no maintenance.

Every method is scored on the same frames: those ``watch`` writes a mask for (the frames buffered
before the background is ready get none: ``frames_initialising`` in ``watch.json``). CDnet
F-measure: TP, FP, FN summed over the clip's scored frames and pixels, F = 2PR / (P + R)
(Goyette et al., "changedetection.net", CVPRW 2012). Nothing is chosen on these clips: the
background's settings are the defaults of :class:`maskdepth.live.background.BackgroundConfig`, chosen
on the synthetic clips of ``tests/test_live_background.py``.

The **synthetic day** is built from ``--day-clip`` (played forwards and backwards, GT carried along):
exposure drifting x1 -> x0.5 -> x1.2 with a colour-temperature shift, the lights switched off and on,
a person (cut out of a frame of the clip with its GT mask) who walks in, stands still (swaying by a
pixel) and walks out, and a bag that appears on the floor and stays. It runs through ``run_watch``
(``--absorb-after`` shortened to ``--day-absorb-after`` so the bag's absorption falls inside the day;
folders are read at 25 frames/s) with and without maintenance. The bag is foreground in the GT until
the moment it should be absorbed, unknown (not scored) after it. Reported: F per window of frames
and the events.

Writes ``<out>.json``, ``<out>.md`` and ``<out>_day.png`` atomically. Example::

    OMP_NUM_THREADS=1 nohup .venv/bin/python -m benchmarks.live_sequences --out results/live > work/live_sequences.log 2>&1 &
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from benchmarks.common import command_line, template_lines
from maskdepth.errors import MaskDepthError
from maskdepth.evaluate.baselines import CLASSICAL_THRESHOLD, classical_mask
from maskdepth.evaluate.metrics import cdnet_gt
from maskdepth.inference.predictor import load_predictor
from maskdepth.io import atomic_write_bytes, atomic_write_json, atomic_write_text, list_images, load_rgb, save_png
from maskdepth.live.background import BackgroundConfig, BackgroundModel
from maskdepth.live.config import WatchConfig
from maskdepth.live.watch import run_watch

METHODS = {
    "watch": "watch, no --bg (initialised + maintained)",
    "watch_frozen": "same, maintenance off",
    "known_bg": "watch --bg KNOWN (GT-based, upper reference)",
    "classical_median": "classical absdiff vs clip median",
    "mog2": "OpenCV MOG2 (defaults)",
    "model_plain_median": "model vs plain median of the init frames",
}


class FrozenBackground(BackgroundModel):
    """The same initialisation, no maintenance: :meth:`update` changes nothing and reports nothing."""

    def update(self, frame, mask, prob, objects, t_s):  # noqa: D102
        return []


def load_clip(d: Path) -> dict:
    """Frames ``uint8 (N, H, W, 3)``, raw GT ``uint8 (N, H, W)``, ROI ``bool (H, W)`` (all True without ``roi.png``)."""
    fpaths = list_images(d / "frames", "frame")
    gpaths = list_images(d / "gt", "GT mask")
    assert [p.stem for p in fpaths] == [p.stem for p in gpaths], f"{d}: frames and GT differ"
    frames = np.stack([load_rgb(p) for p in fpaths])
    gt = np.stack([cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in gpaths])
    roi = cv2.imread(str(d / "roi.png"), cv2.IMREAD_GRAYSCALE) if (d / "roi.png").exists() else None
    roi = np.ones(gt.shape[1:], bool) if roi is None else roi > 127
    return {"name": d.name, "dir": d / "frames", "frames": frames, "gt": gt, "roi": roi}


def counts(mask: np.ndarray, gt_raw: np.ndarray, roi: np.ndarray) -> np.ndarray:
    """``int64 (3,)`` TP, FP, FN of one ``bool (H, W)`` mask against a raw CDnet GT (:func:`maskdepth.evaluate.metrics.cdnet_gt`) in ``roi``."""
    fg, valid = cdnet_gt(gt_raw)
    v = valid & roi
    return np.array([np.count_nonzero(mask & fg & v), np.count_nonzero(mask & ~fg & v), np.count_nonzero(~mask & fg & v)], np.int64)


def f_measure(c: np.ndarray) -> float:
    """CDnet F = 2TP / (2TP + FP + FN) (= 2PR / (P + R)); NaN when there is nothing to score."""
    d = 2 * c[0] + c[1] + c[2]
    return float(2 * c[0] / d) if d else float("nan")


def known_background(frames: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per pixel, the median over the frames where ``gt == 0``; the plain median where no frame has it."""
    out = np.median(frames, axis=0)
    bgm = gt == 0
    for y in range(frames.shape[1]):  # row by row keeps the masked median's memory small
        row = np.ma.masked_array(frames[:, y], np.repeat(~bgm[:, y, :, None], 3, axis=2))
        med = np.ma.median(row, axis=0)
        ok = bgm[:, y].any(axis=0)
        out[y, ok] = med.filled(0)[ok]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def watch_masks(
    folder: Path,
    predictor,
    bg_path: str | None = None,
    frozen: bool = False,
    absorb_after: float = 600.0,
    bg_set: dict | None = None,
    watch_set: dict | None = None,
) -> dict:
    """Run the product on ``folder``; ``{"masks": {k: bool (H, W)}, "events": [...], "status": watch.json}``.
    ``bg_set``: :class:`BackgroundConfig` fields to change from their defaults (``--bg-set``; an A/B, not the product);
    ``watch_set``: :class:`WatchConfig` fields the same way (``--keep-pieces``), and ``"tracker"``: settings added to
    :meth:`WatchConfig.tracker_settings` (``--no-camera-gate``: these runs have no camera)."""
    config_cls = functools.partial(BackgroundConfig, **bg_set) if bg_set else None
    watch_set = dict(watch_set or {})
    tracker_set = watch_set.pop("tracker", None)
    with tempfile.TemporaryDirectory(prefix="live_bench_") as tmp:
        cfg = (_tracker_config(tracker_set) if tracker_set else WatchConfig)(
            source=str(folder),
            out=str(Path(tmp) / "out"),
            bg=bg_path,
            save_masks=True,
            quiet=True,
            absorb_after=absorb_after,
            **watch_set,
        )
        t = time.time()
        status = run_watch(cfg, predictor=predictor, background_cls=FrozenBackground if frozen else None, background_config_cls=config_cls)
        wall = time.time() - t
        out = Path(tmp) / "out"
        masks = {int(p.stem): cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) > 127 for p in (out / "masks").glob("*.png")}
        events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines() if line.strip()]
    status["bench_wall_s"] = round(wall, 2)
    return {"masks": masks, "events": events, "status": status}


def _tracker_config(tracker_set: dict) -> type:
    """A :class:`WatchConfig` whose tracker gets ``tracker_set`` on top of its own settings (an A/B, not the product)."""

    class TrackerSetConfig(WatchConfig):
        def tracker_settings(self) -> dict:
            return {**super().tracker_settings(), **tracker_set}

    return TrackerSetConfig


def mog2_masks(frames: np.ndarray) -> list[np.ndarray]:
    """OpenCV MOG2 with default parameters over the frames in order; foreground = 255 (shadows 127 are background)."""
    mog = cv2.createBackgroundSubtractorMOG2()
    return [mog.apply(np.ascontiguousarray(f[..., ::-1])) == 255 for f in frames]


def plain_median_masks(clip: dict, predictor, ks: list[int]) -> dict:
    """The model against the plain temporal median of the frames ``watch`` buffers (every ``init_stride``-th of the first ones)."""
    cfg = BackgroundConfig()
    idx = list(range(0, cfg.init_frames * cfg.init_stride, cfg.init_stride))[: len(clip["frames"])]
    med = np.median(clip["frames"][idx], axis=0).astype(np.uint8)
    return {k: predictor.predict(med, clip["frames"][k]).mask for k in ks}


def evaluate_clip(clip: dict, predictor, log, bg_set: dict | None = None, watch_set: dict | None = None) -> dict:
    """All methods on one clip (module docstring), scored on the frames ``watch`` wrote masks for (``bg_set``,
    ``watch_set``: :func:`watch_masks`)."""
    res = {"frames": len(clip["frames"]), "size": [clip["frames"].shape[2], clip["frames"].shape[1]]}
    a = watch_masks(clip["dir"], predictor, bg_set=bg_set, watch_set=watch_set)
    ks = sorted(a["masks"])
    res.update(scored_frames=len(ks), first_scored=ks[0] if ks else None, watch_status=a["status"], watch_events=a["events"])
    log(f"{clip['name']}: watch done ({len(ks)} masks, {a['status'].get('fps')} fps)")
    b = watch_masks(clip["dir"], predictor, frozen=True, bg_set=bg_set, watch_set=watch_set)
    with tempfile.TemporaryDirectory(prefix="live_known_") as tmp:
        kb = Path(tmp) / "known_bg.png"
        save_png(kb, known_background(clip["frames"], clip["gt"]))
        c = watch_masks(clip["dir"], predictor, bg_path=str(kb), bg_set=bg_set, watch_set=watch_set)
    log(f"{clip['name']}: frozen and known-bg done")
    med = np.median(clip["frames"], axis=0).astype(np.uint8)
    mog = mog2_masks(clip["frames"])
    per = {
        "watch": a["masks"],
        "watch_frozen": b["masks"],
        "known_bg": c["masks"],
        "classical_median": {k: classical_mask(med, clip["frames"][k], threshold=CLASSICAL_THRESHOLD) for k in ks},
        "mog2": {k: mog[k] for k in ks},
        "model_plain_median": plain_median_masks(clip, predictor, ks),
    }
    res["F"], res["counts"] = {}, {}
    for m, masks in per.items():
        c_ = sum((counts(masks[k], clip["gt"][k], clip["roi"]) for k in ks if k in masks), np.zeros(3, np.int64))
        missing = [k for k in ks if k not in masks]
        res["F"][m], res["counts"][m] = round(f_measure(c_), 4), c_.tolist()
        if missing:
            res.setdefault("missing", {})[m] = len(missing)
    log(f"{clip['name']}: " + ", ".join(f"{m} {v:.3f}" for m, v in res["F"].items()))
    return res


# ---------------------------------------------------------------------------------------------- the day


def day_timeline(n: int) -> dict:
    """Frame indices of the day's episodes for ``n`` frames."""
    return {
        "bag_drop": int(0.07 * n),
        "person_in": int(0.13 * n),
        "person_still": int(0.13 * n) + 50,
        "person_out": int(0.85 * n),
        "lights_off": int(0.72 * n),
        "lights_on": int(0.72 * n) + 100,
        "n": n,
    }


def day_gain(k: int, tl: dict) -> tuple[np.ndarray, float]:
    """Per-channel gain of frame ``k`` (exposure x colour temperature, lights) and the exposure alone."""
    n = tl["n"]
    a, b = int(0.4 * n), int(0.85 * n)
    if k < a:
        e = 1.0 - 0.5 * (1 - np.cos(np.pi * k / a)) / 2
    elif k < b:
        e = 0.5 + 0.7 * (1 - np.cos(np.pi * (k - a) / (b - a))) / 2
    else:
        e = 1.2
    u = np.sin(np.pi * k / n)  # warm in the middle of the day
    g = e * np.array([1 + 0.12 * u, 1.0, 1 - 0.12 * u])
    if tl["lights_off"] <= k < tl["lights_on"]:
        g = g * 0.3
    return g.astype(np.float32), float(e)


def person_cutout(clip: dict) -> tuple[np.ndarray, np.ndarray]:
    """The largest GT component of the clip's frame with the most foreground: ``(rgb (h, w, 3), alpha bool (h, w))``."""
    k = int(np.argmax((clip["gt"] == 255).reshape(len(clip["gt"]), -1).sum(1)))
    fg = (clip["gt"][k] == 255).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(fg)
    i = 1 + int(np.argmax(stats[1:, 4]))
    x, y, w, h = stats[i, :4]
    return clip["frames"][k, y : y + h, x : x + w].copy(), lab[y : y + h, x : x + w] == i


def paste(img: np.ndarray, gt: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, x: int, y: int, label: int = 255) -> None:
    """In place: ``rgb`` where ``alpha`` at top-left ``(x, y)`` (clipped to the frame); GT ``label`` there."""
    H, W = img.shape[:2]
    h, w = alpha.shape
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x]
    img[y0:y1, x0:x1][a] = rgb[y0 - y : y1 - y, x0 - x : x1 - x][a]
    gt[y0:y1, x0:x1][a] = label


def build_day(clip: dict, n: int, folder: Path, absorb_frames: int) -> tuple[np.ndarray, dict, list[float]]:
    """Write the day's frames (JPEG q95) into ``folder``; returns ``(raw GT (n, H, W), timeline, exposure per frame)``."""
    tl = day_timeline(n)
    frames, gts = clip["frames"], clip["gt"]
    N, H, W = gts.shape
    person, alpha = person_cutout(clip)
    ph, pw = alpha.shape
    rng = np.random.default_rng(20)
    bag = np.clip(rng.normal(0, 12, (int(0.08 * H), int(0.1 * W), 3)) + (70, 45, 35), 0, 255).astype(np.uint8)
    bag_alpha = np.ones(bag.shape[:2], bool)
    bx, by = int(0.7 * W), H - bag.shape[0] - int(0.06 * H)
    sx, sy = int(0.3 * W), H - ph - int(0.03 * H)
    folder.mkdir(parents=True, exist_ok=True)
    gt_out, exposure = np.empty((n, H, W), np.uint8), []
    for k in range(n):
        j = k % (2 * N - 2)
        j = j if j < N else 2 * N - 2 - j  # forwards, then backwards
        img, gt = frames[j].copy(), gts[j].copy()
        if k >= tl["bag_drop"]:
            paste(img, gt, bag, bag_alpha, bx, by, 255 if k < tl["bag_drop"] + absorb_frames else 170)
        if tl["person_in"] <= k < tl["person_out"] + 60:
            if k < tl["person_still"]:
                x = int(-pw + (sx + pw) * (k - tl["person_in"]) / (tl["person_still"] - tl["person_in"]))
            elif k < tl["person_out"]:
                x = sx + (k // 10) % 2  # sways by a pixel
            else:
                x = sx + 4 * (k - tl["person_out"])
            paste(img, gt, person, alpha, x, sy)
        g, e = day_gain(k, tl)
        img = np.clip(img.astype(np.float32) * g, 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
        atomic_write_bytes(folder / f"{k:06d}.jpg", buf.tobytes())
        gt_out[k], _ = gt, exposure.append(e)
    return gt_out, tl, exposure


def evaluate_day(
    clip: dict, predictor, n: int, absorb_after: float, window: int, log, bg_set: dict | None = None, watch_set: dict | None = None
) -> dict:
    """The synthetic day through ``run_watch`` with and without maintenance: F per window and the events (``bg_set``,
    ``watch_set``: :func:`watch_masks`)."""
    with tempfile.TemporaryDirectory(prefix="live_day_") as tmp:
        folder = Path(tmp) / "frames"
        gt, tl, exposure = build_day(clip, n, folder, int(absorb_after * 25))
        log(f"day: {n} frames written")
        runs = {"watch": watch_masks(folder, predictor, absorb_after=absorb_after, bg_set=bg_set, watch_set=watch_set)}
        log("day: watch done")
        runs["watch_frozen"] = watch_masks(folder, predictor, frozen=True, absorb_after=absorb_after, bg_set=bg_set, watch_set=watch_set)
        log("day: frozen done")
    out = {"timeline": tl, "absorb_after_s": absorb_after, "window": window, "exposure": exposure[::window]}
    roi = np.ones(gt.shape[1:], bool)
    for name, r in runs.items():
        ks = sorted(r["masks"])
        per = {k: counts(r["masks"][k], gt[k], roi) for k in ks}
        total = sum(per.values(), np.zeros(3, np.int64))
        wins = []
        for w0 in range(0, n, window):
            c = sum((per[k] for k in range(w0, w0 + window) if k in per), np.zeros(3, np.int64))
            wins.append(round(f_measure(c), 4) if c.sum() else None)
        out[name] = {
            "F": round(f_measure(total), 4),
            "F_windows": wins,
            "scored_frames": len(ks),
            "events": [{k: e[k] for k in e if k not in ("time",)} for e in r["events"]],
            "fps": r["status"].get("fps"),
        }
        log(f"day {name}: F {out[name]['F']:.3f}, events {[e['type'] for e in r['events']]}")
    return out


def plot_day(day: dict, path: Path) -> None:
    """F per window (with and without maintenance), the exposure, and the events, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = day["window"]
    fig, ax = plt.subplots(figsize=(10, 4.2), dpi=110)
    for name, style in (("watch", "-"), ("watch_frozen", "--")):
        f = [np.nan if v is None else v for v in day[name]["F_windows"]]
        ax.plot(np.arange(len(f)) * w + w / 2, f, style, label=f"{METHODS[name]} (F {day[name]['F']:.3f})")
    ax2 = ax.twinx()
    ax2.plot(np.arange(len(day["exposure"])) * w, day["exposure"], ":", color="gray", label="exposure")
    ax2.set_ylabel("exposure (x)")
    colors = {"background_reset": "red", "stationary": "orange", "absorbed": "green"}
    for e in day["watch"]["events"]:
        if e["type"] in colors:
            ax.axvline(e["frame"], color=colors[e["type"]], lw=0.8, alpha=0.7)
    tl = day["timeline"]
    for key in ("bag_drop", "person_in", "person_out", "lights_off", "lights_on"):
        ax.annotate(key, (tl[key], 0.3), rotation=90, fontsize=7, color="black")
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"frame (25 frames/s; F per {w} frames)")
    ax.set_ylabel("CDnet F")
    ax.set_title("Synthetic day: vertical lines = watch's events (red reset, orange stationary, green absorbed)", fontsize=9)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


# ---------------------------------------------------------------------------------------------- report


def _md_clips(res: dict, cmd: str) -> list[str]:
    """Title, command, method prose and the F table of the real clips."""
    names = list(METHODS)
    cfg = BackgroundConfig()
    lines = template_lines(
        "live_clips", cmd=cmd, wall_s=res["wall_s"], machine=res["machine"], init_frames=cfg.init_frames, init_stride=cfg.init_stride
    )
    lines += ["| clip | frames (scored) | " + " | ".join(METHODS[m] for m in names) + " |", "|---|---|" + "---|" * len(names)]
    for name, r in res["clips"].items():
        lines.append(f"| {name} | {r['frames']} ({r['scored_frames']}) | " + " | ".join(f"{r['F'][m]:.3f}" for m in names) + " |")
    lines.append("| **mean** | | " + " | ".join(f"**{res['mean_F'][m]:.3f}**" for m in names) + " |")
    return lines + template_lines("live_methods", threshold=CLASSICAL_THRESHOLD)


def _md_clip_verdicts(res: dict) -> list[str]:
    """Each clip against the best baseline, the mean F against 0.85, what ``watch`` reported, published anchors."""
    lines = []
    for name, r in res["clips"].items():
        best = max(r["F"]["classical_median"], r["F"]["mog2"])
        mark = "meets" if r["F"]["watch"] >= best else "FALLS SHORT"
        lines.append(f"- {name}: watch {r['F']['watch']:.3f} vs best baseline {best:.3f}: {mark}")
    m = res["mean_F"]["watch"]
    lines.append(f"- mean F of watch {m:.3f}: {'meets' if m >= 0.85 else 'FALLS SHORT of'} 0.85")
    lines += ["", "What `watch` reported per clip (watch.json's background, events.jsonl):", ""]
    for name, r in res["clips"].items():
        st = r["watch_status"]
        bgs = st.get("background", {})
        evs = [f"{n} {t}" for t, n in Counter(e["type"] for e in r["watch_events"]).items()]
        lines.append(
            f"- {name}: {st.get('frames_initialising')} frames initialising, then state {bgs.get('state')} "
            f"(uncertain fraction {bgs.get('uncertain_fraction')}); events: {', '.join(evs) if evs else 'none'}; "
            f"{st.get('fps')} frames/s over the run (initialisation included; this run's wall clock, whatever else the CPU ran: speed is measured in results/bench.md)"
        )
    return lines + [
        "",
        "Published anchors (other videos, not comparable one to one): CDnet 2014 overall F of unsupervised methods 0.74 "
        "(SuBSENSE) to 0.85 (ZBS); BSUV-Net 2.0 0.86 on unseen videos.",
        "",
    ]


def _md_day(res: dict, cmd: str) -> list[str]:
    """The synthetic day: its timeline, F of watch with and without maintenance, its events, F per window."""
    d = res["day"]
    tl = d["timeline"]
    lines = template_lines(
        "live_day",
        clip=res["day_clip"],
        n=tl["n"],
        seconds=tl["n"] / 25,
        still_s=(tl["person_out"] - tl["person_still"]) / 25,
        absorb_after_s=d["absorb_after_s"],
        cmd=res.get("day_command", cmd),
        png=Path(res["day_png"]).name,
        **{k: tl[k] for k in ("lights_off", "lights_on", "bag_drop", "person_in", "person_still", "person_out")},
    )
    for name in ("watch", "watch_frozen"):
        lines.append(f"| {METHODS[name]} | {d[name]['F']:.3f} | {d[name]['fps']} |")
    fw, ff = d["watch"]["F"], d["watch_frozen"]["F"]
    low = {n: min((v for v in d[n]["F_windows"] if v is not None), default=float("nan")) for n in ("watch", "watch_frozen")}
    tracks = Counter(e["type"] for e in d["watch"]["events"] if e["type"] in ("enter", "exit"))
    lines += [
        "",
        f"Maintenance {'helps' if fw >= ff else 'HURTS'} over the whole day ({fw:.3f} vs {ff:.3f} with it off); the lowest F of a "
        f"{d['window']}-frame window is {low['watch']:.2f} with it and {low['watch_frozen']:.2f} without (every window below).",
    ]
    lines += [
        "",
        f"Events of watch (type, frame, id), besides {tracks['enter']} `enter` and {tracks['exit']} `exit` of tracks "
        "(all of them in the JSON):",
        "",
    ]
    for e in (e for e in d["watch"]["events"] if e["type"] not in ("enter", "exit")):
        extra = ", ".join(f"{k} {e[k]}" for k in ("id", "bbox", "foreground_fraction", "still_s") if k in e)
        lines.append(f"- {e['type']} at frame {e.get('frame')} ({e.get('t_s')} s){': ' + extra if extra else ''}")
    for name, label in (("watch", "watch"), ("watch_frozen", "maintenance off")):
        windows = ", ".join("-" if v is None else f"{v:.2f}" for v in d[name]["F_windows"])
        lines += ["", f"F per {d['window']} frames ({label}): " + windows]
    return lines


def write_md(res: dict, path: Path, cmd: str) -> None:
    """``results/live.md``'s F-measure part, from the ``live.json`` dict ``res`` and the command that made it (atomic)."""
    lines = _md_clips(res, cmd) + _md_clip_verdicts(res) + (_md_day(res, cmd) if res.get("day") else [])
    atomic_write_text(path, "\n".join(lines) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sequences", default="../shared/data/sequences")
    ap.add_argument("--out", default="results/live")
    ap.add_argument("--clips", nargs="*", default=None, help="names (default: every clip)")
    ap.add_argument("--day-clip", default="HumanBody2")
    ap.add_argument("--day-frames", type=int, default=3000)
    ap.add_argument("--day-absorb-after", type=float, default=40.0)
    ap.add_argument("--day-window", type=int, default=100)
    ap.add_argument("--no-day", action="store_true")
    ap.add_argument("--day-only", action="store_true", help="measure the day again, keep the clips' numbers of <out>.json")
    ap.add_argument("--md-only", action="store_true", help="rewrite <out>.md and the day's PNG from <out>.json (no measurement)")
    ap.add_argument(
        "--bg-set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an A/B: set a BackgroundConfig field (a number; inf allowed) for every watch run (default: the product's defaults)",
    )
    ap.add_argument("--keep-pieces", action="store_true", help="an A/B: watch with --keep-pieces (every mask component an object)")
    ap.add_argument(
        "--no-camera-gate",
        type=float,
        metavar="IOU",
        help="an A/B: the tracker's IoU gate without a camera (ByteTracker's min_similarity; the product's: "
        "maskdepth.scene.tracking.NO_CAMERA_MIN_SIMILARITY) for every run (these runs have no camera)",
    )
    args = ap.parse_args(argv)
    if args.no_camera_gate is not None:
        if not 0 <= args.no_camera_gate < 1:
            ap.error(f"--no-camera-gate must be in [0, 1) (got {args.no_camera_gate})")
    watch_set = {"keep_pieces": True} if args.keep_pieces else {}
    if args.no_camera_gate is not None:
        watch_set["tracker"] = {"min_similarity": args.no_camera_gate}
    try:
        defaults = BackgroundConfig()
        bg_set = {k: type(getattr(defaults, k))(float(v)) for k, v in (a.split("=", 1) for a in args.bg_set)}
        BackgroundConfig(**bg_set)
    except (ValueError, TypeError, AttributeError, OverflowError, MaskDepthError) as e:
        ap.error(f"--bg-set: {e}")
    t0 = time.time()
    if args.md_only:
        res = json.loads(Path(args.out).with_suffix(".json").read_text())
        write_md(res, Path(args.out).with_suffix(".md"), res["command"])
        if res.get("day"):
            plot_day(res["day"], Path(res["day_png"]))
        return 0

    def log(msg):
        print(f"[{time.time() - t0:7.1f}s] {msg}", flush=True)

    predictor = load_predictor()
    root = Path(args.sequences)
    if args.day_only:  # the clips' numbers kept from <out>.json, the day measured again
        res = json.loads(Path(args.out).with_suffix(".json").read_text())
        out = Path(args.out)
        res["day"] = evaluate_day(
            load_clip(root / args.day_clip), predictor, args.day_frames, args.day_absorb_after, args.day_window, log, bg_set, watch_set
        )
        res["day_command"] = "OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.live_sequences " + " ".join(
            argv if argv is not None else sys.argv[1:]
        )
        plot_day(res["day"], Path(res["day_png"]))
        atomic_write_json(out.with_suffix(".json"), res)
        write_md(res, out.with_suffix(".md"), res["command"])
        return 0
    names = args.clips or sorted(p.name for p in root.iterdir() if (p / "frames").is_dir())
    res = {"machine": f"{platform.machine()}, {platform.processor() or 'cpu'}", "clips": {}, "methods": METHODS}
    clips = {}
    for name in names:
        clips[name] = load_clip(root / name)
        res["clips"][name] = evaluate_clip(clips[name], predictor, log, bg_set, watch_set)
    res["mean_F"] = {m: round(float(np.mean([r["F"][m] for r in res["clips"].values()])), 4) for m in METHODS}
    out = Path(args.out)
    if not args.no_day:
        day_clip = clips.get(args.day_clip) or load_clip(root / args.day_clip)
        res["day_clip"] = args.day_clip
        res["day"] = evaluate_day(day_clip, predictor, args.day_frames, args.day_absorb_after, args.day_window, log, bg_set, watch_set)
        res["day_png"] = str(out.parent / f"{out.name}_day.png")
        plot_day(res["day"], Path(res["day_png"]))
    res["wall_s"] = round(time.time() - t0, 1)
    res["background_config"] = BackgroundConfig(**bg_set).__dict__
    cmd = command_line("live_sequences", argv, prefix="OMP_NUM_THREADS=1 .venv/bin/python")
    res["command"] = cmd.strip()
    atomic_write_json(out.with_suffix(".json"), res)
    write_md(res, out.with_suffix(".md"), res["command"])
    log(f"wrote {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
