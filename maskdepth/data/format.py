"""The on-disk format of a generated dataset, in one place: written by
:mod:`maskdepth.data.generate`, read by :mod:`maskdepth.data.dataset` and
:mod:`maskdepth.data.tools`; its depth codec is also used by ``predict``, ``video`` and ``serve``.

Layout (``out_dir``)::

    backgrounds/<bg>.png          each background once, uint8 RGB at the dataset size
    backgrounds/<bg>.depth.png    its depth label (uint16; see DEPTH CODING), if any
    backgrounds/<bg>.support.png  where foregrounds may stand (0/255), if known
    backgrounds/<bg>.json         kind, split, intrinsics K, depth_kind, has_support, support_plane
    shards/<split>-<nnnnn>.tar    WebDataset-layout tar: <key>.fg_bg.jpg, <key>.mask.png,
                                  <key>.depth.png (when labelled), <key>.json
    shards/<split>-<nnnnn>.json   per-shard index: keys, sha256 of the tar, statistics sums
    manifest.json                 config, sources with their split, shard list (written last)
    stats.json                    statistics (see :mod:`maskdepth.data.stats`)

``<bg>`` is :func:`bg_file_stem` of the background id, ``<key>`` is :func:`sample_key`.

DEPTH CODING: ``depth_kind == "metric"`` → uint16 millimetres, 0 = invalid;
``"teacher"`` → uint16 = normalised disparity × 65535 (relative, larger = nearer);
``"none"`` → no depth file. A model's *predicted* depth is written as uint16 millimetres
too (:func:`depth_to_mm_u16`: known depths at least 1 mm, 0 = unknown).

This module needs only numpy, the standard library and :mod:`maskdepth.io` (OpenCV is
imported when a PNG/JPEG member is encoded), so the torch-free inference path can use it.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import MaskDepthError
from ..io import load_depth_mm, load_rgb, read_json

FORMAT_VERSION = 1

# depth-label kinds and the integer codes a batch carries (``depth_kind`` tensors)
DEPTH_NONE, DEPTH_METRIC, DEPTH_TEACHER = 0, 1, 2
DEPTH_KIND_CODE = {"none": DEPTH_NONE, "metric": DEPTH_METRIC, "teacher": DEPTH_TEACHER}
DEPTH_CODING = {"metric": "uint16 millimetres, 0 = invalid", "teacher": "uint16 normalised disparity x 65535, larger = nearer"}

# members of one sample in a shard tar: ``<key>.<member>``
FG_BG, MASK, DEPTH, META = "fg_bg.jpg", "mask.png", "depth.png", "json"
REQUIRED_MEMBERS = (FG_BG, MASK, META)
MEMBERS = (FG_BG, MASK, DEPTH, META)


def sample_key(split: str, index: int) -> str:
    """Key of sample ``index`` of ``split`` (``train_0000042``): the stem of its tar members."""
    return f"{split}_{index:07d}"


def shard_name(split: str, j: int) -> str:
    """Name of shard ``j`` of ``split`` (``train-00003``)."""
    return f"{split}-{j:05d}"


def shard_paths(out: str | os.PathLike, name: str) -> tuple[Path, Path]:
    """``(shards/<name>.tar, shards/<name>.json)`` of a dataset directory."""
    d = Path(out) / "shards"
    return d / f"{name}.tar", d / f"{name}.json"


# ----------------------------------------------------------------------------- depth codec


def opencv():
    """The ``cv2`` module, limited to one thread (the generator runs one process per core)."""
    import cv2

    cv2.setNumThreads(1)  # one process per core; OpenCV's own threads would fight them
    return cv2


def depth_to_u16(depth: np.ndarray, kind: str) -> np.ndarray:
    """Quantise a depth label to its stored uint16 form (see DEPTH CODING).

    Args:
        depth: float ``(H, W)``: metres (``kind == "metric"``, 0 = invalid) or normalised
            disparity in [0, 1] (``"teacher"``).
    Returns:
        ``uint16 (H, W)``, rounded to nearest and clipped to [0, 65535].
    Raises:
        ValueError: ``kind`` has no depth coding (``"none"`` or unknown).
    """
    if kind == "metric":
        scale = np.float32(1000.0)
    elif kind == "teacher":
        scale = np.float32(65535.0)
    else:
        raise ValueError(f"no depth coding for depth_kind {kind!r}")
    a = np.asarray(depth, np.float32) * scale
    np.rint(a, out=a)
    np.clip(a, 0, 65535, out=a)
    return a.astype(np.uint16)


def depth_to_mm_u16(depth_m: np.ndarray) -> np.ndarray:
    """A depth map in metres → ``uint16`` millimetres, same shape.

    Known depths (finite, > 0) are rounded and clipped to [1, 65535] mm, so a known depth
    never reads as 0; unknown ones (0, negative, NaN, inf: e.g. the holes of a measured
    scene depth) become **0 = unknown**."""
    d = np.asarray(depth_m, np.float64)
    known = np.isfinite(d) & (d > 0)
    return np.where(known, np.clip(np.rint(np.where(known, d, 0.0) * 1000.0), 1, 65535), 0).astype(np.uint16)


def encode_depth(depth: np.ndarray, kind: str) -> bytes:
    """uint16 PNG bytes of a depth label (:func:`depth_to_u16`; OpenCV, fixed settings).

    Raises:
        ValueError: ``kind`` has no depth coding.
    """
    cv2 = opencv()
    ok, buf = cv2.imencode(
        ".png", depth_to_u16(depth, kind), [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB]
    )
    if not ok:  # pragma: no cover
        raise MaskDepthError("PNG encoding failed")
    return buf.tobytes()


def decode_depth(a: np.ndarray, kind: str) -> np.ndarray:
    """Inverse of :func:`depth_to_u16`: the decoded uint16 array → float32 (metres, or [0, 1] for ``teacher``)."""
    return a.astype(np.float32) / (1000.0 if kind == "metric" else 65535.0)


def encode_jpeg_rgb(rgb: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of ``uint8 (H, W, 3)`` RGB, 4:4:4 chroma (OpenCV; same bytes as Pillow's
    ``subsampling=0`` with the same libjpeg-turbo, about twice as fast)."""
    cv2 = opencv()
    ok, buf = cv2.imencode(
        ".jpg",
        cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
        [cv2.IMWRITE_JPEG_QUALITY, int(quality), cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444],
    )
    if not ok:  # pragma: no cover
        raise MaskDepthError("JPEG encoding failed")
    return buf.tobytes()


