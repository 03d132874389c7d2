"""The web app behind ``maskdepth serve``: one page and a JSON API (FastAPI).

Routes:

* ``GET /``: the page (static HTML + JS in ``maskdepth/serve/static``, no build step):
  upload a background and an image, or load the bundled example; shows the mask, the
  colourised depth with a scale bar (metres) and the overlay side by side, with downloads.
* ``POST /predict``: multipart form with files ``bg`` and ``image``, and optionally the
  fixed camera's scene knowledge: ``bg_depth`` (the empty scene's measured depth: uint16
  PNG millimetres, float32 TIFF metres or ``.npy`` metres; 0 = unknown) and ``camera``
  (``camera.json``) → JSON (:class:`PredictResponse`): base64 PNGs (``mask_png`` 0/255
  grey, ``depth_color_png`` RGB (unknown = black), ``overlay_png`` RGB with each object's
  box and ``"id - distance"`` label, ``depth_mm_png`` uint16 millimetres, 0 = unknown),
  ``objects`` (the ``objects.json`` schema of issue 12: id, bbox, area, contact point,
  distance and height in metres), ``depth_source`` (``measured`` / ``ground_plane`` /
  ``learned``: what made the scene depth), ``scene``, ``camera`` and ``stats``. The depth
  is the empty scene's depth with every object standing on it
  (:meth:`maskdepth.scene.fixed_camera.FixedCamera.measure`); the sources ``ground_plane``
  and ``learned`` also need the network's depth of the empty scene, predicted once per
  background (the last few are kept, keyed by the background's pixels).
* ``POST /calibrate/floor-points``: JSON ``{"image_size": [W, H], "points": [{"px": [u, v],
  "floor_m": [x, y]}, ...], "focal_px": F}`` (or ``"fov_deg": DEG``, or neither to estimate the
  focal length; optional ``n_boot`` 0-1000 and ``seed``) → ``camera.json`` fitted from the floor
  points (:mod:`maskdepth.scene.calibrate.floor`), or 400 with the one-line reason (fewer than 4
  points, collinear points, a point above the horizon, unknown keys, pixels outside the image, ...).
* ``GET /example/bg.png``, ``GET /example/image.png``: the bundled example pair, rendered at
  start-up from :mod:`maskdepth.data.render` (a procedural room and a procedural person).
* ``GET /health``: status, model, limits, requests in flight.
* ``GET /docs``, ``GET /openapi.json``: the API documentation (FastAPI).

Errors are JSON ``{"error": "<one line>"}``, never a stack trace: 400 (unreadable,
truncated or unusable image, a background of another framing, missing field; a
``bg_depth`` that is unreadable, of another aspect ratio or all zero; a ``camera`` that is
not valid ``camera.json``, of another aspect ratio, or whose horizon is below the image), 413 (request
body over ``max_upload_mb``, or an image over ``max_pixels``), 415 (a part that is not an
image, or a request that is not ``multipart/form-data``), 503 (the queue is full; with
``Retry-After``), 504 (the inference did not finish within ``timeout_s``, default 60 s),
500 (unexpected; the traceback goes to the server log only).

Concurrency: decoding + inference + encoding run in a thread pool of ``workers`` threads
(default 1: the model is CPU-bound and uses every core); at most ``queue_limit`` more
requests wait; beyond that the answer is 503 at once. Uploads are capped by an ASGI
middleware that counts the bytes as they arrive, and kept in memory (the multipart
parser's spool threshold is raised to the cap), so no temporary file is written.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import logging
import math
import tempfile
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, File, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartParser

from .. import __version__
from ..data.format import depth_to_mm_u16
from ..errors import MaskDepthError

STATIC_DIR = Path(__file__).parent / "static"
log = logging.getLogger("maskdepth.serve")

ALLOWED_TYPES = ("image/", "application/octet-stream")  # octet-stream: curl/clients that do not guess; decoding decides


class _Fail(Exception):
    """An HTTP error with a one-line message (rendered as ``{"error": message}``)."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def _json_bytes(obj) -> bytes:
    return json.dumps(obj).encode()


class UploadLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413 JSON.

    A ``Content-Length`` over the limit is refused before anything is read; a body without
    one (chunked) is counted as it arrives and refused as soon as it passes the limit
    (whatever the app made of the interrupted body is discarded).
    """

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, int(max_bytes)

    async def _send_413(self, send):
        body = _json_bytes({"error": f"upload too large: the limit is {self.max_bytes / 1e6:g} MB per request"})
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        cl = headers.get(b"content-length")
        if cl is not None:
            try:
                too_big = int(cl) > self.max_bytes
            except ValueError:
                too_big = False
            if too_big:
                return await self._send_413(send)
        state = {"n": 0, "over": False, "started": False}

        async def limited_receive():
            msg = await receive()
            if msg.get("type") == "http.request":
                state["n"] += len(msg.get("body", b""))
                if state["n"] > self.max_bytes:
                    state["over"] = True
                    raise _Fail(413, "upload too large")
            return msg

        async def guarded_send(msg):
            if state["over"]:
                return  # the app's answer to the cut-off body is replaced by 413
            if msg["type"] == "http.response.start":
                state["started"] = True
            await send(msg)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _Fail:
            if not state["over"]:
                raise
        if state["over"] and not state["started"]:
            await self._send_413(send)


def example_pair(size: int = 320, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The bundled example: a rendered room and the same room with a procedural person.

    The person (1.75 m tall) stands on the floor near the middle of the view, sized by
    perspective from the rendered depth (``h = f * 1.75 m / Z``), fully in view.

    Returns: ``(bg, image)``, each ``uint8 (size, size, 3)`` RGB; deterministic for a seed.
    """
    from ..data.composite import crop_to_alpha, paste, place_at
    from ..data.procedural import procedural_foreground
    from ..data.render import FLOOR, render_room

    rng = np.random.default_rng(seed)
    scene = render_room(rng, size=size, n_boxes=(1, 2))
    fg = crop_to_alpha(procedural_foreground(rng, "person", height_px=256))
    f = float(scene.K[1, 1])
    u = int(0.58 * size)
    best = None
    for v in range(size - 4, size // 2, -1):  # walk up the floor until the figure is about 55 % of the image tall
        if scene.labels[v, u] != FLOOR:
            continue
        z = float(scene.depth[v, u])
        h = f * 1.75 / z
        if best is None or abs(h - 0.55 * size) < abs(best[2] - 0.55 * size):
            best = (v, z, h)
        if h <= 0.55 * size:
            break
    if best is None:  # no floor in that column (unlikely): stand at the bottom
        best = (size - 4, float(scene.depth[size - 4, u]), 0.5 * size)
    v, z, h = best
    h = int(round(min(h, v - 2)))
    place = place_at((u, v), h, fg.shape, False, z, h * z / f, "metric")
    comp = paste(scene.rgb, fg, place, scene.depth)
    return scene.rgb, comp.fg_bg


class Stats(BaseModel):
    """Summary numbers of one prediction (``stats`` in :class:`PredictResponse`)."""

    width: int = Field(description="image width, pixels")
    height: int = Field(description="image height, pixels")
    mask_fraction: float = Field(description="fraction of pixels that are foreground, [0, 1]")
    depth_unit: str = Field("m", description="unit of every depth value: metres")
    depth_min_m: float = Field(description="smallest known depth, metres")
    depth_max_m: float = Field(description="largest known depth, metres")
    depth_median_m: float = Field(description="median known depth, metres")
    depth_color_min_m: float = Field(description="depth drawn brightest in depth_color_png (2nd percentile), metres")
    depth_color_max_m: float = Field(description="depth drawn darkest in depth_color_png (98th percentile), metres")
    depth_known_fraction: float = Field(description="fraction of pixels with a known depth (> 0); the rest is 0 in depth_mm_png")
    bg_resized: bool = Field(description="the background had another size (same aspect ratio) and was resized")
    elapsed_ms: float = Field(description="decode + inference + encode time, milliseconds")
    model: str


class SceneObjectOut(BaseModel):
    """One object that entered the scene (an entry of ``objects.json``, issue 12)."""

    id: int = Field(description="1, 2, ... in component order")
    bbox: list[int] = Field(description="[x0, y0, x1, y1], inclusive pixel bounds")
    area_px: int = Field(description="pixels of the component")
    contact_px: list[float] | None = Field(description="[x, y] where it stands on the floor (lowest pixels), or null when hidden/outside")
    distance_m: float | None = Field(description="depth (camera z-axis) of the contact point, metres; null when unknown")
    height_m: float | None = Field(description="upright height, metres; null when unknown")
    depth_source: str = Field(description="what gave distance_m: measured | ground_plane | teacher | learned")
    note: str | None = Field(None, description="why contact_px or distance_m is missing")


class PredictResponse(BaseModel):
    """``POST /predict`` answer: four base64 PNGs, the objects with their distances, the depth source, statistics and warnings."""

    mask_png: str = Field(description="base64 PNG, 8-bit grey, 255 = foreground, 0 = background")
    depth_color_png: str = Field(description="base64 PNG, RGB, depth colourised with magma (near = bright, unknown = black)")
    overlay_png: str = Field(description="base64 PNG, RGB, the mask tinted over the image, each object's box and 'id - distance' label")
    depth_mm_png: str = Field(description="base64 PNG, 16-bit grey, depth in millimetres, 0 = unknown")
    objects: list[SceneObjectOut] = Field(description="every foreground component: where it stands and how far (issue 12 schema)")
    depth_source: str = Field(
        description="what made the scene depth: measured (the bg_depth file), ground_plane (camera.json over a flat floor), "
        "teacher, or learned (the network's own estimate)"
    )
    scene: dict[str, Any] = Field(description="summary of the empty scene's depth: source, unit, known_fraction, notes, params")
    camera: dict[str, Any] | None = Field(description="the camera used (camera.json scaled to the image), or null")
    stats: Stats
    warnings: list[str] = Field(description="e.g. that the background was resized")


class ErrorResponse(BaseModel):
    """Every error answer: ``{"error": "<one line>"}``."""

    error: str = Field(description="one-line message")


_DEPTH_MAGIC = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"II*\x00", ".tiff"), (b"MM\x00*", ".tiff"), (b"\x93NUMPY", ".npy"))


