"""``maskdepth serve``: a local web page and JSON API for the model (FastAPI + uvicorn).

See :mod:`maskdepth.serve.app` for the routes, limits and error format, and
:func:`run_serve` for the server (settings: :class:`~maskdepth.serve.config.ServeConfig`).
"""

from __future__ import annotations

from ..errors import MaskDepthError

WORKERS_NOTE = """\
How maskdepth serve uses the machine:
  * one process, one model in memory; inference runs in a pool of --workers threads
    (default 1: one forward pass already uses every CPU core, a second thread only
    makes both slower);
  * at most --queue requests wait for a worker (default 32); more get 503 with
    Retry-After at once instead of piling up;
  * request bodies over --max-upload-mb get 413 before they are read; images are
    decoded in memory, no temporary files are written;
  * to serve more users, run several `maskdepth serve` processes on different ports
    behind a reverse proxy (each loads its own copy of the model), or a GPU machine;
    uvicorn's --workers is not used because each worker would load the model again.
  * it binds 127.0.0.1 by default; there is no authentication: put it behind a proxy
    with TLS and auth before exposing it with --host 0.0.0.0."""

__all__ = ["create_app", "run_serve", "WORKERS_NOTE"]


SERVE_MODULES = ("fastapi", "uvicorn", "multipart")
"""What the ``[serve]`` extra brings (``multipart`` is python-multipart)."""


def create_app(*args, **kwargs):
    """See :func:`maskdepth.serve.app.create_app`.

    Raises: MaskDepthError naming the ``[serve]`` extra when FastAPI or python-multipart is missing.
    """
    from ..extras import require

    require("serve", "maskdepth serve", ("fastapi", "multipart"))
    from .app import create_app as _create

    return _create(*args, **kwargs)


def run_serve(cfg) -> None:
    """Load the model and serve the page and API with uvicorn until interrupted.

    Args:
        cfg: a :class:`~maskdepth.serve.config.ServeConfig` (model, host and port, limits, log level).
    Raises:
        MaskDepthError: a setting out of range (naming it), no usable model, the port taken, or the
            ``[serve]`` extra (FastAPI, uvicorn, python-multipart) not installed.
    """
    import warnings

    from ..extras import require

    cfg.check()
    require("serve", "maskdepth serve", SERVE_MODULES)
    import uvicorn

    app = create_app(
        checkpoint=cfg.checkpoint,
        size=cfg.size,
        workers=cfg.workers,
        queue_limit=cfg.queue,
        max_upload_mb=cfg.max_upload_mb,
        timeout_s=cfg.timeout,
    )
    host, port = cfg.host, int(cfg.port)
    if host not in ("127.0.0.1", "localhost", "::1"):
        warnings.warn(f"serving on {host}: reachable from other machines, with no authentication", stacklevel=2)
    _check_port_free(host, port)
    print(f"maskdepth serve: http://{'[' + host + ']' if ':' in host else host}:{port}/  (API docs: /docs; Ctrl-C to stop)", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level=cfg.log_level, access_log=cfg.log_level == "debug", timeout_graceful_shutdown=5)
    except SystemExit as e:
        if e.code:
            raise MaskDepthError(f"the server on {host}:{port} stopped (exit {e.code}); see the log above") from None


def _check_port_free(host: str, port: int) -> None:
    """Fail with one line (uvicorn would log and exit) when ``host:port`` cannot be bound. Raises: MaskDepthError."""
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as e:
        raise MaskDepthError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
