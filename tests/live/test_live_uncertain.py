"""A ghost the initialisation itself flagged (issue 20, "Initialise without an empty scene"): pixels that no
buffered frame showed as background are *uncertain*; when the person who hid them walks away, what the
estimate put there (a blend of the person) is a still foreground blob. The network cannot relearn it (it
is compared with the wrong background, so it never calls it background), and the edge test of ghosts
fails when the blob's outline runs along a real edge of the scene (a dark person's ghost beside the dark
side of a bin: the frame has the edge, the background does not).

:func:`shuffle_clip` builds that clip (the mechanism found on CAVIAR1's own output, without its masks:
watch's ``state/background`` kept a brown smear on a bin, exactly its uncertain pixels, foreground in
every later mask). ``python -m tests.live.test_live_uncertain`` prints the sweep over
``uncertain_still_s`` that chose its default (results/live.md).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from maskdepth.live.background import BackgroundConfig, BackgroundModel
from tests.live.test_live_background import FPS, H, Loop, W, absdiff_prob, draw_person, scene_bg

BAR = (58, 66)  # columns of the dark flat side of the bin beside the spot the person shuffles on
PERSON_Y = 40


def shuffle_scene(seed: int) -> np.ndarray:
    """The textured scene with a dark flat bar (the bin's side) at columns ``BAR``."""
    bg = scene_bg(seed).copy()
    bg[20:90, BAR[0] : BAR[1]] = (45, 40, 40)
    return bg


def person_truth(x: int, k: int) -> np.ndarray:
    """``bool (H, W)``: the pixels :func:`draw_person` paints at ``x`` on frame ``k``."""
    return draw_person(np.zeros((H, W, 3), np.uint8), x, PERSON_Y, k).max(axis=2) > 0


def shuffle_positions(n: int, n_init: int, still_after: int | None = None) -> list[int]:
    """The person's ``x`` per frame: shuffling between 44 and 50 (columns 50..57 always covered) for the
    ``n_init`` initialisation frames, then walking out to the left at 2 px/frame (``still_after`` given: they
    stay at 47 from then on instead, standing as the tests' still person does, body swaying and arm swinging)."""
    xs = []
    for k in range(n):
        if k < n_init:
            xs.append(44 + abs((k // 3) % 12 - 6))
        elif still_after is not None:
            xs.append(47)
        else:
            xs.append(47 - 2 * (k - n_init))
    return xs


def camera(img: np.ndarray, rng) -> np.ndarray:
    """``img`` through a noisy camera: Gaussian noise of 4 grey levels (about 2 % of the pixels of a still scene
    change by more than ``motion_thr`` = 15 between two frames, as on a low-quality CCTV stream)."""
    return np.clip(img.astype(np.float32) + rng.normal(0, 4.0, img.shape), 0, 255).astype(np.uint8)


FREEZE = (1.0, 3.0)  # the staying person: sways for 1 s, then freezes completely for 3 s (no pixel changes), and again


def pose(k: int, n_init: int, stay: bool) -> int:
    """The frame index :func:`draw_person` is given (its sway and arm): ``k``, but held while the staying person freezes."""
    if not stay or k < n_init:
        return k
    j, period = k - n_init, int(round(sum(FREEZE) * FPS))
    move = int(round(FREEZE[0] * FPS))
    return k if j % period < move else k - (j % period - move)


def shuffle_clip(seed: int, n: int, n_init: int, stay: bool = False) -> tuple[np.ndarray, list, list]:
    """``(bg, frames, truths)``: the person shuffles in front of the bin's side while the background
    initialises, then leaves (``stay``: stands there to the end, freezing as in :data:`FREEZE`); a walker
    crosses the spot from the right 6 s after the initialisation."""
    rng, bg = np.random.default_rng(seed), shuffle_scene(seed)
    xs = shuffle_positions(n, n_init, n_init if stay else None)
    frames, truths = [], []
    for k, x in enumerate(xs):
        p = pose(k, n_init, stay)
        img, truth = draw_person(bg, x, PERSON_Y, p), person_truth(x, p)
        if 0 <= (j := k - n_init - int(6 * FPS)) < 80:
            xw = W - 2 * j
            img, truth = (
                draw_person(img, xw, PERSON_Y + 4, k),
                truth | draw_person(np.zeros((H, W, 3), np.uint8), xw, PERSON_Y + 4, k).max(axis=2) > 0,
            )
        frames.append(camera(img, rng))
        truths.append(truth)
    return bg, frames, truths


def object_prob(bg: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Stand-in for the network that judges objects, not pixels: :func:`absdiff_prob` grown by a 9 x 9 max
    filter (the network calls a whole person foreground, also the pixels of their clothes that happen to
    match the background), ``float32 (H, W)`` in [0, 1]."""
    return cv2.dilate(absdiff_prob(bg, frame), np.ones((9, 9), np.uint8))


def run_clip(cfg: BackgroundConfig, frames: list, truths: list) -> dict:
    """Initialise (watch's way: ``init_frames`` x ``init_stride``) then maintain with the stand-in network;
    ``{"F": CDnet F of the masks after initialisation, "fg": per-frame mask, "model": the model}``."""
    model = BackgroundModel(cfg)
    k = 0
    while not model.initialise(frames[k], object_prob):
        k += 1
    loop, tp, fp, fn, masks = Loop(model), 0, 0, 0, []
    loop.prob = object_prob
    for j in range(k + 1, len(frames)):
        mask, _ = loop.step(frames[j], j / FPS)
        t = truths[j]
        tp, fp, fn = tp + np.count_nonzero(mask & t), fp + np.count_nonzero(mask & ~t), fn + np.count_nonzero(~mask & t)
        masks.append(mask)
    return {"F": 2 * tp / max(1, 2 * tp + fp + fn), "masks": masks, "model": model, "events": loop.events, "first": k + 1}


def clip_cfg(**kw) -> BackgroundConfig:
    """Watch's defaults (absorb after 600 s: the born-still rule does not hide this one) with the tests' short
    time constants."""
    base = dict(long_tau_s=2.0, short_tau_s=0.4, init_frames=30, init_stride=2)
    return BackgroundConfig(**{**base, **kw})


SPOT = (slice(PERSON_Y + 9, PERSON_Y + 34), slice(50, 58))  # always covered while initialising, below the head


def test_the_clip_makes_an_uncertain_ghost():
    """The clip reproduces the mechanism: the spot is uncertain after the initialisation."""
    bg, frames, truths = shuffle_clip(21, 60 + 1, 60)
    model = BackgroundModel(clip_cfg())
    done = [model.initialise(f, object_prob) for f in frames[:60]]
    assert done[-1] and model.uncertain[SPOT].mean() > 0.8
    assert np.abs(model.background[SPOT].astype(float) - bg[SPOT]).max(axis=2).mean() > 20


@pytest.mark.parametrize("still_s", [2.0, 4.0])
def test_uncertain_ghost_is_relearnt_once_still(still_s):
    """The person leaves: the spot the initialisation never saw is foreground for a moment, then (still for
    ``uncertain_still_s``) relearnt from the frame -- no absorbed event, the bin's side untouched."""
    n = 60 + int((still_s + 2.5) * FPS)  # the person is off the spot ~1.2 s after the initialisation
    bg, frames, truths = shuffle_clip(21, n, 60)
    r = run_clip(clip_cfg(uncertain_still_s=still_s), frames, truths)
    spot_fg = [m[SPOT].mean() for m in r["masks"]]
    assert max(spot_fg[15:25]) > 0.5  # the ghost is there once the person has gone (the test can fail)
    tail = spot_fg[-int(FPS // 2) :]
    assert max(tail) < 0.05, f"the ghost stayed: {np.round(spot_fg[::10], 2)}"
    assert not [e for e in r["events"] if e["type"] == "absorbed"]
    assert np.abs(r["model"].background[SPOT].astype(float) - bg[SPOT]).max(axis=2).mean() < 10
    assert r["model"].counts["ghosts"] >= 1


def test_without_the_rule_the_ghost_stays():
    """The clip needs the rule: with ``uncertain_still_s`` = inf the spot is still foreground at the end."""
    bg, frames, truths = shuffle_clip(21, 60 + int(6.5 * FPS), 60)
    r = run_clip(clip_cfg(uncertain_still_s=float("inf")), frames, truths)
    assert min(m[SPOT].mean() for m in r["masks"][-int(FPS // 2) :]) > 0.9


def test_a_person_who_stays_after_shuffling_is_not_relearnt():
    """The same person stays on the spot after the initialisation, swaying and freezing for 3 s at a time
    (:data:`FREEZE`): with the default ``uncertain_still_s`` the spot stays foreground throughout."""
    n = 60 + int(2 * sum(FREEZE) * FPS)
    bg, frames, truths = shuffle_clip(22, n, 60, stay=True)
    r = run_clip(clip_cfg(), frames, truths)
    assert min(m[SPOT].mean() for m in r["masks"]) > 0.9
    assert r["model"].counts["ghosts"] == 0


def sweep(still_s=(1.0, 2.0, 4.0, 8.0), fracs=(0.02, 0.05, 0.1, 0.2), seeds=(21, 23, 25), seconds: float = 12.0) -> tuple:
    """Print, for each ``(uncertain_still_s, uncertain_still_frac)`` and the rule off, the F of the leaving clip
    and how much of the staying person's spot stays foreground (mean over frames); returns the chosen pair:
    the highest leaving F among those that keep the spot as foreground as the rule off does (within 0.005,
    i.e. never take in the person who freezes for ``FREEZE[1]`` s at a time); ties: the smaller fraction."""
    n = 60 + int(seconds * FPS)

    def row(v: float, f: float) -> tuple[float, float]:
        fl = [run_clip(clip_cfg(uncertain_still_s=v, uncertain_still_frac=f), *shuffle_clip(s, n, 60)[1:])["F"] for s in seeds]
        st = [run_clip(clip_cfg(uncertain_still_s=v, uncertain_still_frac=f), *shuffle_clip(s, n, 60, stay=True)[1:]) for s in seeds]
        spot = [np.mean([m[SPOT].mean() for m in r["masks"]]) for r in st]
        print(
            f"uncertain_still_s={v} uncertain_still_frac={f}: leaving F {np.mean(fl):.3f}; staying spot foreground {np.mean(spot):.3f}",
            flush=True,
        )
        return float(np.mean(fl)), float(np.mean(spot))

    off = row(float("inf"), 0.1)
    rows = {(v, f): row(v, f) for v in still_s for f in fracs}
    ok = [k for k, (_, spot) in rows.items() if spot >= off[1] - 0.005]
    chosen = max(ok, key=lambda k: (round(rows[k][0], 3), -k[1])) if ok else None
    print(f"chosen: {chosen}")
    return chosen


if __name__ == "__main__":
    sweep()
