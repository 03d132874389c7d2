"""The inference service behind ``maskdepth serve``: the model, the limits, the pool of inference
threads, the recent fixed cameras, and one ``(bg, image)`` pair → the ``POST /predict`` answer.

One pair goes through the one pipeline (:func:`maskdepth.inference.pipeline.run_frame`) with the
fixed camera of its background and uploads (:class:`~maskdepth.scene.fixed_camera.FixedCamera`;
the last 4 are kept, keyed by the background's pixels and the uploads' sha256, so the network's
depth of an empty scene is predicted once per camera), exactly as the Python API does. The depth
picture's colour range is :func:`maskdepth.viz.depth_display_range` (2nd-98th percentile of the
known depth).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..data.format import depth_to_mm_u16
from ..errors import MaskDepthError
from .uploads import HttpError, decode_bg_depth, decode_camera, decode_image

STATIC_DIR = Path(__file__).parent / "static"
"""The page (``index.html``, ``app.js``, ``style.css``) and the example pair."""

EXAMPLE_FILES = {"bg.png": "example_bg.png", "image.png": "example_image.png"}
"""``GET /example/{name}`` → its file in :data:`STATIC_DIR`: a room rendered by :mod:`maskdepth.data.render`
(seed 3, 320x320) and the same room with a procedural person 1.75 m tall standing on the floor, sized
by perspective (synthetic: no photo, no dataset image), rendered once and shipped as PNG files."""

MIN_COLOR_RANGE_M = 1e-3
"""The depth picture's colour range is at least this wide (metres), so a flat depth still has a scale."""


def _png_b64(a: np.ndarray) -> str:
    from ..io import encode_png

    return base64.b64encode(encode_png(a)).decode("ascii")