def _depth_kind(data: bytes, filename: str | None) -> str:
    """``".png"``, ``".tiff"`` or ``".npy"`` from the first bytes of a ``bg_depth`` upload, else from
    its file name. Raises :class:`_Fail` 400 for anything else."""
    for magic, ext in _DEPTH_MAGIC:
        if data.startswith(magic):
            return ext
    suffix = Path(filename or "").suffix.lower()
    if suffix in (".png", ".tif", ".tiff", ".npy"):
        raise _Fail(400, f"bg_depth: not a readable {suffix} file")
    raise _Fail(400, "bg_depth: unsupported file (send a uint16 PNG in millimetres, a float32 TIFF in metres or a .npy in metres)")


def _declared_size(data: bytes, ext: str) -> tuple[int, int]:
    """``(W, H)`` a depth upload declares, read from its header only (no decoding). Raises :class:`_Fail` (400, 413)."""
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
        raise _Fail(413, f"bg_depth: depth map too large (declares more than {2 * Image.MAX_IMAGE_PIXELS / 1e6:g} Mpx)") from None
    except Exception as e:
        raise _Fail(400, f"bg_depth: not a readable {ext} file ({type(e).__name__})") from None


def _npy_shape(f, version: tuple[int, int]) -> tuple[int, ...]:
    """Shape from a ``.npy`` header (after its magic), without reading the data."""
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)[0]
    return np.lib.format.read_array_header_2_0(f)[0]


def _png_b64(a: np.ndarray) -> str:
    from ..io import encode_png

    return base64.b64encode(encode_png(a)).decode("ascii")


