"""Issue 18, `maskdepth calibrate` from people on video: the people are tracked, each track is one person
for the intervals (cluster bootstrap), their number is reported (and warned about below 10), camera.json
says what the intervals include; components wider than tall (vehicles, groups) are warned about.

Walkers: procedural people walking straight lines of the floor of a known camera (the same person in
every frame), pasted upright with :func:`test_calibrate_cmd.upright_person`; a fake predictor returns
the true masks."""

from __future__ import annotations

import json

import numpy as np

from maskdepth.calibration import frame_people
from maskdepth.cli import main
from maskdepth.scene import Tracker, camera_from_pitch, fit_camera_from_people
from maskdepth.scene.calibrate.people import PeopleFitSettings
from tests.scene.test_calibrate_cmd import H, TrueMasks, W, calibrate_files, upright_person, write_clip

F = 250.0


def walkers_clip(cam, n_walkers: int, n_frames: int, seed: int):
    """``(bg, frames, masks, n_seen)``: ``n_walkers`` people (1.6-1.8 m) each walking a straight floor line inside
    its own column band (skipped in a frame where they would be cut by the border or under 16 px tall);
    ``n_seen`` walkers appear in at least one frame."""
    rng = np.random.default_rng(seed)
    bg = np.zeros((H, W, 3), np.uint8)
    bg[..., 0] = np.linspace(40, 200, W)[None].astype(np.uint8)
    bg[..., 1] = 110
    bg[..., 2] = np.linspace(60, 160, H)[:, None].astype(np.uint8)
    v_lo = max(cam.horizon_y + 0.08 * H, 0)
    band = W / n_walkers
    paths = []
    for k in range(n_walkers):
        ends = [(rng.uniform((k + 0.3) * band, (k + 0.7) * band), rng.uniform(v_lo, H - 4)) for _ in range(2)]
        P = cam.floor_point(np.array([e[0] for e in ends]), np.array([e[1] for e in ends]))
        uv = cam.project(P[0] + np.linspace(0, 1, n_frames)[:, None] * (P[1] - P[0]))
        paths.append((uv, rng.uniform(1.6, 1.8), int(rng.integers(1 << 30))))
    frames, masks, seen = [], [], set()
    for t in range(n_frames):
        img, m = bg.copy(), np.zeros((H, W), bool)
        for k, (uv, h, s) in enumerate(paths):
            got = upright_person(np.random.default_rng(s), cam, float(uv[t, 0]), int(uv[t, 1]), h)
            if got is None:
                continue
            fg, (y0, x0) = got
            y1, x1 = y0 + fg.shape[0], x0 + fg.shape[1]
            if y0 < 1 or x0 < 1 or x1 > W - 1 or y1 > H - 1:
                continue
            a = fg[..., 3:4].astype(np.float32) / 255
            img[y0:y1, x0:x1] = (a * fg[..., :3] + (1 - a) * img[y0:y1, x0:x1]).round().astype(np.uint8)
            m[y0:y1, x0:x1] |= fg[..., 3] >= 128
            seen.add(k)
        frames.append(img)
        masks.append(m)
    return bg, frames, masks, len(seen)


def test_walkers_are_counted_as_people_and_resampled_whole(tmp_path):
    cam = camera_from_pitch(F, (W, H), 22.0, 3.0)
    bg, frames, masks, n_seen = walkers_clip(cam, 6, 25, seed=1)
    write_clip(tmp_path, bg, frames)
    out = tmp_path / "camera.json"
    run = calibrate_files(tmp_path / "bg.png", out, frames_dir=tmp_path / "frames", focal_px=F, predictor=TrueMasks(masks), quiet=True)
    assert run.observations.shape[0] >= 100 and n_seen >= 5 and run.n_people == n_seen  # each walker one track
    d = json.loads(out.read_text())
    cal = d["calibration"]
    assert cal["n_people"] == run.people.details["n_people"] and cal["n_observations"] == run.observations.shape[0]
    assert "cluster bootstrap over" in cal["interval"] and "+- 0.05 m" in cal["interval"] and cal["at_bound"] is False
    assert any("distinct people" in w for w in cal["warnings"])  # fewer than 10 people
    lo, hi = d["camera_height_m_ci95"]
    assert lo < d["camera_height_m"] < hi and lo <= 3.0 <= hi
    lines = run.lines()
    assert f"of {run.n_people} distinct people" in lines[0] and any(x.startswith("intervals: 95 % cluster bootstrap") for x in lines)
    # the same observations taken as independent people (the old intervals) are much narrower
    r0 = fit_camera_from_people(run.observations, F, cam.cx, cam.cy, (W, H), PeopleFitSettings(mean_height_sd=0.0))
    r1 = fit_camera_from_people(run.observations, F, cam.cx, cam.cy, (W, H), PeopleFitSettings(mean_height_sd=0.0), track_ids=run.track_ids)
    w0, w1 = (np.diff(r.camera.camera_height_m_ci95)[0] for r in (r0, r1))
    assert w1 > 2 * w0, (w0, w1)


