"""The options of ``maskdepth serve``, declared once (:func:`maskdepth.config.option` fields →
command-line flags, YAML keys of ``--config``, :func:`~maskdepth.serve.run_serve`'s settings)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import option
from ..errors import MaskDepthError

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


@dataclass
class ServeConfig:
    """Settings of one ``maskdepth serve`` process (see :mod:`maskdepth.serve.app` for the routes and limits)."""

    checkpoint: str | None = option(None, "model checkpoint or .onnx file (default: the shipped model)")
    size: int | None = option(None, "short side fed to the network (default: the checkpoint's training size)")
    host: str = option("127.0.0.1", "interface to listen on (127.0.0.1: this machine only)")
    port: int = option(8000, "port")
    max_upload_mb: float = option(20.0, "largest request (both images), MB; larger gets 413")
    workers: int = option(1, "inference threads (see --workers-note)")
    queue: int = option(32, "requests that may wait for a worker before 503")
    timeout: float = option(60.0, "seconds a request may wait and run before 504")
    log_level: str = option("info", "uvicorn's log level", choices=LOG_LEVELS)

    def check(self) -> None:
        """Raises: MaskDepthError naming the setting (``port`` outside 1..65535, ``workers`` < 1,
        ``queue`` < 0, ``max_upload_mb`` or ``timeout`` <= 0, an unknown ``log_level``)."""
        if not 0 < int(self.port) < 65536:
            raise MaskDepthError(f"must be in 1..65535, got {self.port}", param="port")
        if self.workers < 1:
            raise MaskDepthError(f"must be at least 1, got {self.workers}", param="workers")
        if self.queue < 0:
            raise MaskDepthError(f"must be >= 0, got {self.queue}", param="queue")
        if self.max_upload_mb <= 0:
            raise MaskDepthError(f"must be > 0, got {self.max_upload_mb:g}", param="max_upload_mb")
        if self.timeout <= 0:
            raise MaskDepthError(f"must be > 0 seconds, got {self.timeout:g}", param="timeout")
        if self.log_level not in LOG_LEVELS:
            raise MaskDepthError(f"must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}", param="log_level")
