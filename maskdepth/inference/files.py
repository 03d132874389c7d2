"""``maskdepth predict`` on files: a pair, a bg and a folder of images, or two folders paired by file name.

Every pair goes through the one pipeline (:func:`maskdepth.inference.pipeline.run_frame`) against a
:class:`~maskdepth.scene.fixed_camera.FixedCamera` built once per background and image size (learned
when no scene source is given), and its files are written by :func:`maskdepth.inference.outputs.write_outputs`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from ..errors import MaskDepthError
from ..io import IMAGE_EXTS, load_rgb
from ..scene.fixed_camera import FixedCamera
from .config import PredictConfig, SceneConfig
from .outputs import write_outputs
from .pipeline import run_frame
from .predictor import Predictor, check_pair, load_predictor

__all__ = ["run_predict", "predict_paths", "pair_paths"]


def run_predict(cfg: PredictConfig) -> list[dict]:
    """Load the model of ``cfg`` and predict on its files (:func:`predict_paths`).

    Returns: one record per pair. Raises: MaskDepthError (naming the parameter) for bad settings or files.
    """
    if not cfg.bg or not cfg.image:
        raise MaskDepthError("predict needs bg and image", param="bg" if not cfg.bg else "image")
    pairs = pair_paths(cfg.bg, cfg.image, cfg.out, one_camera=bool(cfg.bg_depth or cfg.camera))  # fail before loading the model
    predictor = load_predictor(cfg.checkpoint, size=cfg.size, backend=cfg.backend, refine=cfg.refine)
    return predict_paths(predictor, pairs, cfg, cache_dir=cfg.cache_dir, quiet=cfg.quiet)


def _images_in(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)


def pair_paths(bg: str, image: str, out_dir: str, one_camera: bool = False) -> list[tuple[Path, Path, Path]]:
    """``(bg, image, output folder)`` per pair: a pair of files (output ``out_dir``), a bg file and a folder
    of images, or two folders of images paired by file stem (output ``out_dir/<image stem>``).

    Args:
        one_camera: a scene source (measured depth, camera) describes one fixed camera: a folder of
            backgrounds is refused.
    Raises: MaskDepthError (param ``bg`` or ``image``): missing paths, no images, no matching names,
        a folder of backgrounds with a file image or with ``one_camera``.
    """
    bgp, imp, out = Path(bg), Path(image), Path(out_dir)
    if not bgp.exists():
        raise MaskDepthError(f"not found: {bgp}", param="bg")
    if not imp.exists():
        raise MaskDepthError(f"not found: {imp}", param="image")
    if bgp.is_dir() and one_camera:
        raise MaskDepthError(
            "must be one file, not a folder of backgrounds, with a measured depth or a camera (they describe one fixed camera)", param="bg"
        )
    if not imp.is_dir():
        if bgp.is_dir():
            raise MaskDepthError("is a folder but the image is a file: give a bg file", param="bg")
        return [(bgp, imp, out)]
    images = _images_in(imp)
    if not images:
        raise MaskDepthError(f"folder holds no images: {imp}", param="image")
    if not bgp.is_dir():
        return [(bgp, p, out / p.stem) for p in images]
    bgs = {p.stem: p for p in _images_in(bgp)}
    pairs = [(bgs[p.stem], p, out / p.stem) for p in images if p.stem in bgs]
    if not pairs:
        raise MaskDepthError(f"no file names in {imp} match a background in {bgp}", param="image")
    return pairs


def predict_paths(
    predictor: Predictor, pairs: list[tuple[Path, Path, Path]], scene: SceneConfig, cache_dir: str | None = None, quiet: bool = False
) -> list[dict]:
    """Predict on ``pairs`` (:func:`pair_paths`) and write each one's files (:func:`write_outputs`).

    A bad depth or camera file (missing, unreadable, another aspect ratio, no known pixel, a horizon
    below the image, missing keys) fails before anything is written.

    Args:
        predictor: the model.
        pairs: ``(bg, image, output folder)`` paths.
        scene: the empty scene's sources (``bg_depth``, ``bg_depth_unit``, ``camera``, ``teacher``).
        cache_dir: folder caching computed scene depths across runs (keyed by the content of all their inputs).
        quiet: no progress bar.
    Returns: one record per pair: ``bg``, ``image``, ``out``, ``mask_fraction``, ``depth_source``, ``objects`` (count), ``files``.
    Raises: MaskDepthError naming the pair's files for bad images, bad depth or camera files.
    """
    from tqdm import tqdm

    records, bg_cache, scenes = [], {}, {}
    for b, i, o in tqdm(pairs, desc="predict", unit="pair", disable=quiet or len(pairs) < 2):
        if b not in bg_cache:
            bg_cache, scenes = {b: load_rgb(b)}, {}
        img = load_rgb(i)
        if img.shape not in scenes:
            scenes[img.shape] = _fixed_camera(bg_cache[b], img, scene, cache_dir, (b, i))
        try:
            result = run_frame(predictor, img, bg=bg_cache[b], scene=scenes[img.shape])
        except MaskDepthError as e:
            raise MaskDepthError(f"bg {b}, image {i}: {e}") from None  # either may be the culprit: name both
        files = write_outputs(o, img, result)
        records.append(
            {
                "bg": str(b),
                "image": str(i),
                "out": str(o),
                "mask_fraction": float(result.mask.mean()),
                "depth_source": result.depth_source,
                "objects": len(result.objects),
                "files": files,
            }
        )
    return records


def _fixed_camera(bg, img, scene: SceneConfig, cache_dir: str | None, names: tuple[Path, Path]) -> FixedCamera:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the pipeline warns about the resize once per image
            bg_at_size = check_pair(bg, img)
    except MaskDepthError as e:
        raise MaskDepthError(f"bg {names[0]}, image {names[1]}: {e}") from None
    return FixedCamera(bg_at_size, cache_dir=cache_dir, **scene.fixed_camera_settings())
