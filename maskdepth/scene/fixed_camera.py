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
from functools import cached_property

import numpy as np

from ..errors import MaskDepthError
from ..io import resize
from .camera import Camera, load_camera
from .depth_sources import SceneDepth, SceneDepthCache, ground_plane_scene_depth, load_bg_depth, teacher_to_metric
from .objects import SceneObject, compose_depth, label_objects

LearnedDepthFn = Callable[[], np.ndarray]


def _as_camera(camera, size_wh: tuple[int, int]) -> Camera | None:
    if camera is None:
        return None
    cam = camera if isinstance(camera, Camera) else load_camera(os.fspath(camera))
    return cam.scaled_to(*size_wh)


def _as_scene_depth(bg_depth, size_hw: tuple[int, int], unit: str | None = None) -> SceneDepth:
    if isinstance(bg_depth, SceneDepth):
        return bg_depth
    if isinstance(bg_depth, np.ndarray):
        from .depth_sources import DEPTH_UNITS, check_aspect, check_metres, resize_nearest_exact

        if bg_depth.ndim != 2:
            raise MaskDepthError(f"bg depth must be a 2-D array of metres, got shape {bg_depth.shape}")
        if unit is not None and unit not in DEPTH_UNITS:
            raise MaskDepthError(f"unknown depth unit {unit!r} (one of {', '.join(DEPTH_UNITS)})")
        d = np.nan_to_num(bg_depth.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0) * np.float32(DEPTH_UNITS[unit or "m"])
        d = np.where(d > 0, d, 0).astype(np.float32)
        if not (d > 0).any():
            raise MaskDepthError("bg depth has no known pixel (all zero, NaN or negative)")
        check_metres(d, unit, "the bg depth array")
        if d.shape != tuple(size_hw):
            check_aspect(d.shape, tuple(size_hw), "bg depth array")
            d = resize_nearest_exact(d, size_hw)
        return SceneDepth(d, "measured")
    return load_bg_depth(os.fspath(bg_depth), size_hw, unit)


