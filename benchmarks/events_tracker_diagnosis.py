"""Where the adopted tracker loses IDF1 on the synthetic walker clips (issue 21): every walker-frame of the clips of
``benchmarks.events_synthetic`` put in one class, the id changes listed, the lowest clips against the ceiling.

A walker-frame (a walker in view, truth box) is matched to the tracker's output boxes of the frame (its person boxes and
its hidden tracks' predicted boxes) one to one (Hungarian) at IoU >= 0.5, the same threshold as IDF1; the walkers' ids
are paired with the output ids one to one by the number of frames matched (as IDF1 pairs them). Classes:

* ``right id (seen)`` / ``right id (hidden box)`` / ``right id (split-off person)``: matched to the output id paired
  with the walker (a split-off person: the second person of a blob that ``split_merged`` split, listed with ``frames`` 0);
* ``wrong id``: matched to another id (an id change: a track that went to another walker, or a new track);
* ``hidden box off``: a hidden track's predicted box (or a split-off person's box) overlaps the walker (IoU > 0.1) but below 0.5;
* ``merged blob too large``: the walker's own detection is a merged blob whose box matches it below IoU 0.5;
* ``in another's blob, not listed``: the walker is inside a merged blob labelled with another walker and no output box
  matches it, with why (``no track yet``: no output id was ever matched to it; ``its track on the blob``: the id last
  matched to it is now matched to the blob; ``track lost > hidden_s`` / ``track dropped``; ``track < hidden_min_hits``;
  ``prediction left the blob``: its track's predicted box is less than ``hidden_cover`` inside any detection);
* ``undetected``: no detection overlaps it; ``detected, no track``: its own detection has no confirmed track.

Usage: python -m benchmarks.events_tracker_diagnosis [--camera cctv] [--detections masks] [--clips 20] [--first-seed 0]
[--painted] [tracker settings as NAME=VALUE, e.g. merged_box=blob]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import numpy as np

from benchmarks import events_synthetic as es
from maskdepth.scene import box_iou
from maskdepth.scene.tracking import covered_fraction


def _run(cname: str, dets: str, seed: int, settings: dict, paint=None) -> dict:
    """One clip (``paint``: a painter factory of :func:`benchmarks.events_synthetic.clip_frames`, so the objects carry
    their colours and pixels as a camera's frame gives them): per frame the detections, truth ``[(box, walker)]``, output ``[(box, id)]``, the hidden ids and, per
    public id, the state of its library track (``(frames since matched, hits, predicted box)``)."""
    cam = es.CAMERAS[cname]
    ways, frames = es.clip_frames(cname, dets, seed, paint)
    gt = es.clip_truth(cam, ways, len(frames))
    tr = es.make_tracker(fps=es.FPS, camera=cam, **settings)
    hyp, hidden, state = [], [], []
    for d in frames:
        objs = tr.update(d)
        seen = [(tuple(tr.person_boxes.get(o.id, o.bbox)), o.id) for o in objs if o.id]
        hyp.append(seen + [(h.person_bbox or h.bbox, h.id) for h in tr.hidden])
        hidden.append({h.id: h.frames for h in tr.hidden})
        state.append(
            {
                tr._public[int(t.tracker_id)]: (
                    t.time_since_update,
                    tr._hits.get(int(t.tracker_id), 0),
                    np.asarray(t.get_state_bbox(), float),
                )
                for t in tr._lib.tracks
                if int(t.tracker_id) in tr._public
            }
        )
    return {"frames": frames, "gt": gt, "hyp": hyp, "hidden": hidden, "state": state, "tracker": tr}


def _frame_matches(gt: list, hyp: list) -> list[dict]:
    """Per frame ``{walker: (id, IoU)}``: the one-to-one matching of truth and output boxes at IoU >= 0.5."""
    from scipy.optimize import linear_sum_assignment

    out = []
    for gf, hf in zip(gt, hyp):
        if not gf or not hf:
            out.append({})
            continue
        s = np.array([[box_iou(gb, tuple(int(round(v)) for v in hb)) for hb, _ in hf] for gb, _ in gf])
        r, c = linear_sum_assignment(-s)
        out.append({gf[i][1]: (hf[j][1], s[i, j]) for i, j in zip(r, c) if s[i, j] >= 0.5})
    return out


def _pair_ids(matches: list[dict]) -> dict:
    """Walker -> output id, paired one to one by the number of frames matched (as IDF1 pairs them)."""
    from scipy.optimize import linear_sum_assignment

    co = Counter((w, h) for m in matches for w, (h, _) in m.items())
    ws, hs = sorted({w for w, _ in co}), sorted({h for _, h in co})
    if not co:
        return {}
    m = np.array([[co[(w, h)] for h in hs] for w in ws])
    r, c = linear_sum_assignment(-m)
    return {ws[i]: hs[j] for i, j in zip(r, c) if m[i, j] > 0}


def _unlisted_reason(run: dict, k: int, w: int, last: int | None) -> str:
    """Why a walker inside another's blob at frame ``k`` has no output box (``last``: the id last matched to it)."""
    tr = run["tracker"]
    st = run["state"][k].get(last) if last is not None else None
    if last is None:
        return "no track yet"
    if st is None:
        return "track dropped"
    since, hits, box = st
    if since == 0:
        return "its track on the blob"
    if since > tr.hidden_s * tr.fps:
        return "track lost > hidden_s"
    if hits < tr.hidden_min_hits:
        return "track < hidden_min_hits"
    dets = np.array([o.bbox for o in run["frames"][k]], float).reshape(-1, 4)
    if covered_fraction(box[None], dets)[0] < tr.hidden_cover:
        return "prediction left the blob"
    return "other"


def classify(run: dict) -> tuple[Counter, list]:
    """``(classes of the walker-frames, id changes [(walker, frame, old id, new id, kind)])`` of one clip (module docstring)."""
    matches = _frame_matches(run["gt"], run["hyp"])
    pair = _pair_ids(matches)
    cnt, last, changes, born = Counter(), {}, [], {}
    for k, (gf, m) in enumerate(zip(run["gt"], matches)):
        for _, h in run["hyp"][k]:
            born.setdefault(h, k)
        for gb, w in gf:
            if w in m:
                h = m[w][0]
                if last.get(w) not in (None, h):
                    changes.append((w, k, last[w], h, "new track" if born[h] >= k - 1 else "another walker's or older track"))
                last[w] = h
                cnt["wrong id" if pair.get(w) != h else _right_id_class(run["hidden"][k].get(h))] += 1
                continue
            cnt[_missed_class(run, k, gb, w, last.get(w))] += 1
    return cnt, changes


def _right_id_class(frames: int | None) -> str:
    """The class of a walker-frame matched to its own id, by the ``frames`` of the hidden track of that id (``None``:
    not hidden)."""
    if frames is None:
        return "right id (seen)"
    return "right id (split-off person)" if frames == 0 else "right id (hidden box)"


def _missed_class(run: dict, k: int, gb: tuple, w: int, last: int | None) -> str:
    """The class of a walker-frame with no output box at IoU >= 0.5 (module docstring)."""
    dets = run["frames"][k]
    if any(h in run["hidden"][k] and box_iou(gb, tuple(int(round(v)) for v in hb)) > 0.1 for hb, h in run["hyp"][k]):
        return "hidden box off"
    near = [o for o in dets if box_iou(o.bbox, gb) > 0]
    own = [o for o in near if o.extra.get("truth") == w]
    if not near:
        return "undetected"
    if own and any(o.extra.get("merged") for o in own):
        return "merged blob too large"
    if own:
        return "detected, no track"
    return "in another's blob, not listed: " + _unlisted_reason(run, k, w, last)


def main(argv=None) -> int:
    """Print the classes (counts and shares of the walker-frames), the id changes and the lowest clips' IDF1."""
    from trackers.eval.identity import aggregate_identity_metrics

    from benchmarks.events_colour_split import pixel_painter

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--camera", default="cctv", choices=list(es.CAMERAS))
    ap.add_argument("--detections", default="masks", choices=["masks", "boxes", "broken"])
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--painted", action="store_true", help="the painted clips with their pixels (the colour cue on)")
    ap.add_argument("settings", nargs="*", help="tracker settings NAME=VALUE (numbers or words)")
    a = ap.parse_args(argv)
    settings = {}
    for kv in a.settings:
        name, _, v = kv.partition("=")
        if v.lower() in ("true", "false"):
            settings[name] = v.lower() == "true"
            continue
        try:
            settings[name] = int(v) if v.lstrip("-").isdigit() else float(v)
        except ValueError:
            settings[name] = v
    total, ids, rows = Counter(), [], []
    for seed in range(a.first_seed, a.first_seed + a.clips):
        run = _run(a.camera, a.detections, seed, settings, pixel_painter if a.painted else None)
        cnt, changes = classify(run)
        total += cnt
        m = es.sequence_metrics(run["gt"], run["hyp"])["Identity"]
        c = es.sequence_metrics(run["gt"], es.track_ids("ceiling", run["frames"]))["Identity"]
        ids.append(m)
        rows.append((float(m["IDF1"]), seed, float(c["IDF1"]), cnt, changes))
    n = sum(total.values())
    print(
        f"{a.camera}/{a.detections}, seeds {a.first_seed}-{a.first_seed + a.clips - 1}, settings {settings}: IDF1 "
        f"{float(aggregate_identity_metrics(ids)['IDF1']):.3f}, {n} walker-frames"
    )
    for k, v in sorted(total.items(), key=lambda kv: -kv[1]):
        print(f"  {k}: {v} ({100 * v / n:.1f} %)")
    kinds = Counter(x[4] for r in rows for x in r[4])
    print(f"id changes: {sum(kinds.values())} ({dict(kinds)})")
    for f1, seed, ceil, cnt, changes in sorted(rows)[:6]:
        print(f"seed {seed}: IDF1 {f1:.3f} (ceiling {ceil:.3f}); {dict(cnt.most_common(4))}; id changes {[x[1:] for x in changes]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