class Service:
    """Model, limits and the inference pool of one app (``app.state.service``)."""

    def __init__(
        self,
        predictor,
        model_name: str,
        workers: int = 1,
        queue_limit: int = 4,
        max_upload_mb: float = 20.0,
        max_pixels: int = 40_000_000,
        timeout_s: float | None = 60.0,
    ):
        if workers < 1:
            raise MaskDepthError("workers must be at least 1")
        if queue_limit < 0:
            raise MaskDepthError("queue limit must be >= 0")
        if max_upload_mb <= 0:
            raise MaskDepthError("--max-upload-mb must be > 0")
        if timeout_s is not None and timeout_s <= 0:
            raise MaskDepthError("the request timeout must be > 0 seconds")
        self.timeout_s = timeout_s
        self.predictor, self.model_name = predictor, model_name
        self.workers, self.queue_limit = int(workers), int(queue_limit)
        self.max_upload_bytes = int(max_upload_mb * 1e6)
        self.max_pixels = int(max_pixels)
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="maskdepth-infer")
        self.in_flight = 0  # touched only on the event loop's thread
        self.served = 0
        self._lock = threading.Lock()  # warnings.catch_warnings is process-global: one at a time
        self._example: dict[str, bytes] | None = None
        self._scenes = None  # RecentCameras by bg pixels and uploads (made on first use)

    def example_png(self, name: str) -> bytes:
        from ..io import encode_png

        if self._example is None:
            bg, img = example_pair()
            self._example = {"bg.png": encode_png(bg), "image.png": encode_png(img)}
        return self._example[name]

    def _decode(self, data: bytes, name: str) -> np.ndarray:
        from PIL import Image

        from ..io import load_rgb

        if not data:
            raise _Fail(400, f"{name}: empty file (0 bytes)")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked below
                with Image.open(io.BytesIO(data)) as im:
                    w, h = im.size
        except Image.DecompressionBombError:  # declares more than 2x Pillow's limit: refused at open
            raise _Fail(
                413,
                f"{name}: image too large (declares more than {2 * Image.MAX_IMAGE_PIXELS / 1e6:g} Mpx); "
                f"the limit is {self.max_pixels / 1e6:g} Mpx",
            ) from None
        except Exception:
            raise _Fail(400, f"{name}: not a readable image") from None
        if w * h > self.max_pixels:
            raise _Fail(413, f"{name}: image is {w}x{h} = {w * h / 1e6:.1f} Mpx; the limit is {self.max_pixels / 1e6:g} Mpx")
        try:
            return load_rgb(data, name=name)
        except MaskDepthError as e:
            raise _Fail(400, str(e)) from None

    def _camera(self, data: bytes | None, size_wh: tuple[int, int]):
        """``camera.json`` upload → :class:`~maskdepth.scene.Camera` at the image's size, or ``None``. Raises :class:`_Fail` 400."""
        from ..scene import Camera

        if data is None:
            return None
        if not data.strip():
            raise _Fail(400, "camera: empty file (0 bytes)")
        try:
            d = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise _Fail(400, f"camera: not valid JSON ({str(e).splitlines()[0][:120]})") from None
        try:
            return Camera.from_json(d, where="camera").scaled_to(*size_wh)
        except MaskDepthError as e:
            raise _Fail(400, str(e).replace("camera.json is for", "camera is for")) from None

    def _bg_depth(self, data: bytes | None, filename: str | None, size_hw: tuple[int, int]):
        """``bg_depth`` upload → :class:`~maskdepth.scene.SceneDepth` (``measured``) at the image's size, or ``None``.

        The format is told by the file's first bytes (PNG, TIFF, ``.npy``), else by its name;
        the declared size is checked against ``max_pixels`` before decoding. Raises :class:`_Fail` (400, 413).
        """
        from ..scene import load_bg_depth

        if data is None:
            return None
        if not data:
            raise _Fail(400, "bg_depth: empty file (0 bytes)")
        ext = _depth_kind(data, filename)
        w, h = _declared_size(data, ext)
        if w * h > self.max_pixels:
            raise _Fail(413, f"bg_depth: depth map is {w}x{h} = {w * h / 1e6:.1f} Mpx; the limit is {self.max_pixels / 1e6:g} Mpx")
        with tempfile.TemporaryDirectory(prefix="maskdepth-bgdepth-") as d:  # the readers take a path; removed at once
            path = Path(d) / f"bg_depth{ext}"
            path.write_bytes(data)
            try:
                return load_bg_depth(path, size_hw)
            except MaskDepthError as e:
                raise _Fail(400, str(e).replace(str(path), "bg_depth")) from None

    def _scene(self, bg: np.ndarray, measured, camera, uploads: tuple):
        """The :class:`~maskdepth.scene.fixed_camera.FixedCamera` of this bg and these uploads
        (``bg_depth``/``camera`` bytes), reused for the last 4 so a camera's scene depth and the
        network's depth of its empty scene are computed once (the API's ``model.predict`` does the same)."""
        from ..scene.depth_sources import image_key
        from ..scene.fixed_camera import FixedCamera, RecentCameras

        if self._scenes is None:
            self._scenes = RecentCameras(4)
        key = (image_key(bg), *(None if b is None else hashlib.sha256(b).hexdigest() for b in uploads))
        return self._scenes.get(key, lambda: FixedCamera(bg, bg_depth=measured, camera=camera))

    def run(
        self,
        bg_bytes: bytes,
        img_bytes: bytes,
        bg_depth_bytes: bytes | None = None,
        bg_depth_name: str | None = None,
        camera_bytes: bytes | None = None,
    ) -> dict:
        """Decode, predict, measure the objects and encode one pair (runs in the pool). Raises :class:`_Fail`."""
        from ..inference.predictor import check_pair, learned_bg_depth_fn
        from ..viz import colorize_depth, draw_objects, overlay

        t0 = time.time()
        bg = self._decode(bg_bytes, "bg")
        img = self._decode(img_bytes, "image")
        H, W = img.shape[:2]
        camera = self._camera(camera_bytes, (W, H))
        measured = self._bg_depth(bg_depth_bytes, bg_depth_name, (H, W))
        with self._lock, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                bg_fit = check_pair(bg, img)
                scene = self._scene(bg_fit, measured, camera, (bg_depth_bytes, camera_bytes))
                pred = self.predictor.predict(bg_fit, img)
                fd = scene.measure(pred.mask, pred.depth, learned_bg_depth_fn(self.predictor, scene))
            except MaskDepthError as e:
                raise _Fail(400, str(e)) from None
        d = fd.depth
        known = d[np.isfinite(d) & (d > 0)]
        if known.size == 0:  # cannot happen with a loaded scene (it has a known pixel); keep the answer well-formed
            known = np.array([0.0], np.float32)
        vmin, vmax = (float(v) for v in np.percentile(known, [2, 98]))
        if vmax - vmin < 1e-3:
            vmax = vmin + 1e-3
        mm = depth_to_mm_u16(d)
        out = {
            "mask_png": _png_b64(pred.mask.astype(np.uint8) * 255),
            "depth_color_png": _png_b64(colorize_depth(d, vmin, vmax)),
            "overlay_png": _png_b64(draw_objects(overlay(img, pred.mask), fd.objects)),
            "depth_mm_png": _png_b64(mm),
            "objects": [o.to_json() for o in fd.objects],
            **fd.depth_json(),
            "stats": {
                "width": int(W),
                "height": int(H),
                "mask_fraction": float(pred.mask.mean()),
                "depth_unit": "m",
                "depth_min_m": float(known.min()),
                "depth_max_m": float(known.max()),
                "depth_median_m": float(np.median(known)),
                "depth_color_min_m": vmin,
                "depth_color_max_m": vmax,
                "depth_known_fraction": float((d > 0).mean()),
                "bg_resized": bg.shape != img.shape,
                "elapsed_ms": round((time.time() - t0) * 1000.0, 1),
                "model": self.model_name,
            },
            "warnings": [str(w.message).splitlines()[0] for w in caught],
        }
        return out

    async def submit(self, fn, *args):
        """Run ``fn(*args)`` in the pool; 503 when ``workers + queue_limit`` requests are in flight,
        504 when it has not finished within ``timeout_s`` (waiting in the queue included).

        A timed-out call that is still queued is cancelled; one already running cannot be stopped
        (it is a thread): it keeps its worker, and counts as in flight, until it ends, so the
        queue limit stays true and an overloaded server answers 503 instead of piling up work.
        """
        if self.in_flight >= self.workers + self.queue_limit:
            raise _Fail(
                503,
                f"busy: {self.in_flight} requests in progress or queued (limit {self.workers + self.queue_limit}); retry shortly",
                {"Retry-After": "2"},
            )
        loop = asyncio.get_running_loop()
        cf = self.pool.submit(fn, *args)
        self.in_flight += 1
        cf.add_done_callback(lambda _f: self._call_soon(loop, self._finished))
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(cf)), self.timeout_s)
        except asyncio.TimeoutError:
            cf.cancel()  # only succeeds while still queued
            raise _Fail(504, f"inference timed out after {self.timeout_s:g} s; try a smaller image or retry later") from None

    def _finished(self) -> None:
        self.in_flight -= 1

    @staticmethod
    def _call_soon(loop, fn) -> None:
        try:
            loop.call_soon_threadsafe(fn)
        except RuntimeError:  # the event loop is closed (server shutting down)
            pass


