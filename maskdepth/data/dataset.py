"""PyTorch ``Dataset`` over a generated dataset (format: :mod:`maskdepth.data.format`).

Random access into the WebDataset-layout tars: each shard is indexed once
(member offsets via :mod:`tarfile`), and a sample's files are read with one
``pread`` each, so shuffling, DDP partitioning and exact mid-epoch resume are
plain index arithmetic. Backgrounds are stored once and kept in memory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import MaskDepthError
from ..io import decode_image, read_json
from .format import DEPTH, DEPTH_KIND_CODE, FG_BG, MASK, META, REQUIRED_MEMBERS, decode_depth, index_tar, load_background, shard_paths

__all__ = ["MaskDepthDataset", "DEPTH_KIND_CODE", "index_tar"]


class MaskDepthDataset(Dataset):
    """Samples of one split.

    Each item is a dict of tensors:

    * ``bg``, ``fg_bg``: ``float32 (3, S, S)`` RGB in [0, 1];
    * ``mask``: ``float32 (1, S, S)`` in {0, 1};
    * ``depth``: ``float32 (1, S, S)``: metres for ``depth_kind == 1`` (metric),
      normalised disparity in [0, 1] for ``2`` (teacher), zeros for ``0`` (none);
      0 marks invalid pixels;
    * ``depth_kind``: ``int64`` scalar (0 none, 1 metric, 2 teacher);
    * ``index``: ``int64`` scalar, position in this dataset.

    Args:
        root: dataset directory (with ``manifest.json``).
        split: ``train`` | ``val`` | ``test``.
        hflip: randomly mirror bg, fg_bg and all labels together (training).
        limit: keep only the first ``limit`` samples.
    Raises:
        MaskDepthError: no manifest, unknown split, missing or corrupt shards.
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", hflip: bool = False, limit: int | None = None):
        self.root = Path(root)
        man = read_json(self.root / "manifest.json", "dataset manifest")
        if split not in ("train", "val", "test"):
            raise MaskDepthError(f"unknown split {split!r} (train, val or test)")
        self.split = split
        self.size = int(man["config"]["size"])
        self.hflip = hflip
        self.items: list[tuple[Path, str, dict]] = []
        for sh in man["shards"]:
            if sh["split"] != split:
                continue
            tar = shard_paths(self.root, sh["name"])[0]
            idx = index_tar(tar)
            for key in sorted(idx):
                if any(m not in idx[key] for m in REQUIRED_MEMBERS):
                    raise MaskDepthError(f"{tar}: sample {key} lacks fg_bg/mask/json")
                self.items.append((tar, key, idx[key]))
        if limit is not None:
            self.items = self.items[:limit]
        self._bgs: dict[str, dict] = {}
        self._fds: dict[Path, int] = {}

    def __len__(self) -> int:
        return len(self.items)

    def _read(self, tar: Path, off_size: tuple[int, int]) -> bytes:
        fd = self._fds.get(tar)
        if fd is None:
            fd = self._fds[tar] = os.open(tar, os.O_RDONLY)
        off, size = off_size
        data = os.pread(fd, size, off)
        if len(data) != size:
            raise MaskDepthError(f"{tar}: truncated shard")
        return data

    def background(self, bg_id: str) -> dict:
        """The prepared background ``bg_id`` (cached)."""
        if bg_id not in self._bgs:
            self._bgs[bg_id] = load_background(self.root, bg_id)
        return self._bgs[bg_id]

    def raw(self, i: int) -> dict:
        """Sample ``i`` as numpy arrays: bg, fg_bg uint8 (S,S,3), mask bool, depth float32 or None, meta."""
        tar, key, files = self.items[i]
        try:
            meta = json.loads(self._read(tar, files[META]))
            if not isinstance(meta, dict):
                raise TypeError("not an object")
            missing = [k for k in ("bg_id", "depth_kind") if k not in meta]
        except (ValueError, TypeError) as e:
            raise MaskDepthError(f"{tar}: sample {key} has an unreadable JSON ({e.__class__.__name__})") from None
        if missing or meta.get("depth_kind") not in DEPTH_KIND_CODE:
            raise MaskDepthError(f"{tar}: sample {key} JSON lacks {', '.join(missing) or 'a known depth_kind'}")
        fg_bg = decode_image(self._read(tar, files[FG_BG]), f"{tar}:{key}.{FG_BG}")
        mask = decode_image(self._read(tar, files[MASK]), f"{tar}:{key}.{MASK}") > 127
        depth = None
        if DEPTH in files:
            depth = decode_depth(decode_image(self._read(tar, files[DEPTH]), f"{tar}:{key}.{DEPTH}"), meta["depth_kind"])
        bg = self.background(meta["bg_id"])["rgb"]
        if bg.shape != fg_bg.shape or mask.shape != fg_bg.shape[:2]:
            raise MaskDepthError(f"{tar}: sample {key} has inconsistent shapes")
        return {"bg": bg, "fg_bg": fg_bg, "mask": mask, "depth": depth, "meta": meta}

    def __getitem__(self, item) -> dict:
        """``item``: an index, or ``(index, flip)`` from a sampler that decides the flips
        (so a resumed run sees exactly the same flips; see ``maskdepth.train.loop.EpochSampler``)."""
        if isinstance(item, (tuple, list)):
            i, flip = int(item[0]), bool(item[1])
        else:
            i, flip = int(item), bool(self.hflip and torch.rand(()) < 0.5)
        r = self.raw(i)
        S = r["fg_bg"].shape[0]
        depth = r["depth"] if r["depth"] is not None else np.zeros((S, S), np.float32)
        arrays = [r["bg"], r["fg_bg"], r["mask"], depth]
        if flip:
            arrays = [a[:, ::-1] for a in arrays]
        bg, fg_bg, mask, depth = (np.ascontiguousarray(a) for a in arrays)
        return {
            "bg": torch.from_numpy(bg).permute(2, 0, 1).float().div_(255.0),
            "fg_bg": torch.from_numpy(fg_bg).permute(2, 0, 1).float().div_(255.0),
            "mask": torch.from_numpy(mask.astype(np.float32))[None],
            "depth": torch.from_numpy(depth.astype(np.float32))[None],
            "depth_kind": torch.tensor(DEPTH_KIND_CODE[r["meta"]["depth_kind"]], dtype=torch.int64),
            "index": torch.tensor(i, dtype=torch.int64),
        }

    def __getstate__(self):  # file descriptors do not cross process boundaries
        d = dict(self.__dict__)
        d["_fds"] = {}
        return d
