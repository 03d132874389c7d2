"""Settings of inference, declared once (fields → flags, YAML keys, ``config show``; see :mod:`maskdepth.config`).

:class:`ModelConfig` (which model runs, and how) and :class:`SceneConfig` (what is known about the fixed
camera's empty scene) are shared by every command that runs the model on frames (``predict``, video,
``watch``, ``calibrate``, ``serve``); :class:`TrackConfig` (how objects are tracked) by video and ``watch``;
:class:`PredictConfig` adds the pair/folder options of ``maskdepth predict``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..config import option

REFINE_CHOICES = ("auto", "none", "guided")  # "auto" + maskdepth.inference.refine.REFINERS (not imported here: OpenCV at import)
REFINE_HELP = (
    "how the coarse mask reaches the input resolution: auto (default: the validated default refiner), none (bilinear "
    "upsampling), guided (fast guided filter guided by the full-resolution frame, in the uncertain band only)"
)


@dataclass
class ModelConfig:
    """Which model runs and how (:func:`maskdepth.inference.predictor.load_predictor`)."""

    checkpoint: str | None = option(None, "model checkpoint or .onnx file (default: the shipped model)")
    size: int | None = option(None, "short side fed to the network (default: the checkpoint's training size)")
    backend: str = option("auto", "auto: onnx for a .onnx checkpoint and the shipped model, else torch", choices=("auto", "torch", "onnx"))
    refine: str = option("auto", REFINE_HELP, choices=REFINE_CHOICES)


@dataclass
class SceneConfig:
    """What is known about the fixed camera's empty scene (:class:`maskdepth.scene.fixed_camera.FixedCamera`)."""

    bg_depth: str | None = option(
        None,
        "measured depth of the empty scene (RGB-D, LiDAR, stereo, CAD): uint16 PNG millimetres, float32 TIFF "
        "metres or .npy metres, 0 = unknown; resized to the bg nearest-exact (same aspect ratio within 1 %)",
        metavar="FILE",
    )
    bg_depth_unit: str | None = option(
        None,
        "unit of the bg depth's values (default: the format's, PNG mm, TIFF/.npy m; then a median above 100 m is refused as millimetres)",
        choices=("mm", "m"),
    )
    camera: str | None = option(
        None,
        "camera.json (focal_px, cx, cy, horizon_y, camera_height_m, image_size): exact floor depth, the rest scaled to the "
        "floor (written by hand or by `maskdepth calibrate`)",
        metavar="FILE",
    )
    teacher: str | None = option(
        None, "monocular-depth ONNX model run once on the bg; metres from the floor of the camera, else relative", metavar="MODEL.onnx"
    )
    keep_pieces: bool = option(
        False,
        "keep every mask component an object of its own (default: components stacked one above the other with a small gap, "
        "the pieces of one person, are one object; without --camera that also joins vehicles one behind another in a lane)",
    )
    person_detector: str | None = option(
        None,
        "a person detector in ONNX (a YOLOv8 / YOLOv5 export, COCO class 0 = person; none ships with maskdepth): a mask "
        "component that two or more of its boxes lie on is split into one object per person (results/events_per_person.md)",
        metavar="MODEL.onnx",
    )

    def fixed_camera_settings(self) -> dict:
        """The :class:`~maskdepth.scene.fixed_camera.FixedCamera` keyword arguments these options give (besides the bg
        and a cache folder); the person detector loaded (once per file). Raises: MaskDepthError for a bad detector."""
        from .detector import load_person_detector

        return {
            "bg_depth": self.bg_depth,
            "camera": self.camera,
            "teacher": None if self.teacher is None else os.fspath(self.teacher),
            "bg_depth_unit": self.bg_depth_unit,
            "join_pieces": not self.keep_pieces,
            "person_detector": None if self.person_detector is None else load_person_detector(self.person_detector),
        }


@dataclass
class TrackConfig:
    """How the objects of a stream of frames are tracked (``predict --video``, ``watch``):
    :func:`maskdepth.scene.tracking.make_tracker`."""

    track_colour: bool = option(
        True,
        "the tracker tells people apart by their clothes' colours where they meet or part (results/events_appearance.md); "
        "--no-track-colour: by position alone (on the real clips with classical masks the colours lowered IDF1 on 3 of 5, "
        "results/events.md)",
    )

    def tracker_settings(self) -> dict:
        """The :func:`~maskdepth.scene.tracking.make_tracker` settings these options give (empty: its defaults)."""
        return {} if self.track_colour else {"appearance_w": 0.0, "appearance_relink": None}


@dataclass
class PredictConfig(ModelConfig, SceneConfig):
    """``maskdepth predict`` on a pair of files, a bg and a folder of images, or two folders paired by name
    (:func:`maskdepth.inference.files.run_predict`)."""

    bg: str | None = option(None, "background image (or a folder of backgrounds matched by file name)")
    image: str | None = option(None, "image with the foreground (or a folder of images)")
    out: str = option("prediction", "output folder")
    cache_dir: str | None = option(
        None, "keep computed scene depths here across runs (keyed by the content of their inputs)", metavar="DIR"
    )
    json: bool = option(False, "print a JSON record per pair")
    quiet: bool = option(False, "no progress bar")