def load_service(
    predictor=None,
    checkpoint: str | None = None,
    size: int | None = None,
    model_name: str | None = None,
    workers: int = 1,
    queue_limit: int = 4,
    max_upload_mb: float = 20.0,
    max_pixels: int = 40_000_000,
    timeout_s: float | None = 60.0,
) -> Service:
    """The :class:`Service` of an app: ``predictor``, or one loaded from ``checkpoint`` (see :func:`create_app`).

    Raises: MaskDepthError: no usable model, or bad limits.
    """
    if predictor is None:
        from ..inference.predictor import load_predictor

        predictor = load_predictor(checkpoint, size=size, backend="auto")
        shipped = Path(predictor.source).name if getattr(predictor, "source", None) else "default"
        model_name = model_name or (Path(checkpoint).name if checkpoint else f"{shipped} (shipped)")
    return Service(predictor, model_name or "custom predictor", workers, queue_limit, max_upload_mb, max_pixels, timeout_s)


FLOOR_POINTS_KEYS = ("image_size", "points", "focal_px", "fov_deg", "n_boot", "seed")
FLOOR_POINTS_SCHEMA = {
    "type": "object",
    "required": ["image_size", "points"],
    "additionalProperties": False,
    "properties": {
        "image_size": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2, "description": "[W, H] of the bg"},
        "points": {
            "type": "array",
            "minItems": 4,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["px", "floor_m"],
                "properties": {
                    "px": {"type": "array", "items": {"type": "number"}, "description": "[u, v] pixel (centres at integers)"},
                    "floor_m": {"type": "array", "items": {"type": "number"}, "description": "[x, y] metres, any frame on the floor"},
                },
            },
        },
        "focal_px": {"type": "number", "description": "focal length in pixels at image_size"},
        "fov_deg": {"type": "number", "description": "horizontal field of view in degrees (instead of focal_px)"},
        "n_boot": {"type": "integer", "minimum": 0, "maximum": 1000, "description": "bootstrap resamples (default 200)"},
        "seed": {"type": "integer", "description": "bootstrap seed (default 0)"},
    },
}


