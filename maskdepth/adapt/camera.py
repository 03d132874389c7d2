"""One fixed camera as ``maskdepth adapt`` sees it: its frames, its background and its look.

Everything is kept at the network's content size (:func:`maskdepth.inference.predictor.content_size`: short side
``size``, the aspect kept), the resolution the composites are made and trained at.

The look (measured on the frames against the background, robust statistics only):

* exposure: per frame, the median over static pixels of ``frame / bg`` luminance; reported as the
  5th-95th percentile of that gain;
* noise sigma: 1.4826 x the median absolute deviation of ``frame - bg`` over static pixels, where
  static means a classical difference below 12 grey levels (Hampel's MAD estimator of a Gaussian's sigma);
* JPEG quality: the libjpeg quality whose standard luminance table (IJG scaling, ITU-T T.81 Annex K)
  is nearest to the file's first quantization table; ``None`` for other formats.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import MaskDepthError
from ..evaluate.baselines import classical_mask
from ..inference.predictor import content_size
from ..io import list_images, load_rgb, resize

# ITU-T T.81 Annex K.1 luminance quantization table (quality 50), row-major
_STD_LUMA = np.array(
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
     18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    np.float64,
)  # fmt: skip
STATIC_DIFF = 12  # grey levels: below this a pixel counts as static (look statistics)
EMPTY_FRAC = 0.002  # a frame whose classical mask covers less than this fraction is "empty"


@dataclass
class Look:
    """The camera's look: ``gain_range`` (5th, 95th percentile of the frames' exposure gain against
    the background), ``noise_sigma`` (grey levels at content size), ``jpeg_quality`` (1-100 or ``None``)."""

    gain_range: tuple[float, float] = (1.0, 1.0)
    noise_sigma: float = 0.0
    jpeg_quality: int | None = None

    def to_json(self) -> dict:
        """JSON-serialisable dict."""
        return {"gain_range": [round(float(g), 4) for g in self.gain_range], "noise_sigma": round(float(self.noise_sigma), 3),
                "jpeg_quality": self.jpeg_quality}  # fmt: skip


@dataclass
class Camera:
    """The camera at content size: ``bg`` ``uint8 (h, w, 3)``, ``frames`` ``uint8 (N, h, w, 3)``,
    ``empty`` indices of frames with no foreground by the classical difference, ``blob_heights``
    pixel heights of the moving blobs (sizes of the composites' objects), ``look`` and
    ``bg_source`` (how the background was obtained), ``full_hw`` the frames' original size, ``moving``
    ``bool (N, h, w)`` each frame's classical mask dilated by 5 px (where a frame may hold something),
    ``bg_full`` the background at the frames' size ``uint8 (H, W, 3)``, ``look_full`` the look measured at that size
    (noise is larger there than at content size; :mod:`.infer_size`'s composites are made at the frames' size)."""

    bg: np.ndarray
    frames: np.ndarray
    full_hw: tuple[int, int]
    bg_source: str
    look: Look = field(default_factory=Look)
    empty: list[int] = field(default_factory=list)
    blob_heights: list[int] = field(default_factory=list)
    moving: np.ndarray | None = None
    bg_full: np.ndarray | None = None
    look_full: Look | None = None

    def to_json(self) -> dict:
        """What ``adapt.json`` records of the camera."""
        return {"frames_used": len(self.frames), "size_wh": [self.full_hw[1], self.full_hw[0]], "content_wh": [self.bg.shape[1], self.bg.shape[0]],
                "bg": self.bg_source, "look": self.look.to_json(), "empty_frames": len(self.empty),
                "blob_height_px": [int(np.percentile(self.blob_heights, q)) for q in (10, 50, 90)] if self.blob_heights else None}  # fmt: skip


def jpeg_quality(path: str | os.PathLike) -> int | None:
    """Estimated libjpeg quality (1-100) of a JPEG file from its luminance table; ``None`` for other files."""
    from PIL import Image

    with Image.open(path) as im:
        q = getattr(im, "quantization", None)
    if not q or 0 not in q or len(q[0]) != 64:
        return None
    table = np.asarray(q[0], np.float64)  # PIL gives it in natural (row-major) order
    best, err = None, np.inf
    for quality in range(1, 101):
        s = 5000 / quality if quality < 50 else 200 - 2 * quality
        ref = np.clip(np.floor((_STD_LUMA * s + 50) / 100), 1, 255)
        e = float(np.abs(ref - table).sum())
        if e < err:
            best, err = quality, e
    return best


def read_frames(frames: str | None, video: str | None, max_frames: int) -> tuple[list[np.ndarray], Path | None]:
    """Up to ``max_frames`` frames, evenly spaced, as ``uint8 (H, W, 3)``, and the first file (for the JPEG level).

    Raises: MaskDepthError: neither or both sources, an empty or unreadable folder or video, frames of different sizes.
    """
    if bool(frames) == bool(video):
        raise MaskDepthError("give exactly one of frames (a folder) or video (a file)")
    if frames:
        paths = list_images(frames, "frames")
        pick = np.unique(np.linspace(0, len(paths) - 1, min(max_frames, len(paths))).round().astype(int))
        out, first = [load_rgb(paths[i]) for i in pick], paths[pick[0]]
    else:
        from ..video.convert import iter_frames, probe

        n = probe(video).frames or max_frames
        step = max(1, int(np.ceil(n / max_frames)))
        out = [f for i, f in enumerate(iter_frames(video)) if i % step == 0][:max_frames]
        first = None
        if not out:
            raise MaskDepthError(f"{video}: no frames decoded")
    if any(f.shape != out[0].shape for f in out):
        raise MaskDepthError("the frames are not all the same size: not one fixed camera")
    return out, first


def check_bg_shape(bg: np.ndarray, frame_hw: tuple[int, int]) -> np.ndarray:
    """``bg`` at the frames' size: resized when only the scale differs; raises MaskDepthError when the aspect differs by > 5 %."""
    H, W = frame_hw
    if bg.shape[:2] == (H, W):
        return bg
    if abs((bg.shape[1] / bg.shape[0]) / (W / H) - 1) > 0.05:
        raise MaskDepthError(f"is {bg.shape[1]}x{bg.shape[0]} but the frames are {W}x{H}: different framing, not this camera", param="bg")
    return resize(bg, (H, W))


def measure_look(bg: np.ndarray, frames: np.ndarray, first_file: Path | None) -> Look:
    """The camera's :class:`Look` (module docstring) from content-size ``bg`` ``(h, w, 3)`` and ``frames`` ``(N, h, w, 3)`` uint8."""
    lb = bg.astype(np.float32).mean(axis=2) + 1.0
    gains, resid = [], []
    for f in frames[:: max(1, len(frames) // 60)]:
        ff = f.astype(np.float32)
        static = np.abs(ff - bg.astype(np.float32)).max(axis=2) < STATIC_DIFF
        if static.mean() < 0.2:
            continue
        gains.append(float(np.median((ff.mean(axis=2) + 1.0)[static] / lb[static])))
        resid.append((ff - bg.astype(np.float32))[static].ravel())
    if not gains:
        return Look(jpeg_quality=jpeg_quality(first_file) if first_file else None)
    r = np.concatenate(resid)
    sigma = 1.4826 * float(np.median(np.abs(r - np.median(r))))
    return Look(tuple(np.percentile(gains, [5, 95]).tolist()), sigma, jpeg_quality(first_file) if first_file else None)


def moving_blobs(bg: np.ndarray, frames: np.ndarray) -> tuple[list[int], list[int], np.ndarray]:
    """``(empty frame indices, blob pixel heights, moving)`` from the classical mask of each frame against ``bg``
    (blobs of at least 0.2 % of the image; a frame is empty when its mask covers < :data:`EMPTY_FRAC`;
    ``moving`` ``bool (N, h, w)``: the masks dilated by a 11x11 square)."""
    import cv2

    empty, heights = [], []
    moving = np.zeros(frames.shape[:3], bool)
    area = bg.shape[0] * bg.shape[1]
    kernel = np.ones((11, 11), np.uint8)
    for i, f in enumerate(frames):
        m = classical_mask(bg, f)
        moving[i] = cv2.dilate(m.astype(np.uint8), kernel) > 0
        if m.mean() < EMPTY_FRAC:
            empty.append(i)
            continue
        n, _, stats, _ = cv2.connectedComponentsWithStats(m.astype(np.uint8), connectivity=8)
        heights += [int(s[cv2.CC_STAT_HEIGHT]) for s in stats[1:] if s[cv2.CC_STAT_AREA] >= 0.002 * area]
    return empty, heights, moving


def load_camera(
    frames: str | None, video: str | None, bg_path: str | None, size: int, max_frames: int, predict_prob=None, full_look: bool = False
) -> Camera:
    """Read and measure the camera (module docstring); ``full_look``: also :attr:`Camera.look_full` (the look at the
    frames' own size, for :mod:`.infer_size`; else ``None``).

    The background: ``bg_path`` (resized when only its scale differs); without it, estimated from the frames
    read by the product's model-guided estimator with the base model's ``predict_prob(bg, frame) -> float32 (H, W)``
    (:func:`.background.estimate_bg`, as ``watch`` without ``--bg``); with neither, the per-pixel temporal median
    of the frames read (takes in whatever stands still for half of them).

    Raises: MaskDepthError: bad frames (:func:`read_frames`), an unreadable bg or one of another framing.
    """
    full, first = read_frames(frames, video, max_frames)
    H, W = full[0].shape[:2]
    if bg_path:
        bg_full, source = check_bg_shape(load_rgb(bg_path, f"bg {bg_path}"), (H, W)), f"bg {bg_path}"
    elif predict_prob is not None:
        from .background import estimate_bg

        est = estimate_bg(full, predict_prob)
        bg_full, source = est.bg, est.describe()
    else:
        bg_full = np.median(np.stack(full), axis=0).round().astype(np.uint8)
        source = f"per-pixel temporal median of {len(full)} frames (no bg)"
    hw = content_size(H, W, size)
    bg = resize(bg_full, hw)
    small = np.stack([resize(f, hw) for f in full])
    cam = Camera(bg=bg, frames=small, full_hw=(H, W), bg_source=source, look=measure_look(bg, small, first), bg_full=bg_full)
    if full_look:  # about 60 frames at the frames' size
        cam.look_full = measure_look(bg_full, np.stack(full[:: max(1, len(full) // 60)]), first)
    cam.empty, cam.blob_heights, cam.moving = moving_blobs(bg, small)
    return cam
