"""Generation from the project's real data in ``../shared/data`` (skipped when it is absent):
real photos and cutouts, and TUM RGB-D frames with metric depth."""

from __future__ import annotations

import numpy as np
import pytest

from maskdepth.data.composite import pixel_height, upright_depth
from maskdepth.data.dataset import MaskDepthDataset
from tests.helpers import SHARED, generate_dataset

REAL = SHARED / "data" / "real"
TUM = SHARED / "data" / "rgbd" / "tum_rgbd"

pytestmark = pytest.mark.skipif(
    not ((REAL / "bg").is_dir() and (REAL / "fg").is_dir() and (TUM / "meta.json").is_file()),
    reason=f"shared data not found at {SHARED / 'data'} (real/bg, real/fg, rgbd/tum_rgbd)",
)

MM = 0.0005 + 1e-6


@pytest.fixture(scope="module")
def real_ds(tmp_path_factory):
    out = tmp_path_factory.mktemp("real") / "ds"
    man = generate_dataset(
        out,
        bg_dir=str(REAL / "bg"),
        fg_dir=str(REAL / "fg"),
        rgbd_dir=str(TUM),
        rgbd_every=50,
        n_samples=30,
        size=64,
        shard_size=30,
        workers=2,
        mix={"photo": 1.0, "rgbd": 3.0, "render": 1.0},
    )
    return out, man


def test_tum_cabinet_scene_is_test(real_ds):
    _, man = real_ds
    groups = {}
    for b in man["backgrounds"]:
        if b["kind"] == "rgbd":
            groups.setdefault(b["group"], set()).add(b["split"])
    assert groups == {"rgbd/tum_fr3_cabinet": {"test"}, "rgbd/tum_fr1_rpy": {"train"}}
    # foreground categories come from MANIFEST.csv
    cats = {f["category"] for f in man["foregrounds"]}
    assert cats <= {"person", "object"} and "person" in cats


def test_tum_samples_stand_at_contact_depth(real_ds):
    out, _ = real_ds
    n_metric = 0
    for split in ("train", "val", "test"):
        ds = MaskDepthDataset(out, split)
        for i in range(len(ds)):
            r = ds.raw(i)
            meta = r["meta"]
            assert r["fg_bg"].shape == (64, 64, 3)
            if meta["bg_kind"] != "rgbd":
                assert meta["depth_kind"] == "none" and r["depth"] is None
                continue
            if split == "test":
                assert meta["bg_id"].startswith("rgbd/tum_fr3_cabinet/")
            elif split == "train":
                assert meta["bg_id"].startswith("rgbd/tum_fr1_rpy/")
            pl = meta["placement"]
            if meta["depth_kind"] == "none":  # a near-range frame admits no person at its physical size (issue 13)
                assert pl["method"] == "ground_prior" and r["depth"] is None
                continue
            assert meta["depth_kind"] == "metric" and pl["method"] == "metric"
            assert 1.5 <= pl["height_m"] <= 1.9 or meta["fg_category"] != "person"  # never shrunk and relabelled
            bg = ds.background(meta["bg_id"])
            u, v = pl["contact_uv"]
            assert bg["depth"][v, u] > 0
            assert abs(float(bg["depth"][v, u]) - pl["fg_depth"]) <= MM
            assert 0.2 < pl["fg_depth"] < 10.0  # indoor Kinect range, metres
            up = np.asarray(bg["support_plane"]["normal"]) if pl["billboard"] == "upright" else None
            assert abs(pl["height_px"] - pixel_height(bg["K"], u, v, pl["fg_depth"], pl["height_m"], up)) <= 0.5 + 1e-6
            if r["mask"].any():
                if up is None:  # fronto: the contact depth everywhere
                    assert np.abs(r["depth"][r["mask"]] - pl["fg_depth"]).max() <= MM
                else:  # upright (the default): within the vertical plane's depths over the cutout
                    plane = upright_depth(bg["K"], (u, v), pl["fg_depth"], up, pl["x0"], pl["y0"], (pl["height_px"], pl["width_px"]))
                    d = r["depth"][r["mask"]]
                    assert plane.min() - MM <= d.min() and d.max() <= plane.max() + MM
                n_metric += 1
    assert n_metric >= 5