class FixedCamera:
    """Everything known about one fixed camera, and the per-frame geometry on top of it.

    Args:
        bg: uint8 ``(H, W, 3)`` RGB of the empty scene.
        bg_depth: measured depth of the empty scene: a path (uint16 PNG millimetres, float32
            TIFF metres, ``.npy`` metres), a float array in metres, or a :class:`SceneDepth`.
        camera: ``camera.json`` path or a :class:`~maskdepth.scene.camera.Camera`.
        teacher: path of a monocular-depth ONNX model (:class:`maskdepth.data.teacher.OnnxTeacher`).
        cache_dir: folder for computed scene depths; ``None`` = no disk cache (still computed
            once per instance). An entry is keyed by the content of everything that made it
            (:meth:`cache_params`): the bg's pixels and size, the source, the camera's values,
            the teacher model's sha256, the network's weights (sha256) and input size. A
            measured depth is read, not computed: it is never cached.
        bg_depth_unit: ``"mm"`` or ``"m"`` for ``bg_depth`` (``--bg-depth-unit``); ``None`` = the
            format's default (uint16 PNG millimetres, TIFF / ``.npy`` / arrays metres), refusing
            a median above 100 m as millimetres (:func:`~maskdepth.scene.depth_sources.load_bg_depth`).
        join_pieces: the pieces of one upright body are one object (default; ``False``: every mask component,
            ``--keep-pieces``; :func:`~maskdepth.scene.objects.extract_objects`).
        person_detector: a callable ``uint8 (H, W, 3) RGB -> (K, >= 4) boxes`` (``x0, y0, x1, y1`` inclusive pixels
            first; :class:`~maskdepth.inference.detector.PersonDetector`, ``--person-detector``): a mask component that
            two or more of a frame's person boxes lie on is split into one object per person (:meth:`objects` with the
            frame). ``None`` (default): no detector.
    Raises:
        MaskDepthError: unreadable or mismatched depth/camera files (one line).
    """

    def __init__(
        self,
        bg: np.ndarray,
        bg_depth=None,
        camera=None,
        teacher: str | None = None,
        cache_dir: str | None = None,
        bg_depth_unit: str | None = None,
        join_pieces: bool = True,
        person_detector=None,
    ) -> None:
        if bg.ndim != 3 or bg.shape[2] != 3:
            raise MaskDepthError(f"bg: expected RGB (H, W, 3), got shape {bg.shape}")
        self.bg, self.join_pieces = bg, bool(join_pieces)
        if person_detector is not None and not callable(person_detector):
            raise MaskDepthError(f"person_detector must be callable (got {type(person_detector).__name__})")
        self.person_detector = person_detector
        h, w = bg.shape[:2]
        self.camera = _as_camera(camera, (w, h))
        self._measured = None if bg_depth is None else _as_scene_depth(bg_depth, (h, w), bg_depth_unit)
        self.teacher = teacher
        self.cache = SceneDepthCache(cache_dir) if cache_dir else None
        self._teacher_sha: tuple[str, str] | None = None
        self._scene: SceneDepth | None = None
        self._learned_bg: dict[str, np.ndarray] = {}
        self._resized: dict[tuple[int, int], np.ndarray] = {}

    def resized_bg(self, size_hw: tuple[int, int]) -> np.ndarray:
        """The bg resized to ``size_hw`` (:func:`maskdepth.io.resize`: area when shrinking), made once per size
        and kept (the network's input is the same for every frame of this camera)."""
        if size_hw not in self._resized:
            self._resized[size_hw] = resize(self.bg, size_hw)
        return self._resized[size_hw]

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
            learned_key: identity of the network behind ``learned_bg_depth`` (its weights'
                sha256 and input size, :attr:`maskdepth.inference.predictor.Predictor.key`): part of the disk
                cache key of the ``ground_plane`` source; without it that source is not cached.
        Raises:
            MaskDepthError: ``learned`` or ``ground_plane`` without ``learned_bg_depth``
                when it is needed; teacher failures.
        """
        if self._scene is None:
            compute = self._recipe(learned_bg_depth)
            params = self.cache_params(learned_key) if self.cache is not None else None
            self._scene = compute() if params is None else self.cache.get_or_compute(self.bg, self.source, params, compute)
        return self._scene

    def cache_params(self, learned_key: str | None = None) -> dict | None:
        """What makes this camera's scene depth, by content, for the disk cache key (with the bg's pixels and
        the source, :meth:`SceneDepthCache.key`): the image size, the camera's values, the teacher model
        file's sha256 (``teacher``), the network's identity ``learned_key`` (``ground_plane``).

        Returns:
            a JSON-serialisable dict, or ``None`` when the scene depth is not cached: ``measured`` (read,
            not computed), ``learned`` (the network's own output), ``ground_plane`` without a ``learned_key``.
        Raises:
            MaskDepthError: the teacher model is missing.
        """
        src, (h, w) = self.source, self.bg.shape[:2]
        if src in ("measured", "learned") or (src == "ground_plane" and learned_key is None):
            return None
        params: dict = {"size": [w, h], "camera": None if self.camera is None else self.camera.to_json()}
        if src == "teacher":
            params["teacher_sha256"] = self._teacher_file()[1]
        else:
            params["network"] = learned_key
        return params

    def _teacher_file(self) -> tuple[str, str]:
        """``(path, sha256)`` of the teacher's ONNX file (a path, or a downloaded registry name), hashed once."""
        if self._teacher_sha is None:
            from ..data.teacher import resolve_teacher
            from ..io import file_sha256

            path = resolve_teacher(self.teacher)
            self._teacher_sha = (path, file_sha256(path))
        return self._teacher_sha

    def _recipe(self, learned_bg_depth: LearnedDepthFn | None) -> Callable[[], SceneDepth]:
        src, cam = self.source, self.camera

        def learned() -> np.ndarray:
            if learned_bg_depth is None:
                raise MaskDepthError(f"the {src} scene depth needs the network's estimate of the bg")
            return np.asarray(learned_bg_depth(), np.float32)

        if src == "measured":
            return lambda: self._measured
        if src == "teacher":
            return lambda: self._teacher_depth(cam)
        if src == "ground_plane":
            return lambda: ground_plane_scene_depth(cam, learned())
        return lambda: SceneDepth(learned(), "learned", notes=["the network's own estimate (no measured depth, camera or teacher)"])

    def _teacher_depth(self, cam: Camera | None) -> SceneDepth:
        from ..data.teacher import OnnxTeacher

        path, sha = self._teacher_file()
        sd = teacher_to_metric(OnnxTeacher(path).disparity(self.bg), cam)
        sd.params.update({"teacher": os.path.basename(path), "teacher_sha256": sha})
        return sd

    def objects(
        self,
        mask: np.ndarray,
        learned_depth: LearnedDepthFn,
        learned_bg_depth: LearnedDepthFn | None = None,
        learned_key: str | None = None,
        frame: np.ndarray | None = None,
    ) -> FrameObjects:
        """The objects of one frame on this camera's scene depth, the frame's depth left to compose.

        Args:
            mask: bool ``(H, W)`` foreground of the frame (at the bg's size).
            frame: uint8 ``(H, W, 3)`` RGB, the frame itself: the person detector's input, when the camera has one
                (run only when the mask has foreground).
            learned_depth: a callable giving float32 ``(H, W)`` the network's depth of the frame
                in metres; called only when needed (the ``learned`` source without ``learned_bg_depth``,
                a relative teacher, or when the depth is composed).
            learned_bg_depth, learned_key: see :meth:`scene_depth`.
        Returns: :class:`FrameObjects` (objects measured now; :attr:`FrameObjects.depth` is composed when first read).
        Raises: MaskDepthError for a mask of another size than the bg.
        """
        if mask.shape != self.bg.shape[:2]:
            raise MaskDepthError(f"mask {mask.shape} must have the bg's size {self.bg.shape[:2]}")
        if learned_bg_depth is None and self.source in ("ground_plane", "learned"):
            scene = self._recipe(lambda: _checked(learned_depth(), self.bg.shape[:2]))()  # this frame's, not cached
        else:
            scene = self.scene_depth(learned_bg_depth, learned_key)
        if not scene.metric:  # a teacher without a camera: relative only; metres come from the network
            scene = SceneDepth(
                np.asarray(_checked(learned_depth(), self.bg.shape[:2]), np.float32),
                "learned",
                notes=["teacher depth is relative without --camera", *scene.notes],
            )
        boxes = None
        if self.person_detector is not None and frame is not None and mask.any():  # nothing to split on an empty mask
            boxes = np.asarray(self.person_detector(frame))[:, :4]
        objects, labels = label_objects(
            mask, scene, self.camera, scene_source=scene.source, join_pieces=self.join_pieces, person_boxes=boxes
        )
        return FrameObjects(objects, labels, scene, self.camera, mask, learned_depth)


def _checked(depth: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    if depth.shape != hw:
        raise MaskDepthError(f"depth {depth.shape} must have the bg's size {hw}")
    return depth


@dataclass
class FrameObjects:
    """One frame's objects on a fixed camera's scene, with what composing its depth needs.

    Attributes:
        objects: :class:`~maskdepth.scene.objects.SceneObject` list (ids 1..n).
        labels: int32 ``(H, W)`` component labels (0 = background).
        scene: the empty scene's :class:`~maskdepth.scene.depth_sources.SceneDepth` used.
        camera: the camera, or ``None``.
        mask: bool ``(H, W)`` the frame's foreground.
        learned_depth: callable giving the network's float32 ``(H, W)`` depth of the frame (metres).
    """

    objects: list[SceneObject]
    labels: np.ndarray
    scene: SceneDepth
    camera: Camera | None
    mask: np.ndarray
    learned_depth: LearnedDepthFn

    @cached_property
    def depth(self) -> np.ndarray:
        """float32 ``(H, W)`` metres, 0 = unknown: the scene with each object on top (composed on first read)
        (:func:`~maskdepth.scene.objects.compose_depth`, the network's depth for objects without a contact).
        Raises: MaskDepthError for a learned depth of another size."""
        fallback = _checked(self.learned_depth(), self.mask.shape)
        depth = compose_depth(self.scene, self.mask, self.objects, self.camera, labels=self.labels, fallback_depth=fallback)
        return depth.astype(np.float32)


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
