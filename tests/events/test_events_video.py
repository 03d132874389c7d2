"""``predict --video --zones``: events.jsonl next to objects.jsonl, objects with speeds and floor positions,
on the two-walker clip of tests/test_video_objects.py (camera known, so speeds are known)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("av")

from maskdepth.errors import MaskDepthError  # noqa: E402
from tests.video.test_video import write_clip  # noqa: E402
from tests.video.test_video_objects import CAM, FPS, WALKERS, DiffPredictor, clip_frames, floor_bg, read_jsonl  # noqa: E402

ZONES = {
    "zones": [{"name": "left", "polygon_px": [[0, 60], [60, 60], [60, 119], [0, 119]]}],
    "lines": [{"name": "middle", "px": [[80, 0], [80, 119]]}],
}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """The two-walker clip of tests/test_video_objects.py, its background and camera."""
    from maskdepth.io import save_png
    from maskdepth.scene import save_camera

    d = tmp_path_factory.mktemp("walkers_events")
    save_png(d / "bg.png", floor_bg())
    save_camera(CAM, d / "camera.json")
    return write_clip(d / "walk.mp4", clip_frames(), fps=FPS, crf=14), d / "bg.png", d / "camera.json"


def test_predict_video_with_zones_writes_events_and_speeds(tmp_path, clip):
    from maskdepth.video.config import VideoConfig
    from maskdepth.video.convert import predict_video

    video, bg, cam = clip
    zp = tmp_path / "zones.json"
    zp.write_text(json.dumps(ZONES))
    out = tmp_path / "out"
    rec = predict_video(DiffPredictor(), VideoConfig(video=video, out=out, bg=bg, camera=cam, zones=zp, quiet=True))
    events = read_jsonl(out / "events.jsonl")
    kinds = [e["type"] for e in events]
    cross = sorted((e["from_side"], e["id"]) for e in events if e["type"] == "line_cross")
    # walker 0 goes right (from the line's right-hand side: the line points down the image), walker 1 goes left
    assert [s for s, _ in cross] == ["left", "right"], events
    assert kinds.count("enter") >= 2 and kinds.count("exit") == kinds.count("enter")
    assert kinds.count("zone_enter") == kinds.count("zone_exit") >= 1  # the near walker's feet pass through "left"
    assert rec["outputs"]["events"] == "events.jsonl" and rec["events"]["events"]["line_cross"] == 2
    assert not list(out.glob(".*tmp*"))
    # objects.jsonl gains floor_xy_m and speed_m_s; the near walker moves 3.6 px/frame at its depth
    lines = read_jsonl(out / "objects.jsonl")
    v, z = WALKERS[0][0], float(CAM.floor_depth(80, WALKERS[0][0]))
    true_speed = 3.6 * FPS * z / CAM.focal_px  # lateral: metres per pixel at depth z
    speeds = [o["speed_m_s"] for r in lines[15:25] for o in r["objects"] if o["id"] and o["contact_px"] and abs(o["contact_px"][1] - v) < 3]
    speeds = [s for s in speeds if s is not None]
    assert speeds and np.median(speeds) == pytest.approx(true_speed, rel=0.15)
    assert all("floor_xy_m" in o and "speed_m_s" in o for r in lines for o in r["objects"])


def test_bad_zones_fail_before_anything_is_written(tmp_path, clip):
    from maskdepth.video.config import VideoConfig
    from maskdepth.video.convert import predict_video

    video, bg, cam = clip
    zp = tmp_path / "zones.json"
    zp.write_text(json.dumps({"zones": [{"name": "z", "polygon_floor_m": [[0, 1], [1, 1], [1, 2]]}]}))
    with pytest.raises(MaskDepthError, match="needs a camera") as e:
        predict_video(DiffPredictor(), VideoConfig(video=video, out=tmp_path / "out", bg=bg, zones=zp, quiet=True))
    assert "\n" not in str(e.value) and not (tmp_path / "out").exists()


def test_cli_bad_zones_is_one_line_and_writes_nothing(tmp_path, clip, capsys):
    from maskdepth.cli import main

    video, bg, _ = clip
    zp = tmp_path / "zones.json"
    zp.write_text('{"lines": [{"name": "l", "px": [[0, 0], [0, 0]]}]}')
    rc = main(["predict", "--video", str(video), "--bg", str(bg), "--zones", str(zp), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "end points are the same" in err and not (tmp_path / "out").exists()
    rc = main(["predict", "--bg", str(bg), "--image", str(bg), "--zones", str(zp), "--out", str(tmp_path / "o2")])
    assert rc == 2 and "--zones goes with --video" in capsys.readouterr().err
