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