def _whole(v, lo: int, hi: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def floor_points_camera(body: bytes, max_pixels: int) -> dict:
    """``POST /calibrate/floor-points``: the request's JSON (:data:`FLOOR_POINTS_SCHEMA`) → the
    ``camera.json`` dictionary of :meth:`maskdepth.scene.calibrate.floor.FloorPointsFit.to_json`.

    Raises: :class:`_Fail` 400 with one line (bad JSON, unknown keys, a bad size, focal or points, a fit that fails).
    """
    from ..calibration import focal_from_fov
    from ..scene.calibrate.floor import fit_camera_from_floor_points, parse_floor_points

    try:
        d = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise _Fail(400, f"not valid JSON ({str(e).splitlines()[0][:120]})") from None
    if not isinstance(d, dict):
        raise _Fail(400, f'expected a JSON object {{"image_size": [W, H], "points": [...], "focal_px": F}}, got {type(d).__name__}')
    unknown = sorted(set(d) - set(FLOOR_POINTS_KEYS))
    if unknown:
        raise _Fail(400, f"unknown key(s) {', '.join(map(repr, unknown))} (expected {', '.join(FLOOR_POINTS_KEYS)})")
    size = d.get("image_size")
    if not (isinstance(size, list) and len(size) == 2 and all(_whole(x, 1, 1 << 20) for x in size)) or size[0] * size[1] > max_pixels:
        raise _Fail(400, f"'image_size' must be [W, H], whole pixels > 0 and at most {max_pixels / 1e6:g} Mpx, got {size!r}")
    n_boot, seed = d.get("n_boot", 200), d.get("seed", 0)
    if not _whole(n_boot, 0, 1000) or not _whole(seed, 0, 2**32 - 1):
        raise _Fail(400, f"'n_boot' must be a whole number 0-1000 and 'seed' 0-2^32, got {n_boot!r}, {seed!r}")
    focal, fov = d.get("focal_px"), d.get("fov_deg")
    for k, v in (("focal_px", focal), ("fov_deg", fov)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
            raise _Fail(400, f"'{k}' must be a number or null, got {v!r}")
    try:
        if focal is not None and fov is not None:
            raise MaskDepthError("give 'focal_px' or 'fov_deg', not both (neither: estimated from the points)")
        f = focal_from_fov(fov, size[0]) if fov is not None else focal
        px, floor = parse_floor_points({"points": d.get("points")}, size, where="points")
        fit = fit_camera_from_floor_points(px, floor, size, focal_px=f, n_boot=n_boot, seed=seed)
    except MaskDepthError as e:
        raise _Fail(
            400,
            str(e)
            .replace("--focal-px F or --fov DEG", "focal_px or fov_deg")
            .replace("--focal-px", "focal_px")
            .replace("--fov", "fov_deg"),
        ) from None
    return fit.to_json()


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def add_error_handlers(app: FastAPI) -> None:
    """Every error as ``{"error": "<one line>"}`` (see the module docstring for the status codes)."""

    @app.exception_handler(_Fail)
    async def _fail_handler(request: Request, exc: _Fail):
        return _error(exc.status, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_handler(request: Request, exc: StarletteHTTPException):
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_handler(request: Request, exc: RequestValidationError):
        ctype = request.headers.get("content-type", "")
        if request.url.path == "/predict" and not ctype.startswith("multipart/form-data"):
            return _error(
                415, f"POST /predict takes multipart/form-data with image files 'bg' and 'image', not {ctype or 'no content type'}"
            )
        missing = [str(e["loc"][-1]) for e in exc.errors() if e.get("type") == "missing"]
        if missing:
            return _error(400, "missing form field(s): " + ", ".join(missing) + " (send image files 'bg' and 'image')")
        first = exc.errors()[0] if exc.errors() else {}
        return _error(400, f"bad request: {first.get('msg', 'invalid input')} at {'.'.join(map(str, first.get('loc', ())))}")

    @app.exception_handler(Exception)
    async def _any_handler(request: Request, exc: Exception):
        log.exception("unexpected error on %s", request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}); see the server log")


def add_routes(app: FastAPI, service: Service) -> None:
    """``GET /``, ``GET /health``, ``GET /example/{name}``, ``POST /calibrate/floor-points`` and ``POST /predict`` (see the module docstring)."""

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index():
        return HTMLResponse((STATIC_DIR / "index.html").read_text(encoding="utf-8"))

    @app.get("/health", summary="Service status, model and limits")
    async def health():
        return {
            "status": "ok",
            "version": __version__,
            "model": service.model_name,
            "backend": getattr(service.predictor, "backend", "?"),
            "input_short_side": getattr(service.predictor, "size", None),
            "workers": service.workers,
            "queue_limit": service.queue_limit,
            "in_flight": service.in_flight,
            "served": service.served,
            "max_upload_mb": service.max_upload_bytes / 1e6,
            "max_pixels": service.max_pixels,
            "timeout_s": service.timeout_s,
        }

    @app.get(
        "/example/{name}",
        summary="The bundled example pair (rendered at start-up)",
        responses={200: {"content": {"image/png": {}}}, 404: {"model": ErrorResponse}},
    )
    async def example(name: str):
        if name not in ("bg.png", "image.png"):
            raise _Fail(404, "no such example: use /example/bg.png or /example/image.png")
        data = await asyncio.get_running_loop().run_in_executor(None, service.example_png, name)
        return Response(data, media_type="image/png", headers={"Cache-Control": "public, max-age=3600"})

    @app.post(
        "/calibrate/floor-points",
        summary="camera.json from points on the floor of the background with known metres",
        description="JSON body: `image_size` [W, H] of the background, `points` (at least 4, not all on one line) each "
        '`{"px": [u, v], "floor_m": [x, y]}` (pixel centres at integers; metres in any frame on the floor), and `focal_px` '
        "or `fov_deg` (neither: the focal length is estimated from the points when their perspective fixes it). Answers "
        "the camera.json to save (source floor_points, 95 % bootstrap intervals, reprojection error in px and m), or 400 "
        "with the reason in one line.",
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": FLOOR_POINTS_SCHEMA}}}},
        responses={400: {"model": ErrorResponse}, 413: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    )
    async def calibrate_floor_points(request: Request):
        body = await request.body()
        return await service.submit(floor_points_camera, body, service.max_pixels)

    @app.post(
        "/predict",
        response_model=PredictResponse,
        summary="Mask, depth and the objects' distances for one (bg, image) pair",
        description="Multipart form with two image files (PNG, JPEG, WebP, BMP, TIFF): `bg`, the empty scene, and `image`, "
        "the same fixed camera with a foreground. A `bg` of another size is resized when the aspect ratios agree "
        "within 5 %, refused (400) otherwise. Optional: `bg_depth`, the empty scene's measured depth (uint16 PNG mm, "
        "float32 TIFF m or .npy m; `depth_source` = measured), and `camera`, a camera.json over a flat floor "
        "(`depth_source` = ground_plane without `bg_depth`); without either the depth is the network's own estimate "
        "(`depth_source` = learned). Each object in `objects` stands on the floor at its contact point; `distance_m` is "
        "the depth of that point. A `bg_depth` or `camera` of another aspect ratio, an all-zero depth map or a camera whose "
        "horizon is below the image is refused (400).",
        responses={
            400: {"model": ErrorResponse},
            413: {"model": ErrorResponse},
            415: {"model": ErrorResponse},
            503: {"model": ErrorResponse},
            504: {"model": ErrorResponse},
        },
    )
    async def predict(
        bg: UploadFile = File(..., description="background image (empty scene)"),
        image: UploadFile = File(..., description="image of the same scene with a foreground"),
        bg_depth: UploadFile | None = File(
            None,
            description="optional: the empty scene's measured depth (RGB-D, LiDAR, stereo, CAD): uint16 PNG in millimetres, "
            "32-bit float TIFF in metres or .npy in metres, 0 = unknown; same aspect ratio as the image (resized nearest-exact)",
        ),
        camera: UploadFile | None = File(
            None,
            description="optional: camera.json (focal_px, cx, cy, horizon_y, camera_height_m, image_size [W, H], optional roll_deg) "
            "of a camera over a flat floor; same aspect ratio as the image",
        ),
    ):
        extra = [f for f in (bg_depth, camera) if f is not None]
        try:
            for f, name in ((bg, "bg"), (image, "image")):
                ct = (f.content_type or "").lower()
                if ct and not ct.startswith(ALLOWED_TYPES):
                    raise _Fail(415, f"{name}: content type {ct} is not an image (send PNG, JPEG, WebP, BMP or TIFF)")
            bg_bytes, img_bytes = await bg.read(), await image.read()
            depth_bytes = None if bg_depth is None else await bg_depth.read()
            camera_bytes = None if camera is None else await camera.read()
        finally:
            for f in (bg, image, *extra):
                await f.close()
        depth_name = None if bg_depth is None else bg_depth.filename
        out = await service.submit(service.run, bg_bytes, img_bytes, depth_bytes, depth_name, camera_bytes)
        service.served += 1
        return out


def create_app(
    predictor=None,
    checkpoint: str | None = None,
    size: int | None = None,
    model_name: str | None = None,
    workers: int = 1,
    queue_limit: int = 4,
    max_upload_mb: float = 20.0,
    max_pixels: int = 40_000_000,
    timeout_s: float | None = 60.0,
):
    """Build the FastAPI app.

    Args:
        predictor: a :class:`maskdepth.inference.predictor.Predictor`; when ``None`` one is loaded from
            ``checkpoint`` (``None``: the shipped model) with :func:`maskdepth.inference.predictor.load_predictor`.
        checkpoint, size: passed to ``load_predictor`` when ``predictor`` is ``None``.
        model_name: shown on the page and in ``/health`` (default: the checkpoint's file name).
        workers: inference threads (default 1).
        queue_limit: requests allowed to wait for a worker before 503 (default 4).
        max_upload_mb: largest request body, megabytes (10^6 bytes), before 413.
        max_pixels: largest decoded image (pixels) before 413.
        timeout_s: longest time a request may wait for and run its inference before 504 (``None``: no limit).
    Returns:
        A ``fastapi.FastAPI`` app; ``app.state.service`` is the :class:`Service`.
    Raises:
        MaskDepthError: no usable model, or bad limits.
    """
    service = load_service(predictor, checkpoint, size, model_name, workers, queue_limit, max_upload_mb, max_pixels, timeout_s)
    # uploads stay in memory (bounded by the upload limit): no temporary files on disk
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, service.max_upload_bytes + 1)

    @asynccontextmanager
    async def lifespan(app):
        yield
        service.pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="maskdepth",
        version=__version__,
        description="Foreground mask, depth (metres) and the distance of every object, from a background photo and a photo of "
        "the same scene with something in it. `POST /predict` with the two images as multipart form fields `bg` and `image`, "
        "optionally with the empty scene's measured depth (`bg_depth`) and the camera (`camera`, camera.json).",
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_middleware(UploadLimit, max_bytes=service.max_upload_bytes)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    add_error_handlers(app)
    add_routes(app, service)
    return app
