"""``predict_video`` with a fixed camera: ``objects.jsonl`` with stable ids and distances in metres.

The clip: a fixed camera with a known pose (:func:`maskdepth.scene.camera_from_pitch`) over a
textured floor; two upright people (flat rectangles, 1.7 m and 1.6 m tall, 0.5 m wide, sized
by perspective) walk across it in opposite directions at different distances and cross in
the middle (the nearer one hides the farther one). Encoded lossily with H.264 by PyAV.

The predictor is a stand-in whose mask is the thresholded difference to the background
(close to the true mask on these solid shapes) and whose depth has the right shape but the
wrong scale (0.6 x the floor's depth, 30 m above the horizon), as a monocular network's
would: the distances measured come from the geometry (camera or measured depth), not from
the network's scale. (With a constant learned depth the ground-plane source cannot tell
floor from the rest beyond the nearest rows, see ``ground_plane_scene_depth``.)
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from maskdepth.inference.predictor import Prediction  # noqa: E402
from maskdepth.scene import box_iou, camera_from_pitch, id_switches  # noqa: E402
from tests.video.test_video import write_clip  # noqa: E402  (the same H.264 writer as the other video tests)

W, H, N, FPS = 160, 120, 36, 12
CAM = camera_from_pitch(140.0, (W, H), pitch_deg=15.0, camera_height_m=3.0)
# (feet row, height m, colour, x of the left edge at frame 0, px per frame)
WALKERS = ((104, 1.7, (230, 40, 40), 4.0, 3.6), (80, 1.6, (40, 70, 235), 132.0, -3.2))
LEARNED_SCALE, FAR_M = 0.6, 30.0


def floor_bg(seed: int = 5) -> np.ndarray:
    """uint8 (H, W, 3): a smooth grey-brown floor texture (mid tones, far from the walkers' colours)."""
    import cv2

    rng = np.random.default_rng(seed)
    coarse = rng.uniform(95, 150, size=(6, 8, 3)).astype(np.float32)
    img = cv2.resize(coarse, (W, H), interpolation=cv2.INTER_CUBIC) + rng.normal(0, 2, (H, W, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def walker_box(k: int, i: int) -> tuple[int, int, int, int] | None:
    """Inclusive box (x0, y0, x1, y1) of walker ``k`` in frame ``i`` (clipped to the image), or None when outside."""
    v, hm, _, x_start, speed = WALKERS[k]
    z = float(CAM.floor_depth(W / 2, v))
    top = int(round(float(CAM.top_of(W / 2, v, hm)[1])))
    wpx = int(round(CAM.focal_px * 0.5 / z))
    x0 = int(round(x_start + speed * i))
    x0c, x1c = max(x0, 0), min(x0 + wpx - 1, W - 1)
    if x1c - x0c < 3:
        return None
    return (x0c, top, x1c, v)


def true_distance(k: int, i: int) -> float:
    """Camera-z depth (m) of walker ``k``'s feet: the floor depth at its bottom-centre pixel."""
    x0, _, x1, v = walker_box(k, i)
    return float(CAM.floor_depth(0.5 * (x0 + x1), v))


def clip_frames() -> list[np.ndarray]:
    """``N`` frames; the farther walker is drawn first (the nearer one hides it where they cross)."""
    bg = floor_bg()
    rng = np.random.default_rng(0)
    out = []
    for i in range(N):
        f = bg.astype(np.float32)
        for k in sorted(range(len(WALKERS)), key=lambda k: WALKERS[k][0]):  # far (small row) first
            b = walker_box(k, i)
            if b is not None:
                f[b[1] : b[3] + 1, b[0] : b[2] + 1] = WALKERS[k][2]
        f += rng.normal(0, 2.0, f.shape)
        out.append(np.clip(f, 0, 255).round().astype(np.uint8))
    return out


class DiffPredictor:
    """Stand-in predictor: mask = max-channel |image - bg| > 45 (opened 3x3); depth = 0.6 x the
    floor's true depth (30 m above the horizon), the same for every frame."""

    threshold = 0.5
    depth = (LEARNED_SCALE * np.where(CAM.floor_depth_map() > 0, CAM.floor_depth_map(), FAR_M)).astype(np.float32)

    def predict(self, bg: np.ndarray, image: np.ndarray) -> Prediction:
        import cv2

        d = np.abs(image.astype(np.int16) - bg.astype(np.int16)).max(axis=2)
        m = cv2.morphologyEx((d > 45).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
        return Prediction(m, m.astype(np.float32), np.log(self.depth))  # its depth: exp of the log-depth at the same size


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("walkers")
    from maskdepth.io import save_png
    from maskdepth.scene import save_camera

    save_png(d / "bg.png", floor_bg())
    save_camera(CAM, d / "camera.json")
    return write_clip(d / "walk.mp4", clip_frames(), fps=FPS, crf=14), d / "bg.png", d / "camera.json"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def match_truth(lines: list[dict]) -> tuple[list[list], list[list], list[tuple[float, float]]]:
    """Per frame, each true walker matched to the detected object of highest IoU (>= 0.5, else None).

    Returns (hypothesis ids, truth ids, [(measured, true distance)] for the matched pairs).
    """
    hyp, tru, dists = [], [], []
    for rec in lines:
        i = rec["frame"]
        h_i, t_i = [], []
        for k in range(len(WALKERS)):
            b = walker_box(k, i)
            if b is None:
                continue
            best = max(rec["objects"], key=lambda o: box_iou(o["bbox"], b), default=None)
            ok = best is not None and box_iou(best["bbox"], b) >= 0.5
            h_i.append(best["id"] if ok else None)
            t_i.append(k)
            if ok and best["distance_m"] is not None:
                dists.append((best["distance_m"], true_distance(k, i)))
        hyp.append(h_i)
        tru.append(t_i)
    return hyp, tru, dists


def test_clip_objects_ids_and_distances_with_camera(tmp_path, clip):
    from maskdepth.video.config import VideoConfig
    from maskdepth.video.convert import predict_video

    video, bg, cam = clip
    out = tmp_path / "out"
    rec = predict_video(DiffPredictor(), VideoConfig(video=video, out=out, bg=bg, camera=cam, quiet=True, frames="npz"))
    lines = read_jsonl(out / "objects.jsonl")
    assert [r["frame"] for r in lines] == list(range(N))
    assert all(math.isclose(r["time_s"], r["frame"] / FPS, abs_tol=1e-3) for r in lines)
    assert max(len(r["objects"]) for r in lines) == 2
    for r in lines:
        for o in r["objects"]:
            assert set(o) >= {"id", "bbox", "area_px", "contact_px", "distance_m", "height_m", "depth_source"}
            assert o["depth_source"] == "ground_plane"
    hyp, tru, dists = match_truth(lines)
    sw = id_switches(hyp, tru)
    assert sw["id_switches"] <= 1, (sw, hyp)
    matched = sum(h is not None for f in hyp for h in f)
    assert matched >= 0.8 * sum(len(f) for f in tru)  # apart from the frames where they overlap
    rel = np.array([abs(m - t) / t for m, t in dists])
    assert len(rel) >= 0.8 * matched and np.median(rel) < 0.03 and rel.max() < 0.08, rel
    # heights from the camera: 1.7 m and 1.6 m
    heights = [o["height_m"] for r in lines for o in r["objects"] if o["height_m"] is not None and len(r["objects"]) == 2]
    assert heights and np.median(np.abs(np.array(heights) - 1.65)) < 0.15
    # video.json: the source, the camera used, tracking statistics
    assert rec["depth_source"] == "ground_plane" and rec["camera"]["camera_height_m"] == pytest.approx(3.0)
    t = rec["tracking"]
    assert 2 <= t["tracks_started"] <= 3 and t["mean_track_length_frames"] >= 0.5 * N and t["max_missed"] >= 1
    assert t["appearance_w"] == 1.0 and t["appearance_relink"] == 0.8  # the colour cue, on by default
    assert json.loads((out / "video.json").read_text())["tracking"] == t
    assert rec["outputs"]["objects"] == "objects.jsonl" and not list(out.glob(".*tmp*"))
    # where the walkers merge, the one hidden in the other's blob is listed apart, at its predicted box
    hidden = [(r, h) for r in lines for h in r.get("hidden", [])]
    assert hidden and all(h["note"] == "hidden" and h["depth_source"] == "predicted" and h["distance_m"] is None for _, h in hidden)
    assert all(h["id"] not in {o["id"] for o in r["objects"]} and h["floor_xy_m"] is not None for r, h in hidden)
    # composed depth: exact floor depth on empty floor, the nearer walker's plane at its feet
    z = np.load(out / "frames" / f"{N // 4:06d}.npz")
    floor = CAM.floor_depth_map()
    empty = ~z["mask"]
    empty[: int(CAM.horizon_y) + 2] = False
    assert np.allclose(z["depth"][empty], floor[empty], rtol=1e-4)
    o = max(lines[N // 4]["objects"], key=lambda o: o["bbox"][3])
    u, v = (int(round(c)) for c in o["contact_px"])
    assert z["depth"][v, u] == pytest.approx(o["distance_m"], rel=0.02)


def test_clip_measured_depth_with_unknown_pixels_and_smoothing(tmp_path, clip):
    """Measured bg depth with a hole (unknown): distances from the file; smoothing never mixes unknown (0) in."""
    from maskdepth.video.config import VideoConfig
    from maskdepth.video.convert import predict_video

    video, bg, _ = clip
    depth = CAM.floor_depth_map().copy()
    hole = (slice(40, 106), slice(60, 100))  # unknown where the nearer walker passes
    depth[hole] = 0
    np.save(tmp_path / "bg_depth.npy", depth)
    out = tmp_path / "out"
    rec = predict_video(
        DiffPredictor(), VideoConfig(video=video, out=out, bg=bg, bg_depth=tmp_path / "bg_depth.npy", smooth=0.5, frames="npz", quiet=True)
    )
    assert rec["depth_source"] == "measured" and rec["camera"] is None and rec["smoothing"]["applied_to_outputs"]
    lines = read_jsonl(out / "objects.jsonl")
    assert len(lines) == N
    _, _, dists = match_truth(lines)
    rel = np.array([abs(m - t) / t for m, t in dists])
    assert len(rel) > N and np.median(rel) < 0.03, rel
    assert all(o["depth_source"] == "measured" for r in lines for o in r["objects"] if o["distance_m"] is not None)
    newly_known = 0
    prev_mask = None
    ever = np.zeros((H, W), bool)  # covered by the mask in some frame so far
    for r in lines:
        z = np.load(out / "frames" / f"{r['frame']:06d}.npz")
        d, m = z["depth"], z["mask"]
        assert np.isfinite(d).all() and (d >= 0).all()
        unknown_now = depth == 0
        unknown_now &= ~m  # object pixels get the object's plane even where the scene is unknown
        assert (d[unknown_now] == 0).all()  # nothing leaks from earlier frames
        ever |= m
        never_fg = (depth > 0) & ~ever  # the static scene, never covered so far: exactly the measured depth
        assert np.allclose(d[never_fg], depth[never_fg], rtol=1e-4)
        if prev_mask is not None:
            for o in r["objects"]:
                if o["distance_m"] is None:
                    continue
                x0, y0, x1, y1 = o["bbox"]
                sel = np.zeros_like(m)
                sel[y0 : y1 + 1, x0 : x1 + 1] = True
                fresh = sel & m & ~prev_mask & (depth == 0)  # known only from this frame on
                if fresh.any():
                    newly_known += int(fresh.sum())
                    ratio = d[fresh] / o["distance_m"]
                    assert ratio.min() > 0.85 and ratio.max() < 1.1, ratio  # its own depth, not a mix with 0
        prev_mask = m
    assert newly_known > 0


def test_bad_scene_inputs_write_nothing(tmp_path, clip):
    from maskdepth.errors import MaskDepthError
    from maskdepth.video.config import VideoConfig
    from maskdepth.video.convert import predict_video

    video, bg, _ = clip
    np.save(tmp_path / "wide.npy", np.ones((50, 200), np.float32))
    np.save(tmp_path / "zero.npy", np.zeros((H, W), np.float32))
    low = CAM.to_json() | {"horizon_y": H + 5}
    (tmp_path / "low.json").write_text(json.dumps(low))
    for kw, needle in (
        ({"bg_depth": tmp_path / "wide.npy"}, "aspect"),
        ({"bg_depth": tmp_path / "zero.npy"}, "no known pixel"),
        ({"camera": tmp_path / "low.json"}, "horizon"),
        ({"camera": tmp_path / "missing.json"}, "not found"),
    ):
        out = tmp_path / f"o_{needle.replace(' ', '_')}"
        with pytest.raises(MaskDepthError, match=needle) as e:
            predict_video(DiffPredictor(), VideoConfig(video=video, out=out, bg=bg, quiet=True, **kw))
        assert "\n" not in str(e.value)
        assert not out.exists()


def test_cli_video_with_camera(tmp_path, clip, tiny_ck, capsys):
    """``maskdepth predict --video --camera``: the options reach :func:`predict_video` (any model)."""
    from maskdepth.cli import main

    video, bg, cam = clip
    out = tmp_path / "cli"
    rc = main(
        [
            "predict",
            "--video",
            str(video),
            "--bg",
            str(bg),
            "--camera",
            str(cam),
            "--out",
            str(out),
            "--checkpoint",
            str(tiny_ck),
            "--quiet",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    rec = json.loads((out / "video.json").read_text())
    assert rec["depth_source"] == "ground_plane" and rec["camera"]["image_size"] == [W, H]
    assert len(read_jsonl(out / "objects.jsonl")) == N and rec["tracking"]["tracks_started"] >= 0
    capsys.readouterr()
    assert (
        main(["predict", "--video", str(video), "--bg", str(bg), "--camera", str(tmp_path / "no.json"), "--out", str(tmp_path / "x")]) == 2
    )
    err = capsys.readouterr().err
    assert "camera file not found" in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


def test_the_frame_step_gives_the_tracker_the_frames_colours():
    """``predict --video`` (and ``watch``) hand the tracker each frame and its component labels: the walkers' colours
    reach it (the adopted colour cue, ``maskdepth.scene.tracking``), red and blue told apart."""
    from maskdepth.scene.appearance import bhattacharyya
    from maskdepth.scene.fixed_camera import FixedCamera
    from maskdepth.scene.tracking import make_tracker
    from maskdepth.video.convert import FrameStep

    tracker = make_tracker(fps=FPS, camera=CAM)
    step = FrameStep(DiffPredictor(), FixedCamera(floor_bg(), camera=CAM), tracker)
    frames = clip_frames()
    step(floor_bg(), frames[2])
    colours = [d for d in tracker._det_appearance if d is not None]
    assert len(colours) == 2 and bhattacharyya(*colours) < 0.2


def test_no_track_colour_tracks_by_position_alone(tmp_path, clip):
    """``--no-track-colour`` (``TrackConfig.track_colour=False``): the tracker of ``predict --video`` has no colour cue."""
    from maskdepth.video.config import VideoConfig
    from maskdepth.video.convert import predict_video

    video, bg, cam = clip
    rec = predict_video(DiffPredictor(), VideoConfig(video=video, out=tmp_path / "o", bg=bg, camera=cam, quiet=True, track_colour=False))
    assert rec["tracking"]["appearance_w"] == 0.0 and rec["tracking"]["appearance_relink"] is None
