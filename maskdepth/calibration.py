"""``maskdepth calibrate``: a fixed camera's horizon and height from the people it sees.

The model runs on every frame (against the empty background), each connected component
of the mask becomes an object (:func:`maskdepth.scene.extract_objects`), and the objects
seen whole become person observations (foot row and column, head row and column;
:func:`maskdepth.scene.observations_from_objects`). Components cut by the frame border
(touching the first or last row or column) are skipped: their feet or head are not seen.
The horizon and the camera height are then fitted by robust nonlinear least squares on
the upright-person projection with bootstrap 95 % intervals
(:func:`maskdepth.scene.fit_camera_from_people`; Hoiem, Efros & Hebert, CVPR 2006;
Criminisi, Reid & Zisserman, IJCV 2000). With a measured depth of the empty scene the
floor plane is also fitted by RANSAC (:func:`maskdepth.scene.fit_camera_from_depth`);
both are reported and the depth-based camera is written when its fit succeeded.

Focal length: ``--focal-px`` (pixels at the frames' size) or ``--fov`` (horizontal field
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
groups) a warning points to ``--floor-points``. Measured on the real clips of
``../shared/data/sequences`` (true masks): people's width/height median 0.35-0.41 (CAVIAR1,
IBMtest2, HumanBody2; 90 % below 0.65, merged groups above), the cars of HighwayI median 0.91
(84 % above 0.8; seen from the front, few are wider than tall).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import MaskDepthError
from .io import IMAGE_EXTS, atomic_write_json, load_rgb
from .scene import (
    CalibrationResult,
    Camera,
    Tracker,
    extract_objects,
    fit_camera_from_depth,
    fit_camera_from_people,
    observations_from_objects,
)
from .scene.depth_sources import load_bg_depth

__all__ = [
    "CalibrationRun",
    "focal_from_fov",
    "frames_from_dir",
    "frames_from_video",
    "people_observations",
    "calibrate",
    "run_calibrate",
    "run_floor_points",
]


# a component wider than this times its height is not one standing person (module docstring: measured aspects)
WIDE_ASPECT = 0.75


def focal_from_fov(fov_deg: float, width: int) -> float:
    """Focal length in pixels of a pinhole camera ``width`` pixels wide with the horizontal
    field of view ``fov_deg`` degrees: ``f = (W/2) / tan(fov/2)``.

    Raises: MaskDepthError unless 0 < fov < 180.
    """
    if not 0 < fov_deg < 180:
        raise MaskDepthError(f"--fov must be within (0, 180) degrees, got {fov_deg:g}")
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
        raise MaskDepthError(f"--frames is not a folder: {d}")
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
    if not files:
        raise MaskDepthError(f"--frames folder holds no images: {d}")
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


def _cut_by_border(o, W: int, H: int) -> bool:
    x0, y0, x1, y1 = o.bbox
    return x0 <= 0 or y0 <= 0 or x1 >= W - 1 or y1 >= H - 1


def people_observations(mask: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Person observations of one frame's mask.

    Args:
        mask: bool ``(H, W)`` foreground.
    Returns:
        ``(obs, n_objects, n_cut)``: float64 ``(n, 4)`` rows ``(u_foot, v_foot, v_head, u_head)``
        (pixels; :func:`maskdepth.scene.observations_from_objects`) of the components seen
        whole, the number of components, and how many were cut by the frame border.
    """
    fp = frame_people(mask)
    return fp.obs, fp.n_objects, fp.n_cut


@dataclass
class FramePeople:
    """The people of one frame: ``obs`` float64 ``(n, 4)`` (as :func:`people_observations`), ``track_ids`` int
    ``(n,)`` (the tracker's id; 0 = a fragment of a tracked object, or no tracker), ``n_objects``, ``n_cut``
    (components cut by the border) and ``n_wide`` (components seen whole wider than ``WIDE_ASPECT`` x their height)."""

    obs: np.ndarray
    track_ids: np.ndarray
    n_objects: int
    n_cut: int
    n_wide: int


