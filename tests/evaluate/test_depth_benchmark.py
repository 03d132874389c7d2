"""python -m benchmarks.depth_fixed_camera --quick: runs, writes consistent JSON / Markdown / PNG, refuses bad parts; its inputs to the
product (noisy measured depth, synthetic ONNX teacher) differ from the truth it scores against."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import REPO

SHARED = REPO.parent / "shared" / "data"
NEEDS = [
    SHARED / "rgbd" / "tum_rgbd" / "meta.json",
    SHARED / "real" / "MANIFEST.csv",
    SHARED / "realtest" / "pairs" / "cdnet_pedestrians" / "bg.png",
]

pytest.importorskip("matplotlib")
pytestmark = pytest.mark.skipif(not all(p.exists() for p in NEEDS), reason="needs ../shared/data (TUM, real cutouts, CDnet)")


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.depth_fixed_camera", *args], capture_output=True, text=True, timeout=300, cwd=REPO
    )


def _bench():
    from benchmarks import depth_fixed_camera

    return depth_fixed_camera


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("depth_bench")
    r = _run("--quick", "--quiet", "--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    return out


def test_outputs_exist(quick_run):
    names = {p.name for p in quick_run.iterdir()}
    assert {"depth.json", "depth.md", "depth_examples.png", "depth_calibrate.png", "depth_cdnet_distances.png"} <= names
    assert not [n for n in names if n.startswith(".") or n.endswith(".tmp")]  # atomic writes leave no temp files
    for n in names:
        if n.endswith(".png"):
            assert (quick_run / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_targets_table_equals_json(quick_run):
    res = json.loads((quick_run / "depth.json").read_text())
    md = (quick_run / "depth.md").read_text()
    assert res["quick"] is True and "smoke test" in md
    targets = res["targets"]
    assert [t["key"] for t in targets] == [k for k, *_ in _bench().TARGETS]  # every part ran: every target has a row
    rows = {}
    for line in md.split("## Targets", 1)[1].split("\n## ", 1)[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("target", "---"):
            rows[cells[0]] = cells
    assert len(rows) == len(targets)
    for t in targets:
        what, thr, value, met = rows[t["what"]]
        assert thr == f"{t['op']} {t['threshold']:g}"
        if t["value"] is None:
            assert value.startswith("–") and met == "–"
            continue
        v = float(value.split()[0])
        assert math.isclose(v, t["value"], abs_tol=6e-5), (what, v, t["value"])
        ok = t["value"] <= t["threshold"] if t["op"] == "<=" else t["value"] >= t["threshold"]
        assert t["met"] is ok
        assert met == ("yes" if ok else "**no**")
        if t["ci95"] is not None:
            lo, hi = (float(x) for x in re.search(r"\[([-\d.]+), ([-\d.]+)\]", value).groups())
            assert math.isclose(lo, t["ci95"][0], abs_tol=6e-5) and math.isclose(hi, t["ci95"][1], abs_tol=6e-5)


def test_sections_consistent(quick_run):
    res = json.loads((quick_run / "depth.json").read_text())
    md = (quick_run / "depth.md").read_text()
    m = res["measured"]
    for name in ("tum", "render"):
        rows = m[name]["rows"]
        assert m[name]["n_composites"] == len(rows) > 0
        for r in rows:
            assert r["z_true"] > 0 and 0.0 <= r["mask_iou"] <= 1.0
        e = m[name]["measured.true"]
        assert e["n_with_distance"] <= e["n_found"] <= len(rows)
        # the Markdown row of this configuration shows the JSON's numbers
        line = next(ln for ln in md.splitlines() if ln.startswith(f"| {name} | measured | true |"))
        assert fmt4(e["absrel"]["value"]) in line and f"{e['n_found']} / {e['n_with_distance']}" in line
    c = res["calibrate"]["cctv"]
    assert c["n_trials"] >= 1 and 0.0 <= c["horizon_cover"] <= 1.0
    assert "No highway clip" in md and "sparse" in md
    for clip in res["tracking"].values():
        for mk in ("true", "model"):
            e = clip[mk]
            assert e["frames"] > 0 and e["per_100_frames"] == pytest.approx(100 * e["id_switches"] / e["frames"], abs=1e-4)
    for k, e in res["cost"].items():
        if isinstance(e, dict):
            assert e["total_ms_median"] > 0
            assert k.split(".")[0] in md
    assert res["command"].startswith("python -m benchmarks.depth_fixed_camera") and res["command"] in md


def test_product_gets_noisy_inputs_and_the_report_says_what_is_circular(quick_run):
    res = json.loads((quick_run / "depth.json").read_text())
    md = (quick_run / "depth.md").read_text()
    for name in ("tum", "render"):
        s = res["measured"][name]
        assert s["inputs"]["measured_absrel_mean"] > 0 and s["inputs"]["measured_unknown_fraction_mean"] > 0
        assert s["bg_depth_only_absrel"]["value"] > 0
        for src in ("measured", "teacher", "camera", "learned"):
            assert s[f"{src}.true"]["n_run"] == s["n_composites"], (name, src, s[f"{src}.true"]["unavailable"])
        line = next(ln for ln in md.splitlines() if ln.startswith(f"| {name} | teacher | model |"))
        assert f"{s['teacher.model']['n_cut_with_height']} / {s['teacher.model']['n_cut']} |" in line
    heights = [r["height_m"] for n in ("tum", "render") for r in res["measured"][n]["rows"]]
    assert len(set(heights)) == len(heights)  # drawn from a population, not a fixed prior
    for name in ("cctv", "head_height"):
        c = res["calibrate"][name]
        assert c["n_trials"] >= 1 and all({"model", "true"} <= set(t) for t in c["trials"])
        assert all(t["frames"] > 1 for t in c["trials"])  # video clips: each person seen in many frames
    assert set(res["floor_points"]) == {"cctv", "cctv_x3", "default"}
    assert "Still circular" in md and "no real monocular-depth teacher" in md and "## 3. Camera from floor points" in md


def test_synthetic_teacher_runs_through_the_product_teacher_path(tmp_path):
    from maskdepth.data.teacher.onnx import OnnxTeacher, normalise_disparity

    B = _bench()
    depth = np.linspace(1.0, 6.0, 48 * 64, dtype=np.float32).reshape(48, 64)
    depth[:4, :4] = 0  # unknown pixels are filled, not passed on
    disp, info = B.synthetic_teacher_disparity(depth, np.random.default_rng(0))
    assert 0.7 <= info["gamma"] <= 1.4 and np.isfinite(disp).all()
    out = OnnxTeacher(str(B.export_teacher_onnx(disp, tmp_path / "t.onnx"))).disparity(np.zeros((48, 64, 3), np.uint8))
    np.testing.assert_allclose(out, normalise_disparity(disp), atol=1e-5)
    rows = out.mean(axis=1)
    assert rows[5] > rows[-5]  # nearer (smaller depth) = larger disparity, through the warp and noise


def fmt4(x):
    return f"{x:.4f}"


def test_bad_part_is_one_line_error(tmp_path):
    r = _run("--parts", "nonsense", "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "nonsense" in r.stderr
    assert not (tmp_path / "o" / "depth.json").exists()


def test_help():
    r = _run("--help")
    assert r.returncode == 0 and "--quick" in r.stdout and "--cdnet-fov" in r.stdout


def test_merge_keeps_the_other_parts_and_says_which_were_remade(quick_run, tmp_path):
    out = tmp_path / "m"
    out.mkdir()
    for name in ("depth.json", "depth.md"):
        (out / name).write_text((quick_run / name).read_text())
    before = json.loads((out / "depth.json").read_text())
    for _ in range(2):  # a part remade twice is listed once
        r = _run("--quick", "--quiet", "--parts", "cost", "--merge", "--out", str(out))
        assert r.returncode == 0, r.stderr[-2000:]
    after = json.loads((out / "depth.json").read_text())
    assert {k: after[k] for k in ("measured", "calibrate", "tracking")} == {k: before[k] for k in ("measured", "calibrate", "tracking")}
    assert [r["parts"] for r in after["remade"]] == [["cost"]] and "--merge" in after["remade"][0]["command"]
    md = (out / "depth.md").read_text()
    assert md.count("Part(s) cost remade on") == 1 and "## 5. Cost per frame" in md and "### Track id stability" in md
    r = _run("--quick", "--quiet", "--parts", "cost", "--merge", "--out", str(tmp_path / "empty"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "--merge needs a depth.json" in r.stderr
