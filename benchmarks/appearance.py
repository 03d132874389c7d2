"""The benchmarks' colour descriptors: :mod:`maskdepth.scene.appearance` (the product's), and :func:`add_appearance`,
which stores them on the objects for a tracker that reads ``extra["appearance"]`` (the painted synthetic clips and the
real clips of the colour experiments, ``benchmarks/events_appearance.py``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from maskdepth.scene.appearance import DESCRIPTOR_SIZE, HIST_BINS, MIN_PIXELS, bhattacharyya, blend, colour_descriptor, object_colours

__all__ = ["DESCRIPTOR_SIZE", "HIST_BINS", "MIN_PIXELS", "add_appearance", "bhattacharyya", "blend", "colour_descriptor"]


def add_appearance(objects: Sequence, image: np.ndarray, labels: np.ndarray | None = None) -> None:
    """Set ``extra["appearance"]`` (:func:`~maskdepth.scene.appearance.object_colours`) on each object, in place.

    Args:
        objects: objects with ``bbox`` ``(x0, y0, x1, y1)`` (inclusive pixels), ``label`` and ``extra``
            (:class:`~maskdepth.scene.objects.SceneObject`).
        image: uint8 ``(H, W, 3)`` RGB frame the objects were found in.
        labels: int ``(H, W)`` the component labels the objects' ``label`` refers to; ``None``: the whole box.
    Raises:
        ValueError: as :func:`~maskdepth.scene.appearance.object_colours`.
    """
    for o, d in zip(objects, object_colours(objects, image, labels)):
        o.extra["appearance"] = d
