"""The one path from a frame to its objects: ``run_frame(predictor, frame, bg=..., scene=...)`` → :class:`FrameResult`.

Every front end (``maskdepth predict``, the Python API, video, the web server, ``calibrate`` and
``watch``) composes the same pieces, as supervision's one ``Detections`` type flows through its
annotators and zones:

1. the network on the pair (:meth:`Predictor.predict <maskdepth.inference.predictor.Predictor.predict>`:
   mask and probability at the frame's resolution; its own depth upsampled only when read);
2. the objects: connected components measured on the fixed camera's scene depth
   (:meth:`FixedCamera.objects <maskdepth.scene.fixed_camera.FixedCamera.objects>`), or on the network's
   depth of the frame when there is no scene (``depth_source="learned"``), computed on first access;
3. the frame's full-resolution depth (the scene with each object on a vertical plane at its contact
   point, :func:`~maskdepth.scene.objects.compose_depth`), composed on first access only.

A caller that wants only the mask pays for the network; one that wants the objects pays for the
components too; only outputs that need depth (``depth.png``, the colourised depth, the server's
picture) compose it. The numbers are the same whichever is read first.
"""

from __future__ import annotations

import numpy as np

from ..errors import MaskDepthError
from ..scene import SceneDepth, SceneObject, extract_objects, objects_json
from ..scene.fixed_camera import FixedCamera, FrameObjects
from ..viz import colorize_depth
from .predictor import Prediction, Predictor, content_size, learned_bg_depth_fn

__all__ = ["FrameResult", "frame_result", "network_on_scene", "run_frame"]


class FrameResult:
    """Everything maskdepth says about one frame, at the frame's resolution ``(H, W)``.

    Attributes:
        mask: ``bool (H, W)`` foreground.
        prob: ``float32 (H, W)`` foreground probability in [0, 1].
        objects: one :class:`~maskdepth.scene.objects.SceneObject` per connected foreground
            component (id, bbox, contact point, ``distance_m``, ``height_m``, ``depth_source``); measured
            on first access.
        depth: ``float32 (H, W)`` metres. With a scene: the empty scene's depth with each object on top,
            **0 = unknown** (holes of a measured depth are never invented); without: the network's own
            estimate (> 0 everywhere, absolute scale approximate). Composed on first access.
        depth_unit: ``"m"``.
        depth_source: ``"measured" | "ground_plane" | "teacher" | "learned"``: what made the scene part
            of :attr:`depth` (objects carry their own).
        network: the :class:`~maskdepth.inference.predictor.Prediction` it was made from.
    """

    depth_unit = "m"

    def __init__(self, network: Prediction, scene: FixedCamera | None = None, learned_bg_depth=None, learned_key=None, image=None):
        self.network, self.mask, self.prob = network, network.mask, network.prob
        self._scene, self._bg_depth_fn, self._key, self._image = scene, learned_bg_depth, learned_key, image
        self._frame: FrameObjects | None = None
        self._objects: list[SceneObject] | None = None
        self._depth: np.ndarray | None = None

    def _frame_objects(self) -> FrameObjects:
        if self._frame is None:
            self._frame = self._scene.objects(self.mask, lambda: self.network.depth, self._bg_depth_fn, self._key, frame=self._image)
        return self._frame

    @property
    def objects(self) -> list[SceneObject]:
        """See the class docstring."""
        if self._objects is None:
            if self._scene is None:
                self._objects = extract_objects(self.mask, SceneDepth(self.network.depth, "learned"), None)
            else:
                self._objects = self._frame_objects().objects
        return self._objects

    @property
    def labels(self) -> np.ndarray | None:
        """``int32 (H, W)`` the component labels :attr:`objects`' ``label`` refers to (0 = background), on a fixed
        camera; ``None`` without one."""
        return None if self._scene is None else self._frame_objects().labels

    @property
    def depth(self) -> np.ndarray:
        """See the class docstring."""
        if self._depth is None:
            self._depth = self.network.depth if self._scene is None else self._frame_objects().depth
        return self._depth

    @property
    def depth_source(self) -> str:
        """See the class docstring."""
        return "learned" if self._scene is None else self._frame_objects().scene.source

    @property
    def scene_depth(self) -> SceneDepth | None:
        """The empty scene's :class:`~maskdepth.scene.depth_sources.SceneDepth` the objects stand on
        (``None`` without a fixed camera)."""
        return None if self._scene is None else self._frame_objects().scene

    def depth_json(self) -> dict:
        """``depth_source``, the empty scene's summary and the camera used (``scene`` and ``camera`` are
        ``null`` for the network's own estimate): the fields ``depth.json`` adds about the source."""
        if self._scene is None:
            return {"depth_source": "learned", "scene": None, "camera": None}
        fo = self._frame_objects()
        return {"depth_source": fo.scene.source, "scene": fo.scene.to_json(), "camera": None if fo.camera is None else fo.camera.to_json()}

    def objects_json(self) -> dict:
        """``objects.json`` of this frame (:func:`maskdepth.scene.objects_json`)."""
        return objects_json(self.objects, (self.mask.shape[1], self.mask.shape[0]))

    def to_color(self, vmin: float | None = None, vmax: float | None = None) -> np.ndarray:
        """Colourised :attr:`depth`, ``uint8 (H, W, 3)`` (magma, near = bright, unknown = black; the range
        defaults to :func:`maskdepth.viz.depth_display_range`)."""
        return colorize_depth(self.depth, vmin, vmax)

    def __repr__(self) -> str:
        H, W = self.mask.shape
        return f"FrameResult(size={W}x{H}, mask_fraction={float(self.mask.mean()):.4f}, scene={self._scene is not None})"


