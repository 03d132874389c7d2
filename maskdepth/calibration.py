"""``maskdepth calibrate``: a fixed camera's horizon and height from the people it sees.

The model runs on every frame (against the empty background) and the people seen whole in its
mask become person observations, tracked over the clip (:mod:`maskdepth.scene.calibrate.observations`:
components cut by the frame border are skipped, their feet or head are not seen).
The horizon and the camera height are then fitted by robust nonlinear least squares on
the upright-person projection with bootstrap 95 % intervals
(:func:`maskdepth.scene.fit_camera_from_people`; Hoiem, Efros & Hebert, CVPR 2006;
Criminisi, Reid & Zisserman, IJCV 2000). With a measured depth of the empty scene the
floor plane is also fitted by RANSAC (:func:`maskdepth.scene.fit_camera_from_depth`);
both are reported and the depth-based camera is written when its fit succeeded. With
``floor_points`` the camera comes from points on the floor instead (:func:`run_floor_points`).

The settings are one dataclass, :class:`CalibrateConfig` (the command's flags, YAML keys and
:func:`run_calibrate`'s argument); errors name its fields (``MaskDepthError(..., param="fov")``).

Focal length: ``focal_px`` (pixels at the frames' size) or ``fov`` (horizontal field
of view in degrees, ``f = (W/2) / tan(fov/2)``); the principal point is the image centre
``((W-1)/2, (H-1)/2)``.

People are tracked across frames (:class:`maskdepth.scene.Tracker`, every track confirmed
at once): the observations of one track are one person, resampled together by the bootstrap
(a cluster bootstrap; one person seen in 30 frames is one person, not 30), and the number of
distinct people is reported (a warning below 10). A person who leaves and comes back, or whose
id the tracker swaps when two people meet, counts as two. With ``max_frames`` spreading the
frames far apart the tracker cannot link them, and each observation counts as a person.

The people model assumes upright people: when most components seen whole are wide for a
standing person (bounding box wider than ``WIDE_ASPECT`` = 0.75 times its height: vehicles,
groups) a warning points to the floor points (:mod:`maskdepth.scene.calibrate.warnings`, with
the aspects measured on real clips).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import option
from .errors import MaskDepthError
from .io import IMAGE_EXTS, atomic_write_json, load_rgb
from .scene import CalibrationResult, Camera, Tracker, fit_camera_from_depth, fit_camera_from_people
from .scene.calibrate.observations import FramePeople, frame_people, people_observations
from .scene.calibrate.people import PeopleFitSettings
from .scene.calibrate.warnings import WIDE_ASPECT, wide_warning
from .scene.depth_sources import SceneDepth, load_bg_depth

__all__ = [
    "CalibrateConfig",
    "CalibrationRun",
    "FramePeople",
    "WIDE_ASPECT",
    "focal_from_fov",
    "frame_people",
    "frames_from_dir",
    "frames_from_video",
    "people_observations",
    "calibrate",
    "run_calibrate",
    "run_floor_points",
]

_FLOOR_POINTS_HELP = (
    'instead of people: >= 4 floor points {"points": [{"px": [u, v], "floor_m": [x, y]}, ...]} (pixels at the bg\'s '
    "size, metres in any frame on the floor); fits the camera by planar PnP (Zhang 2000); without --focal-px/--fov the "
    "focal length is estimated from the points when they constrain it"
)


@dataclass
class CalibrateConfig:
    """Settings of one ``maskdepth calibrate`` run: each field is also the flag of the same name
    (``person_height_sd`` → ``--person-height-sd``; ``frames_dir`` is ``--frames``) and the YAML key of ``--config``.

    ``bg`` and ``out`` are required by :func:`run_calibrate` / :func:`run_floor_points`; :func:`calibrate` (the fit
    on frames in memory) reads only the focal length, people, depth, bootstrap and ``quiet`` fields.
    Validation: :meth:`check_fit` and :meth:`check_files` (errors name the field).
    """

    bg: str | None = option(
        None,
        "the empty scene's image (required with --floor-points; default for people: estimated from the frames, as "
        "`watch` does without --bg)",
    )
    frames_dir: str | None = option(
        None, "a folder of frames (images, sorted by name) with people walking", flags=("--frames",), metavar="DIR"
    )
    video: str | None = option(None, "a video file of the camera with people walking (needs the [video] extra)")
    floor_points: str | None = option(None, _FLOOR_POINTS_HELP, metavar="points.json")
    focal_px: float | None = option(None, "focal length in pixels at the frames' size", metavar="F")
    fov: float | None = option(None, "horizontal field of view in degrees (focal = (W/2) / tan(fov/2))", metavar="DEG")
    out: str | None = option(None, "camera file to write (atomically)", metavar="camera.json")
    person_height: float = option(1.7, "mean height of the people in metres", metavar="M")
    person_height_sd: float = option(
        0.08,
        "spread (SD) of people's heights around --person-height, metres; enters the intervals through the bootstrap over people",
        metavar="M",
    )
    person_height_mean_sd: float = option(
        0.05,
        "uncertainty (SD) of --person-height as the people's mean, metres (0 = known exactly): a prior included in the "
        "camera-height interval",
        metavar="M",
    )
    bg_depth: str | None = option(
        None, "measured depth of the empty scene: also fit its floor plane (RANSAC) and write that camera", metavar="FILE"
    )
    bg_depth_unit: str | None = option(
        None, "unit of --bg-depth's values (default: the format's, PNG mm, TIFF/.npy m)", choices=("mm", "m")
    )
    max_frames: int | None = option(None, "use at most N frames spread evenly over the clip (default all)", metavar="N")
    checkpoint: str | None = option(None, "model checkpoint or .onnx (default: the shipped model)")
    size: int | None = option(None, "short side fed to the network (default: the checkpoint's training size)")
    backend: str = option("auto", "auto: onnx for a .onnx --checkpoint, else torch", choices=("auto", "torch", "onnx"))
    n_boot: int = option(200, "bootstrap resamples for the 95 % intervals")
    seed: int = option(0, "bootstrap seed")
    quiet: bool = option(False, "no progress bar")

    def people_settings(self) -> PeopleFitSettings:
        """The people fit's settings (:class:`~maskdepth.scene.calibrate.people.PeopleFitSettings`) from these."""
        return PeopleFitSettings(
            person_height=self.person_height,
            height_sd=self.person_height_sd,
            mean_height_sd=self.person_height_mean_sd,
            n_boot=self.n_boot,
            seed=self.seed,
        )

    def check_fit(self) -> None:
        """Check the people fit's settings. Raises MaskDepthError (naming the field): both or neither of ``focal_px`` and
        ``fov``, ``focal_px <= 0``, ``fov`` outside (0, 180), ``person_height <= 0``, negative SDs."""
        if (self.focal_px is None) == (self.fov is None):
            raise MaskDepthError(_ONE_FOCAL, param="focal_px")
        if self.focal_px is not None and not self.focal_px > 0:
            raise MaskDepthError(f"must be > 0 pixels, got {self.focal_px:g}", param="focal_px")
        if self.fov is not None:
            _check_fov(self.fov)
        if not self.person_height > 0:
            raise MaskDepthError(f"must be > 0 metres, got {self.person_height:g}", param="person_height")
        for name in ("person_height_sd", "person_height_mean_sd"):
            if not getattr(self, name) >= 0:
                raise MaskDepthError(f"must be >= 0 metres, got {getattr(self, name):g}", param=name)

    def check_files(self) -> None:
        """Check what :func:`run_calibrate` reads and writes. Raises MaskDepthError (naming the field): ``out``
        missing, both or neither of ``frames_dir`` and ``video``, ``max_frames < 1``, ``bg`` (when given) or ``bg_depth``
        not a file."""
        if self.out is None:
            raise MaskDepthError("is required", param="out")
        if (self.frames_dir is None) == (self.video is None):
            raise MaskDepthError("and video are the two sources of frames: give exactly one", param="frames_dir")
        if self.max_frames is not None and self.max_frames < 1:
            raise MaskDepthError(f"must be at least 1, got {self.max_frames}", param="max_frames")
        if self.bg is not None:
            _check_file(self.bg, "bg")
        if self.bg_depth is not None:
            _check_file(self.bg_depth, "bg_depth")


