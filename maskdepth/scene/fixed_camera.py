"""One fixed camera: its empty scene's depth (once, cached) and, per frame, the objects on top of it.

The depth of the empty scene comes from the best source the user has, chosen per camera:

========  ==================================  =============================================
source    given                               scene depth
========  ==================================  =============================================
measured  ``bg_depth`` (RGB-D, LiDAR, CAD)    the file, resized nearest-exact; 0 = unknown
teacher   ``teacher`` (+ ``camera``)          teacher disparity of the bg, brought to metres
                                              on the camera's floor (relative without one)
ground    ``camera``                          floor pixels exact; the rest the learned depth
_plane                                        of the bg scaled to agree with the floor
learned   nothing                             the network's own estimate (the fallback)
========  ==================================  =============================================

Every frame: connected components of the mask stand upright on the floor at their contact
point (:func:`~maskdepth.scene.objects.extract_objects`), their depth is a vertical plane
through it, and the scene wins where it is nearer (:func:`~maskdepth.scene.objects.compose_depth`).
numpy + OpenCV only: the network's estimates are passed in (``learned_bg_depth``), so this
module never imports the model.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import MaskDepthError
from .camera import Camera, load_camera
from .objects import SceneObject, compose_depth, extract_objects
from .sources import SceneDepth, SceneDepthCache, ground_plane_scene_depth, load_bg_depth, teacher_to_metric

LearnedDepthFn = Callable[[], np.ndarray]


@dataclass
class FrameDepth:
    """The answer for one frame of a fixed camera.

    Attributes:
        depth: float32 ``(H, W)`` metres, 0 = unknown (never invented for a measured scene).
        depth_source: ``"measured" | "ground_plane" | "teacher" | "learned"``: what made
            the scene part of :attr:`depth` (objects carry their own ``depth_source``).
        objects: the frame's :class:`~maskdepth.scene.objects.SceneObject` list (ids 1..n,
            or the tracker's ids once it ran).
        scene: the empty scene's :class:`~maskdepth.scene.sources.SceneDepth`.
        camera: the camera used (scaled to the frame), or ``None``.
    """

    depth: np.ndarray
    depth_source: str
    objects: list[SceneObject]
    scene: SceneDepth
    camera: Camera | None

    def depth_json(self) -> dict:
        """The fields ``depth.json`` adds about the source: ``depth_source``, the scene summary, the camera."""
        return {
            "depth_source": self.depth_source,
            "scene": self.scene.to_json(),
            "camera": None if self.camera is None else self.camera.to_json(),
        }


def _as_camera(camera, size_wh: tuple[int, int]) -> Camera | None:
    if camera is None:
        return None
    cam = camera if isinstance(camera, Camera) else load_camera(os.fspath(camera))
    return cam.scaled_to(*size_wh)


def _as_scene_depth(bg_depth, size_hw: tuple[int, int]) -> SceneDepth:
    if isinstance(bg_depth, SceneDepth):
        return bg_depth
    if isinstance(bg_depth, np.ndarray):
        from .sources import check_aspect, resize_nearest_exact

        if bg_depth.ndim != 2:
            raise MaskDepthError(f"bg depth must be a 2-D array of metres, got shape {bg_depth.shape}")
        d = np.nan_to_num(bg_depth.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        d = np.where(d > 0, d, 0).astype(np.float32)
        if not (d > 0).any():
            raise MaskDepthError("bg depth has no known pixel (all zero, NaN or negative)")
        if d.shape != tuple(size_hw):
            check_aspect(d.shape, tuple(size_hw), "bg depth array")
            d = resize_nearest_exact(d, size_hw)
        return SceneDepth(d, "measured")
    return load_bg_depth(os.fspath(bg_depth), size_hw)


class FixedCamera:
    """Everything known about one fixed camera, and the per-frame geometry on top of it.

    Args:
        bg: uint8 ``(H, W, 3)`` RGB of the empty scene.
        bg_depth: measured depth of the empty scene: a path (uint16 PNG millimetres, float32
            TIFF metres, ``.npy`` metres), a float array in metres, or a :class:`SceneDepth`.
        camera: ``camera.json`` path or a :class:`~maskdepth.scene.camera.Camera`.
        teacher: path of a monocular-depth ONNX model (:class:`maskdepth.data.teacher.OnnxTeacher`).
        cache_dir: folder for computed scene depths (keyed by the bg's pixels, the source and
            its parameters); ``None`` = no disk cache (still computed once per instance).
    Raises:
        MaskDepthError: unreadable or mismatched depth/camera files (one line).
    """

    def __init__(self, bg: np.ndarray, bg_depth=None, camera=None, teacher: str | None = None, cache_dir: str | None = None) -> None:
        if bg.ndim != 3 or bg.shape[2] != 3:
            raise MaskDepthError(f"bg: expected RGB (H, W, 3), got shape {bg.shape}")
        self.bg = bg
        h, w = bg.shape[:2]
        self.camera = _as_camera(camera, (w, h))
        self._measured = None if bg_depth is None else _as_scene_depth(bg_depth, (h, w))
        self.teacher = teacher
        self.cache = SceneDepthCache(cache_dir) if cache_dir else None
        self._scene: SceneDepth | None = None
        self._learned_bg: dict[str, np.ndarray] = {}

    def learned_bg_depth(self, key: str, compute: LearnedDepthFn) -> LearnedDepthFn:
        """A :data:`LearnedDepthFn` returning ``compute()`` (the network's float32 ``(H, W)``
        metres for the pair (bg, bg)), computed on first call and kept on this camera under
        ``key`` (the model's identity), so a camera used for many frames runs it once."""

        def get() -> np.ndarray:
            if key not in self._learned_bg:
                self._learned_bg[key] = np.asarray(compute(), np.float32)
            return self._learned_bg[key]

        return get

    @property
    def source(self) -> str:
        """The scene depth source this camera uses (see the module docstring)."""
        if self._measured is not None:
            return "measured"
        if self.teacher is not None:
            return "teacher"
        return "ground_plane" if self.camera is not None else "learned"

    def scene_depth(self, learned_bg_depth: LearnedDepthFn | None = None, learned_key: str | None = None) -> SceneDepth:
        """The empty scene's depth, computed on first use and cached.

        Args:
            learned_bg_depth: returns the network's float32 ``(H, W)`` metres for the bg
                (used by ``ground_plane`` and ``learned``; called at most once).
            learned_key: identity of the network behind ``learned_bg_depth`` (part of the
                disk cache key of the ``ground_plane`` source, so another model recomputes).
        Raises:
            MaskDepthError: ``learned`` or ``ground_plane`` without ``learned_bg_depth``
                when it is needed; teacher failures.
        """
        if self._scene is None:
            compute, params = self._recipe(learned_bg_depth)
            if self.source == "ground_plane":
                params["learned"] = learned_key
            if self.cache is not None and self.source != "learned":
                self._scene = self.cache.get_or_compute(self.bg, self.source, params, compute)
            else:
                self._scene = compute()
        return self._scene

    def _recipe(self, learned_bg_depth: LearnedDepthFn | None):
        src, cam = self.source, self.camera
        params = {
            "camera": None if cam is None else cam.to_json(),
            "teacher": None if self.teacher is None else os.path.basename(self.teacher),
        }

        def learned() -> np.ndarray:
            if learned_bg_depth is None:
                raise MaskDepthError(f"the {src} scene depth needs the network's estimate of the bg")
            return np.asarray(learned_bg_depth(), np.float32)

        if src == "measured":
            return (lambda: self._measured), params
        if src == "teacher":
            return (lambda: self._teacher_depth(cam)), params
        if src == "ground_plane":
            return (lambda: ground_plane_scene_depth(cam, learned())), params
        return (
            lambda: SceneDepth(learned(), "learned", notes=["the network's own estimate (no measured depth, camera or teacher)"])
        ), params

    def _teacher_depth(self, cam: Camera | None) -> SceneDepth:
        from ..data.teacher import OnnxTeacher

        disparity = OnnxTeacher(self.teacher).disparity(self.bg)
        return teacher_to_metric(disparity, cam)

    def measure(
        self, mask: np.ndarray, learned_depth: np.ndarray, learned_bg_depth: LearnedDepthFn | None = None, learned_key: str | None = None
    ) -> FrameDepth:
        """Depth and objects of one frame.

        Args:
            mask: bool ``(H, W)`` foreground of the frame (at the bg's size).
            learned_depth: float32 ``(H, W)`` the network's depth of the frame, metres (used
                for the ``learned`` source, and for objects whose contact point is unknown).
            learned_bg_depth, learned_key: see :meth:`scene_depth`.
        Returns: :class:`FrameDepth`.
        Raises: MaskDepthError for shapes that differ from the bg's.
        """
        if mask.shape != self.bg.shape[:2] or learned_depth.shape != self.bg.shape[:2]:
            raise MaskDepthError(f"mask {mask.shape} and depth {learned_depth.shape} must have the bg's size {self.bg.shape[:2]}")
        if learned_bg_depth is None and self.source in ("ground_plane", "learned"):
            scene = self._recipe(lambda: learned_depth)[0]()  # no estimate of the empty scene: this frame's, not cached
        else:
            scene = self.scene_depth(learned_bg_depth, learned_key)
        if not scene.metric:  # a teacher without a camera: relative only; metres come from the network
            scene = SceneDepth(
                np.asarray(learned_depth, np.float32), "learned", notes=["teacher depth is relative without --camera", *scene.notes]
            )
        objects, labels = extract_objects(mask, scene, self.camera, scene_source=scene.source, return_labels=True)
        depth = compose_depth(scene, mask, objects, self.camera, labels=labels, fallback_depth=learned_depth)
        return FrameDepth(depth.astype(np.float32), scene.source, objects, scene, self.camera)


class RecentCameras:
    """The last ``size`` :class:`FixedCamera` objects by key (least recently used dropped first), so a
    caller that sees the same camera again (the API's ``Model.predict``, the web server) reuses its
    scene depth and the network's depth of its empty scene instead of recomputing them.

    Args:
        size: how many cameras are kept (>= 1).
    Raises:
        ValueError: ``size < 1``.
    """

    def __init__(self, size: int = 4):
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.size = int(size)
        self._items: dict = {}

    def get(self, key, make: Callable[[], FixedCamera]) -> FixedCamera:
        """The camera kept under ``key`` (any hashable), else ``make()``'s (then kept); either becomes the most recent."""
        fc = self._items.pop(key, None)
        if fc is None:
            fc = make()
        self._items[key] = fc  # most recent last
        while len(self._items) > self.size:
            self._items.pop(next(iter(self._items)))
        return fc

    def __len__(self) -> int:
        return len(self._items)
