"""Dataset statistics (``stats.json``): one implementation for the generator and ``maskdepth dataset stats --recompute``.

The generator sums each sample before JPEG encoding (:func:`image_sums`,
:func:`mask_fraction`, :func:`depth_sums`) into a :class:`Sums` per shard, stored in
the shard's index (:meth:`Sums.to_index`); the dataset's sums are the merge of the
shards' (:meth:`Sums.from_index`, :meth:`Sums.merge`) and :meth:`Sums.summary` turns
them into ``stats.json``. The recomputation (:func:`shard_sums`) sums the *decoded*
samples of a shard the same way, so it differs from the generation-time statistics only
by the JPEG error (about 1e-3).

``stats.json``: ``samples``, ``samples_per_split``, ``fg_bg`` and ``bg`` mean/std (RGB in
[0, 1]; std = sqrt(E[x²] − E[x]²)), ``mask_fraction_mean``, ``depth_kinds`` (counts),
``augmentations`` (counts; generation only) and ``metric_depth_m`` (mean, std, min, max,
valid_pixels of valid metric depth in metres, or ``None``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..io import decode_image, load_rgb
from .format import DEPTH, FG_BG, MASK, META, bg_paths, iter_tar, opencv


def image_sums(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """``(sum, sum of squares, pixels)`` of a ``uint8 (H, W, 3)`` RGB image scaled to [0, 1]: float64 (3,), (3,), int."""
    cv2 = opencv()
    s1 = cv2.sumElems(rgb)
    chans = cv2.split(rgb)
    return (
        np.array(s1[:3], np.float64) / 255.0,
        np.array([cv2.norm(c, cv2.NORM_L2SQR) for c in chans], np.float64) / 255.0**2,
        rgb.shape[0] * rgb.shape[1],
    )


def mask_fraction(mask: np.ndarray) -> float:
    """Fraction of true pixels of a bool ``(H, W)`` mask."""
    return opencv().countNonZero(mask.view(np.uint8)) / float(mask.size)


def depth_sums(depth: np.ndarray) -> tuple[float, float, int, float, float]:
    """``(sum, sum of squares, count, min, max)`` of the valid (> 0) pixels of a float ``(H, W)`` depth in metres
    (all zeros when none is valid)."""
    cv2 = opencv()
    valid = (depth > 0).view(np.uint8)
    n = cv2.countNonZero(valid)
    if not n:
        return (0.0, 0.0, 0, 0.0, 0.0)
    mn, mx, _, _ = cv2.minMaxLoc(depth, mask=valid)
    return (float(cv2.sumElems(depth)[0]), float(cv2.norm(depth, cv2.NORM_L2SQR)), int(n), float(mn), float(mx))


class Sums:
    """Running sums of the statistics of a set of samples (a shard, a dataset).

    Attributes: ``rgb_sum``/``rgb_sq`` float64 (3,) sums of fg_bg RGB in [0, 1] and of its
    square, ``pixels``, ``mask`` (sum of per-sample mask fractions), ``count``, ``kinds``
    (depth_kind counts), ``aug`` (augmentation counts, ``None`` when not counted),
    ``depth`` = [sum, sum of squares, count, min, max] of valid metric depth in metres,
    ``per_split`` (sample counts of merged shards).
    """

    def __init__(self, count_aug: bool = True):
        self.rgb_sum, self.rgb_sq, self.pixels = np.zeros(3), np.zeros(3), 0
        self.mask, self.count = 0.0, 0
        self.kinds: dict[str, int] = {}
        self.aug: dict[str, int] | None = {} if count_aug else None
        self.depth = [0.0, 0.0, 0, np.inf, 0.0]
        self.per_split: dict[str, int] = {}

    def _add_depth(self, s: float, s2: float, n: int, mn: float, mx: float) -> None:
        if not n:
            return
        d = self.depth
        d[0] += s
        d[1] += s2
        d[2] += n
        d[3] = min(d[3], mn)
        d[4] = max(d[4], mx)

    def _add_counts(self, kinds: dict[str, int], aug: Iterable[str] | dict[str, int]) -> None:
        for k, v in kinds.items():
            self.kinds[k] = self.kinds.get(k, 0) + v
        if self.aug is not None:
            for k, v in aug.items() if isinstance(aug, dict) else ((a, 1) for a in aug):
                self.aug[k] = self.aug.get(k, 0) + v

    def add_sample(self, depth_kind: str, augs: Iterable[str], rgb: tuple, mask_frac: float, depth: tuple | None = None) -> None:
        """Add one sample: ``rgb`` from :func:`image_sums`, ``depth`` from :func:`depth_sums` (metric labels only)."""
        self._add_counts({depth_kind: 1}, augs)
        self.rgb_sum += rgb[0]
        self.rgb_sq += rgb[1]
        self.pixels += rgb[2]
        self.mask += mask_frac
        self.count += 1
        if depth is not None:
            self._add_depth(*depth)

    def merge(self, other: Sums, split: str) -> None:
        """Add the sums of ``other`` (one shard of ``split``)."""
        self.per_split[split] = self.per_split.get(split, 0) + other.count
        self._add_counts(other.kinds, other.aug or {})
        self.rgb_sum += other.rgb_sum
        self.rgb_sq += other.rgb_sq
        self.pixels += other.pixels
        self.mask += other.mask
        self.count += other.count
        self._add_depth(*other.depth)

    def to_index(self) -> dict:
        """The shard index fields ``depth_kinds``, ``aug_counts`` (sorted) and ``stats``."""
        d = self.depth
        return {
            "depth_kinds": self.kinds,
            "aug_counts": {k: self.aug[k] for k in sorted(self.aug or {})},
            "stats": {
                "rgb_sum": self.rgb_sum.tolist(),
                "rgb_sq": self.rgb_sq.tolist(),
                "pixels": self.pixels,
                "mask_fraction_sum": self.mask,
                "depth": [d[0], d[1], d[2], d[3] if d[2] else 0.0, d[4]],
            },
        }

    @classmethod
    def from_index(cls, idx: dict) -> Sums:
        """The sums stored in a shard index (:meth:`to_index`)."""
        s, st = cls(), idx["stats"]
        s.rgb_sum += st["rgb_sum"]
        s.rgb_sq += st["rgb_sq"]
        s.pixels, s.mask, s.count = st["pixels"], st["mask_fraction_sum"], idx["count"]
        s._add_counts(idx["depth_kinds"], idx.get("aug_counts", {}))
        s._add_depth(*st["depth"])
        return s

    def summary(self, bg_stats: dict) -> dict:
        """The ``stats.json`` structure (see the module docstring); ``bg_stats`` from :func:`background_stats`."""
        mean = self.rgb_sum / max(self.pixels, 1)
        std = np.sqrt(np.maximum(self.rgb_sq / max(self.pixels, 1) - mean**2, 0))
        d = self.depth
        dmean = d[0] / d[2] if d[2] else None
        out = {
            "samples": self.count,
            "samples_per_split": self.per_split,
            "fg_bg": {"mean": mean.tolist(), "std": std.tolist(), "range": "RGB in [0, 1]"},
            "bg": bg_stats,
            "mask_fraction_mean": self.mask / max(self.count, 1),
            "depth_kinds": self.kinds,
        }
        if self.aug is not None:
            out["augmentations"] = {k: self.aug[k] for k in sorted(self.aug)}
        out["metric_depth_m"] = (
            None
            if not d[2]
            else {"mean": dmean, "std": float(np.sqrt(max(d[1] / d[2] - dmean**2, 0))), "min": d[3], "max": d[4], "valid_pixels": d[2]}
        )
        return out


def background_stats(out: str | os.PathLike, bg_ids: Iterable[str]) -> dict:
    """Mean/std (RGB in [0, 1]) over the prepared backgrounds ``bg_ids`` of a dataset: ``{"mean": [3], "std": [3]}``."""
    s, s2, n = np.zeros(3), np.zeros(3), 0
    for b in bg_ids:
        a = load_rgb(bg_paths(out, b)["rgb"]).reshape(-1, 3).astype(np.float64) / 255.0
        s += a.sum(0)
        s2 += (a**2).sum(0)
        n += a.shape[0]
    mean = s / max(n, 1)
    return {"mean": mean.tolist(), "std": np.sqrt(np.maximum(s2 / max(n, 1) - mean**2, 0)).tolist()}


def dataset_sums(out: str | os.PathLike, shards: list[dict]) -> Sums:
    """The merged sums of the shard indices ``shards/<name>.json`` of ``shards`` (``{"name", ...}``)."""
    tot = Sums()
    for sh in shards:
        idx = json.loads((Path(out) / "shards" / f"{sh['name']}.json").read_text())
        tot.merge(Sums.from_index(idx), idx["split"])
    return tot


def shard_sums(tar: str | os.PathLike) -> Sums:
    """Sums of the decoded samples of one shard tar (no augmentation counts).

    Raises:
        MaskDepthError: the tar or a member is unreadable.
    """
    members: dict[str, dict[str, bytes]] = {}
    for key, ext, data in iter_tar(tar):
        members.setdefault(key, {})[ext] = data
    acc = Sums(count_aug=False)
    for key, m in members.items():
        if MASK not in m:
            continue
        meta = json.loads(m[META]) if META in m else {}
        kind = meta.get("depth_kind", "none")
        rgb = image_sums(decode_image(m[FG_BG], f"{key}.{FG_BG}")) if FG_BG in m else (0.0, 0.0, 0)
        depth = None
        if kind == "metric" and DEPTH in m:
            depth = depth_sums(decode_image(m[DEPTH], f"{key}.{DEPTH}").astype(np.float64) / 1000.0)  # metres, float64
        acc.add_sample(kind, (), rgb, mask_fraction(decode_image(m[MASK], f"{key}.{MASK}") > 127), depth)
    return acc
