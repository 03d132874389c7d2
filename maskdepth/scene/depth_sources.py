"""Scene depth of the empty background, computed once per camera, from the best source at hand.

Sources (issue 12), all giving float32 metres with **0 = unknown** (never invented):

* ``measured`` -- :func:`load_bg_depth`: a depth file of the empty scene (RGB-D camera,
  LiDAR, stereo, CAD render): uint16 PNG in millimetres, 32-bit float TIFF in metres, or
  ``.npy`` in metres.
* ``ground_plane`` -- :func:`ground_plane_scene_depth`: exact floor depth from a
  :class:`~maskdepth.scene.camera.Camera`; the rest from the learned estimate, scaled to
  agree with the floor.
* ``teacher`` -- :func:`teacher_to_metric`: a relative (affine-invariant) disparity from a
  monocular teacher, aligned to the floor's inverse depth by least squares in disparity
  space (Ranftl et al., "Towards Robust Monocular Depth Estimation: Mixing Datasets for
  Zero-shot Cross-dataset Transfer" (MiDaS), TPAMI 2022, Sec. 5: scale and shift fitted
  on inverse depth).
* ``learned`` -- the network's own estimate: the fallback, labelled as such.

:class:`SceneDepthCache` stores results on disk keyed by the content of everything that made
them (the background's pixels, the source, the camera's values, the teacher model's and the
network's sha256, sizes: :meth:`maskdepth.scene.fixed_camera.FixedCamera.cache_params`), so the
work is done once per camera and another input never gets a stale answer.
"""

from __future__ import annotations

import hashlib
import io as _io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MaskDepthError
from ..io import atomic_write_bytes
from .camera import Camera

SOURCES = ("measured", "ground_plane", "teacher", "learned")
ASPECT_TOL = 0.01
DEPTH_UNITS = {"mm": 1e-3, "m": 1.0}
"""Units a measured depth file may be in (``bg_depth_unit``), as metres per unit."""
MAX_MEDIAN_M = 100.0
"""A measured scene depth whose median known value (in metres) is above this, read in the format's default
unit, is refused as implausible: almost surely millimetres in a format read as metres (a 4 m wall becomes
4000 m). A scene that really is that far is accepted when its unit is given explicitly."""


@dataclass
class SceneDepth:
    """Depth of the empty scene.

    Attributes:
        depth: float32 ``(H, W)``; metres when ``unit == "m"`` (0 = unknown), or a relative
            disparity when ``unit == "relative_disparity"`` (teacher without a camera).
        source: one of ``"measured"``, ``"ground_plane"``, ``"teacher"``, ``"learned"``.
        unit: ``"m"`` or ``"relative_disparity"``.
        notes: human-readable remarks (resizing done, pixels unknown, fit quality ...).
        params: JSON-serialisable parameters of the computation (for ``depth.json``).
    """

    depth: np.ndarray
    source: str
    unit: str = "m"
    notes: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise MaskDepthError(f"unknown scene depth source {self.source!r} (one of {', '.join(SOURCES)})")

    @property
    def metric(self) -> bool:
        """True when :attr:`depth` is in metres."""
        return self.unit == "m"

    def known_fraction(self) -> float:
        """Fraction of pixels with a known (> 0) depth."""
        return float((self.depth > 0).mean()) if self.depth.size else 0.0

    def to_json(self) -> dict:
        """Summary for ``depth.json`` (no pixels)."""
        return {
            "source": self.source,
            "unit": self.unit,
            "known_fraction": round(self.known_fraction(), 5),
            "notes": list(self.notes),
            "params": self.params,
        }


def _clean(d: np.ndarray) -> np.ndarray:
    d = np.asarray(d, np.float32)
    d = np.where(np.isfinite(d) & (d > 0), d, np.float32(0.0)).astype(np.float32)
    return d


