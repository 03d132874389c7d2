"""``maskdepth events-report``: one self-contained HTML page from a folder of events.jsonl + objects.jsonl,
made here by the events pipeline on synthetic walkers seen by a known camera."""

from __future__ import annotations

import json
import re

import pytest

from maskdepth.cli import main
from maskdepth.events.pipeline import open_events
from maskdepth.events.synthetic import walk
from maskdepth.scene import camera_from_pitch, save_camera

pytest.importorskip("matplotlib")

CAM = camera_from_pitch(600.0, (640, 480), 25.0, 3.0)
ZONES = {
    "zones": [{"name": "mat", "polygon_floor_m": [[-1, 5], [1, 5], [1, 7], [-1, 7]]}],
    "lines": [{"name": "y6", "floor_m": [[-3, 6], [3, 6]]}],
}


@pytest.fixture
def watch_dir(tmp_path):
    d = tmp_path / "watch"
    d.mkdir()
    (tmp_path / "zones.json").write_text(json.dumps(ZONES))
    save_camera(CAM, tmp_path / "camera.json")
    frames = walk(CAM, {1: lambda t: (0.3, 3.0 + 1.2 * t), 2: lambda t: (-0.5, 9.0 - 1.0 * t) if t > 1 else None}, 80, 10.0)
    ev = open_events(d, zones=tmp_path / "zones.json", camera=tmp_path / "camera.json", image_size=(640, 480), fps=10.0)
    with open(d / "objects.jsonl", "w") as f:
        for k, objs in enumerate(frames):
            _, recs, _ = ev.step(objs, k)
            f.write(json.dumps({"frame": k, "objects": recs}) + "\n")
    ev.finish(len(frames))
    ev.close()
    return d


def test_report_is_one_self_contained_page(watch_dir, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert (
        main(
            [
                "events-report",
                str(watch_dir),
                "--out",
                str(out),
                "--zones",
                str(tmp_path / "zones.json"),
                "--camera",
                str(tmp_path / "camera.json"),
            ]
        )
        == 0
    )
    page = out.read_text()
    assert len(re.findall(r'src="data:image/png;base64,[A-Za-z0-9+/=]{100,}"', page)) == 3
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "<td>mat</td><td>2</td><td>2</td>" in page  # both walkers pass through the mat
    assert "<td>y6</td><td>1</td><td>1</td>" in page  # one crossing each way


def test_report_bad_folder_is_one_line(tmp_path, capsys):
    assert main(["events-report", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a folder" in err
    (tmp_path / "empty").mkdir()
    assert main(["events-report", str(tmp_path / "empty")]) == 2
    assert "has no events.jsonl" in capsys.readouterr().err
