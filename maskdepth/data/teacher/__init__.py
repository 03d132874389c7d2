"""Monocular-depth teachers for photos without depth.

* :mod:`.onnx`: :class:`OnnxTeacher` (run an ONNX model), :func:`load_teacher` (loaded once per process), :func:`normalise_disparity`,
  :func:`resolve_teacher` (a path or a cached registry name → the ONNX file);
* :mod:`.registry`: the pinned registry of downloadable teachers, their cache and the
  verified downloader behind ``maskdepth teacher download``.
"""

from .onnx import OnnxTeacher, load_teacher, normalise_disparity, resolve_teacher
from .registry import REGISTRY, cache_dir, cached_path, download, registry

__all__ = [
    "OnnxTeacher",
    "load_teacher",
    "normalise_disparity",
    "resolve_teacher",
    "REGISTRY",
    "cache_dir",
    "cached_path",
    "download",
    "registry",
]