def check_aspect(src_hw: tuple[int, int], dst_hw: tuple[int, int], what: str) -> None:
    """Raise unless the aspect ratios of ``src_hw`` and ``dst_hw`` (``(H, W)``) agree within 1 %.

    Raises:
        MaskDepthError: one line naming both sizes.
    """
    (h0, w0), (h1, w1) = src_hw, dst_hw
    if abs((w0 / h0) / (w1 / h1) - 1.0) > ASPECT_TOL:
        raise MaskDepthError(
            f"{what} is {w0}x{h0} but the background is {w1}x{h1}: aspect ratios differ by more than 1 % "
            "(give a depth map of the same view, cropped like the background)"
        )


def resize_nearest_exact(d: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Resize a depth / label map with nearest-exact sampling (``cv2.INTER_NEAREST_EXACT``:
    destination pixel ``x`` reads source ``floor((x + 0.5) * W0 / W1)``, like PIL's NEAREST),
    so no value is invented and edges stay within half a destination pixel of their true place."""
    import cv2

    H, W = int(size_hw[0]), int(size_hw[1])
    if d.shape[:2] == (H, W):
        return d
    return cv2.resize(d, (W, H), interpolation=cv2.INTER_NEAREST_EXACT)


def check_metres(d: np.ndarray, unit: str | None, what: str) -> None:
    """Refuse a depth map in metres (0 = unknown) whose median known value is above :data:`MAX_MEDIAN_M`
    when its unit was not given (``unit is None``): it looks like millimetres.

    Raises:
        MaskDepthError: one line (parameter ``bg_depth_unit``) naming the median and the unit it looks like.
    """
    known = d[d > 0]
    med = float(np.median(known)) if known.size else 0.0
    if unit is None and med > MAX_MEDIAN_M:
        raise MaskDepthError(
            f"mm if it is in millimetres: the median known depth of {what} is {med:.0f} m, which looks like millimetres (metres expected)",
            param="bg_depth_unit",
        )


def _unit_scale(unit: str | None) -> float | None:
    if unit is None:
        return None
    if unit not in DEPTH_UNITS:
        raise MaskDepthError(f"unknown depth unit {unit!r} (one of {', '.join(DEPTH_UNITS)})")
    return DEPTH_UNITS[unit]


def load_bg_depth(path, size_hw: tuple[int, int] | None = None, unit: str | None = None) -> SceneDepth:
    """Read the empty scene's measured depth (``--bg-depth``).

    Formats (by extension), in their default unit unless ``unit`` says otherwise:
        ``.png``: single-channel uint16, millimetres, 0 = unknown;
        ``.tif`` / ``.tiff``: single-channel 32-bit float, metres (read with
        ``cv2.IMREAD_UNCHANGED``);
        ``.npy``: 2-D array, metres.
    Non-finite, zero and negative values become 0 (unknown).

    Args:
        path: the file.
        size_hw: ``(H, W)`` of the background; the depth is resized to it with nearest-exact
            sampling when the aspect ratios agree within 1 %.
        unit: ``"mm"`` or ``"m"`` (``bg_depth_unit``), or ``None`` for the format's default;
            with ``None`` a map whose median known depth is above :data:`MAX_MEDIAN_M` (100 m)
            is refused as millimetres read as metres.
    Returns:
        :class:`SceneDepth` with ``source="measured"``, float32 metres; ``params`` name the
        file, its sha256, format and the unit read.
    Raises:
        MaskDepthError: missing/unreadable file, unsupported extension or pixel type, a
        different aspect ratio (both sizes named), no known pixel at all, an unknown
        ``unit``, or an implausible median (above).
    """
    from ..io import file_sha256

    scale = _unit_scale(unit)
    p = Path(path)
    if not p.is_file():
        raise MaskDepthError(f"background depth file not found: {p}")
    ext = p.suffix.lower()
    notes: list[str] = []
    d, unit_in = _read_depth_file(p, ext, scale)
    if d.shape[0] < 2 or d.shape[1] < 2:
        raise MaskDepthError(f"{p}: depth map too small ({d.shape[1]}x{d.shape[0]})")
    d = _clean(d)
    if not (d > 0).any():
        raise MaskDepthError(f"{p}: the depth map has no known pixel (all zero, negative or non-finite)")
    check_metres(d, unit, str(p))
    src_hw = d.shape
    if size_hw is not None and tuple(size_hw) != tuple(src_hw):
        check_aspect(src_hw, tuple(size_hw), str(p))
        d = resize_nearest_exact(d, size_hw)
        notes.append(f"resized from {src_hw[1]}x{src_hw[0]} to {size_hw[1]}x{size_hw[0]} (nearest-exact)")
    kf = float((d > 0).mean())
    if kf < 1.0:
        notes.append(f"{100 * (1 - kf):.1f} % of pixels have unknown depth (kept at 0)")
    unit_read = unit or ("mm" if ext == ".png" else "m")
    params = {"file": p.name, "sha256": file_sha256(p), "format": unit_in, "unit": unit_read, "file_size": [src_hw[1], src_hw[0]]}
    return SceneDepth(d, "measured", "m", notes, params)


def _read_depth_file(p: Path, ext: str, scale: float | None) -> tuple[np.ndarray, str]:
    """The depth array of ``p`` by its extension ``ext`` (:func:`load_bg_depth`'s formats) as float32, times ``scale``
    (``None``: the format's unit, mm for PNG, m otherwise), and the format's name (``"uint16"``, ``"float32"``, ``"npy"``).
    Raises: MaskDepthError: unreadable file, unsupported extension or pixel type."""
    import cv2

    if ext == ".png":
        a = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        if a is None:
            raise MaskDepthError(f"{p}: unreadable PNG")
        if a.ndim != 2 or a.dtype != np.uint16:
            raise MaskDepthError(f"{p}: a depth PNG must be single-channel 16-bit millimetres, got {a.dtype} with shape {a.shape}")
        d = a.astype(np.float32) * np.float32(1e-3 if scale is None else scale)
        return d, "uint16"
    elif ext in (".tif", ".tiff"):
        a = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        if a is None:
            raise MaskDepthError(f"{p}: unreadable TIFF")
        if a.ndim != 2 or a.dtype not in (np.float32, np.float64):
            raise MaskDepthError(f"{p}: a depth TIFF must be single-channel 32-bit float metres, got {a.dtype} with shape {a.shape}")
        d = a.astype(np.float32) * np.float32(1.0 if scale is None else scale)
        return d, "float32"
    elif ext == ".npy":
        try:
            a = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise MaskDepthError(f"{p}: unreadable .npy ({str(e).splitlines()[0]})") from None
        if a.ndim == 3 and a.shape[-1] == 1:
            a = a[..., 0]
        if a.ndim != 2 or not np.issubdtype(a.dtype, np.number):
            raise MaskDepthError(f"{p}: a depth .npy must be a 2-D numeric array in metres, got {a.dtype} with shape {a.shape}")
        d = a.astype(np.float32) * np.float32(1.0 if scale is None else scale)
        return d, "npy"
    raise MaskDepthError(f"{p}: unsupported depth file type {ext or '(none)'} (use .png uint16 mm, .tif/.tiff float32 m or .npy m)")


def _seed_rows(F: np.ndarray, frac: float = 0.2) -> np.ndarray:
    """Pixels of the lowest ``frac`` of the image rows that see the floor (the nearest floor,
    the part of the view most likely to be free floor in a room or on a road)."""
    rows = np.flatnonzero((F > 0).any(axis=1))
    if rows.size == 0:
        return F > 0
    n = max(1, int(round(frac * rows.size)))
    m = np.zeros_like(F, bool)
    m[rows[-n:]] = True
    return m & (F > 0)


def _adaptive_tol(rel: np.ndarray, tol: float, lo: float = 0.02) -> float:
    """``clip(3 * 1.4826 * MAD-about-0 of the relative residuals, lo, tol)``: tight for a
    source that matches the floor well (walls meeting the floor drop out), up to ``tol``
    for a noisy one."""
    if rel.size == 0:
        return tol
    return float(np.clip(3 * 1.4826 * np.median(rel), lo, tol))


def _floor_like(floor: np.ndarray, learned: np.ndarray, tol: float, iters: int = 4) -> tuple[np.ndarray, float]:
    below = (floor > 0) & (learned > 0)
    if not below.any():
        return below, float("nan")
    seed = _seed_rows(floor) & below
    if seed.sum() < 10:
        seed = below
    s = float(np.median(floor[seed] / learned[seed]))
    m = seed
    for _ in range(iters):
        rel = np.abs(s * learned / np.where(floor > 0, floor, 1) - 1.0)
        t = _adaptive_tol(rel[m], tol)
        m_new = below & (rel <= t)
        if m_new.sum() < 10:
            break
        m = m_new
        s = float(np.median(floor[m] / learned[m]))
    return m, s


def _on_floor(F: np.ndarray, floor: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """float64 ``(H, W)``: the floor depth ``F`` on ``floor`` pixels; elsewhere ``rest`` clamped to ``F``
    below the horizon (nothing visible lies beyond the floor along a ray that meets it); 0 where unknown."""
    rest = np.where(F > 0, np.minimum(rest, F), rest)
    out = np.where(floor, F, rest)
    return np.where(np.isfinite(out) & (out > 0), out, 0.0)


def ground_plane_scene_depth(
    camera: Camera, learned_depth: np.ndarray | None = None, floor_mask: np.ndarray | None = None, tol: float = 0.15
) -> SceneDepth:
    """Scene depth from a camera over a flat floor plus (optionally) the learned estimate.

    Rule:
        1. Floor depth ``F`` of every pixel from the camera (:meth:`Camera.floor_depth_map`;
           0 at and above the horizon).
        2. Floor pixels: ``floor_mask & (F > 0)`` when a mask is given; otherwise the pixels
           below the horizon where the learned depth, scaled by ``s``, is within ``tol``
           (at most 15 %; ``clip(3 * 1.4826 * median |s L/F - 1|, 0.02, tol)`` over the
           current floor set) of ``F``: ``|s L / F - 1| <= tol``, with ``s`` = median of ``F / L`` over
           those pixels (4 fixed-point rounds starting from the lowest 20 % of the rows
           that see the floor: the nearest floor, the most likely to be free).
           Without a learned estimate every pixel below the horizon is floor.
        3. Floor pixels get ``F`` exactly; the others ``s L``, clamped to ``F`` below the
           horizon (nothing visible lies beyond the floor along a ray that meets it).
           Without a learned estimate the others are 0 (unknown).

    Args:
        camera: the camera, at the background's size (use :meth:`Camera.scaled_to`).
        learned_depth: optional float ``(H, W)`` learned depth (any positive scale; 0/NaN = unknown).
        floor_mask: optional bool ``(H, W)`` known floor pixels.
        tol: relative agreement that makes a pixel floor-like (default 0.15).
    Returns:
        :class:`SceneDepth` ``source="ground_plane"``, float32 metres.
    Raises:
        MaskDepthError: shapes differ from the camera's image size, or no pixel below the horizon.
    """
    W, H = camera.image_size
    F = camera.floor_depth_map(H, W).astype(np.float64)
    if not (F > 0).any():
        raise MaskDepthError("the camera sees no floor (no pixel below the horizon)")
    notes: list[str] = []
    params: dict[str, Any] = {"camera": camera.to_json(), "tol": tol}
    if floor_mask is not None and np.asarray(floor_mask).shape != (H, W):
        raise MaskDepthError(f"floor mask is {np.asarray(floor_mask).shape[1]}x{np.asarray(floor_mask).shape[0]}, the camera {W}x{H}")
    if learned_depth is None:
        m = (F > 0) if floor_mask is None else (np.asarray(floor_mask, bool) & (F > 0))
        out = np.where(m, F, 0.0)
        notes.append("no learned estimate: only floor pixels have a depth, the rest is unknown (0)")
        return SceneDepth(out.astype(np.float32), "ground_plane", "m", notes, params)
    L = _clean(np.asarray(learned_depth, np.float64)).astype(np.float64)
    if L.shape != (H, W):
        raise MaskDepthError(f"learned depth is {L.shape[1]}x{L.shape[0]}, the camera {W}x{H}")
    if floor_mask is not None:
        m = np.asarray(floor_mask, bool) & (F > 0) & (L > 0)
        s = float(np.median(F[m] / L[m])) if m.sum() >= 10 else float("nan")
    else:
        m, s = _floor_like(F, L, tol)
    if not np.isfinite(s) or m.sum() < 10:
        m = (F > 0) & (L > 0)
        s = float(np.median(F[m] / L[m])) if m.any() else 1.0
        notes.append("the learned depth agrees with the floor nowhere: scaled on all pixels below the horizon")
    out = _on_floor(F, m, s * L)
    params.update({"learned_scale": round(s, 6), "floor_fraction": round(float(m.mean()), 5)})
    notes.append(f"{100 * m.mean():.1f} % of pixels are floor (exact depth); the rest is the learned estimate x {s:.4g}")
    return SceneDepth(out.astype(np.float32), "ground_plane", "m", notes, params)


def teacher_to_metric(
    disparity: np.ndarray, camera: Camera | None = None, floor_mask: np.ndarray | None = None, tol: float = 0.15
) -> SceneDepth:
    """Bring a teacher's relative disparity to metres with the floor of a camera.

    Least squares in disparity space (MiDaS alignment, Ranftl et al. TPAMI 2022):
    ``min_{a,b} sum_floor (a d + b - 1/F)^2`` over floor pixels, ``F`` the camera's floor
    depth. The first fit uses the lowest 20 % of the rows that see the floor; 4 more rounds
    refit on the pixels below the horizon (and in ``floor_mask`` when given) whose aligned
    depth agrees with ``F`` within ``clip(3 * 1.4826 * median |Z/F - 1|, 0.02, tol)`` (walls
    and furniture drop out). Depth ``= 1 / (a d + b)`` where ``a d + b > 0``, else 0 (unknown);
    then, as in :func:`ground_plane_scene_depth`, the camera's floor wins: the final floor
    pixels get ``F`` exactly and the rest is clamped to ``F`` below the horizon (the teacher
    only ever was aligned to that floor, so it cannot know it better).

    Args:
        disparity: float ``(H, W)`` relative (affine-invariant) disparity, larger = nearer.
        camera: optional camera at the same size. Without it the disparity is returned as
            is, ``unit="relative_disparity"`` (no metric scale can be had).
        floor_mask: optional bool ``(H, W)`` floor pixels.
        tol: relative agreement for the refinement rounds.
    Returns:
        :class:`SceneDepth` ``source="teacher"``.
    Raises:
        MaskDepthError: shape mismatch, fewer than 10 usable floor pixels, or a fit with a
        negative scale ``a`` (the output grows with distance: a depth, not a disparity).
    """
    d = np.asarray(disparity, np.float64)
    if d.ndim != 2:
        raise MaskDepthError(f"teacher disparity must be (H, W), got shape {d.shape}")
    if camera is None:
        dd = np.where(np.isfinite(d), d, 0.0).astype(np.float32)
        return SceneDepth(
            dd,
            "teacher",
            "relative_disparity",
            ["no camera: the teacher's disparity is relative (unknown scale and shift), not metres"],
            {},
        )
    W, H = camera.image_size
    if d.shape != (H, W):
        raise MaskDepthError(f"teacher disparity is {d.shape[1]}x{d.shape[0]}, the camera {W}x{H}")
    F = camera.floor_depth_map(H, W).astype(np.float64)
    m = (F > 0) & np.isfinite(d)
    if floor_mask is not None:
        m &= np.asarray(floor_mask, bool)
    if m.sum() < 10:
        raise MaskDepthError("cannot align the teacher: fewer than 10 floor pixels")
    m0 = m
    if floor_mask is None:
        seed = _seed_rows(F) & m0
        if seed.sum() >= 10:
            m = seed
    a = b = None
    for _ in range(5):
        A = np.stack([d[m], np.ones(int(m.sum()))], axis=1)
        (a, b), *_ = np.linalg.lstsq(A, 1.0 / F[m], rcond=None)
        if a <= 0:
            raise MaskDepthError(
                f"cannot align the teacher: its fit to the camera's floor has a negative scale ({a:.3g}), so its output grows with "
                "distance (depth, not the disparity expected); refusing to label it metres"
            )
        inv = a * d + b
        with np.errstate(divide="ignore", invalid="ignore"):
            Z = np.where(inv > 0, 1.0 / inv, 0.0)
        rel = np.abs(Z / np.where(F > 0, F, 1) - 1.0)
        m_new = m0 & (rel <= _adaptive_tol(rel[m], tol))
        if m_new.sum() < 10:
            break
        m = m_new
    out = _on_floor(F, m, np.where(np.isfinite(Z) & (Z > 0), Z, 0.0))
    notes = [
        f"teacher disparity aligned to the floor (scale {a:.4g}, shift {b:.4g}); {100 * m.mean():.1f} % of pixels are floor "
        "(the camera's exact depth), the rest the aligned teacher"
    ]
    params = {"scale": float(a), "shift": float(b), "floor_fraction": round(float(m.mean()), 5), "camera": camera.to_json()}
    return SceneDepth(out.astype(np.float32), "teacher", "m", notes, params)


def image_key(bg: np.ndarray) -> str:
    """sha256 (hex) of an image's pixels, shape and dtype."""
    a = np.ascontiguousarray(bg)
    h = hashlib.sha256()
    h.update(f"{a.dtype.str}|{a.shape}|".encode())
    h.update(memoryview(a).cast("B"))  # the same bytes as a.tobytes(), without the copy
    return h.hexdigest()


class SceneDepthCache:
    """A tiny on-disk cache of :class:`SceneDepth` results (one ``.npz`` per entry).

    The key is sha256 of (the background's pixels, shape and dtype; the source; the
    parameters as canonical JSON). The parameters must name by content everything else that
    made the result (file bytes by their sha256, never by name:
    :meth:`~maskdepth.scene.fixed_camera.FixedCamera.cache_params`). Writes are atomic (temp file + ``os.replace``); an
    unreadable entry is treated as a miss.
    """

    def __init__(self, directory) -> None:
        self.dir = Path(directory)

    def key(self, bg: np.ndarray, source: str, params: dict | None = None) -> str:
        """Cache key (hex) of a background, a source name and JSON-serialisable parameters."""
        s = json.dumps({"bg": image_key(bg), "source": source, "params": params or {}}, sort_keys=True, default=str)
        return hashlib.sha256(s.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.dir / f"scene_{key[:32]}.npz"

    def get(self, bg: np.ndarray, source: str, params: dict | None = None) -> SceneDepth | None:
        """The cached result, or ``None``."""
        p = self._path(self.key(bg, source, params))
        if not p.is_file():
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                return SceneDepth(z["depth"].astype(np.float32), meta["source"], meta["unit"], meta["notes"], meta["params"])
        except (OSError, ValueError, KeyError, MaskDepthError):
            return None

    def put(self, bg: np.ndarray, source: str, params: dict | None, scene: SceneDepth) -> Path:
        """Store ``scene``; returns the file written.

        Raises:
            MaskDepthError: the folder is not writable.
        """
        p = self._path(self.key(bg, source, params))
        buf = _io.BytesIO()
        meta = json.dumps({"source": scene.source, "unit": scene.unit, "notes": scene.notes, "params": scene.params}, default=str)
        np.savez_compressed(buf, depth=scene.depth.astype(np.float32), meta=np.array(meta))
        try:
            atomic_write_bytes(p, buf.getvalue())
        except MaskDepthError as e:
            raise MaskDepthError(f"cannot write the scene depth cache {self.dir}: {e}") from None
        return p

    def get_or_compute(self, bg: np.ndarray, source: str, params: dict | None, compute) -> SceneDepth:
        """Cached result, or ``compute()`` stored then returned."""
        hit = self.get(bg, source, params)
        if hit is not None:
            return hit
        sd = compute()
        self.put(bg, source, params, sd)
        return sd