def test_cli_prints_people_and_interval_contents(tmp_path, capsys, monkeypatch):
    cam = camera_from_pitch(F, (W, H), 22.0, 3.0)
    bg, frames, masks, _ = walkers_clip(cam, 6, 12, seed=2)
    write_clip(tmp_path, bg, frames)
    import maskdepth.inference.predictor

    monkeypatch.setattr(maskdepth.inference.predictor, "load_predictor", lambda *a, **k: TrueMasks(masks))
    out = tmp_path / "c.json"
    args = ["calibrate", "--bg", str(tmp_path / "bg.png"), "--frames", str(tmp_path / "frames"), "--focal-px", str(F), "--out", str(out)]
    rc = main([*args, "--quiet", "--person-height-mean-sd", "0.02", "--person-height-sd", "0.07"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert "distinct people (tracks)" in cap.out and "intervals: 95 % cluster bootstrap" in cap.out and "+- 0.02 m" in cap.out
    cal = json.loads(out.read_text())["calibration"]
    assert cal["person_height_mean_sd_m"] == 0.02 and cal["person_height_sd_m"] == 0.07
    rc = main([*args, "--quiet", "--person-height-mean-sd", "-1"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "--person-height-mean-sd" in err and "\n" not in err


def cars_clip(cam, n_frames: int, seed: int, length_m: float = 4.0):
    """Masks of cars 1.5 m tall and ``length_m`` wide in the image (4 m: a side view, wider than tall; 1.4 m: seen
    from behind like the real highway clip's cars, width/height about 0.9) driving across the floor."""
    rng = np.random.default_rng(seed)
    masks = []
    for _ in range(n_frames):
        m = np.zeros((H, W), bool)
        for _ in range(2):
            u, v = rng.uniform(60, W - 60), rng.uniform(cam.horizon_y + 0.15 * H, H - 4)
            top = cam.top_of(u, v, 1.5)
            half = 0.5 * length_m * F / float(cam.floor_depth(u, v))
            m[int(np.ceil(top[1])) : int(v) + 1, max(int(u - half), 1) : min(int(u + half), W - 2)] = True
        masks.append(m)
    return masks


def test_vehicles_wider_than_tall_are_warned_about(tmp_path):
    cam = camera_from_pitch(F, (W, H), 15.0, 6.0)
    masks = cars_clip(cam, 12, seed=3)
    fp = frame_people(masks[0], Tracker(min_hits=1))
    assert fp.n_wide == fp.n_objects - fp.n_cut > 0 and fp.track_ids.shape == (fp.obs.shape[0],)
    bg = np.full((H, W, 3), 90, np.uint8)
    write_clip(tmp_path, bg, [bg] * len(masks))
    out = tmp_path / "c.json"
    run = calibrate_files(tmp_path / "bg.png", out, frames_dir=tmp_path / "frames", focal_px=F, predictor=TrueMasks(masks), quiet=True)
    warn = [x for x in run.lines() if "vehicles or groups" in x]
    assert warn and warn[0].startswith("warning:") and "--floor-points" in warn[0]
    assert any("vehicles or groups" in w for w in json.loads(out.read_text())["calibration"]["warnings"])
    # cars seen from behind are not wider than tall, but far wider than a standing person (about 0.35)
    masks = cars_clip(cam, 12, seed=5, length_m=1.3)
    aspect = [(b[2] - b[0] + 1) / (b[3] - b[1] + 1) for m in masks for b in _boxes(m)]
    assert 0.75 < np.median(aspect) < 1.0
    fps = [frame_people(m) for m in masks]
    assert sum(f.n_wide for f in fps) > 0.5 * sum(f.n_objects - f.n_cut for f in fps)
    # upright people: no such warning
    _, _, masks2, _ = walkers_clip(camera_from_pitch(F, (W, H), 22.0, 3.0), 6, 6, seed=4)
    assert frame_people(masks2[0]).n_wide == 0


def _boxes(mask):
    from maskdepth.scene import extract_objects

    return [o.bbox for o in extract_objects(mask, None, None)]
