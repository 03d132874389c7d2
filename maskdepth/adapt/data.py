"""The per-camera composite stream: cutouts pasted on this camera's background with exact masks.

Each sample pastes 0-3 cutouts (real RGBA cutouts of ``--fg-dir`` and the generator's procedural people
and objects, :func:`maskdepth.data.procedural.procedural_foreground`) on the camera's background, or, with
the camera's look (p = 0.5), on one of its own frames: real noise, light and compression. The label stays
exact where it is known: the pasted pixels are foreground, and the frame's pixels count as background only
away from anything that moves in it (its classical mask dilated by 5 px, :attr:`.camera.Camera.moving`);
the rest gets weight 0 (not trained on, not scored). Sizes follow the moving blobs measured on the frames (:func:`.camera.moving_blobs`,
x U(0.7, 1.3)); nearer (lower) contact points are pasted last so they occlude; a contact shadow
(:func:`maskdepth.data.augment.contact_shadow`) with p = 0.5. With the look, the frame also gets an
exposure gain drawn from the measured range, the measured noise and, with p = 0.3, the measured JPEG level.
Every training sample also gets, independently, the generator's own photometric and geometric changes
(:data:`GENERIC`: exposure gain in :data:`maskdepth.data.augment.EXPOSURE_GAIN_RANGE`, a camera shift of up to
2 px moving the label with the frame, JPEG in :data:`~maskdepth.data.augment.JPEG_QUALITY_RANGE`, noise in
:data:`~maskdepth.data.augment.NOISE_SIGMA_RANGE`), so that the adapted model keeps the base model's robustness
instead of specialising to the camera's narrow measured range.

Splits: a real cutout trains when :func:`maskdepth.data.sources.split_of` puts it in ``train`` and is
held out (the choice) when it puts it in ``val`` (the generator's hash, seed 0, 10 % / 10 %); procedural
seeds ``< 100000`` train, ``>= 100000`` are held out; frames alternate (even index: train, odd: held out).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.augment import EXPOSURE_GAIN_RANGE, JPEG_QUALITY_RANGE, NOISE_SIGMA_RANGE, contact_shadow, draw
from ..data.composite import crop_to_alpha, paste, place_at, prepare_cutout, resize_premultiplied
from ..data.procedural import procedural_foreground
from ..data.sources import file_foregrounds, split_of
from ..evaluate.perturb import exposure, gaussian_noise, jpeg, shift, shift_labels
from ..io import load_rgba
from .camera import Camera

HELD_OUT_SEED = 100000  # procedural seeds at or above it are only ever held out
GENERIC = {"exposure": 0.3, "shift": 0.2, "jpeg": 0.2, "noise": 0.2}  # probability of each generic change per training sample


@dataclass
class Sample:
    """One composite at content size: ``bg``/``fg_bg`` ``uint8 (h, w, 3)``, ``mask`` ``bool (h, w)`` (exact where
    ``weight`` is 1), ``weight`` ``float32 (h, w)`` in {0, 1} (0: a frame's pixel that may hold something)."""

    bg: np.ndarray
    fg_bg: np.ndarray
    mask: np.ndarray
    weight: np.ndarray


def real_cutouts(fg_dir: str | None, split: str) -> list[np.ndarray]:
    """Premultiplied cutouts (:func:`prepare_cutout`) of ``fg_dir`` in ``split`` (module docstring); ``[]`` without ``fg_dir``."""
    if not fg_dir:
        return []
    out = []
    for s in file_foregrounds(fg_dir):
        if split_of(s.id, 0, 0.1, 0.1) == split:
            try:
                out.append(prepare_cutout(crop_to_alpha(load_rgba(s.path))))
            except ValueError:  # an empty alpha
                continue
    return out


class CompositeStream:
    """Draws :class:`Sample` s of one camera.

    Args:
        cam: the measured :class:`~.camera.Camera`.
        cutouts: premultiplied real cutouts of this split.
        held_out: draw procedural seeds and empty frames of the held-out half.
        look: apply the camera's look (module docstring).
    """

    def __init__(self, cam: Camera, cutouts: list[np.ndarray], held_out: bool, look: bool, generic: bool = True):
        self.cam, self.cutouts, self.held_out, self.look, self.generic = cam, cutouts, held_out, look, generic and not held_out
        self.bases = [i for i in range(len(cam.frames)) if i % 2 == int(held_out)] if look else []
        h = cam.bg.shape[0]
        self.heights = np.asarray(cam.blob_heights or [int(0.35 * h)], np.float64)

    def _cutout(self, rng: np.random.Generator, height: int) -> np.ndarray:
        flip = bool(rng.random() < 0.5)
        if self.cutouts and rng.random() < 0.5:
            pre = self.cutouts[int(rng.integers(len(self.cutouts)))]
        else:
            seed = int(rng.integers(100000)) + (HELD_OUT_SEED if self.held_out else 0)
            kind = "object" if seed % 3 == 2 else "person"
            pre = prepare_cutout(crop_to_alpha(procedural_foreground(np.random.default_rng(seed), kind, max(24, 2 * height))))
        return resize_premultiplied(pre, height, flip)

    def sample(self, rng: np.random.Generator) -> Sample:
        """One composite (module docstring); all randomness from ``rng``."""
        cam = self.cam
        h, w = cam.bg.shape[:2]
        k = self.bases[int(rng.integers(len(self.bases)))] if self.bases and rng.random() < 0.5 else None
        base = cam.bg if k is None else cam.frames[k]
        fg_bg, mask = base.copy(), np.zeros((h, w), bool)
        n = int(rng.choice([0, 1, 1, 2, 3]))
        for _ in range(n):
            ph = int(np.clip(rng.choice(self.heights) * rng.uniform(0.7, 1.3), 8, 1.2 * h))
            cut = self._cutout(rng, ph)
            v = int(rng.uniform(min(h - 1, 0.5 * ph), h + 0.1 * ph))
            pl = place_at((int(rng.uniform(0, w)), v), cut.shape[0], cut.shape, False, None, None, "ground_prior")
            if rng.random() < 0.5:
                fg_bg = contact_shadow(fg_bg, cut[..., 3], pl.x0, pl.y0, draw(rng, {"shadow": 1.0}, h)["shadow"])
            c = paste(fg_bg, None, pl, cutout=cut)
            fg_bg, mask = c.fg_bg, mask | c.mask  # later pastes cover earlier ones; the mask is the union
        if self.look:
            fg_bg = self._camera_look(rng, fg_bg, k is None)
        unsure = np.zeros((h, w), bool) if k is None else cam.moving[k] & ~mask
        out = Sample(cam.bg, fg_bg, mask, (~unsure).astype(np.float32))
        return generic_changes(rng, out) if self.generic else out

    def _camera_look(self, rng: np.random.Generator, fg_bg: np.ndarray, on_bg: bool) -> np.ndarray:
        lk = self.cam.look
        lo, hi = lk.gain_range
        if on_bg and hi > lo:
            fg_bg = exposure(fg_bg, float(rng.uniform(lo, hi)))
        if on_bg and lk.noise_sigma > 0:
            fg_bg = gaussian_noise(fg_bg, lk.noise_sigma, rng)
        if lk.jpeg_quality and rng.random() < 0.3:
            fg_bg = jpeg(fg_bg, lk.jpeg_quality)
        return fg_bg


def generic_changes(rng: np.random.Generator, s: Sample) -> Sample:
    """The generator's changes of the frame (module docstring, :data:`GENERIC`); the background stays, a shift moves the labels."""
    fg, mask, weight = s.fg_bg, s.mask, s.weight
    u = rng.random(4)
    if u[0] < GENERIC["exposure"]:
        fg = exposure(fg, float(np.exp(rng.uniform(*np.log(EXPOSURE_GAIN_RANGE)))))
    if u[1] < GENERIC["shift"]:
        dx, dy = rng.uniform(-2.0, 2.0, size=2)
        fg, mask = shift(fg, dx, dy), shift_labels(mask, dx, dy)
        weight = shift_labels(weight > 0, dx, dy).astype(np.float32)
    if u[2] < GENERIC["jpeg"]:
        fg = jpeg(fg, int(rng.integers(JPEG_QUALITY_RANGE[0], JPEG_QUALITY_RANGE[1] + 1)))
    if u[3] < GENERIC["noise"]:
        fg = gaussian_noise(fg, float(rng.uniform(*NOISE_SIGMA_RANGE)), rng)
    return Sample(s.bg, fg, mask, weight)


def held_out_set(cam: Camera, fg_dir: str | None, n: int, seed: int) -> list[Sample]:
    """``n`` fixed held-out composites of this camera (val-split cutouts, held-out procedural seeds and
    frames, the camera's look), drawn from ``seed``: the adaptation's only yardstick."""
    stream = CompositeStream(cam, real_cutouts(fg_dir, "val"), held_out=True, look=True)
    rng = np.random.default_rng([seed, 7919])
    return [stream.sample(rng) for _ in range(n)]


def perturbed(samples: list[Sample], p, seed: int) -> list[Sample]:
    """``samples`` with each frame changed by a :class:`maskdepth.evaluate.perturb.Perturbation` (noise from ``seed`` and the
    sample's index); a shift moves the mask and the weight with the frame; the background stays."""
    out = []
    for i, s in enumerate(samples):
        fg = p.apply(s.fg_bg, np.random.default_rng([seed, i]))
        if p.shift:
            out.append(Sample(s.bg, fg, shift_labels(s.mask, *p.shift), shift_labels(s.weight > 0, *p.shift).astype(np.float32)))
        else:
            out.append(Sample(s.bg, fg, s.mask, s.weight))
    return out