def run_frame(predictor, frame: np.ndarray, bg: np.ndarray | None = None, scene: FixedCamera | None = None) -> FrameResult:
    """One frame → :class:`FrameResult`: the network, then (lazily) objects and depth.

    Args:
        predictor: a :class:`~maskdepth.inference.predictor.Predictor` (anything with ``predict(bg, frame)``
            returning a :class:`~maskdepth.inference.predictor.Prediction`, and optionally ``key``).
        frame: ``uint8 (H, W, 3)`` RGB, the scene with its foreground (``fg_bg``).
        bg: ``uint8 (h, w, 3)`` RGB empty scene (resized to the frame when the aspect agrees within 5 %,
            with a warning); may be omitted when ``scene`` is given (``scene.bg`` is used).
        scene: the fixed camera's :class:`~maskdepth.scene.fixed_camera.FixedCamera` at the frame's size,
            or ``None`` (objects and depth from the network's own depth of the frame).
    Returns: :class:`FrameResult` at ``(H, W)``.
    Raises:
        MaskDepthError: neither ``bg`` nor ``scene``; a ``scene`` of another size than the frame; unusable
            images (:func:`~maskdepth.inference.predictor.check_pair`); bad scene sources (when the objects
            or the depth are first read).
    """
    if scene is None:
        if bg is None:
            raise MaskDepthError("give bg or scene", param="bg")
        return FrameResult(predictor.predict(bg, frame))
    if scene.bg.shape != frame.shape:
        raise MaskDepthError(
            f"the fixed camera's bg is {scene.bg.shape[1]}x{scene.bg.shape[0]} but the image is {frame.shape[1]}x{frame.shape[0]}",
            param="scene",
        )
    return frame_result(network_on_scene(predictor, frame, scene, bg), scene, predictor, frame)


def _same_pixels(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` is ``b``, or holds the same pixels (a caller's copy of the camera's bg: its small copy still applies)."""
    return a is b or (a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b))


def network_on_scene(predictor, frame: np.ndarray, scene: FixedCamera, bg: np.ndarray | None = None) -> Prediction:
    """The network's :class:`~maskdepth.inference.predictor.Prediction` of ``frame`` on a fixed camera (step 1
    of :func:`run_frame`): ``predictor.predict(bg, frame)`` with ``bg`` = ``scene.bg`` unless given (another
    size is resized, with a warning, as ``scene.bg`` was); a :class:`Predictor` gets the camera's bg already at
    the network's size (:meth:`FixedCamera.resized_bg`, kept between frames). Raises what ``predict`` raises."""
    bg = scene.bg if bg is None else bg
    if isinstance(predictor, Predictor) and _same_pixels(bg, scene.bg):
        return predictor.predict(bg, frame, bg_small=scene.resized_bg(content_size(*frame.shape[:2], predictor.size)))
    return predictor.predict(bg, frame)


def frame_result(network: Prediction, scene: FixedCamera, predictor, frame: np.ndarray | None = None) -> FrameResult:
    """The rest of :func:`run_frame` for a network prediction already made, on a fixed camera (a video
    smooths the network's probability over time first: its mask is then the smoothed probability
    thresholded, and the objects are measured on it; :mod:`maskdepth.video.convert`).

    Args:
        network: a :class:`~maskdepth.inference.predictor.Prediction` (``mask``, ``prob``, ``depth``)
            at the scene's size ``(H, W)``.
        scene: the fixed camera's :class:`~maskdepth.scene.fixed_camera.FixedCamera`.
        predictor: the model that made ``network``: its depth of the empty scene is predicted once, when
            the scene source needs it (:func:`~maskdepth.inference.predictor.learned_bg_depth_fn`).
        frame: the ``uint8 (H, W, 3)`` RGB frame itself, for the scene's person detector (without it, or without a
            detector, the mask's components are the objects).
    Returns: :class:`FrameResult` with its objects measured now.
    Raises: MaskDepthError: a mask of another size than the scene's bg; bad scene sources.
    """
    result = FrameResult(network, scene, learned_bg_depth_fn(predictor, scene), getattr(predictor, "key", None), frame)
    result.objects  # noqa: B018  (measured now: a bad scene source fails here, not when an output is written)
    return result
