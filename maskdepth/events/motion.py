"""Motion in metres: where on the floor each tracked object stands, how fast it goes, which way, how big it is.

Floor coordinates (issue 21): origin on the floor below the camera's optical centre, **x** to the
right, **y** forward along the floor (the optical axis projected on the floor), metres. With a
:class:`~maskdepth.scene.camera.Camera` a pixel on the floor maps there exactly (ray-plane
intersection, :meth:`Camera.floor_point`); with only a measured distance and pinhole intrinsics
``(f, cx, cy)`` the camera is taken as level (pitch and roll 0): ``x = Z (u - cx) / f``, ``y = Z``.

Speed: least-squares line fit of ``x(t)`` and ``y(t)`` over the last ``window_s`` seconds of a track
(about one second), ``speed = |(dx/dt, dy/dt)|``; ``None`` until the window holds ``min_frames``
positions spanning at least half of ``window_s``. The fit's slope is the minimum-variance
unbiased velocity for a constant-velocity path in white position noise (ordinary least squares,
Gauss-Markov); over a 1 s window at 25 frames/s it divides the contact point's jitter by about 5.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..scene.camera import Camera


def floor_basis(camera: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(origin, right, forward)``, each float64 ``(3,)`` in camera coordinates (metres / unit vectors):
    the floor point below the camera ``-Hc up``, ``forward`` = the optical axis projected on the
    floor (:meth:`Camera.forward_horizontal`), ``right = forward x up``."""
    up = camera.up_vector()
    fwd = camera.forward_horizontal()
    right = np.cross(fwd, up)
    return -camera.camera_height_m * up, right / np.linalg.norm(right), fwd


def floor_xy(camera: Camera, u: float, v: float) -> tuple[float, float] | None:
    """Floor coordinates (metres) of the floor point seen at pixel ``(u, v)``, or ``None`` at or above the horizon."""
    P = camera.floor_point(u, v)
    if not np.all(np.isfinite(P)):
        return None
    o, r, f = floor_basis(camera)
    return (float((P - o) @ r), float((P - o) @ f))


def floor_to_px(camera: Camera, xy) -> np.ndarray:
    """Pixel(s) ``(u, v)`` of floor point(s) ``xy`` (metres, ``(..., 2)``); NaN behind the camera. float64 ``(..., 2)``."""
    xy = np.asarray(xy, np.float64)
    o, r, f = floor_basis(camera)
    P = o + xy[..., :1] * r + xy[..., 1:2] * f
    return camera.project(P)


def point_floor_xy(point_cam) -> tuple[float, float]:
    """Floor coordinates of a camera-frame point for a level camera (``x = X``, ``y = Z``)."""
    return (float(point_cam[0]), float(point_cam[2]))


@dataclass
class Intrinsics:
    """Pinhole intrinsics for positions from a measured distance without a camera.json: ``f`` and ``(cx, cy)`` in pixels."""

    focal_px: float
    cx: float
    cy: float


def contact_point(obj) -> tuple[float, float] | None:
    """An object's contact point in pixels ``(u, v)``, floats: ``obj.contact_point`` (a SceneObject: the
    bottom edge ``v + 0.5`` of its lowest foreground pixel, the project's one convention), else its
    ``contact_px`` moved to that pixel's bottom edge; ``None`` when it has neither."""
    cp = getattr(obj, "contact_point", None)
    if cp is not None:
        return (float(cp[0]), float(cp[1]))
    c = getattr(obj, "contact_px", None)
    return None if c is None else (float(c[0]), float(c[1]) + 0.5)


def object_floor_xy(obj, camera: Camera | None = None, intrinsics: Intrinsics | None = None) -> tuple[float, float] | None:
    """Floor position (metres) of an object's contact point.

    With a camera: the exact floor point at the contact point (``SceneObject.contact_point``: the
    bottom edge ``v + 0.5`` of the contact pixel, the project's one convention). Otherwise, with ``intrinsics`` and a
    measured ``distance_m``: the level-camera approximation of the module docstring. ``None`` when
    the object has no contact point (feet outside the frame or hidden) or nothing gives metres.
    """
    c = contact_point(obj)
    if c is None:
        return None
    if camera is not None:
        return floor_xy(camera, c[0], c[1])
    Z = getattr(obj, "distance_m", None)
    if intrinsics is not None and Z is not None and Z > 0:
        return (float(Z * (c[0] - intrinsics.cx) / intrinsics.focal_px), float(Z))
    return None


def object_width_m(obj, focal_px: float | None) -> float | None:
    """Physical width (metres) of an object: its box width in pixels at its distance, ``Z (x1 - x0 + 1) / f``
    (fronto-parallel); ``None`` without a distance or a focal length."""
    Z = getattr(obj, "distance_m", None)
    if Z is None or not focal_px:
        return None
    return float(Z * (obj.bbox[2] - obj.bbox[0] + 1) / focal_px)


@dataclass
class TrackMotion:
    """Positions of one track over the last ``window_s`` seconds and the velocity fitted to them.

    Attributes:
        window_s: fit window in seconds (default 1.0).
        min_frames: positions needed before a speed is given (default 5).
        history: ``(t_s, x_m, y_m)`` newest last.
    """

    window_s: float = 1.0
    min_frames: int = 5
    history: deque = field(default_factory=deque)

    def add(self, t_s: float, xy: tuple[float, float] | None) -> None:
        """Record the floor position at time ``t_s`` (seconds); ``None`` (no position) is skipped."""
        if xy is not None:
            self.history.append((float(t_s), float(xy[0]), float(xy[1])))
        while self.history and self.history[-1][0] - self.history[0][0] > self.window_s + 1e-9:
            self.history.popleft()

    @property
    def position(self) -> tuple[float, float] | None:
        """The latest floor position (metres), or ``None``."""
        return (self.history[-1][1], self.history[-1][2]) if self.history else None

    def velocity(self) -> tuple[float, float] | None:
        """``(vx, vy)`` m/s by least squares over the window, or ``None`` while there are too few positions."""
        h = self.history
        if len(h) < self.min_frames or h[-1][0] - h[0][0] < 0.5 * self.window_s:
            return None
        a = np.asarray(h, np.float64)
        t = a[:, 0] - a[:, 0].mean()
        den = float(t @ t)
        if den <= 0:
            return None
        return (float(t @ (a[:, 1] - a[:, 1].mean()) / den), float(t @ (a[:, 2] - a[:, 2].mean()) / den))

    def speed_m_s(self) -> float | None:
        """``|v|`` in m/s (:meth:`velocity`), or ``None``."""
        v = self.velocity()
        return None if v is None else math.hypot(*v)

    def heading_deg(self, min_speed: float = 0.1) -> float | None:
        """Direction of motion in degrees clockwise from forward (0 = away from the camera, 90 = to the right),
        in [0, 360); ``None`` below ``min_speed`` m/s or without a velocity."""
        v = self.velocity()
        if v is None or math.hypot(*v) < min_speed:
            return None
        return math.degrees(math.atan2(v[0], v[1])) % 360.0