def frame_people(mask: np.ndarray, tracker: Tracker | None = None) -> FramePeople:
    """Person observations of one frame's mask with the track of each (see :class:`FramePeople`).

    Every component is tracked (``tracker.update``; the border-cut ones too, so the tracks stay
    whole), then the components seen whole with a contact and a top pixel become observations.

    Args:
        mask: bool ``(H, W)`` foreground.
        tracker: the clip's tracker (state carried over frames), or None (ids 0).
    """
    H, W = mask.shape
    objs = extract_objects(mask, None, None)
    if tracker is not None:
        objs = tracker.update(objs)
    whole = [o for o in objs if not _cut_by_border(o, W, H)]
    wide = sum((o.bbox[2] - o.bbox[0] + 1) > WIDE_ASPECT * (o.bbox[3] - o.bbox[1] + 1) for o in whole)
    seen = [o for o in whole if o.contact_px is not None and o.top_px is not None]
    ids = np.array([o.id if tracker is not None else 0 for o in seen], np.int64)
    return FramePeople(observations_from_objects(seen), ids, len(objs), len(objs) - len(whole), int(wide))


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


def calibrate(
    predictor,
    bg: np.ndarray,
    frames: Iterable[np.ndarray],
    focal_px: float | None = None,
    fov_deg: float | None = None,
    person_height: float = 1.7,
    bg_depth: str | os.PathLike | None = None,
    n_boot: int = 200,
    seed: int = 0,
    total: int | None = None,
    quiet: bool = False,
    person_height_sd: float = 0.08,
    person_height_mean_sd: float = 0.05,
    bg_depth_unit: str | None = None,
) -> CalibrationRun:
    """Fit a fixed camera from the people in ``frames`` (and the floor of ``bg_depth``).

    Args:
        predictor: anything with ``predict(bg, frame)`` returning an object whose ``mask`` is a
            bool ``(H, W)`` (a :class:`maskdepth.inference.predictor.Predictor`, or a fake in tests).
        bg: uint8 ``(H, W, 3)`` RGB of the empty scene (resized to the frames when the aspect agrees).
        frames: uint8 ``(H, W, 3)`` RGB frames, all of one size.
        focal_px: focal length in pixels at the frames' size; or
        fov_deg: horizontal field of view in degrees (exactly one of the two).
        person_height: mean height of the population the people come from, metres (scales the camera height exactly).
        person_height_sd: spread (SD) of people's heights around it, metres (default 0.08).
        person_height_mean_sd: uncertainty (SD) of ``person_height`` as that mean, metres, propagated into the
            camera-height interval (default 0.05; :func:`maskdepth.scene.fit_camera_from_people`).
        bg_depth: measured depth of the empty scene (``.png`` mm, ``.tif`` m, ``.npy`` m): also
            fit the floor plane by RANSAC; that camera is the main one when the fit succeeds.
        bg_depth_unit: ``"mm"`` or ``"m"`` for ``bg_depth``'s values (default: the format's;
            :func:`maskdepth.scene.depth_sources.load_bg_depth`).
        n_boot, seed: bootstrap resamples and seed of the 95 % intervals.
        total: number of frames, for the progress bar.
        quiet: no progress bar.
    Returns: :class:`CalibrationRun`.
    Raises:
        MaskDepthError: no frame, frames of different sizes, both or neither of
        ``focal_px``/``fov_deg``, a bad depth file, or neither fit succeeded.
    """
    from .inference.predictor import check_pair

    if (focal_px is None) == (fov_deg is None):
        raise MaskDepthError("give the focal length as --focal-px F or --fov DEG (one of them)")
    if focal_px is not None and not focal_px > 0:
        raise MaskDepthError(f"--focal-px must be > 0 pixels, got {focal_px:g}")
    if not person_height > 0:
        raise MaskDepthError(f"--person-height must be > 0 metres, got {person_height:g}")
    if not (person_height_sd >= 0 and person_height_mean_sd >= 0):
        raise MaskDepthError(
            f"--person-height-sd and --person-height-mean-sd must be >= 0 metres, got {person_height_sd:g}, {person_height_mean_sd:g}"
        )
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise MaskDepthError("calibrate: no frames")
    H, W = first.shape[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg = check_pair(bg, first, "the frames")
    f = focal_px if focal_px is not None else focal_from_fov(fov_deg, W)
    cx, cy = (W - 1) / 2, (H - 1) / 2
    depth = load_bg_depth(bg_depth, (H, W), unit=bg_depth_unit) if bg_depth is not None else None  # fail before the network runs
    allobs, track_ids, (n, n_obj, n_cut, n_wide) = _observe(predictor, bg, _chain(first, it), (H, W), total, quiet)
    people = depth_fit = None
    people_err = depth_err = None
    try:
        people = fit_camera_from_people(
            allobs,
            f,
            cx,
            cy,
            (W, H),
            person_height=person_height,
            height_sd=person_height_sd,
            mean_height_sd=person_height_mean_sd,
            n_boot=n_boot,
            seed=seed,
            track_ids=track_ids,
        )
    except MaskDepthError as e:
        people_err = str(e)
    if depth is not None:
        K = np.array([[f, 0, cx], [0, f, cy], [0, 0, 1.0]])
        try:
            depth_fit = fit_camera_from_depth(depth.depth, K, rng=np.random.default_rng(seed))
        except MaskDepthError as e:
            depth_err = str(e)
    if depth_fit is not None:
        cam, method = depth_fit.camera, "depth_plane"
    elif people is not None:
        cam, method = people.camera, "people"
    wide = _wide_warning(n_wide, n_obj - n_cut)
    if depth_fit is None and people is None:
        raise MaskDepthError(
            f"calibration failed: {people_err}" + (f"; depth plane: {depth_err}" if depth_err else "") + (f"; {wide}" if wide else "")
        )
    run = CalibrationRun(cam, method, people, depth_fit, n, n_obj, n_cut, allobs, people_err, depth_err, track_ids=track_ids, wide=n_wide)
    run.warnings.extend([wide] if wide else [])
    run.notes.append(
        "camera.json holds the floor-plane camera (from --bg-depth)"
        if method == "depth_plane"
        else "camera.json holds the camera fitted from people"
    )
    return run


def _wide_warning(n_wide: int, n_whole: int) -> str | None:
    """The warning when most of the ``n_whole`` components seen whole are wide for a person (``n_wide``), else None:
    the people model assumes upright people (a car taken for a 1.7 m person gives a wrong camera)."""
    if not n_whole or n_wide <= 0.5 * n_whole:
        return None
    return (
        f"{n_wide} of {n_whole} components seen whole are wider than {WIDE_ASPECT:g} x their height (a standing person: about 0.35): "
        "these look like vehicles or groups, not upright "
        "people, and the people model does not apply; calibrate from points on the floor instead (--floor-points)"
    )


def _observe(predictor, bg: np.ndarray, frames: Iterator[np.ndarray], size: tuple[int, int], total: int | None, quiet: bool):
    """Run the model on every frame, track its components and gather the people seen whole.

    Returns ``(obs (n, 4), track_ids int64 (n,), (frames, objects, cut, wide))``; fragments of a tracked
    object (tracker id 0) get ids of their own (negative).
    Raises: MaskDepthError for a frame of another size.
    """
    from tqdm import tqdm

    H, W = size
    obs, tids, n_obj, n_cut, n_wide, n = [], [], 0, 0, 0, 0
    tracker = Tracker(min_hits=1)  # every track gets its id at once: all its observations are one person
    bar = tqdm(total=total, desc="calibrate", unit="frame", disable=quiet)
    try:
        for frame in frames:
            if frame.shape[:2] != (H, W):
                raise MaskDepthError(f"frame {n} is {frame.shape[1]}x{frame.shape[0]}, the first {W}x{H}: one camera, one frame size")
            fp = frame_people(np.asarray(predictor.predict(bg, frame).mask, bool), tracker)
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


def run_calibrate(
    bg: str | os.PathLike,
    out: str | os.PathLike,
    frames_dir: str | os.PathLike | None = None,
    video: str | os.PathLike | None = None,
    focal_px: float | None = None,
    fov_deg: float | None = None,
    person_height: float = 1.7,
    bg_depth: str | os.PathLike | None = None,
    checkpoint: str | None = None,
    max_frames: int | None = None,
    size: int | None = None,
    backend: str = "auto",
    n_boot: int = 200,
    seed: int = 0,
    predictor=None,
    quiet: bool = False,
    person_height_sd: float = 0.08,
    person_height_mean_sd: float = 0.05,
    bg_depth_unit: str | None = None,
) -> CalibrationRun:
    """``maskdepth calibrate``: read the frames, :func:`calibrate`, write ``out`` (camera.json) atomically.

    camera.json holds the camera's keys and, for a camera fitted from people, ``"calibration"``
    (:meth:`CalibrationRun.calibration_json`: people, what the intervals include, ``at_bound``, warnings).

    Args:
        bg: the empty scene's image file.
        out: the ``camera.json`` to write.
        frames_dir / video: where the frames come from (exactly one).
        predictor: a predictor to use instead of loading ``checkpoint`` (default: the shipped model).
        Others: see :func:`calibrate` and :func:`maskdepth.inference.predictor.load_predictor`.
    Returns: :class:`CalibrationRun` (the file is written only when a fit succeeded).
    Raises: MaskDepthError for bad inputs (one line); nothing is written then.
    """
    if (frames_dir is None) == (video is None):
        raise MaskDepthError("give the frames as --frames DIR or --video FILE (one of them)")
    if max_frames is not None and max_frames < 1:
        raise MaskDepthError(f"--max-frames must be at least 1, got {max_frames}")
    if (focal_px is None) == (fov_deg is None):
        raise MaskDepthError("give the focal length as --focal-px F or --fov DEG (one of them)")
    if not Path(bg).is_file():
        raise MaskDepthError(f"--bg not found: {bg}")
    if bg_depth is not None and not Path(bg_depth).is_file():
        raise MaskDepthError(f"--bg-depth not found: {bg_depth}")
    bg_img = load_rgb(bg)
    frames, total = frames_from_dir(frames_dir, max_frames) if frames_dir is not None else frames_from_video(video, max_frames)
    if predictor is None:
        from .inference.predictor import load_predictor

        predictor = load_predictor(checkpoint, size=size, backend=backend)
    run = calibrate(
        predictor,
        bg_img,
        frames,
        focal_px=focal_px,
        fov_deg=fov_deg,
        person_height=person_height,
        bg_depth=bg_depth,
        n_boot=n_boot,
        seed=seed,
        total=total,
        quiet=quiet,
        person_height_sd=person_height_sd,
        person_height_mean_sd=person_height_mean_sd,
        bg_depth_unit=bg_depth_unit,
    )
    atomic_write_json(out, run.camera_json())
    return run


def run_floor_points(
    bg: str | os.PathLike,
    points: str | os.PathLike,
    out: str | os.PathLike,
    focal_px: float | None = None,
    fov_deg: float | None = None,
    n_boot: int = 200,
    seed: int = 0,
    people_inputs: tuple = (),
):
    """``maskdepth calibrate --floor-points``: a camera from points on the floor of ``bg``
    (:func:`maskdepth.scene.calibrate.floor.run_floor_points`), ``camera.json`` written atomically.

    Args:
        bg: the empty scene's image file (its size is the pixels' frame).
        points: ``points.json`` path; out: the ``camera.json`` to write.
        focal_px / fov_deg: the focal length (at most one; neither: estimated from the points).
        people_inputs: the people fit's inputs (``--frames``, ``--video``, ``--bg-depth``), which must be unset.
    Returns: :class:`maskdepth.scene.calibrate.floor.FloorPointsFit`.
    Raises: MaskDepthError for bad input (one line); nothing is written then.
    """
    from .scene.calibrate.floor import run_floor_points as fit_and_write

    if any(x is not None for x in people_inputs):
        raise MaskDepthError("--floor-points fits the camera from the floor alone: leave out --frames, --video and --bg-depth")
    if focal_px is not None and fov_deg is not None:
        raise MaskDepthError("give the focal length as --focal-px F or --fov DEG, not both")
    if not Path(bg).is_file():
        raise MaskDepthError(f"--bg not found: {bg}")
    H, W = load_rgb(bg).shape[:2]
    f = focal_from_fov(fov_deg, W) if fov_deg is not None else focal_px
    return fit_and_write(points, (W, H), out, focal_px=f, n_boot=n_boot, seed=seed)
