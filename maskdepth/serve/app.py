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
  is the empty scene's depth with every object standing on it (the one pipeline,
  :func:`maskdepth.inference.pipeline.run_frame`, on the fixed camera); the sources ``ground_plane``
  and ``learned`` also need the network's depth of the empty scene, predicted once per
  background (the last few are kept, keyed by the background's pixels).
* ``POST /calibrate/floor-points``: JSON ``{"image_size": [W, H], "points": [{"px": [u, v],
  "floor_m": [x, y]}, ...], "focal_px": F}`` (or ``"fov_deg": DEG``, or neither to estimate the
  focal length; optional ``n_boot`` 0-1000 and ``seed``) → ``camera.json`` fitted from the floor
  points (:mod:`maskdepth.scene.calibrate.floor`), or 400 with the one-line reason (fewer than 4
  points, collinear points, a point above the horizon, unknown keys, pixels outside the image, ...).
* ``POST /zones/check``: a ``zones.json`` (zones and lines in pixels, as the page's *Zones and lines*
  card draws them) → ``{"zones": [names], "lines": [names], "image_size"}``, or 400 with the one-line
  reason from the parser ``watch --zones`` uses.
* ``GET /example/bg.png``, ``GET /example/image.png``: the bundled example pair, PNG files in
  ``maskdepth/serve/static`` (a room rendered by :mod:`maskdepth.data.render` and the same room with
  a procedural person; see :data:`maskdepth.serve.service.EXAMPLE_FILES`).
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

Modules: this one holds the app and its routes; :mod:`~maskdepth.serve.uploads` the upload cap
and the decoding of uploads, :mod:`~maskdepth.serve.service` the model, pool and one pair → answer
(the one pipeline, :func:`maskdepth.inference.pipeline.run_frame`), :mod:`~maskdepth.serve.schemas`
the JSON answers, :mod:`~maskdepth.serve.floor_points` the floor-points calibration,
:mod:`~maskdepth.serve.zones_check` the check of a ``zones.json`` drawn on the page.

Concurrency: decoding + inference + encoding run in a thread pool of ``workers`` threads
(default 1: the model is CPU-bound and uses every core); at most ``queue_limit`` more
requests wait; beyond that the answer is 503 at once. Uploads are capped by an ASGI
middleware that counts the bytes as they arrive, and kept in memory (the multipart
parser's spool threshold is raised to the cap), so no temporary file is written.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, File, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartParser

from .. import __version__
from .floor_points import FLOOR_POINTS_SCHEMA, floor_points_camera
from .schemas import ErrorResponse, PredictResponse
from .service import STATIC_DIR, Service, load_service
from .uploads import HttpError, UploadLimit, check_image_type
from .zones_check import ZONES_DESCRIPTION, ZONES_SCHEMA, check_zones

log = logging.getLogger("maskdepth.serve")

_ERRORS = {code: {"model": ErrorResponse} for code in (400, 413, 415, 503, 504)}

FLOOR_POINTS_DESCRIPTION = (
    "JSON body: `image_size` [W, H] of the background, `points` (at least 4, not all on one line) each "
    '`{"px": [u, v], "floor_m": [x, y]}` (pixel centres at integers; metres in any frame on the floor), and `focal_px` '
    "or `fov_deg` (neither: the focal length is estimated from the points when their perspective fixes it). Answers "
    "the camera.json to save (source floor_points, 95 % bootstrap intervals, reprojection error in px and m), or 400 "
    "with the reason in one line."
)

PREDICT_DESCRIPTION = (
    "Multipart form with two image files (PNG, JPEG, WebP, BMP, TIFF): `bg`, the empty scene, and `image`, "
    "the same fixed camera with a foreground. A `bg` of another size is resized when the aspect ratios agree "
    "within 5 %, refused (400) otherwise. Optional: `bg_depth`, the empty scene's measured depth (uint16 PNG mm, "
    "float32 TIFF m or .npy m; `depth_source` = measured), and `camera`, a camera.json over a flat floor "
    "(`depth_source` = ground_plane without `bg_depth`); without either the depth is the network's own estimate "
    "(`depth_source` = learned). Each object in `objects` stands on the floor at its contact point; `distance_m` is "
    "the depth of that point. A `bg_depth` or `camera` of another aspect ratio, an all-zero depth map or a camera whose "
    "horizon is below the image is refused (400)."
)

BG_DEPTH_FIELD = (
    "optional: the empty scene's measured depth (RGB-D, LiDAR, stereo, CAD): uint16 PNG in millimetres, "
    "32-bit float TIFF in metres or .npy in metres, 0 = unknown; same aspect ratio as the image (resized nearest-exact)"
)
CAMERA_FIELD = (
    "optional: camera.json (focal_px, cx, cy, horizon_y, camera_height_m, image_size [W, H], optional roll_deg) "
    "of a camera over a flat floor; same aspect ratio as the image"
)


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def add_error_handlers(app: FastAPI) -> None:
    """Every error as ``{"error": "<one line>"}`` (see the module docstring for the status codes)."""

    @app.exception_handler(HttpError)
    async def _fail_handler(request: Request, exc: HttpError):
        return _error(exc.status, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_handler(request: Request, exc: StarletteHTTPException):
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_handler(request: Request, exc: RequestValidationError):
        return _validation_error(request, exc)

    @app.exception_handler(Exception)
    async def _any_handler(request: Request, exc: Exception):
        log.exception("unexpected error on %s", request.url.path)
        return _error(500, f"internal error ({type(exc).__name__}); see the server log")


def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """415 for a ``POST /predict`` that is not multipart, 400 naming the missing fields or the first bad one."""
    ctype = request.headers.get("content-type", "")
    if request.url.path == "/predict" and not ctype.startswith("multipart/form-data"):
        return _error(415, f"POST /predict takes multipart/form-data with image files 'bg' and 'image', not {ctype or 'no content type'}")
    missing = [str(e["loc"][-1]) for e in exc.errors() if e.get("type") == "missing"]
    if missing:
        return _error(400, "missing form field(s): " + ", ".join(missing) + " (send image files 'bg' and 'image')")
    first = exc.errors()[0] if exc.errors() else {}
    return _error(400, f"bad request: {first.get('msg', 'invalid input')} at {'.'.join(map(str, first.get('loc', ())))}")


def add_page_routes(app: FastAPI, service: Service) -> None:
    """``GET /`` (the page), ``GET /health`` and ``GET /example/{name}`` (the example pair)."""

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
        summary="The bundled example pair (PNG files shipped with the package)",
        responses={200: {"content": {"image/png": {}}}, 404: {"model": ErrorResponse}},
    )
    async def example(name: str):
        return Response(service.example_png(name), media_type="image/png", headers={"Cache-Control": "public, max-age=3600"})


def add_calibrate_routes(app: FastAPI, service: Service) -> None:
    """``POST /calibrate/floor-points`` (:func:`~maskdepth.serve.floor_points.floor_points_camera`, in the pool)."""

    @app.post(
        "/calibrate/floor-points",
        summary="camera.json from points on the floor of the background with known metres",
        description=FLOOR_POINTS_DESCRIPTION,
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": FLOOR_POINTS_SCHEMA}}}},
        responses={k: v for k, v in _ERRORS.items() if k in (400, 413, 503)},
    )
    async def calibrate_floor_points(request: Request):
        return await service.submit(floor_points_camera, await request.body(), service.max_pixels)


def add_zones_routes(app: FastAPI, service: Service) -> None:
    """``POST /zones/check`` (:func:`~maskdepth.serve.zones_check.check_zones`; a JSON check, run inline)."""

    @app.post(
        "/zones/check",
        summary="validate a zones.json (zones and lines drawn on the page)",
        description=ZONES_DESCRIPTION,
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": ZONES_SCHEMA}}}},
        responses={k: v for k, v in _ERRORS.items() if k in (400, 413)},
    )
    async def zones_check(request: Request):
        return check_zones(await request.body(), service.max_pixels)


async def _read_uploads(bg: UploadFile, image: UploadFile, bg_depth: UploadFile | None, camera: UploadFile | None) -> tuple:
    """The parts' bytes ``(bg, image, bg_depth or None, camera or None)``, every part closed.
    Raises :class:`~maskdepth.serve.uploads.HttpError` 415 when ``bg`` or ``image`` is declared as something else than an image."""
    try:
        check_image_type(bg.content_type, "bg")
        check_image_type(image.content_type, "image")
        return (
            await bg.read(),
            await image.read(),
            None if bg_depth is None else await bg_depth.read(),
            None if camera is None else await camera.read(),
        )
    finally:
        for f in (bg, image, bg_depth, camera):
            if f is not None:
                await f.close()


def add_predict_routes(app: FastAPI, service: Service) -> None:
    """``POST /predict`` (:meth:`~maskdepth.serve.service.Service.run`, in the pool)."""

    @app.post(
        "/predict",
        response_model=PredictResponse,
        summary="Mask, depth and the objects' distances for one (bg, image) pair",
        description=PREDICT_DESCRIPTION,
        responses=_ERRORS,
    )
    async def predict(
        bg: UploadFile = File(..., description="background image (empty scene)"),
        image: UploadFile = File(..., description="image of the same scene with a foreground"),
        bg_depth: UploadFile | None = File(None, description=BG_DEPTH_FIELD),
        camera: UploadFile | None = File(None, description=CAMERA_FIELD),
    ):
        bg_bytes, img_bytes, depth_bytes, camera_bytes = await _read_uploads(bg, image, bg_depth, camera)
        depth_name = None if bg_depth is None else bg_depth.filename
        out = await service.submit(service.run, bg_bytes, img_bytes, depth_bytes, depth_name, camera_bytes)
        service.served += 1
        return out


def add_routes(app: FastAPI, service: Service) -> None:
    """Every route: :func:`add_page_routes`, :func:`add_calibrate_routes`, :func:`add_zones_routes`,
    :func:`add_predict_routes` (see the module docstring)."""
    add_page_routes(app, service)
    add_calibrate_routes(app, service)
    add_zones_routes(app, service)
    add_predict_routes(app, service)


def create_app(predictor=None, **settings):
    """Build the FastAPI app.

    Args:
        predictor: a :class:`maskdepth.inference.predictor.Predictor`; when ``None`` one is loaded from
            ``checkpoint`` (``None``: the shipped model) with :func:`maskdepth.inference.predictor.load_predictor`.
        settings: the keywords of :func:`~maskdepth.serve.service.load_service`:
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
    service = load_service(predictor, **settings)
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