_ONE_FOCAL = "or fov (the horizontal field of view in degrees): give exactly one"


def _check_fov(fov_deg: float) -> None:
    if not 0 < fov_deg < 180:
        raise MaskDepthError(f"must be within (0, 180) degrees, got {fov_deg:g}", param="fov")


def _check_file(path, param: str) -> None:
    if not Path(path).is_file():
        raise MaskDepthError(f"not found: {path}", param=param)


def focal_from_fov(fov_deg: float, width: int) -> float:
    """Focal length in pixels of a pinhole camera ``width`` pixels wide with the horizontal
    field of view ``fov_deg`` degrees: ``f = (W/2) / tan(fov/2)``.

    Raises: MaskDepthError (``param="fov"``) unless 0 < fov < 180.
    """
    _check_fov(fov_deg)
    return 0.5 * width / math.tan(math.radians(fov_deg) / 2)


def _spread(n: int, max_frames: int | None) -> np.ndarray:
    """Indices of at most ``max_frames`` of ``n`` frames, evenly spread (all when ``None``)."""
    if max_frames is None or max_frames >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_frames).round().astype(int))


def frames_from_dir(path: str | os.PathLike, max_frames: int | None = None) -> tuple[Iterator[np.ndarray], int]:
    """The images of a folder (sorted by name) as ``uint8 (H, W, 3)`` RGB, at most
    ``max_frames`` of them spread evenly over the sorted list.

    Returns: ``(iterator, count)``.
    Raises: MaskDepthError: not a folder, or no images in it.
    """
    d = Path(path)
    if not d.is_dir():
        raise MaskDepthError(f"is not a folder: {d}", param="frames_dir")
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
    if not files:
        raise MaskDepthError(f"holds no images: {d}", param="frames_dir")
    keep = [files[i] for i in _spread(len(files), max_frames)]
    return (load_rgb(p) for p in keep), len(keep)


