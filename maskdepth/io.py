"""Reading and writing images, JSON and other files, safely.

All readers raise :class:`maskdepth.errors.MaskDepthError` with a one-line
message naming the file and the problem (missing, empty, truncated, not an
image, wrong mode). All writers are atomic: they write a temporary file
(``<name>.<random>.tmp``, with the mode a plain write would give) in the same
directory, ``fsync`` it and ``os.replace`` it over the target, so a crash never
leaves a half-written file behind.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import MaskDepthError

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")

# Pillow raises DecompressionBombError above 2x this many pixels and warns above it.
# 64 Mpx is far more than any photo this tool needs and far below what exhausts memory.
Image.MAX_IMAGE_PIXELS = 64_000_000


def list_images(directory: str | os.PathLike, what: str = "image") -> list[Path]:
    """Sorted image files (by extension) directly inside ``directory``.

    Raises:
        MaskDepthError: the directory is missing, not a directory, or holds no image.
    """
    d = Path(directory)
    if not d.exists():
        raise MaskDepthError(f"{what} directory not found: {d}")
    if not d.is_dir():
        raise MaskDepthError(f"{what} directory is not a directory: {d}")
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)
    if not files:
        raise MaskDepthError(f"{what} directory holds no images ({', '.join(IMAGE_EXTS)}): {d}")
    return files


def _open(path: Path | str | bytes, name: str) -> Image.Image:
    im = None
    try:
        if not isinstance(path, (bytes, bytearray)):
            p = Path(path)
            if not p.exists():
                raise MaskDepthError(f"{name}: file not found")
            if p.is_dir():
                raise MaskDepthError(f"{name}: is a directory, not an image file")
            if p.stat().st_size == 0:
                raise MaskDepthError(f"{name}: empty file (0 bytes)")
        if isinstance(path, (bytes, bytearray)) and not path:
            raise MaskDepthError(f"{name}: empty file (0 bytes)")
        # The size check (and its warning, between 1x and 2x MAX_IMAGE_PIXELS) happens in
        # Image.open, so the warning filter must cover it, not only load().
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(path) if isinstance(path, (bytes, bytearray)) else Path(path))
            im.load()
        return im
    except MaskDepthError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        _close(im)
        raise MaskDepthError(f"{name}: image too large (decompression-bomb limit {Image.MAX_IMAGE_PIXELS} px): {e}") from None
    except UnidentifiedImageError:
        _close(im)
        raise MaskDepthError(f"{name}: not a readable image") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        _close(im)
        raise MaskDepthError(
            f"{name}: unreadable or truncated image ({str(e).splitlines()[0][:200] if str(e) else type(e).__name__})"
        ) from None
    except MemoryError:
        _close(im)
        raise MaskDepthError(f"{name}: image too large to decode in memory") from None
    except Exception as e:  # Pillow's decoders raise many other types on corrupt data (struct.error, IndexError, ...)
        _close(im)
        raise MaskDepthError(f"{name}: corrupt image ({type(e).__name__})") from None


def _close(im) -> None:
    if im is not None:
        try:
            im.close()
        except Exception:
            pass


def _convert(im: Image.Image, mode: str, name: str) -> np.ndarray:
    """``np.asarray(im.convert(mode))`` with decoder/conversion failures as MaskDepthError."""
    try:
        return np.asarray(im.convert(mode), dtype=np.uint8).copy()
    except MaskDepthError:
        raise
    except Exception as e:
        raise MaskDepthError(f"{name}: cannot convert image of mode {im.mode} to {mode} ({type(e).__name__})") from None


def load_rgb(path: str | os.PathLike | bytes, name: str | None = None) -> np.ndarray:
    """Read an image as RGB.

    EXIF orientation is applied; grayscale, palette, CMYK, 16-bit and RGBA
    inputs are converted (alpha is dropped: composited over black is *not*
    done, the colour channels are kept as they are).

    Returns:
        ``uint8`` array of shape ``(H, W, 3)``, values 0..255.
    Raises:
        MaskDepthError: missing, empty, truncated, not an image, or too large.
    """
    name = name or str(path if not isinstance(path, (bytes, bytearray)) else "<bytes>")
    im = _open(path, name)
    try:
        im = ImageOps.exif_transpose(im)
    except Exception:  # broken EXIF must not make a good image unreadable
        pass
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im).astype(np.float64)
        a = (np.clip(a, 0, None) / max(a.max(), 1) * 255.0).round().astype(np.uint8)
        return np.repeat(a[..., None], 3, axis=2)
    return _convert(im, "RGB", name)


def load_rgba(path: str | os.PathLike, name: str | None = None) -> np.ndarray:
    """Read a foreground cutout that must carry an alpha channel.

    Returns:
        ``uint8`` array of shape ``(H, W, 4)``; channel 3 is alpha (0 = transparent).
    Raises:
        MaskDepthError: unreadable, or the image has no alpha channel (or its
        alpha is fully opaque / fully transparent, so it holds no cutout).
    """
    name = name or str(path if not isinstance(path, (bytes, bytearray)) else "<bytes>")
    im = _open(path, name)
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    if not has_alpha:
        raise MaskDepthError(f"{name}: foreground has no alpha channel (mode {im.mode}); need an RGBA PNG cutout")
    a = _convert(im, "RGBA", name)
    alpha = a[..., 3]
    if alpha.max() < 128:
        raise MaskDepthError(f"{name}: alpha channel is empty (no pixel at least 50 % opaque)")
    if alpha.min() >= 128:
        raise MaskDepthError(f"{name}: alpha channel is fully opaque; not a cutout")
    return a


def load_depth_mm(path: str | os.PathLike | bytes, name: str | None = None) -> np.ndarray:
    """Read a 16-bit depth PNG.

    Returns:
        ``uint16`` array ``(H, W)``: depth in millimetres, 0 = invalid.
    Raises:
        MaskDepthError: unreadable, or not a single-channel 16-bit image.
    """
    name = name or str(path if not isinstance(path, (bytes, bytearray)) else "<bytes>")
    im = _open(path, name)
    a = np.asarray(im)
    if a.ndim != 2 or a.dtype not in (np.uint16, np.int32, np.uint8) or im.mode not in ("I;16", "I;16B", "I;16L", "I"):
        raise MaskDepthError(f"{name}: depth must be a single-channel 16-bit PNG, got mode {im.mode}")
    return a.astype(np.uint16)


def load_mask(path: str | os.PathLike, name: str | None = None) -> np.ndarray:
    """Read a single-channel 8-bit mask (raw values kept, e.g. CDnet codes).

    Returns: ``uint8`` array ``(H, W)``.
    """
    name = name or str(path)
    im = _open(path, name)
    return _convert(im, "L", name)


def encode_png(a: np.ndarray) -> bytes:
    """PNG bytes of a uint8 (H,W) / (H,W,3) / (H,W,4) or uint16 (H,W) array (deterministic)."""
    buf = io.BytesIO()
    if a.dtype == np.uint16:
        Image.fromarray(a.astype(np.uint16)).save(buf, format="PNG", compress_level=1)
    else:
        Image.fromarray(a).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def decode_image(data: bytes, name: str) -> np.ndarray:
    """Decode PNG/JPEG bytes to an array, keeping mode (uint8 L/RGB, uint16 I;16)."""
    im = _open(data, name)
    a = np.asarray(im)
    if im.mode.startswith("I"):
        return a.astype(np.uint16)
    if im.mode not in ("L", "RGB"):
        a = _convert(im, "RGB", name)
    return a.copy()


def _umask() -> int:
    """The process's umask, read from ``/proc/self/status`` where it is there (else set and put back)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temp_beside(path: str | os.PathLike, prefix: str | None = None, suffix: str = ".tmp") -> tuple[int, str]:
    """A new temporary file in ``path``'s folder, for writing ``path`` by rename: ``(fd, tmp path)``, named
    ``<prefix><random><suffix>`` (default prefix ``<name>.``, which the resumable jobs' clean-ups look for).

    Its mode is that of a file ``open(path, "w")`` would create (``0o666`` less the umask, e.g. 0644),
    not ``tempfile.mkstemp``'s 0600, so a file replaced by it is readable as any other output.

    Raises:
        OSError: the folder is missing or not writable.
    """
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f"{p.name}." if prefix is None else prefix, suffix=suffix, dir=p.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
    except OSError:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (tmp file + fsync + rename).

    Raises:
        MaskDepthError: the directory is not writable or the disk is full; the
        previous file at ``path`` (if any) is left intact.
    """
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temp_beside(p)
    except OSError as e:
        raise MaskDepthError(f"cannot write {p}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise MaskDepthError(f"cannot write {p}: {e.strerror or e}") from None


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write text atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode())


def save_png(path: str | os.PathLike, a: np.ndarray) -> None:
    """Save an array as PNG atomically (uint8 gray/RGB/RGBA or uint16 gray)."""
    atomic_write_bytes(path, encode_png(a))


def read_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    """Read JSON; a missing or malformed file raises MaskDepthError naming it."""
    p = Path(path)
    try:
        return json.loads(p.read_text())
    except FileNotFoundError:
        raise MaskDepthError(f"{what} not found: {p}") from None
    except (OSError, ValueError) as e:
        raise MaskDepthError(f"{what} {p} is unreadable: {e}") from None


def resize(a: np.ndarray, size_hw: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """Resize an image/label array to ``(H, W)``: area (shrinking) or bilinear for images, nearest for labels.

    Images and labels share one pixel grid: output pixel ``i`` is centred on input position
    ``(i + 0.5) * in / out - 0.5`` for every mode. Labels (``nearest=True``: masks, depth in
    mm or metres, 0 = invalid never blends with valid depth) use ``cv2.INTER_NEAREST_EXACT``,
    which takes the input pixel nearest that centre; plain ``cv2.INTER_NEAREST`` takes
    ``floor(i * in / out)`` instead, which puts labels on average ``(1 - out/in) / 2`` px
    (0.47 px at 480 -> 128) off the image (issue 13).

    Args:
        a: ``(h, w)`` or ``(h, w, c)`` array of a dtype OpenCV resizes (uint8, uint16, float32 ...).
        size_hw: output ``(H, W)``.
        nearest: label mode (see above).
    Returns:
        the resized array (``a`` itself when the size already matches).
    """
    import cv2

    h, w = size_hw
    if a.shape[0] == h and a.shape[1] == w:
        return a
    if nearest:
        interp = cv2.INTER_NEAREST_EXACT
    else:
        interp = cv2.INTER_AREA if (h < a.shape[0] and w < a.shape[1]) else cv2.INTER_LINEAR
    return cv2.resize(a, (w, h), interpolation=interp)


def center_crop_square(a: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Largest centred square crop. Returns (crop, x0, y0) with the crop's offset in ``a``."""
    h, w = a.shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    return a[y0 : y0 + s, x0 : x0 + s], x0, y0


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (shard integrity, teacher downloads)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                return h.hexdigest()
            h.update(b)


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@?#]*@")


def redact(text: object) -> str:
    """``text`` with the user-info part of every URL in it replaced by ``***``
    (``rtsp://user:pass@cam/x`` → ``rtsp://***@cam/x``): the one way a camera or webhook URL is shown
    in logs, ``watch.json``, events, the live page and error messages (passwords never leave the process)."""
    return _USERINFO.sub(r"\1***@", str(text))