def encode_mask_png(mask: np.ndarray) -> bytes:
    """PNG (8-bit gray, 0/255) of a bool ``(H, W)`` mask; no filter + run-length zlib strategy (fast, small)."""
    cv2 = opencv()
    a = mask.astype(np.uint8) * np.uint8(255)
    ok, buf = cv2.imencode(
        ".png",
        a,
        [
            cv2.IMWRITE_PNG_COMPRESSION,
            1,
            cv2.IMWRITE_PNG_STRATEGY,
            cv2.IMWRITE_PNG_STRATEGY_RLE,
            cv2.IMWRITE_PNG_FILTER,
            cv2.IMWRITE_PNG_FILTER_NONE,
        ],
    )
    if not ok:  # pragma: no cover
        raise MaskDepthError("PNG encoding failed")
    return buf.tobytes()


# ----------------------------------------------------------------------------- backgrounds


def bg_file_stem(bg_id: str) -> str:
    """File-name-safe form of a background id (``/`` → ``__``)."""
    return bg_id.replace("/", "__")


def bg_paths(out: str | os.PathLike, bg_id: str) -> dict[str, Path]:
    """Files of background ``bg_id`` in a dataset directory: ``rgb``, ``depth``, ``support``, ``meta`` (JSON, written last)."""
    stem = bg_file_stem(bg_id)
    d = Path(out) / "backgrounds"
    return {"rgb": d / f"{stem}.png", "depth": d / f"{stem}.depth.png", "support": d / f"{stem}.support.png", "meta": d / f"{stem}.json"}


