"""``VideoConfig`` (the options of ``predict --video`` declared once), the checks of
:func:`maskdepth.video.convert.check_video_config` (errors name parameters, not flags) and the
probability EMA of :class:`maskdepth.video.temporal.ProbSmoother`."""

from __future__ import annotations

import numpy as np
import pytest

from maskdepth.errors import MaskDepthError
from maskdepth.video.config import VideoConfig


def test_cli_flags_build_the_config():
    from maskdepth.cli import parse_command
    from maskdepth.config import build

    a = parse_command(
        ["predict", "--video", "c.mp4", "--bg-from", "median:5", "--smooth", "0.3", "--frames", "npz", "--zones", "z.json", "--out", "o"]
    )
    cfg = build(VideoConfig, a)
    assert (cfg.video, cfg.bg_from, cfg.smooth, cfg.frames, cfg.zones, cfg.out) == ("c.mp4", "median:5", 0.3, "npz", "z.json", "o")
    assert cfg.bg is None and cfg.quiet is False and cfg.crf == 18 and cfg.backend == "auto"


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"video": None}, "video is required"),
        ({"smooth": 0.0}, "smooth must be in (0, 1]"),
        ({"smooth": 1.5}, "smooth must be in (0, 1]"),
        ({"frames": "gif"}, "frames must be png or npz"),
        ({"bg_from": "mean:3"}, "bg_from must be 'first' or 'median:N'"),
        ({"bg_from": "median:0"}, "bg_from must be 'first' or 'median:N'"),
        ({"bg": "bg.png", "bg_from": "first"}, "bg_from 'first' given with a bg image"),
    ],
)
def test_bad_settings_name_the_parameter(kw, message):
    from maskdepth.video.convert import check_video_config

    with pytest.raises(MaskDepthError) as e:
        check_video_config(VideoConfig(**{"video": "c.mp4", **kw}))
    assert message in str(e.value) and "--" not in str(e.value)


def test_good_settings_pass():
    from maskdepth.video.convert import check_video_config

    check_video_config(VideoConfig(video="c.mp4", bg_from="median:30", smooth=1.0, frames="png"))


def test_prob_smoother_is_the_ema_and_keeps_the_network_depth():
    from maskdepth.inference.predictor import Prediction
    from maskdepth.video.temporal import ProbSmoother

    log_depth = np.log(np.full((2, 3), 4.0, np.float32))
    probs = [np.array([[0.9, 0.2, 0.6], [0.0, 1.0, 0.5]], np.float32), np.array([[0.1, 0.9, 0.6], [1.0, 0.0, 0.5]], np.float32)]
    sm = ProbSmoother(0.25, 0.5)
    first = sm.update(Prediction(probs[0] >= 0.5, probs[0], log_depth))
    assert np.array_equal(first.prob, probs[0]) and first.prob is not probs[0]  # a copy: the network's array is never aliased
    raw = Prediction(probs[1] >= 0.5, probs[1], log_depth)
    second = sm.update(raw)
    expected = 0.25 * probs[1] + 0.75 * probs[0]
    assert np.allclose(second.prob, expected) and np.array_equal(second.mask, expected >= 0.5)
    assert np.array_equal(raw.prob, probs[1]) and np.array_equal(raw.mask, probs[1] >= 0.5)  # the raw prediction unchanged
    assert np.allclose(second.depth, 4.0) and second.depth.shape == (2, 3)