def frames_from_video(path: str | os.PathLike, max_frames: int | None = None) -> tuple[Iterator[np.ndarray], int]:
    """The frames of a video (PyAV, :func:`maskdepth.video.convert.iter_frames`), at most ``max_frames``
    of them spread evenly over the clip.

    Returns: ``(iterator, count)``.
    Raises: MaskDepthError: the ``[video]`` extra is missing, or the file is not a readable video.
    """
    from .extras import require

    require("video", "maskdepth calibrate --video", ("av",))
    from .video.convert import iter_frames, probe

    n = probe(path).frames
    keep = set(_spread(n, max_frames).tolist())

    def gen():
        for i, f in enumerate(iter_frames(path)):
            if max_frames is None or i in keep:
                yield f

    return gen(), len(keep)


@dataclass
class CalibrationRun:
    """What ``maskdepth calibrate`` found.

    Attributes:
        camera: the camera written (``camera.source`` says which fit: ``"people"`` or ``"depth_plane"``).
        method: ``"people"`` or ``"depth_plane"``.
        people: the people fit, or ``None`` when it failed (:attr:`people_error`).
        depth: the floor-plane fit from the measured depth, or ``None``.
        frames: frames processed; objects: components found; cut: components cut by the border.
        observations: float64 ``(n, 4)`` the people observations used.
        people_error, depth_error: why a fit failed, else ``None``.
        notes: lines printed after the fits.
        track_ids: int64 ``(n,)`` the person (track) of each observation, or ``None``.
        wide: components seen whole wider than ``WIDE_ASPECT`` times their height (not an upright person).
        warnings: warnings about the clip (e.g. components that do not look like upright people).
        bg_source: where the empty scene came from: ``"--bg"`` (a photo), else how it was estimated
            (:func:`estimated_bg`).
    """

    camera: Camera
    method: str
    people: CalibrationResult | None
    depth: CalibrationResult | None
    frames: int
    objects: int
    cut: int
    observations: np.ndarray
    people_error: str | None = None
    depth_error: str | None = None
    notes: list[str] = field(default_factory=list)
    track_ids: np.ndarray | None = None
    wide: int = 0
    warnings: list[str] = field(default_factory=list)
    bg_source: str = "--bg"

    @property
    def n_people(self) -> int:
        """Distinct people (tracks) among the observations (every observation one person without tracks)."""
        ids = self.track_ids
        return int(self.observations.shape[0] if ids is None else np.unique(ids).size)

    def calibration_json(self) -> dict:
        """What the written camera rests on (the ``"calibration"`` key of camera.json for a people fit): the
        number of people and observations, what the intervals include, ``at_bound`` and the warnings."""
        r = self.people
        d = r.details if r is not None else {}
        warns = self.warnings + ([r.warning] if r is not None and r.warning else [])
        return {
            "method": self.method,
            "n_people": d.get("n_people", self.n_people),
            "n_observations": int(self.observations.shape[0]),
            "interval": d.get("interval"),
            "person_height_m": d.get("person_height_m"),
            "person_height_sd_m": d.get("height_sd_m"),
            "person_height_mean_sd_m": d.get("mean_height_sd_m"),
            "at_bound": bool(d.get("at_bound", False)),
            "warnings": warns,
            "bg": self.bg_source,
        }

    def camera_json(self) -> dict:
        """The ``camera.json`` written: the camera's keys, plus ``"calibration"`` (:meth:`calibration_json`)
        when the camera was fitted from people."""
        d = self.camera.to_json()
        if self.method == "people":
            d["calibration"] = self.calibration_json()
        return d

    def to_json(self) -> dict:
        """JSON summary (the camera written, both fits, counts)."""
        return {
            "camera": self.camera.to_json(),
            "method": self.method,
            "frames": self.frames,
            "objects": self.objects,
            "cut_by_border": self.cut,
            "observations": int(self.observations.shape[0]),
            "n_people": self.n_people,
            "wide_components": self.wide,
            "warnings": self.warnings,
            "people": None if self.people is None else self.people.to_json(),
            "people_error": self.people_error,
            "depth_plane": None if self.depth is None else self.depth.to_json(),
            "depth_error": self.depth_error,
        }

    def lines(self) -> list[str]:
        """Human-readable summary: values with their 95 % intervals, warnings, which camera is the main one."""

        def ci(v, fmt):
            if v is None:
                return "no interval"
            lo, hi = (("-inf" if v[0] is None else fmt.format(v[0])), ("+inf" if v[1] is None else fmt.format(v[1])))
            return f"95 % interval {lo} .. {hi}"

        out = [
            f"{self.frames} frames, {self.objects} objects, {self.cut} cut by the frame border, "
            f"{self.observations.shape[0]} observations of {self.n_people} distinct people (tracks) seen whole"
        ]
        out.extend(f"warning: {w}" for w in self.warnings)
        if self.people is not None:
            c, r = self.people.camera, self.people
            out.append(
                f"from people: horizon_y {c.horizon_y:.1f} px ({ci(c.horizon_y_ci95, '{:.1f}')}), "
                f"camera_height_m {c.camera_height_m:.3f} m ({ci(c.camera_height_m_ci95, '{:.3f}')}), "
                f"pitch {c.pitch_deg:.1f} deg; {r.n_inliers} of {r.n_used} observations fit the upright model"
            )
            if r.details.get("interval"):
                out.append(f"intervals: {r.details['interval']}")
            if r.details.get("at_bound"):
                out.append(f"at_bound: {r.details.get('at_bound_why')}")
            if r.warning:
                out.append(f"warning: {r.warning}")
        else:
            out.append(f"from people: no fit ({self.people_error})")
        if self.depth is not None:
            c = self.depth.camera
            out.append(
                f"from the depth's floor plane (RANSAC, {self.depth.n_inliers} px): horizon_y {c.horizon_y:.1f} px, "
                f"camera_height_m {c.camera_height_m:.3f} m, roll {c.roll_deg:.2f} deg"
            )
        elif self.depth_error:
            out.append(f"from the depth's floor plane: no fit ({self.depth_error})")
        out.extend(self.notes)
        return out


