"""Depth for a fixed camera (issue 12): scene depth once per camera, ground-plane geometry,
calibration, and the distance of every object that enters the scene.

Modules: :mod:`.camera` (``camera.json``, floor depth, projection), :mod:`.sources`
(measured / ground-plane / teacher scene depth, cache), :mod:`.objects` (components,
contact points, distances, composed depth, ``objects.json``), :mod:`.tracker` (stable ids,
id switches), :mod:`.calibrate` (horizon and height from people or from a measured depth),
:mod:`.floor_points` (the camera from a few floor points with known metres), :mod:`.pieces` (the pieces of
one upright body, joined into one object), :mod:`.tracking` (the adopted ByteTrack tracker) and :mod:`.appearance`
(the colour descriptor it tells people apart by).
numpy + OpenCV only (no torch).
"""

from .calibrate.floor import FloorPointsFit, fit_camera_from_floor_points, parse_floor_points
from .calibrate.people import (
    CalibrationResult,
    fit_camera_from_depth,
    fit_camera_from_people,
    head_pixels,
    head_rows,
    observations_from_objects,
    synthetic_people,
)
from .camera import Camera, camera_from_pitch, load_camera, save_camera
from .depth_sources import SOURCES, SceneDepth, SceneDepthCache, ground_plane_scene_depth, load_bg_depth, teacher_to_metric
from .objects import SceneObject, compose_depth, extract_objects, label_objects, objects_json
from .tracker import Tracker, box_iou, id_switches

__all__ = [
    "Camera",
    "camera_from_pitch",
    "load_camera",
    "save_camera",
    "SceneDepth",
    "SceneDepthCache",
    "SOURCES",
    "load_bg_depth",
    "ground_plane_scene_depth",
    "teacher_to_metric",
    "SceneObject",
    "extract_objects",
    "label_objects",
    "compose_depth",
    "objects_json",
    "Tracker",
    "box_iou",
    "id_switches",
    "CalibrationResult",
    "fit_camera_from_people",
    "fit_camera_from_depth",
    "synthetic_people",
    "head_rows",
    "head_pixels",
    "observations_from_objects",
    "FloorPointsFit",
    "fit_camera_from_floor_points",
    "parse_floor_points",
]
