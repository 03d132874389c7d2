"""`maskdepth calibrate` (issue 12): horizon and camera height from the people a fixed camera sees.

A synthetic clip: procedural people pasted standing on the floor of a known `camera_from_pitch`
camera, feet on the floor, head where `Camera.top_of` puts a person of 1.6-1.8 m, leaning toward
the vertical vanishing point like a real upright person. A fake predictor returns the true
masks (the fit is tested, not the network); one test runs the shipped model end to end."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from maskdepth.calibration import CalibrateConfig, focal_from_fov, people_observations, run_calibrate
from maskdepth.cli import main
from maskdepth.data.procedural import procedural_foreground
from maskdepth.errors import MaskDepthError
from maskdepth.scene import camera_from_pitch, load_camera

W, H, F = 320, 240, 250.0


def upright_person(rng, cam, u, r_f, h_m):
    """RGBA cutout of a person ``h_m`` metres tall standing at column ``u``, bottom row ``r_f``,
    sheared so the head is at :meth:`Camera.top_of`; and its top-left ``(y0, x0)``. None if it does not fit."""
    top = cam.top_of(u, r_f + 0.5, h_m)
    if not np.isfinite(top).all() or top[1] < 3:
        return None
    hp = int(round(r_f + 0.5 - top[1] + 1.5))  # the cutout's top 1-2 rows are transparent
    if hp < 16:
        return None
    fg = procedural_foreground(rng, "person", hp)
    h, w = fg.shape[:2]
    dx = top[0] - u
    pad = int(np.ceil(abs(dx))) + 1
    shear = np.float32([[1, -dx / (h - 1), pad + dx], [0, 1, 0]])  # row y moves by dx (h-1-y)/(h-1)
    fg = cv2.warpAffine(fg, shear, (w + 2 * pad, h), flags=cv2.INTER_LINEAR, borderValue=0)
    return fg, (r_f - h + 1, int(round(u - (w + 2 * pad) / 2)))


def synthetic_clip(cam, n_frames: int, seed: int, per_frame: int = 2):
    """``(bg, frames, masks)``: ``per_frame`` people per frame, each in its own column band."""
    rng = np.random.default_rng(seed)
    bg = np.zeros((H, W, 3), np.uint8)
    bg[..., 0] = np.linspace(40, 200, W)[None].astype(np.uint8)
    bg[..., 1] = 110
    bg[..., 2] = np.linspace(60, 160, H)[:, None].astype(np.uint8)
    frames, masks = [], []
    v_lo = max(cam.horizon_y + 0.06 * H, 0)
    for _ in range(n_frames):
        img, m = bg.copy(), np.zeros((H, W), bool)
        for k in range(per_frame):
            for _ in range(500):
                u = rng.uniform((k + 0.2) * W / per_frame, (k + 0.8) * W / per_frame)
                got = upright_person(rng, cam, u, int(rng.integers(int(v_lo), H - 2)), rng.uniform(1.6, 1.8))
                if got is not None and got[1][1] > 1 and got[1][1] + got[0].shape[1] < W - 1:
                    break
            fg, (y0, x0) = got
            a = fg[..., 3:4].astype(np.float32) / 255
            sl = (slice(y0, y0 + fg.shape[0]), slice(x0, x0 + fg.shape[1]))
            img[sl] = (a * fg[..., :3] + (1 - a) * img[sl]).round().astype(np.uint8)
            m[sl] |= fg[..., 3] >= 128
        frames.append(img)
        masks.append(m)
    return bg, frames, masks


class TrueMasks:
    """A fake predictor: the true mask of each frame, in call order."""

    def __init__(self, masks):
        self.masks, self.calls = list(masks), 0

    def predict(self, bg, frame):
        class P:
            mask = self.masks[self.calls]
            prob = mask.astype(np.float32)

        self.calls += 1
        return P()


def calibrate_files(bg, out, predictor=None, **settings):
    """:func:`run_calibrate` on a :class:`CalibrateConfig` of ``bg``, ``out`` and ``settings``."""
    return run_calibrate(CalibrateConfig(bg=bg, out=out, **settings), predictor=predictor)


def write_clip(d, bg, frames):
    (d / "frames").mkdir()
    Image.fromarray(bg).save(d / "bg.png")
    for i, f in enumerate(frames):
        Image.fromarray(f).save(d / "frames" / f"{i:03d}.png")


@pytest.mark.parametrize("pitch,height", [(25.0, 3.0), (12.0, 2.2)])
def test_recovers_horizon_and_height_within_intervals(tmp_path, pitch, height):
    cam = camera_from_pitch(F, (W, H), pitch, height)
    bg, frames, masks = synthetic_clip(cam, 20, seed=1)
    write_clip(tmp_path, bg, frames)
    run = calibrate_files(
        tmp_path / "bg.png", tmp_path / "camera.json", frames_dir=tmp_path / "frames", focal_px=F, predictor=TrueMasks(masks), quiet=True
    )
    assert run.method == "people" and run.frames == 20 and run.observations.shape == (40, 4) and run.cut == 0
    got = load_camera(tmp_path / "camera.json")
    d = json.loads((tmp_path / "camera.json").read_text())
    assert {"horizon_y_ci95", "camera_height_m_ci95"} <= set(d) and d["source"] == "people"
    lo, hi = got.horizon_y_ci95
    assert lo <= cam.horizon_y <= hi, (cam.horizon_y, got.horizon_y_ci95)
    lo, hi = got.camera_height_m_ci95
    assert lo <= height <= hi, (height, got.camera_height_m_ci95)
    assert abs(got.horizon_y - cam.horizon_y) <= 0.02 * H
    assert abs(got.camera_height_m - height) <= 0.05 * height
    # every frame draws new people, but the tracker links those near each other into one track: fewer people
    # than observations, said in a warning (walkers: tests/test_calibrate_people.py)
    assert run.people.warning is None or run.people.warning.startswith("only ") and "distinct people" in run.people.warning
    assert 5 <= run.n_people <= 40 and any("95 % interval" in line for line in run.lines())


def test_bg_depth_floor_plane_is_the_main_camera(tmp_path):
    cam = camera_from_pitch(F, (W, H), 25.0, 3.0)
    bg, frames, masks = synthetic_clip(cam, 10, seed=2)
    write_clip(tmp_path, bg, frames)
    z = cam.floor_depth_map()
    Image.fromarray(np.rint(z * 1000).clip(0, 65535).astype(np.uint16)).save(tmp_path / "depth.png")
    out = tmp_path / "camera.json"
    run = calibrate_files(
        tmp_path / "bg.png",
        out,
        frames_dir=tmp_path / "frames",
        focal_px=F,
        bg_depth=tmp_path / "depth.png",
        predictor=TrueMasks(masks),
        quiet=True,
    )
    assert run.method == "depth_plane" and run.people is not None  # both reported
    got = load_camera(out)
    assert json.loads(out.read_text())["source"] == "depth_plane"
    assert got.camera_height_m == pytest.approx(3.0, rel=0.01) and got.horizon_y == pytest.approx(cam.horizon_y, abs=1.0)
    text = "\n".join(run.lines())
    assert "from people" in text and "floor plane" in text


def test_too_few_people_gives_unbounded_intervals(tmp_path):
    cam = camera_from_pitch(F, (W, H), 20.0, 2.8)
    bg, frames, masks = synthetic_clip(cam, 2, seed=3)  # 4 people: fewer than the 5 needed
    write_clip(tmp_path, bg, frames)
    run = calibrate_files(
        tmp_path / "bg.png", tmp_path / "c.json", frames_dir=tmp_path / "frames", fov=65.0, predictor=TrueMasks(masks), quiet=True
    )
    d = json.loads((tmp_path / "c.json").read_text())
    assert d["horizon_y_ci95"] == [None, None] and d["camera_height_m_ci95"] == [None, None]
    assert d["focal_px"] == pytest.approx(focal_from_fov(65.0, W), abs=1e-3)
    assert any(line.startswith("warning:") and f"only {run.n_people} people" in line for line in run.lines()) and run.n_people <= 4


def test_components_cut_by_the_border_are_skipped():
    m = np.zeros((60, 80), bool)
    m[10:40, 0:6] = True  # touches the left border
    m[20:50, 30:38] = True  # whole
    m[40:60, 60:66] = True  # feet outside the frame
    obs, n, cut = people_observations(m)
    assert n == 3 and cut == 2 and obs.shape == (1, 4)
    assert obs[0, 1] == pytest.approx(49.5) and obs[0, 2] == pytest.approx(19.5)  # foot bottom edge, head top edge


def test_max_frames_spreads_over_the_clip(tmp_path):
    cam = camera_from_pitch(F, (W, H), 25.0, 3.0)
    bg, frames, masks = synthetic_clip(cam, 12, seed=4)
    write_clip(tmp_path, bg, frames)
    fake = TrueMasks(masks[::3])  # frames 0, 4, 7, 11 of 12 are used; the fake only counts calls
    run = calibrate_files(
        tmp_path / "bg.png", tmp_path / "c.json", frames_dir=tmp_path / "frames", focal_px=F, max_frames=4, predictor=fake, quiet=True
    )
    assert run.frames == 4 and fake.calls == 4


def test_video_frames(tmp_path):
    pytest.importorskip("av")
    from tests.video.test_video import write_clip as write_video

    cam = camera_from_pitch(F, (W, H), 25.0, 3.0)
    bg, frames, masks = synthetic_clip(cam, 8, seed=5)
    Image.fromarray(bg).save(tmp_path / "bg.png")
    write_video(tmp_path / "clip.mp4", frames)
    fake = TrueMasks(masks)
    run = calibrate_files(tmp_path / "bg.png", tmp_path / "c.json", video=tmp_path / "clip.mp4", focal_px=F, predictor=fake, quiet=True)
    assert run.frames == 8 == fake.calls and (tmp_path / "c.json").is_file()


def test_cli_shipped_model_end_to_end(tmp_path, capsys):
    cam = camera_from_pitch(F, (W, H), 25.0, 3.0)
    bg, frames, _ = synthetic_clip(cam, 20, seed=1)
    write_clip(tmp_path, bg, frames)
    out = tmp_path / "camera.json"
    rc = main(
        [
            "calibrate",
            "--bg",
            str(tmp_path / "bg.png"),
            "--frames",
            str(tmp_path / "frames"),
            "--focal-px",
            str(F),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    got = load_camera(out)
    assert got.source == "people" and got.horizon_y_ci95 is not None and got.camera_height_m_ci95 is not None
    assert abs(got.horizon_y - cam.horizon_y) <= 0.05 * H and got.camera_height_m == pytest.approx(3.0, rel=0.1)
    assert "horizon_y" in cap.out and f"wrote {out}" in cap.out


def test_cli_without_bg_estimates_the_empty_scene(tmp_path, capsys):
    """No photo of the empty scene: it is estimated from the frames (as `watch` does), and the fit is as good."""
    cam = camera_from_pitch(F, (W, H), 25.0, 3.0)
    bg, frames, _ = synthetic_clip(cam, 20, seed=1)
    write_clip(tmp_path, bg, frames)
    out = tmp_path / "camera.json"
    rc = main(["calibrate", "--frames", str(tmp_path / "frames"), "--focal-px", str(F), "--out", str(out), "--quiet"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    got = load_camera(out)
    assert got.source == "people" and abs(got.horizon_y - cam.horizon_y) <= 0.05 * H
    assert got.camera_height_m == pytest.approx(3.0, rel=0.1)
    assert "no --bg: the empty scene was estimated from the frames" in cap.out
    assert json.loads(out.read_text())["calibration"]["bg"].startswith("estimated from the frames")


def test_estimated_bg_is_the_empty_scene():
    """The estimate of the empty scene (:func:`estimated_bg`) from frames whose people stand elsewhere in each frame,
    judged by a predictor that sees them: within a few grey levels of the true one, the people gone."""
    from maskdepth.calibration import estimated_bg

    cam = camera_from_pitch(F, (W, H), 25.0, 3.0)
    bg, frames, masks = synthetic_clip(cam, 24, seed=7)

    class Judge:  # the true masks, whatever bg it is given
        def predict(self, b, f):
            class P:
                prob = masks[next(i for i, g in enumerate(frames) if np.array_equal(g, f))].astype(np.float32)

            return P()

    est, how = estimated_bg(Judge(), iter(frames), len(frames))
    assert est.shape == bg.shape and est.dtype == np.uint8
    err = np.abs(est.astype(int) - bg.astype(int)).max(axis=2)
    assert np.percentile(err, 99) <= 3 and "estimated from the frames" in how
    with pytest.raises(MaskDepthError, match="^calibrate: no frames to estimate the empty scene from$"):
        estimated_bg(Judge(), iter([]), 0)


CLI_ERRORS = [
    ([], "--focal-px or fov"),
    (["--focal-px", "250", "--fov", "60"], "--focal-px or fov"),
    (["--fov", "190"], "within (0, 180)"),
    (["--focal-px", "250", "--video", "clip.mp4"], "--frames and video"),
    (["--focal-px", "250", "--max-frames", "0"], "--max-frames"),
    (["--focal-px", "250", "--bg-depth", "nope.png"], "not found"),
]


@pytest.mark.parametrize("extra,match", CLI_ERRORS)
def test_cli_errors_are_one_line(tmp_path, capsys, extra, match):
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(tmp_path / "bg.png")
    (tmp_path / "frames").mkdir()
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(tmp_path / "frames" / "0.png")
    out = tmp_path / "camera.json"
    args = ["calibrate", "--bg", str(tmp_path / "bg.png"), "--frames", str(tmp_path / "frames"), "--out", str(out), "--quiet", *extra]
    rc = main([a if not a.endswith((".mp4", "nope.png")) else str(tmp_path / a) for a in args])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("maskdepth: error:") and "\n" not in err and match in err
    assert not out.exists()


def test_cli_video_without_the_extra(tmp_path, capsys, monkeypatch):
    import maskdepth.extras

    real = maskdepth.extras._installed
    monkeypatch.setattr(maskdepth.extras, "_installed", lambda m: False if m == "av" else real(m))
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(tmp_path / "bg.png")
    (tmp_path / "clip.mp4").write_bytes(b"x")
    rc = main(
        [
            "calibrate",
            "--bg",
            str(tmp_path / "bg.png"),
            "--video",
            str(tmp_path / "clip.mp4"),
            "--fov",
            "60",
            "--out",
            str(tmp_path / "c.json"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "[video] extra" in err and "\n" not in err


def test_bg_depth_unit_mm_npy(tmp_path):
    """A .npy scene depth in millimetres: refused with a line naming the unit, read right with bg_depth_unit="mm"."""
    cam = camera_from_pitch(F, (W, H), 25.0, 3.0)
    bg, frames, masks = synthetic_clip(cam, 10, seed=2)
    write_clip(tmp_path, bg, frames)
    np.save(tmp_path / "depth_mm.npy", (cam.floor_depth_map() * 1000).astype(np.float32))
    kw = dict(frames_dir=tmp_path / "frames", focal_px=F, bg_depth=tmp_path / "depth_mm.npy", predictor=TrueMasks(masks), quiet=True)
    with pytest.raises(MaskDepthError, match="mm"):
        calibrate_files(tmp_path / "bg.png", tmp_path / "refused.json", **kw)
    assert not (tmp_path / "refused.json").exists()
    run = calibrate_files(tmp_path / "bg.png", tmp_path / "camera.json", bg_depth_unit="mm", **kw)
    assert run.method == "depth_plane"
    assert load_camera(tmp_path / "camera.json").camera_height_m == pytest.approx(3.0, rel=0.01)