def load_background(out_dir: str | os.PathLike, bg_id: str) -> dict:
    """Read a prepared background back.

    Returns the background's JSON fields plus ``rgb`` uint8 (S,S,3), ``depth`` float32
    (S,S) or ``None``, ``K`` float64 (3,3) or ``None``, ``support`` bool (S,S) or ``None``.
    Raises MaskDepthError for missing or unreadable files.
    """
    p = bg_paths(out_dir, bg_id)
    meta = read_json(p["meta"], "background meta")
    rgb = load_rgb(p["rgb"])
    depth = decode_depth(load_depth_mm(p["depth"]), meta["depth_kind"]) if meta["depth_kind"] != "none" else None
    support = (np.asarray(load_rgb(p["support"]))[..., 0] > 127) if meta.get("has_support") else None
    return {**meta, "rgb": rgb, "depth": depth, "K": None if meta["K"] is None else np.asarray(meta["K"]), "support": support}


# ----------------------------------------------------------------------------- shard tars


def index_tar(path: str | os.PathLike) -> dict[str, dict[str, tuple[int, int]]]:
    """Map ``key -> {member: (offset, size)}`` for the members of a WebDataset tar (never extracted).

    Keys and members keep the archive's order. A member header that is corrupt in the
    middle of the archive makes :mod:`tarfile` stop as if the archive had ended; what
    follows the last member read must therefore be the end-of-archive zero blocks, else
    the shard is reported as corrupt.

    Raises:
        MaskDepthError: the tar is missing, truncated or corrupt, or has an unsafe member
        name (``/`` in it, or starting with ``..``: it could write outside a folder when extracted).
    """
    out: dict[str, dict[str, tuple[int, int]]] = {}
    try:
        with tarfile.open(path, "r:") as tf:
            for m in tf:
                if not m.isfile():
                    continue
                name = m.name
                if "/" in name or name.startswith(".."):
                    raise MaskDepthError(f"{path}: unsafe member name {name!r}")
                key, _, ext = name.partition(".")
                out.setdefault(key, {})[ext] = (m.offset_data, m.size)
            end = tf.offset
        trailer = 0
        with open(path, "rb") as f:
            f.seek(end)
            while True:
                block = f.read(1 << 16)
                if not block:
                    break
                if block.count(0) != len(block):
                    raise MaskDepthError(
                        f"{path}: corrupt or truncated shard (invalid member header at byte {end}; the archive stops there)"
                    )
                trailer += len(block)
        if trailer < 1024:  # a tar ends with two zero blocks: without them it was cut short
            raise MaskDepthError(f"{path}: corrupt or truncated shard (no end-of-archive blocks after byte {end})")
    except (tarfile.TarError, OSError, EOFError) as e:
        raise MaskDepthError(f"{path}: corrupt or truncated shard ({e})") from None
    return out


def read_member(f, path: str | os.PathLike, off_size: tuple[int, int]) -> bytes:
    """The bytes of one member (``off_size`` from :func:`index_tar`) of the open binary file ``f``.

    Raises:
        MaskDepthError: the file ends before the member does.
    """
    off, size = off_size
    f.seek(off)
    data = f.read(size)
    if len(data) != size:
        raise MaskDepthError(f"{path}: truncated shard")
    return data


def iter_tar(path: str | os.PathLike) -> Iterator[tuple[str, str, bytes]]:
    """Yield ``(key, member, bytes)`` of every sample member of a shard tar, in the archive's
    order of keys (checked by :func:`index_tar` first; nothing is extracted).

    Raises:
        MaskDepthError: as :func:`index_tar`.
    """
    idx = index_tar(path)
    try:
        with open(path, "rb") as f:
            for key, members in idx.items():
                for ext, off_size in members.items():
                    yield key, ext, read_member(f, path, off_size)
    except OSError as e:
        raise MaskDepthError(f"{path}: corrupt or truncated shard ({e})") from None
