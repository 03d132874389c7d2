"""What ``maskdepth serve`` accepts from a client: the request-size cap, and the uploads of
``POST /predict`` (images, ``bg_depth``, ``camera``) checked and decoded in memory.

Every refusal is an :class:`HttpError`: a status code and one line, rendered by the app as
``{"error": "<one line>"}`` (400 unreadable or unusable, 413 too large, 415 not an image).
Sizes are read from the files' headers before anything is decoded, so a decompression bomb
is refused without allocating its pixels.
"""

from __future__ import annotations

import io
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ..errors import MaskDepthError

ALLOWED_TYPES = ("image/", "application/octet-stream")
"""Content types accepted for ``bg`` and ``image`` (octet-stream: clients that do not guess; decoding decides)."""

_DEPTH_MAGIC = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"II*\x00", ".tiff"), (b"MM\x00*", ".tiff"), (b"\x93NUMPY", ".npy"))


class HttpError(Exception):
    """An HTTP error answer with a one-line message (rendered as ``{"error": message}``).

    Args:
        status: the HTTP status code (400, 404, 413, 415, 503, 504, ...).
        message: one line, no traceback, no server paths.
        headers: extra response headers (e.g. ``Retry-After``).
    """

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class UploadLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413 JSON.

    A ``Content-Length`` over the limit is refused before anything is read; a body without
    one (chunked) is counted as it arrives and refused as soon as it passes the limit
    (whatever the app made of the interrupted body is discarded).

    Args:
        app: the ASGI app to wrap.
        max_bytes: the largest request body, bytes.
    """

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, int(max_bytes)

    async def _send_413(self, send):
        body = json.dumps({"error": f"upload too large: the limit is {self.max_bytes / 1e6:g} MB per request"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _declared_too_big(self, scope) -> bool:
        cl = dict(scope.get("headers") or []).get(b"content-length")
        try:
            return cl is not None and int(cl) > self.max_bytes
        except ValueError:
            return False

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self._declared_too_big(scope):
            return await self._send_413(send)
        state = {"n": 0, "over": False, "started": False}

        async def limited_receive():
            msg = await receive()
            if msg.get("type") == "http.request":
                state["n"] += len(msg.get("body", b""))
                if state["n"] > self.max_bytes:
                    state["over"] = True
                    raise HttpError(413, "upload too large")
            return msg

        async def guarded_send(msg):
            if state["over"]:
                return  # the app's answer to the cut-off body is replaced by 413
            if msg["type"] == "http.response.start":
                state["started"] = True
            await send(msg)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except HttpError:
            if not state["over"]:
                raise
        if state["over"] and not state["started"]:
            await self._send_413(send)


def check_image_type(content_type: str | None, name: str) -> None:
    """Refuse an upload whose declared content type is not an image (an empty one is accepted).

    Raises: :class:`HttpError` 415.
    """
    ct = (content_type or "").lower()
    if ct and not ct.startswith(ALLOWED_TYPES):
        raise HttpError(415, f"{name}: content type {ct} is not an image (send PNG, JPEG, WebP, BMP or TIFF)")


def decode_image(data: bytes, name: str, max_pixels: int) -> np.ndarray:
    """An uploaded image → ``uint8 (H, W, 3)`` RGB (EXIF orientation applied, as :func:`maskdepth.io.load_rgb`).

    Args:
        data: the file's bytes (PNG, JPEG, WebP, BMP, TIFF).
        name: the form field (``"bg"``, ``"image"``), named in every message.
        max_pixels: the largest ``W * H`` accepted; checked from the header before decoding.
    Raises:
        :class:`HttpError` 400 (empty, unreadable or truncated), 413 (over ``max_pixels``).
    """
    from PIL import Image

    from ..io import load_rgb

    if not data:
        raise HttpError(400, f"{name}: empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked below
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
    except Image.DecompressionBombError:  # declares more than 2x Pillow's limit: refused at open
        raise HttpError(
            413,
            f"{name}: image too large (declares more than {2 * Image.MAX_IMAGE_PIXELS / 1e6:g} Mpx); the limit is {max_pixels / 1e6:g} Mpx",
        ) from None
    except Exception:
        raise HttpError(400, f"{name}: not a readable image") from None
    if w * h > max_pixels:
        raise HttpError(413, f"{name}: image is {w}x{h} = {w * h / 1e6:.1f} Mpx; the limit is {max_pixels / 1e6:g} Mpx")
    try:
        return load_rgb(data, name=name)
    except MaskDepthError as e:
        raise HttpError(400, str(e)) from None


def decode_camera(data: bytes | None, size_wh: tuple[int, int]):
    """A ``camera.json`` upload → :class:`~maskdepth.scene.Camera` scaled to the image's ``(W, H)``, or ``None`` without one.

    Raises: :class:`HttpError` 400 (empty, not JSON, not a valid camera, another aspect ratio, horizon below the image).
    """
    from ..scene import Camera

    if data is None:
        return None
    if not data.strip():
        raise HttpError(400, "camera: empty file (0 bytes)")
    try:
        d = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise HttpError(400, f"camera: not valid JSON ({str(e).splitlines()[0][:120]})") from None
    try:
        return Camera.from_json(d, where="camera").scaled_to(*size_wh)
    except MaskDepthError as e:
        raise HttpError(400, str(e).replace("camera.json is for", "camera is for")) from None


def decode_bg_depth(data: bytes | None, filename: str | None, size_hw: tuple[int, int], max_pixels: int):
    """A ``bg_depth`` upload → :class:`~maskdepth.scene.SceneDepth` (``measured``) at the image's ``(H, W)``, or ``None``.

    The format is told by the file's first bytes (uint16 PNG millimetres, float32 TIFF metres,
    ``.npy`` metres), else by its name; the declared size is checked against ``max_pixels``
    before decoding. The readers take a path: the bytes go to a temporary folder removed at once.

    Raises: :class:`HttpError` 400 (empty, unsupported, unreadable, another aspect ratio, no known pixel), 413 (too large).
    """
    from ..scene import load_bg_depth

    if data is None:
        return None
    if not data:
        raise HttpError(400, "bg_depth: empty file (0 bytes)")
    ext = _depth_kind(data, filename)
    w, h = _declared_size(data, ext)
    if w * h > max_pixels:
        raise HttpError(413, f"bg_depth: depth map is {w}x{h} = {w * h / 1e6:.1f} Mpx; the limit is {max_pixels / 1e6:g} Mpx")
    with tempfile.TemporaryDirectory(prefix="maskdepth-bgdepth-") as d:
        path = Path(d) / f"bg_depth{ext}"
        path.write_bytes(data)
        try:
            return load_bg_depth(path, size_hw)
        except MaskDepthError as e:
            raise HttpError(400, str(e).replace(str(path), "bg_depth")) from None


def _depth_kind(data: bytes, filename: str | None) -> str:
    """``".png"``, ``".tiff"`` or ``".npy"`` from the first bytes of a ``bg_depth`` upload, else from
    its file name. Raises :class:`HttpError` 400 for anything else."""
    for magic, ext in _DEPTH_MAGIC:
        if data.startswith(magic):
            return ext
    suffix = Path(filename or "").suffix.lower()
    if suffix in (".png", ".tif", ".tiff", ".npy"):
        raise HttpError(400, f"bg_depth: not a readable {suffix} file")
    raise HttpError(400, "bg_depth: unsupported file (send a uint16 PNG in millimetres, a float32 TIFF in metres or a .npy in metres)")


def _declared_size(data: bytes, ext: str) -> tuple[int, int]:
    """``(W, H)`` a depth upload declares, read from its header only (no decoding). Raises :class:`HttpError` (400, 413)."""
    from PIL import Image

    try:
        if ext == ".npy":
            f = io.BytesIO(data)
            shape = _npy_shape(f, np.lib.format.read_magic(f))
            if len(shape) < 2:
                raise ValueError(f"a {len(shape)}-D array")
            return int(shape[1]), int(shape[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                return im.size
    except Image.DecompressionBombError:
        raise HttpError(413, f"bg_depth: depth map too large (declares more than {2 * Image.MAX_IMAGE_PIXELS / 1e6:g} Mpx)") from None
    except Exception as e:
        raise HttpError(400, f"bg_depth: not a readable {ext} file ({type(e).__name__})") from None


def _npy_shape(f, version: tuple[int, int]) -> tuple[int, ...]:
    """Shape from a ``.npy`` header (after its magic), without reading the data."""
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)[0]
    return np.lib.format.read_array_header_2_0(f)[0]