class Service:
    """Model, limits and the inference pool of one app (``app.state.service``).

    Args:
        predictor: a :class:`~maskdepth.inference.predictor.Predictor` (or anything with ``predict(bg, image)``).
        model_name: shown on the page and in ``/health``.
        workers: inference threads (>= 1).
        queue_limit: requests that may wait for a worker before 503 (>= 0).
        max_upload_mb: largest request body, megabytes (10^6 bytes), > 0.
        max_pixels: largest decoded image, pixels.
        timeout_s: longest wait + run of one request before 504, seconds (> 0, or ``None``: no limit).
    Raises:
        MaskDepthError: a limit out of range, naming the parameter.
    """

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
            raise MaskDepthError(f"must be at least 1, got {workers}", param="workers")
        if queue_limit < 0:
            raise MaskDepthError(f"must be >= 0, got {queue_limit}", param="queue_limit")
        if max_upload_mb <= 0:
            raise MaskDepthError(f"must be > 0, got {max_upload_mb:g}", param="max_upload_mb")
        if timeout_s is not None and timeout_s <= 0:
            raise MaskDepthError(f"must be > 0 seconds, got {timeout_s:g}", param="timeout_s")
        self.timeout_s = timeout_s
        self.predictor, self.model_name = predictor, model_name
        self.workers, self.queue_limit = int(workers), int(queue_limit)
        self.max_upload_bytes = int(max_upload_mb * 1e6)
        self.max_pixels = int(max_pixels)
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="maskdepth-infer")
        self.in_flight = 0  # touched only on the event loop's thread
        self.served = 0
        self._lock = threading.Lock()  # warnings.catch_warnings is process-global: one at a time
        self._example: dict[str, bytes] = {}
        self._scenes = None  # RecentCameras by bg pixels and uploads (made on first use)

    def example_png(self, name: str) -> bytes:
        """The bytes of one file of the example pair (``"bg.png"`` or ``"image.png"``, see :data:`EXAMPLE_FILES`).

        Raises: :class:`~maskdepth.serve.uploads.HttpError` 404 for another name.
        """
        if name not in EXAMPLE_FILES:
            raise HttpError(404, "no such example: use /example/bg.png or /example/image.png")
        if name not in self._example:
            self._example[name] = (STATIC_DIR / EXAMPLE_FILES[name]).read_bytes()
        return self._example[name]

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

    def _infer(self, bg: np.ndarray, img: np.ndarray, measured, camera, uploads: tuple):
        """The pipeline on one decoded pair with its fixed camera: ``(FrameResult with its depth composed,
        the warnings raised on the way)``. Raises :class:`~maskdepth.serve.uploads.HttpError` 400."""
        from ..inference.pipeline import run_frame
        from ..inference.predictor import check_pair

        with self._lock, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                bg_fit = check_pair(bg, img)
                res = run_frame(self.predictor, img, scene=self._scene(bg_fit, measured, camera, uploads))
                res.depth  # noqa: B018  (composed here, under the lock, so a bad scene source is a 400)
            except MaskDepthError as e:
                raise HttpError(400, str(e)) from None
        return res, [str(w.message).splitlines()[0] for w in caught]

    def run(
        self,
        bg_bytes: bytes,
        img_bytes: bytes,
        bg_depth_bytes: bytes | None = None,
        bg_depth_name: str | None = None,
        camera_bytes: bytes | None = None,
    ) -> dict:
        """Decode, predict, measure the objects and encode one pair (runs in the pool).

        Args:
            bg_bytes, img_bytes: the uploaded background and image (PNG, JPEG, WebP, BMP, TIFF).
            bg_depth_bytes, bg_depth_name: the optional ``bg_depth`` upload and its file name.
            camera_bytes: the optional ``camera.json`` upload.
        Returns: the :class:`~maskdepth.serve.schemas.PredictResponse` fields as a dictionary.
        Raises: :class:`~maskdepth.serve.uploads.HttpError` (400, 413).
        """
        t0 = time.time()
        bg = decode_image(bg_bytes, "bg", self.max_pixels)
        img = decode_image(img_bytes, "image", self.max_pixels)
        H, W = img.shape[:2]
        camera = decode_camera(camera_bytes, (W, H))
        measured = decode_bg_depth(bg_depth_bytes, bg_depth_name, (H, W), self.max_pixels)
        res, caught = self._infer(bg, img, measured, camera, (bg_depth_bytes, camera_bytes))
        out = predict_response(res, img)
        out["stats"].update(bg_resized=bg.shape != img.shape, elapsed_ms=round((time.time() - t0) * 1000.0, 1), model=self.model_name)
        out["warnings"] = caught
        return out

    async def submit(self, fn, *args):
        """Run ``fn(*args)`` in the pool; 503 when ``workers + queue_limit`` requests are in flight,
        504 when it has not finished within ``timeout_s`` (waiting in the queue included).

        A timed-out call that is still queued is cancelled; one already running cannot be stopped
        (it is a thread): it keeps its worker, and counts as in flight, until it ends, so the
        queue limit stays true and an overloaded server answers 503 instead of piling up work.

        Raises: :class:`~maskdepth.serve.uploads.HttpError` 503 (with ``Retry-After``), 504; whatever ``fn`` raises.
        """
        if self.in_flight >= self.workers + self.queue_limit:
            raise HttpError(
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
            raise HttpError(504, f"inference timed out after {self.timeout_s:g} s; try a smaller image or retry later") from None

    def _finished(self) -> None:
        self.in_flight -= 1

    @staticmethod
    def _call_soon(loop, fn) -> None:
        try:
            loop.call_soon_threadsafe(fn)
        except RuntimeError:  # the event loop is closed (server shutting down)
            pass


def color_range(depth: np.ndarray) -> tuple[float, float]:
    """The depth picture's colour range, metres: :func:`maskdepth.viz.depth_display_range` (2nd-98th
    percentile of the known depth), at least :data:`MIN_COLOR_RANGE_M` wide; ``(0, 0.001)`` with no known pixel."""
    from ..viz import depth_display_range

    vmin, vmax = depth_display_range(depth) or (0.0, 0.0)
    if vmax - vmin < MIN_COLOR_RANGE_M:
        vmax = vmin + MIN_COLOR_RANGE_M
    return vmin, vmax


def predict_response(res, img: np.ndarray) -> dict:
    """The images, objects, depth source and depth statistics of one :class:`~maskdepth.inference.pipeline.FrameResult`.

    Args:
        res: the pipeline's answer for ``img`` (with a scene: depth in metres, 0 = unknown).
        img: ``uint8 (H, W, 3)`` RGB, the image it was made from (the overlay's base).
    Returns: the :class:`~maskdepth.serve.schemas.PredictResponse` fields except ``warnings`` and the
        ``stats`` that describe the request (``bg_resized``, ``elapsed_ms``, ``model``).
    """
    from ..viz import colorize_depth, draw_objects, overlay

    d = res.depth
    known = d[np.isfinite(d) & (d > 0)]
    if known.size == 0:  # cannot happen with a loaded scene (it has a known pixel); keep the answer well-formed
        known = np.array([0.0], np.float32)
    vmin, vmax = color_range(d)
    H, W = d.shape
    return {
        "mask_png": _png_b64(res.mask.astype(np.uint8) * 255),
        "depth_color_png": _png_b64(colorize_depth(d, vmin, vmax)),
        "overlay_png": _png_b64(draw_objects(overlay(img, res.mask), res.objects)),
        "depth_mm_png": _png_b64(depth_to_mm_u16(d)),
        "objects": [o.to_json() for o in res.objects],
        **res.depth_json(),
        "stats": {
            "width": int(W),
            "height": int(H),
            "mask_fraction": float(res.mask.mean()),
            "depth_unit": "m",
            "depth_min_m": float(known.min()),
            "depth_max_m": float(known.max()),
            "depth_median_m": float(np.median(known)),
            "depth_color_min_m": vmin,
            "depth_color_max_m": vmax,
            "depth_known_fraction": float((d > 0).mean()),
        },
    }


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
    """The :class:`Service` of an app: ``predictor``, or one loaded from ``checkpoint`` (see :func:`~maskdepth.serve.app.create_app`).

    Raises: MaskDepthError: no usable model, or bad limits.
    """
    if predictor is None:
        from ..inference.predictor import load_predictor

        predictor = load_predictor(checkpoint, size=size, backend="auto")
        shipped = Path(predictor.source).name if getattr(predictor, "source", None) else "default"
        model_name = model_name or (Path(checkpoint).name if checkpoint else f"{shipped} (shipped)")
    return Service(predictor, model_name or "custom predictor", workers, queue_limit, max_upload_mb, max_pixels, timeout_s)
