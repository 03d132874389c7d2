"""The JSON answers of ``maskdepth serve`` as pydantic models (they make the OpenAPI schema at ``/docs``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


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
