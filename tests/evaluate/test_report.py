"""``maskdepth report`` on a tiny run made here: generate → train 4 steps → evaluate → report."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskdepth.cli import main
from maskdepth.errors import MaskDepthError


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> dict[str, Path]:
    from maskdepth.data.generate import GenerateConfig, generate
    from maskdepth.evaluate.run import evaluate
    from maskdepth.inference.predictor import load_predictor
    from maskdepth.train.loop import TrainConfig, train

    root = tmp_path_factory.mktemp("report_run")
    data, run, ev = root / "data", root / "run", root / "eval"
    generate(GenerateConfig(out_dir=str(data), render=6, procedural_fg=6, n_samples=60, size=64, shard_size=30), workers=1, quiet=True)
    s = train(
        TrainConfig(
            data=str(data), run_dir=str(run), model="tiny", pretrained=False, batch_size=8, max_steps=4, workers=0, val_limit=8, log_every=1
        ),
        quiet=True,
    )
    evaluate(
        load_predictor(s["checkpoint"]),
        str(ev),
        data_dir=str(data),
        quiet=True,
        command=f"maskdepth evaluate --checkpoint {s['checkpoint']} --data {data} --out {ev}",
    )
    return {"data": data, "run": run, "eval": ev, "root": root}


def _images(html: str) -> list[str]:
    return re.findall(r'<img[^>]*src="([^"]*)"', html)


def test_report_cli(tiny_run, capsys):
    out = tiny_run["root"] / "rep"
    assert main(["report", str(tiny_run["run"]), "--eval", str(tiny_run["eval"]), "--out", str(out)]) == 0
    assert str(out / "report.html") in capsys.readouterr().out
    html = (out / "report.html").read_text()
    srcs = _images(html)
    assert len(srcs) >= 4 and all(s.startswith("data:image/png;base64,") for s in srcs)  # self-contained
    assert not re.search(r'(src|href)="(https?:|file:|/)', html)
    for f in ("curves.png", "test_grid.png", "worst_iou.png", "worst_absrel.png"):
        assert (out / f).stat().st_size > 1000, f
    # the evaluation table, the worst cases, the config used
    assert "composites/render" in html and "classical" in html and "AbsRel aligned" in html
    rows = json.loads((tiny_run["eval"] / "metrics.json").read_text())["per_image"]
    n_depth = sum(1 for k, rs in rows.items() if k.startswith("composites/render|model") for r in rs if r.get("aligned_absrel") is not None)
    assert 3 <= n_depth <= 6  # a refused metric placement has no depth label (upright billboards refuse some)
    assert "6 lowest mask IoU" in html and f"{n_depth} highest depth AbsRel (aligned)" in html  # the test split has 6 samples
    assert "6 of 6 found and re-run" in html
    assert "test_0000000" in html and ">tiny<" in html and "manifest.json" in html
    # worst_iou.png: title strip + 6 rows of 128 px cells, 6 columns
    g = np.asarray(Image.open(out / "worst_iou.png"))
    assert g.shape[1] == 6 * 130 + 2 and g.shape[0] == 18 + 6 * 130 + 2
    curves = Image.open(out / "curves.png")
    assert curves.size[0] > 1000


def test_report_default_out_no_eval(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run["run"], run)
    from maskdepth.evaluate.report import make_report

    path = make_report(run)
    assert path == run / "report" / "report.html"
    html = path.read_text()
    assert "No evaluation given" in html and "Training curves" in html and len(_images(html)) == 1


def test_report_lists_when_dataset_moved_and_history_from_checkpoint(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run["run"], run)
    cfg = json.loads((run / "train_config.json").read_text())
    cfg["data"] = str(tmp_path / "gone")
    (run / "train_config.json").write_text(json.dumps(cfg))
    (run / "summary.json").unlink()  # a run still training: history from checkpoints/last.pt
    from maskdepth.evaluate.report import make_report

    html = make_report(run, eval_dir=tiny_run["eval"], out_dir=tmp_path / "r").read_text()
    assert "last.pt" in html and "composites listed only" in html
    assert "test_0000000" in html and not (tmp_path / "r" / "worst_iou.png").exists()
    assert "None of these samples could be found" in html


def test_report_errors(tiny_run, tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "run directory not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "no summary.json" in capsys.readouterr().err
    assert main(["report", str(tiny_run["run"]), "--eval", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "no metrics.json" in err and len(err.strip().splitlines()) == 1
    assert main(["report", str(tiny_run["run"]), "--worst", "-1", "--out", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert "--worst must be >= 0, got -1" in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "w").exists()


def test_worst_cases_order():
    from maskdepth.evaluate.report import worst_cases

    per_image = {
        "composites/all|model": [{"key": "a", "iou": 0.0}],
        "composites/render|model": [{"key": "a", "iou": 0.5, "aligned_absrel": 0.1}, {"key": "b", "iou": 0.2, "aligned_absrel": 0.9}],
        "pairs/x|model": [{"key": "f1", "iou": 0.3}, {"key": "f2", "iou": float("nan")}],
        "pairs/x|classical": [{"key": "f1", "iou": 0.0}],
        "depth/y|model": [{"key": "d", "aligned_absrel": 0.5}],
    }
    assert [(r["set"], r["key"]) for r in worst_cases(per_image, "iou", 10)] == [
        ("composites/render", "b"),
        ("pairs/x", "f1"),
        ("composites/render", "a"),
    ]
    assert [r["key"] for r in worst_cases(per_image, "aligned_absrel", 2)] == ["b", "d"]
    with pytest.raises(MaskDepthError):
        from maskdepth.evaluate.report import load_history

        load_history("/nonexistent/run")
