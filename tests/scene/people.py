"""Shared by the object-measurement tests of tests/scene: one exact synthetic camera and a rectangle person on its floor."""

from __future__ import annotations

import math

import numpy as np

from maskdepth.scene import camera_from_pitch

W, H = 320, 240


def scene_camera():
    """The tests' camera: focal 300 px, 320x240, pitched 20 deg down, 3 m above the floor."""
    return camera_from_pitch(300.0, (W, H), 20.0, 3.0)


def person_mask(cam, u, v, height=1.7, half_w=8, mask=None, shape=(H, W)):
    """A rectangle person whose lowest foreground row is ``v`` (int), standing at column ``u``: its feet at the
    bottom edge ``v + 0.5`` (the contact convention); rows from its projected top (``cam.top_of``) to ``v`` are
    foreground, ``half_w`` columns either side of ``u``. Drawn into ``mask`` (``bool``, modified) or a new
    ``bool`` array of ``shape``. Returns ``(mask, top)``, ``top`` the projected head ``(u, v)`` in pixels."""
    top = cam.top_of(u, v + 0.5, height)
    m = np.zeros(shape, bool) if mask is None else mask
    m[max(0, int(math.ceil(top[1]))) : int(v) + 1, int(u) - half_w : int(u) + half_w + 1] = True
    return m, top