def calibrate(predictor, bg: np.ndarray, frames: Iterable[np.ndarray], cfg: CalibrateConfig, total: int | None = None) -> CalibrationRun:
    """Fit a fixed camera from the people in ``frames`` (and the floor of ``cfg.bg_depth``).

    Args:
        predictor: a :class:`maskdepth.inference.predictor.Predictor`, or anything with ``predict(bg, frame)``
            returning an object with a bool ``(H, W)`` ``mask`` and a float ``prob`` (a fake in tests); each frame
            goes through :func:`maskdepth.inference.pipeline.run_frame`.
        bg: uint8 ``(H, W, 3)`` RGB of the empty scene (resized to the frames when the aspect agrees).
        frames: uint8 ``(H, W, 3)`` RGB frames, all of one size.
        cfg: the settings read: ``focal_px`` (pixels at the frames' size) or ``fov`` (degrees), exactly one;
            ``person_height``, ``person_height_sd``, ``person_height_mean_sd`` (metres; :meth:`CalibrateConfig.people_settings`);
            ``bg_depth`` (measured depth of the empty scene, ``.png`` mm, ``.tif`` m, ``.npy`` m: also fit the floor
            plane by RANSAC; that camera is the main one when the fit succeeds) and ``bg_depth_unit`` (``"mm"``/``"m"``,
            :func:`maskdepth.scene.depth_sources.load_bg_depth`); ``n_boot``, ``seed`` (bootstrap); ``quiet`` (no progress bar).
        total: number of frames, for the progress bar.
    Returns: :class:`CalibrationRun`.
    Raises:
        MaskDepthError: bad settings (:meth:`CalibrateConfig.check_fit`), no frame, frames of different sizes,
        a bad depth file, or neither fit succeeded.
    """
    from .inference.predictor import check_pair

    cfg.check_fit()
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise MaskDepthError("calibrate: no frames")
    H, W = first.shape[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg = check_pair(bg, first, "the frames")
    f = cfg.focal_px if cfg.focal_px is not None else focal_from_fov(cfg.fov, W)
    cx, cy = (W - 1) / 2, (H - 1) / 2
    # the depth file is read before the network runs: a bad one fails at once
    depth = load_bg_depth(cfg.bg_depth, (H, W), unit=cfg.bg_depth_unit) if cfg.bg_depth is not None else None
    allobs, track_ids, (n, n_obj, n_cut, n_wide) = _observe(predictor, bg, _chain(first, it), (H, W), total, cfg.quiet)
    people, people_err = _people_fit(allobs, (f, cx, cy), (W, H), cfg.people_settings(), track_ids)
    depth_fit, depth_err = _depth_fit(depth, (f, cx, cy), cfg.seed)
    wide = wide_warning(n_wide, n_obj - n_cut)
    if depth_fit is None and people is None:
        raise MaskDepthError(
            f"calibration failed: {people_err}" + (f"; depth plane: {depth_err}" if depth_err else "") + (f"; {wide}" if wide else "")
        )
    cam, method = (depth_fit.camera, "depth_plane") if depth_fit is not None else (people.camera, "people")
    run = CalibrationRun(cam, method, people, depth_fit, n, n_obj, n_cut, allobs, people_err, depth_err, track_ids=track_ids, wide=n_wide)
    run.warnings.extend([wide] if wide else [])
    run.notes.append(
        "camera.json holds the floor-plane camera (from --bg-depth)"
        if method == "depth_plane"
        else "camera.json holds the camera fitted from people"
    )
    return run


def _people_fit(obs: np.ndarray, intrinsics, size, settings: PeopleFitSettings, track_ids):
    """:func:`~maskdepth.scene.fit_camera_from_people` → ``(result, None)``, or ``(None, why)`` when it fails."""
    try:
        return fit_camera_from_people(obs, *intrinsics, size, settings, track_ids=track_ids), None
    except MaskDepthError as e:
        return None, str(e)


def _depth_fit(depth: SceneDepth | None, intrinsics, seed: int):
    """The floor plane of the measured depth (:func:`~maskdepth.scene.fit_camera_from_depth`) → ``(result, None)``,
    ``(None, why)`` when it fails, ``(None, None)`` without a depth."""
    if depth is None:
        return None, None
    f, cx, cy = intrinsics
    K = np.array([[f, 0, cx], [0, f, cy], [0, 0, 1.0]])
    try:
        return fit_camera_from_depth(depth.depth, K, rng=np.random.default_rng(seed)), None
    except MaskDepthError as e:
        return None, str(e)


def _observe(predictor, bg: np.ndarray, frames: Iterator[np.ndarray], size: tuple[int, int], total: int | None, quiet: bool):
    """Run the model on every frame (:func:`maskdepth.inference.pipeline.run_frame`: its mask), track its components
    and gather the people seen whole.

    Returns ``(obs (n, 4), track_ids int64 (n,), (frames, objects, cut, wide))``; fragments of a tracked
    object (tracker id 0) get ids of their own (negative).
    Raises: MaskDepthError for a frame of another size.
    """
    from tqdm import tqdm

    from .inference.pipeline import run_frame

    H, W = size
    obs, tids, n_obj, n_cut, n_wide, n = [], [], 0, 0, 0, 0
    tracker = Tracker(min_hits=1)  # every track gets its id at once: all its observations are one person
    bar = tqdm(total=total, desc="calibrate", unit="frame", disable=quiet)
    try:
        for frame in frames:
            if frame.shape[:2] != (H, W):
                raise MaskDepthError(f"frame {n} is {frame.shape[1]}x{frame.shape[0]}, the first {W}x{H}: one camera, one frame size")
            fp = frame_people(np.asarray(run_frame(predictor, frame, bg=bg).mask, bool), tracker)
            obs.append(fp.obs)
            tids.append(fp.track_ids)
            n_obj, n_cut, n_wide, n = n_obj + fp.n_objects, n_cut + fp.n_cut, n_wide + fp.n_wide, n + 1
            bar.update(1)
    finally:
        bar.close()
    allobs = np.concatenate(obs, axis=0) if obs else np.zeros((0, 4))
    track_ids = np.concatenate(tids) if tids else np.zeros(0, np.int64)
    frag = track_ids == 0  # fragments of a tracked object: each its own person
    track_ids[frag] = -np.arange(1, int(frag.sum()) + 1)
    return allobs, track_ids, (n, n_obj, n_cut, n_wide)


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


def run_calibrate(cfg: CalibrateConfig, predictor=None) -> CalibrationRun:
    """``maskdepth calibrate``: read the frames, :func:`calibrate`, write ``cfg.out`` (camera.json) atomically.

    camera.json holds the camera's keys and, for a camera fitted from people, ``"calibration"``
    (:meth:`CalibrationRun.calibration_json`: people, what the intervals include, ``at_bound``, warnings).

    Args:
        cfg: :class:`CalibrateConfig`: ``bg`` (the empty scene's image file; ``None``: estimated from the frames,
            :func:`estimated_bg`, read once more for it), ``out`` (the ``camera.json`` to write),
            ``frames_dir`` or ``video`` (where the frames come from, exactly one; at most ``max_frames`` spread
            evenly), the model (``checkpoint``, ``size``, ``backend``; :func:`maskdepth.inference.predictor.load_predictor`)
            and the fit's settings (:func:`calibrate`). ``floor_points`` is :func:`run_floor_points`' (not read here).
        predictor: a predictor to use instead of loading ``cfg.checkpoint`` (default: the shipped model).
    Returns: :class:`CalibrationRun` (the file is written only when a fit succeeded).
    Raises: MaskDepthError for bad inputs (one line, naming the field); nothing is written then.
    """
    cfg.check_files()
    cfg.check_fit()
    bg_img = load_rgb(cfg.bg) if cfg.bg is not None else None
    frames, total = _read_frames(cfg)
    if predictor is None:
        from .inference.predictor import load_predictor

        predictor = load_predictor(cfg.checkpoint, size=cfg.size, backend=cfg.backend)
    bg_source = "--bg"
    if bg_img is None:
        bg_img, bg_source = estimated_bg(predictor, *_read_frames(cfg))
    run = calibrate(predictor, bg_img, frames, cfg, total=total)
    if bg_source != "--bg":
        run.bg_source = bg_source
        run.notes.append(f"no --bg: the empty scene was {bg_source}")
    atomic_write_json(cfg.out, run.camera_json())
    return run


def _read_frames(cfg: CalibrateConfig) -> tuple[Iterator[np.ndarray], int]:
    """The frames ``cfg`` names (``frames_dir`` or ``video``, at most ``max_frames``): ``(iterator, count)``."""
    if cfg.frames_dir is not None:
        return frames_from_dir(cfg.frames_dir, cfg.max_frames)
    return frames_from_video(cfg.video, cfg.max_frames)


def estimated_bg(predictor, frames: Iterable[np.ndarray], count: int) -> tuple[np.ndarray, str]:
    """The empty scene when there is no photo of it: ``(bg uint8 (H, W, 3), how it was estimated)``, estimated from
    ``frames`` (``count`` of them, read once in order) by the product's model-guided estimator, as ``watch`` and
    ``adapt`` do without a bg (:func:`maskdepth.adapt.background.estimate_bg`; LaBGen-P, Laugraud et al. 2016), the
    judge being ``predictor`` (``predict(bg, frame).prob``, float (H, W) in [0, 1]).

    Raises: MaskDepthError: no frames ("calibrate: no frames to estimate the empty scene from")."""
    from .adapt.background import estimate_bg

    try:
        est = estimate_bg(frames, lambda bg, f: np.asarray(predictor.predict(bg, f).prob, np.float32), count=count)
    except MaskDepthError as e:
        if getattr(e, "param", None) != "frames":
            raise
        raise MaskDepthError("calibrate: no frames to estimate the empty scene from") from None
    return est.bg, est.describe()


def run_floor_points(cfg: CalibrateConfig):
    """``maskdepth calibrate --floor-points``: a camera from points on the floor of ``cfg.bg``
    (:func:`maskdepth.scene.calibrate.floor.run_floor_points`), ``camera.json`` written atomically to ``cfg.out``.

    Args:
        cfg: :class:`CalibrateConfig`: ``bg`` (the empty scene's image file: its size is the pixels' frame),
            ``floor_points`` (``points.json``), ``out``, ``focal_px`` / ``fov`` (at most one; neither: estimated from
            the points), ``n_boot``, ``seed``. The people fit's inputs (``frames_dir``, ``video``, ``bg_depth``) must be unset.
    Returns: :class:`maskdepth.scene.calibrate.floor.FloorPointsFit`.
    Raises: MaskDepthError for bad input (one line, naming the field); nothing is written then.
    """
    from .scene.calibrate.floor import run_floor_points as fit_and_write

    for name in ("bg", "floor_points", "out"):
        if getattr(cfg, name) is None:
            raise MaskDepthError("is required", param=name)
    for name in ("frames_dir", "video", "bg_depth"):
        if getattr(cfg, name) is not None:
            raise MaskDepthError("is not used with floor points (the camera comes from the floor alone): leave it out", param=name)
    if cfg.focal_px is not None and cfg.fov is not None:
        raise MaskDepthError("and fov: give one of them, not both", param="focal_px")
    _check_file(cfg.bg, "bg")
    _check_file(cfg.floor_points, "floor_points")
    H, W = load_rgb(cfg.bg).shape[:2]
    f = focal_from_fov(cfg.fov, W) if cfg.fov is not None else cfg.focal_px
    return fit_and_write(cfg.floor_points, (W, H), cfg.out, focal_px=f, n_boot=cfg.n_boot, seed=cfg.seed)
