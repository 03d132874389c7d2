"""The settings of ``maskdepth evaluate``: one dataclass, the single source of its flags and YAML keys
(see :mod:`maskdepth.config`); the model settings are the shared :class:`~maskdepth.inference.config.ModelConfig`.
Torch- and OpenCV-free, so the command line is built without them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import option
from ..inference.config import ModelConfig

SPLITS = ("train", "val", "test")  # the splits of a generated dataset (maskdepth.data.dataset)


@dataclass(kw_only=True)
class EvaluateConfig(ModelConfig):
    """What to evaluate, and with which model (the fields of
    :class:`~maskdepth.inference.config.ModelConfig`: ``checkpoint``, ``size``, ``backend``, ``refine``).

    Each field is also the ``maskdepth evaluate`` flag of the same name (``rgbd_test`` →
    ``--rgbd-test``) and the YAML key of ``--config``; at least one of ``data``, ``realtest``
    and ``rgbd_test`` must be given (checked by :func:`maskdepth.evaluate.run.check_config`).
    """

    data: str | None = option(None, "generated dataset whose split is evaluated")
    split: str = option("test", "the split of --data that is evaluated", choices=SPLITS)
    realtest: str | None = option(None, "folder laid out like ../shared/data/realtest (pairs/, depth/)")
    rgbd_test: str | None = option(None, "RGB-D folder (like ../shared/data/rgbd/tum_rgbd) whose held-out scene is evaluated, depth only")
    rgbd_scene: str = option("tum_fr3_cabinet", "the held-out scene of --rgbd-test")
    out: str = option(help="folder for metrics.json, metrics.md and grids")
    limit: int | None = option(None, "evaluate only the first N composites")


@dataclass(kw_only=True)
class ReportConfig:
    """What ``maskdepth report`` reads and writes (see :mod:`maskdepth.evaluate.report`).

    Each field but ``run_dir`` (the command's RUN_DIR argument) is also the flag of the same name and the
    YAML key of ``--config``; ``eval_dir`` is ``--eval`` on the command line.
    """

    run_dir: str = option(help="a `maskdepth train` run directory", cli=False)
    eval_dir: str | None = option(None, "a `maskdepth evaluate` output folder", flags=("--eval",), metavar="EVAL_DIR")
    out: str | None = option(None, "output folder (default RUN_DIR/report)")
    worst: int = option(10, "how many worst test cases to show per metric, >= 0")
    render: bool = option(True, "re-run the model on the worst cases (--no-render: only list them)")
