"""A label-free check on the camera's real frames: does a model contradict the classical difference where
that difference is confident? Reported in ``adapt.json`` (``real_frames``) for the base and the written model;
it does **not** take part in the choice (no margin for it was chosen on synthetic cameras; see results/adapt.md).

On the held-out half of the frames (odd indices: never a training composite's base, though the pseudo-labels
draw from every frame; at most :data:`MAX_FRAMES`), against the camera's background (content size):

* *confidently background*: the raw difference (max over channels of ``|frame - bg|``) below
  :data:`maskdepth.adapt.pseudo.BG_DIFF` grey levels and away from anything that moves in the frame
  (:attr:`.camera.Camera.moving`: the classical mask dilated by 5 px, so the still inside of a person whose
  colours match the floor is not counted);
* *confidently foreground*: the classical mask (:func:`maskdepth.evaluate.baselines.classical_mask`, threshold 30)
  where the raw difference is at least twice that threshold (strong shadows can reach it: this side is the weaker one).

Reported: the share of confidently-background pixels the model calls foreground (``fp_rate``) and of
confidently-foreground pixels it calls background (``fn_rate``), pooled over the frames. Both judges share
the background, so a wrong background misleads both; the pseudo-labels train on agreements of this kind
(on every frame), so the adapted model is favoured by construction: a rise is a warning, a fall is no proof.
"""

from __future__ import annotations

import numpy as np

from ..evaluate.baselines import CLASSICAL_THRESHOLD, classical_mask
from .pseudo import BG_DIFF

MAX_FRAMES = 64
FG_DIFF = 2 * CLASSICAL_THRESHOLD


def confident_pixels(bg: np.ndarray, frame: np.ndarray, moving: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(confident_bg, confident_fg)`` ``bool (h, w)`` of one ``uint8 (h, w, 3)`` frame against ``bg`` (module docstring);
    ``moving`` ``bool (h, w)``: the frame's classical mask dilated."""
    diff = np.abs(frame.astype(np.int16) - bg.astype(np.int16)).max(axis=2)
    return (diff < BG_DIFF) & ~moving, classical_mask(bg, frame) & (diff >= FG_DIFF)


def frame_indices(n: int) -> list[int]:
    """The held-out frames used: odd indices, at most :data:`MAX_FRAMES`, evenly spaced."""
    odd = list(range(1, n, 2))
    if len(odd) <= MAX_FRAMES:
        return odd
    return [odd[int(i)] for i in np.linspace(0, len(odd) - 1, MAX_FRAMES).round()]


def disagreement(preds: list[np.ndarray], conf: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """``{"fp_rate", "fn_rate"}`` in [0, 1] (``None`` where no pixel is confident) of ``bool (h, w)`` masks ``preds``
    against the :func:`confident_pixels` of the same frames."""
    nb = sum(int(b.sum()) for b, _ in conf)
    nf = sum(int(f.sum()) for _, f in conf)
    fp = sum(int((p & b).sum()) for p, (b, _) in zip(preds, conf))
    fn = sum(int((~p & f).sum()) for p, (_, f) in zip(preds, conf))
    return {"fp_rate": round(fp / nb, 5) if nb else None, "fn_rate": round(fn / nf, 5) if nf else None}
