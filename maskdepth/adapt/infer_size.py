"""The network size ``maskdepth adapt`` writes for its camera, chosen on composites at the frames' own resolution.

The model trains at its short side of 128 px; ``predict`` / ``watch`` resize each pair to the sidecar's ``size``, run
the network and bring the mask back to the frame (the guided refiner). For a small camera the frames' own short side
(no resampling at all) can be affordable, and on synthetic cameras with exact masks it scored higher F than 128
(``results/adapt_size.md``). With ``max_infer_size`` set (``--max-infer-size``; off by default: on the real clips the
sizes it chose did not help, ``results/adapt.infer_size.md``) adapt scores the model it writes at a few sizes
(:func:`candidate_sizes`: the training size, the frames' short side or ``max_size``, and one between) on held-out
composites made for the purpose (:func:`native_held_out`), and writes the best into the sidecar (``size``) and the
checkpoint's ``meta["infer_size"]``.

The composites: adapt's held-out compositing (val-split cutouts, held-out procedural seeds, contact shadows) on the
background enlarged to **twice** the frames' resolution, reduced to it with area averaging (a lens and sensor's
anti-aliasing; composites pasted at the frames' own size have the compositor's hard edges, which would flatter the
frames' size) as a change added to the background itself (enlarging and reducing blurs it; where nothing was pasted the
frame is the background exactly), the mask reduced the same way and thresholded at 0.5, then the camera's look measured at the frames' size
(:attr:`~.camera.Camera.look_full`: an exposure gain from its spread, its noise sigma, its JPEG level). The frames' own
masks are never read. F: CDnet-style, TP/FP/FN pooled over the composites. A larger size is chosen only when it beats
the chosen smaller one by :data:`MIN_GAIN` (it costs time per frame: ``ms_per_frame`` is reported).
"""

from __future__ import annotations

import time

import numpy as np

from ..evaluate.perturb import exposure, gaussian_noise, jpeg
from ..io import resize
from .camera import Camera
from .data import CompositeStream, real_cutouts

SUPERSAMPLE = 2  # composites made at this multiple of the frames' size, then area-reduced
MIN_GAIN = 0.002  # F a larger size must add over the chosen smaller one
SIZE_SEED = 60013  # the size composites' own seed stream (apart from adapt's training and held-out draws)


def candidate_sizes(train_size: int, frame_hw: tuple[int, int], max_size: int) -> list[int]:
    """Sizes to try, ascending: ``train_size``, the top (the frames' short side if it is at most ``max_size``, else
    ``max_size`` rounded down to a multiple of 32), and the multiple of 32 nearest their mean when strictly between.

    Args:
        train_size: the model's training short side (pixels, >= 32). frame_hw: the frames' ``(H, W)``.
        max_size: the largest size allowed (pixels).
    Returns: ``[train_size]`` when the top is not above it.
    """
    short = min(frame_hw)
    top = short if short <= max_size else (max_size // 32) * 32
    if top <= train_size:
        return [train_size]
    mid = int(round((train_size + top) / 2 / 32)) * 32
    return sorted({train_size, top, *([mid] if train_size < mid < top else [])})


def native_held_out(cam: Camera, fg_dir: str | None, n: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` composites ``(fg_bg uint8 (H, W, 3), mask bool (H, W))`` at the frames' size (module docstring).

    Raises: ValueError: the camera has no ``bg_full`` (it was not made by :func:`~.camera.load_camera`).
    """
    if cam.bg_full is None:
        raise ValueError("the camera has no full-size background")
    H, W = cam.bg_full.shape[:2]
    k = SUPERSAMPLE
    scale = k * H / cam.bg.shape[0]
    big = Camera(bg=resize(cam.bg_full, (k * H, k * W)), frames=np.zeros((0, k * H, k * W, 3), np.uint8), full_hw=(k * H, k * W),
                 bg_source="size choice", blob_heights=[int(round(b * scale)) for b in cam.blob_heights] or [int(0.35 * k * H)])  # fmt: skip
    stream = CompositeStream(big, real_cutouts(fg_dir, "val"), held_out=True, look=False, generic=False)
    look = cam.look_full or cam.look
    rng = np.random.default_rng([seed, SIZE_SEED])
    big_down = resize(big.bg.astype(np.float32), (H, W))  # the enlarged background reduced again: blurred, so only changes count
    out = []
    for _ in range(n):
        s = stream.sample(rng)
        change = resize(s.fg_bg.astype(np.float32), (H, W)) - big_down  # 0 exactly where nothing was pasted or shaded
        fg_bg = np.clip(cam.bg_full + change, 0, 255).round().astype(np.uint8)
        mask = resize(s.mask.astype(np.float32), (H, W)) >= 0.5
        lo, hi = look.gain_range
        fg_bg = exposure(fg_bg, float(rng.uniform(lo, hi))) if hi > lo else fg_bg
        fg_bg = gaussian_noise(fg_bg, look.noise_sigma, rng) if look.noise_sigma > 0 else fg_bg
        out.append((jpeg(fg_bg, look.jpeg_quality) if look.jpeg_quality else fg_bg, mask))
    return out


def score_sizes(predictor_at, bg: np.ndarray, samples: list, sizes: list[int]) -> dict[int, dict]:
    """Pooled F of a model at each size on ``samples`` (:func:`native_held_out`) against ``bg`` (the frames' size).

    Args:
        predictor_at: ``size -> Predictor`` (e.g. ``lambda s: load_predictor(onnx, size=s)``).
        bg: ``uint8 (H, W, 3)``. samples: ``[(fg_bg, mask)]``. sizes: the sizes.
    Returns: ``{size: {"f": F in [0, 1], "ms_per_frame": mean milliseconds of Predictor.predict}}``.
    """
    out = {}
    for size in sizes:
        pred = predictor_at(size)
        tp = fp = fn = 0
        t0 = time.perf_counter()
        for fg_bg, mask in samples:
            m = pred.predict(bg, fg_bg).mask
            tp, fp, fn = tp + int(np.count_nonzero(m & mask)), fp + int(np.count_nonzero(m & ~mask)), fn + int(np.count_nonzero(~m & mask))
        ms = 1000 * (time.perf_counter() - t0) / max(1, len(samples))
        out[size] = {"f": round(2 * tp / (2 * tp + fp + fn), 5) if tp + fp + fn else float("nan"), "ms_per_frame": round(ms, 2)}
    return out


def choose_size(scores: dict[int, dict], min_gain: float = MIN_GAIN) -> int:
    """The smallest size unless a larger one beats the one chosen so far by ``min_gain`` F (sizes ascending)."""
    sizes = sorted(scores)
    chosen = sizes[0]
    for s in sizes[1:]:
        if scores[s]["f"] >= scores[chosen]["f"] + min_gain:
            chosen = s
    return chosen
