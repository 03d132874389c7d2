"""A pinhole camera over a flat floor: ``camera.json``, floor depth, projection.

Conventions (the project's, see issue 12): pixels with centres at integer coordinates,
camera axes x right, y down, z forward, depth = z (planar, metres).

* Intrinsics: focal length ``f`` (square pixels) and principal point ``(cx, cy)``.
* ``horizon_y``: the row of the horizon (the vanishing line of the floor) at column ``cx``.
* ``roll_deg`` phi: rotation about the optical axis. Positive roll makes the horizon
  descend to the right: its row grows by ``tan(phi)`` per pixel of column.
* Pitch theta (looking down is positive): ``tan(theta) = cos(phi) * (cy - horizon_y) / f``
  (with ``phi = 0`` this is the project's ``theta = atan((cy - horizon_y) / f)``).
* World *up* in camera coordinates: ``up = R_z(phi) (0, -cos th, -sin th)
  = (sin phi cos th, -cos phi cos th, -sin th)``; the floor is ``{P : up . P = -Hc}``,
  ``Hc`` = ``camera_height_m``.
* Floor depth along the ray ``r = ((u - cx)/f, (v - cy)/f, 1)`` (ray-plane intersection):
  ``Z = -Hc / (up . r)``, which with ``phi = 0`` is ``Hc / (cos th (v - cy)/f + sin th)``.
  Defined only where ``up . r < 0`` (below the horizon).
* An upright object of height ``H`` standing at floor point ``P`` has its top at
  ``P + H up``; seen by a camera looking down its top is nearer: ``Z_top = Z - H sin th``.

The single-view-metrology relations are those of Criminisi, Reid & Zisserman,
"Single View Metrology", IJCV 2000, and Hoiem, Efros & Hebert, "Putting Objects in
Perspective", CVPR 2006.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MaskDepthError
from ..io import atomic_write_json

REQUIRED_KEYS = ("focal_px", "cx", "cy", "horizon_y", "camera_height_m", "image_size")


def _ci(v: Any, key: str, where: str) -> tuple[float | None, float | None] | None:
    if v is None:
        return None
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise MaskDepthError(f"{where}: '{key}' must be [low, high] (null = unbounded), got {v!r}")
    out = []
    for x in v:
        if x is None:
            out.append(None)
        elif isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
            out.append(float(x))
        else:
            raise MaskDepthError(f"{where}: '{key}' must hold numbers or null, got {v!r}")
    return (out[0], out[1])


@dataclass(frozen=True)
class Camera:
    """A pinhole camera at a known height over a flat floor (see the module docstring).

    Attributes:
        focal_px: focal length in pixels (> 0), at ``image_size``.
        cx, cy: principal point in pixels.
        horizon_y: row of the horizon at column ``cx`` (pixels; may be negative = above
            the image for a camera looking steeply down; must be above the last row).
        camera_height_m: height of the optical centre above the floor in metres (> 0).
        image_size: ``(W, H)`` in pixels the intrinsics refer to.
        roll_deg: rotation about the optical axis in degrees (|roll| < 45).
        horizon_y_ci95, camera_height_m_ci95: optional 95 % intervals ``(low, high)`` of
            estimated values (``None`` inside = unbounded on that side).
        source: free text saying where the values came from (``"hand"``, ``"people"``, ...).
    Raises (on construction):
        MaskDepthError: non-positive focal / height / size, non-finite values, or a
        horizon at or below the last image row.
    """

    focal_px: float
    cx: float
    cy: float
    horizon_y: float
    camera_height_m: float
    image_size: tuple[int, int]
    roll_deg: float = 0.0
    horizon_y_ci95: tuple[float | None, float | None] | None = None
    camera_height_m_ci95: tuple[float | None, float | None] | None = None
    source: str = "hand"
    where: str = field(default="camera", compare=False, repr=False)

    def __post_init__(self) -> None:
        w = self.where
        for k in ("focal_px", "cx", "cy", "horizon_y", "camera_height_m", "roll_deg"):
            x = getattr(self, k)
            if isinstance(x, bool) or not isinstance(x, (int, float, np.floating, np.integer)) or not math.isfinite(float(x)):
                raise MaskDepthError(f"{w}: '{k}' must be a finite number, got {x!r}")
            object.__setattr__(self, k, float(x))
        try:
            W, H = (int(self.image_size[0]), int(self.image_size[1]))
            if len(self.image_size) != 2 or W != self.image_size[0] or H != self.image_size[1]:
                raise ValueError
        except (TypeError, ValueError, IndexError):
            raise MaskDepthError(f"{w}: 'image_size' must be [W, H] in whole pixels, got {self.image_size!r}") from None
        object.__setattr__(self, "image_size", (W, H))
        if W <= 0 or H <= 0:
            raise MaskDepthError(f"{w}: 'image_size' must be positive, got [{W}, {H}]")
        if self.focal_px <= 0:
            raise MaskDepthError(f"{w}: 'focal_px' must be > 0 pixels, got {self.focal_px:g}")
        if self.camera_height_m <= 0:
            raise MaskDepthError(f"{w}: 'camera_height_m' must be > 0 metres (the camera is above the floor), got {self.camera_height_m:g}")
        if abs(self.roll_deg) >= 45:
            raise MaskDepthError(f"{w}: 'roll_deg' must be within (-45, 45) degrees, got {self.roll_deg:g}")
        if self.horizon_y >= H - 1:
            raise MaskDepthError(
                f"{w}: the horizon at row {self.horizon_y:g} is at or below the last image row ({H} rows): "
                "the camera would see no floor; horizon_y must be above the bottom of the image"
            )
        object.__setattr__(self, "horizon_y_ci95", _ci(self.horizon_y_ci95, "horizon_y_ci95", w))
        object.__setattr__(self, "camera_height_m_ci95", _ci(self.camera_height_m_ci95, "camera_height_m_ci95", w))

    # ------------------------------------------------------------------ geometry
    @property
    def roll(self) -> float:
        """Roll phi in radians."""
        return math.radians(self.roll_deg)

    @property
    def pitch(self) -> float:
        """Pitch theta in radians, looking down positive: ``atan(cos(phi) (cy - horizon_y) / f)``."""
        return math.atan(math.cos(self.roll) * (self.cy - self.horizon_y) / self.focal_px)

    @property
    def pitch_deg(self) -> float:
        """Pitch in degrees (see :attr:`pitch`)."""
        return math.degrees(self.pitch)

    @property
    def K(self) -> np.ndarray:
        """float64 ``(3, 3)`` intrinsic matrix."""
        return np.array([[self.focal_px, 0, self.cx], [0, self.focal_px, self.cy], [0, 0, 1.0]])

    def up_vector(self) -> np.ndarray:
        """World up in camera coordinates, float64 ``(3,)`` unit vector
        ``(sin phi cos th, -cos phi cos th, -sin th)``."""
        th, ph = self.pitch, self.roll
        return np.array([math.sin(ph) * math.cos(th), -math.cos(ph) * math.cos(th), -math.sin(th)])

    def forward_horizontal(self) -> np.ndarray:
        """Unit float64 ``(3,)``: the optical axis projected onto the floor (normal of the
        fronto-parallel vertical planes used by :func:`maskdepth.scene.objects.compose_depth`)."""
        up = self.up_vector()
        z = np.array([0.0, 0.0, 1.0])
        n = z - (z @ up) * up
        return n / np.linalg.norm(n)

    def ray(self, u, v) -> np.ndarray:
        """Unnormalised ray(s) ``((u - cx)/f, (v - cy)/f, 1)`` through pixel(s) ``(u, v)``.

        Args:
            u, v: scalars or broadcastable arrays of pixel coordinates.
        Returns:
            float64 ``(..., 3)``; the point at depth ``Z`` on the ray is ``Z * ray``.
        """
        u = np.asarray(u, np.float64)
        v = np.asarray(v, np.float64)
        u, v = np.broadcast_arrays(u, v)
        return np.stack([(u - self.cx) / self.focal_px, (v - self.cy) / self.focal_px, np.ones_like(u)], axis=-1)

    def floor_depth(self, u, v) -> np.ndarray:
        """Depth ``Z`` (metres, float64) of the floor at pixel(s) ``(u, v)``: ``-Hc / (up . r)``.

        Returns 0 (unknown) at and above the horizon (``up . r >= 0``: the ray never meets the floor).
        """
        d = self.ray(u, v) @ self.up_vector()
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(d < -1e-12, -self.camera_height_m / d, 0.0)
        return z

    def floor_depth_map(self, H: int | None = None, W: int | None = None) -> np.ndarray:
        """Exact floor depth of every pixel centre, float32 ``(H, W)`` metres.

        Pixels at or above the horizon (whose ray never meets the floor) are **0 = unknown**
        (the project's depth convention, also used by ``depth.png``), not NaN.
        ``H, W`` default to ``image_size``; other sizes raise unless the camera is first
        brought there with :meth:`scaled_to`.

        Raises:
            MaskDepthError: ``(H, W)`` differs from ``image_size``.
        """
        Wc, Hc_ = self.image_size
        H = Hc_ if H is None else int(H)
        W = Wc if W is None else int(W)
        if (W, H) != (Wc, Hc_):
            raise MaskDepthError(f"camera is for {Wc}x{Hc_} images, asked for a {W}x{H} depth map (use camera.scaled_to(W, H))")
        u = np.arange(W, dtype=np.float64)[None, :]
        v = np.arange(H, dtype=np.float64)[:, None]
        return self.floor_depth(u, v).astype(np.float32)

    def floor_point(self, u, v) -> np.ndarray:
        """3-D floor point(s) (metres, camera coordinates) seen at pixel(s) ``(u, v)``.

        Returns:
            float64 ``(..., 3)``; NaN where the pixel is at or above the horizon.
        """
        z = self.floor_depth(u, v)
        z = np.where(z > 0, z, np.nan)
        return self.ray(u, v) * z[..., None]

    def project(self, P) -> np.ndarray:
        """Pixel coordinates of camera-frame point(s) ``P`` (metres): ``(cx + f X/Z, cy + f Y/Z)``.

        Args:
            P: ``(..., 3)`` points; points with ``Z <= 0`` (behind the camera) give NaN.
        Returns:
            float64 ``(..., 2)`` ``(u, v)``.
        """
        P = np.asarray(P, np.float64)
        Z = np.where(P[..., 2] > 1e-12, P[..., 2], np.nan)
        return np.stack([self.cx + self.focal_px * P[..., 0] / Z, self.cy + self.focal_px * P[..., 1] / Z], axis=-1)

    def horizon_row(self, u) -> np.ndarray:
        """Row of the horizon at column(s) ``u``: ``horizon_y + tan(phi) (u - cx)``."""
        return self.horizon_y + math.tan(self.roll) * (np.asarray(u, np.float64) - self.cx)

    def top_of(self, u_foot, v_foot, height_m) -> np.ndarray:
        """Pixel ``(u, v)`` of the top of an upright object of ``height_m`` metres standing on
        the floor at pixel ``(u_foot, v_foot)``: ``project(floor_point + H up)``; NaN above the horizon."""
        P = self.floor_point(u_foot, v_foot) + np.asarray(height_m, np.float64)[..., None] * self.up_vector()
        return self.project(P)

    def upright_height(self, P_foot, u_top, v_top) -> float:
        """Height (metres) of an upright object standing at 3-D point ``P_foot`` whose top is
        seen at pixel ``(u_top, v_top)``.

        Solves ``min_{H, s} |P_foot + H up - s r_top|^2`` (the point of the vertical through
        the foot nearest to the top pixel's ray; exact for a consistent pair, robust to
        roll and to a top pixel slightly off the vertical).

        Returns:
            float metres (may be negative for a top below the foot); NaN when degenerate.
        """
        r = self.ray(u_top, v_top)
        up = self.up_vector()
        A = np.stack([up, -r], axis=1)  # (3, 2)
        sol, *_ = np.linalg.lstsq(A, -np.asarray(P_foot, np.float64), rcond=None)
        return float(sol[0])

    def scaled_to(self, W: int, H: int) -> Camera:
        """The same camera for frames of ``W x H`` pixels (intrinsics, horizon and their intervals
        scaled; pixel centres kept consistent: ``x' = (x + 0.5) s - 0.5``).

        Raises:
            MaskDepthError: the aspect ratio differs from ``image_size``'s by more than 1 %.
        """
        W0, H0 = self.image_size
        if (W, H) == (W0, H0):
            return self
        sx, sy = W / W0, H / H0
        if abs(sx / sy - 1.0) > 0.01:
            raise MaskDepthError(
                f"camera.json is for {W0}x{H0} images but the frame is {W}x{H}: aspect ratios differ by more than 1 % "
                "(crop or calibrate the camera at this size)"
            )
        s = 0.5 * (sx + sy)

        def px(x, sc):
            return None if x is None else (x + 0.5) * sc - 0.5

        hci = None if self.horizon_y_ci95 is None else (px(self.horizon_y_ci95[0], sy), px(self.horizon_y_ci95[1], sy))
        return replace(
            self,
            focal_px=self.focal_px * s,
            cx=px(self.cx, sx),
            cy=px(self.cy, sy),
            horizon_y=px(self.horizon_y, sy),
            image_size=(int(W), int(H)),
            horizon_y_ci95=hci,
        )

    def for_frame(self, W: int, H: int) -> Camera:
        """Alias of :meth:`scaled_to` for readability at call sites."""
        return self.scaled_to(W, H)

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict:
        """The ``camera.json`` dictionary (optional keys only when set)."""
        d: dict[str, Any] = {
            "focal_px": round(self.focal_px, 4),
            "cx": round(self.cx, 4),
            "cy": round(self.cy, 4),
            "horizon_y": round(self.horizon_y, 4),
            "camera_height_m": round(self.camera_height_m, 5),
            "image_size": [int(self.image_size[0]), int(self.image_size[1])],
        }
        if self.roll_deg:
            d["roll_deg"] = round(self.roll_deg, 4)
        for k in ("horizon_y_ci95", "camera_height_m_ci95"):
            v = getattr(self, k)
            if v is not None:
                d[k] = [None if x is None else round(float(x), 5) for x in v]
        if self.source != "hand":
            d["source"] = self.source
        return d

    @classmethod
    def from_json(cls, d: Any, where: str = "camera") -> Camera:
        """Build from a ``camera.json`` dictionary.

        Raises:
            MaskDepthError: not an object, missing keys (all named), or invalid values.
        """
        if not isinstance(d, dict):
            raise MaskDepthError(f"{where}: expected a JSON object, got {type(d).__name__}")
        missing = [k for k in REQUIRED_KEYS if k not in d]
        if missing:
            raise MaskDepthError(f"{where}: missing key(s) {', '.join(missing)} (needs {', '.join(REQUIRED_KEYS)})")
        return cls(
            focal_px=d["focal_px"],
            cx=d["cx"],
            cy=d["cy"],
            horizon_y=d["horizon_y"],
            camera_height_m=d["camera_height_m"],
            image_size=tuple(d["image_size"]) if isinstance(d["image_size"], (list, tuple)) else d["image_size"],
            roll_deg=d.get("roll_deg", 0.0) if d.get("roll_deg") is not None else 0.0,
            horizon_y_ci95=d.get("horizon_y_ci95"),
            camera_height_m_ci95=d.get("camera_height_m_ci95"),
            source=str(d.get("source", "hand")),
            where=where,
        )

    @classmethod
    def from_fov(cls, fov_deg: float, image_size: Sequence[int], horizon_y: float, camera_height_m: float, **kw) -> Camera:
        """Camera with the horizontal field of view ``fov_deg`` (degrees, 0-180 exclusive) and the
        principal point at the image centre: ``f = (W/2) / tan(fov/2)``."""
        if not 0 < fov_deg < 180:
            raise MaskDepthError(f"field of view must be within (0, 180) degrees, got {fov_deg:g}")
        W, H = int(image_size[0]), int(image_size[1])
        f = 0.5 * W / math.tan(math.radians(fov_deg) / 2)
        return cls(f, (W - 1) / 2, (H - 1) / 2, horizon_y, camera_height_m, (W, H), **kw)


def camera_from_pitch(
    focal_px: float,
    image_size: Sequence[int],
    pitch_deg: float,
    camera_height_m: float,
    cx: float | None = None,
    cy: float | None = None,
    roll_deg: float = 0.0,
) -> Camera:
    """Camera from a pitch angle (degrees, looking down positive): ``horizon_y = cy - f tan(th) / cos(phi)``.

    ``cx, cy`` default to the image centre ``((W-1)/2, (H-1)/2)``.
    """
    W, H = int(image_size[0]), int(image_size[1])
    cx = (W - 1) / 2 if cx is None else cx
    cy = (H - 1) / 2 if cy is None else cy
    hy = cy - focal_px * math.tan(math.radians(pitch_deg)) / math.cos(math.radians(roll_deg))
    return Camera(focal_px, cx, cy, hy, camera_height_m, (W, H), roll_deg=roll_deg)


def load_camera(path, frame_size: tuple[int, int] | None = None) -> Camera:
    """Read and validate ``camera.json``.

    Args:
        path: file path.
        frame_size: optional ``(W, H)`` of the frames it will be used with; the camera is
            then :meth:`Camera.scaled_to` that size.
    Raises:
        MaskDepthError: missing / unreadable / malformed file, missing keys, invalid values,
        or a frame of another aspect ratio.
    """
    p = Path(path)
    try:
        d = json.loads(p.read_text())
    except FileNotFoundError:
        raise MaskDepthError(f"camera file not found: {p}") from None
    except (OSError, ValueError) as e:
        raise MaskDepthError(f"camera file {p} is unreadable: {str(e).splitlines()[0]}") from None
    cam = Camera.from_json(d, where=str(p))
    if frame_size is not None:
        cam = cam.scaled_to(int(frame_size[0]), int(frame_size[1]))
    return cam


def save_camera(cam: Camera, path) -> None:
    """Write ``camera.json`` atomically (temp file in the same folder + ``os.replace``).

    Raises:
        MaskDepthError: the folder is not writable.
    """
    atomic_write_json(path, cam.to_json())
