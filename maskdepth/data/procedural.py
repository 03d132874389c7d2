"""Procedural foreground cutouts: people and office objects (the embedded-default foregrounds).

:func:`procedural_foreground` draws a figure at 4x resolution with OpenCV primitives
(ellipses, capsules, polygons), shades each part (rounded shading, fabric noise, a light
from the upper left) and area-downsamples it, so the alpha edge is antialiased.
Every random choice is drawn from the ``np.random.Generator`` passed in, so the same
generator state gives bit-identical outputs.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .render import check_rng, hsv

__all__ = ["procedural_foreground", "FOREGROUND_KINDS"]

FOREGROUND_KINDS = ("person", "object")

_SS_FG = 4  # supersampling factor for antialiased silhouettes


class _Canvas:
    """High-resolution painter's canvas: colour (float32) + coverage mask."""

    def __init__(self, rng: np.random.Generator, h: int, w: int):
        self.rng = rng
        self.h, self.w = h, w
        self.col = np.zeros((h, w, 3), np.float32)
        self.alpha = np.zeros((h, w), np.uint8)
        # shared low-frequency texture (fabric / material variation)
        g = rng.standard_normal((max(2, h // 24), max(2, w // 24))).astype(np.float32)
        self.noise = cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)
        f = rng.standard_normal((max(2, h // 4), max(2, w // 4))).astype(np.float32)
        self.fine = cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        self.gx = xx / w - 0.5
        self.gy = yy / h - 0.5

    def new_mask(self) -> np.ndarray:
        return np.zeros((self.h, self.w), np.uint8)

    def paint(self, mask: np.ndarray, colour: np.ndarray, roundness: float = 0.45, tex: float = 0.06, light_dir: float = -0.15) -> None:
        m = mask > 0
        if not m.any():
            return
        dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
        rmax = max(float(dist.max()), 1.0)
        shade = (1.0 - roundness) + roundness * np.sqrt(np.clip(dist / rmax, 0, 1))
        # light from the upper left: a gentle gradient across the canvas
        grad = 1.0 + light_dir * (self.gx + self.gy)
        c = colour[None, None, :] * (shade * grad * (1.0 + tex * self.noise + 0.5 * tex * self.fine))[..., None]
        self.col[m] = np.clip(c[m], 0, 1)
        self.alpha[m] = 255

    def finish(self, out_h: int) -> np.ndarray:
        """Downsample to ``out_h`` rows, crop to the content + 1-2 px side margins; RGBA uint8."""
        ss = _SS_FG
        a = self.alpha.astype(np.float32) / 255.0
        prem = self.col * a[..., None]
        w_out = self.w // ss
        a_s = cv2.resize(a, (w_out, out_h), interpolation=cv2.INTER_AREA)
        p_s = cv2.resize(prem, (w_out, out_h), interpolation=cv2.INTER_AREA)
        rgb = np.where(a_s[..., None] > 1e-6, p_s / np.maximum(a_s[..., None], 1e-6), 0.0)
        alpha8 = np.clip(a_s * 255.0 + 0.5, 0, 255).astype(np.uint8)
        cols = np.flatnonzero(alpha8.max(0) > 0)
        if cols.size == 0:  # pragma: no cover
            raise RuntimeError("internal error: empty foreground")
        x0, x1 = int(cols[0]), int(cols[-1]) + 1
        pad = 2 if out_h >= 32 else 1
        rgba = np.zeros((out_h, x1 - x0 + 2 * pad, 4), np.uint8)
        rgba[:, pad:-pad, :3] = np.clip(rgb[:, x0:x1] * 255.0 + 0.5, 0, 255).astype(np.uint8)
        rgba[:, pad:-pad, 3] = alpha8[:, x0:x1]
        rgba[rgba[..., 3] == 0, :3] = 0
        return rgba


def _pt(x: float, y: float) -> tuple[int, int]:
    return int(round(x)), int(round(y))


def _poly(cv: _Canvas, pts) -> np.ndarray:
    m = cv.new_mask()
    cv2.fillPoly(m, [np.array([_pt(x, y) for x, y in pts], np.int32)], 255)
    return m


def _ellipse(cv: _Canvas, cx, cy, ax, ay, angle=0.0, m=None) -> np.ndarray:
    m = cv.new_mask() if m is None else m
    cv2.ellipse(m, _pt(cx, cy), (max(1, int(round(ax))), max(1, int(round(ay)))), angle, 0, 360, 255, -1)
    return m


def _capsule(cv: _Canvas, p0, p1, width, m=None) -> np.ndarray:
    m = cv.new_mask() if m is None else m
    cv2.line(m, _pt(*p0), _pt(*p1), 255, max(1, int(round(width))))
    cv2.circle(m, _pt(*p0), max(1, int(round(width / 2))), 255, -1)
    cv2.circle(m, _pt(*p1), max(1, int(round(width / 2))), 255, -1)
    return m


def _rect(cv: _Canvas, x0, y0, x1, y1, m=None) -> np.ndarray:
    m = cv.new_mask() if m is None else m
    cv2.rectangle(m, _pt(x0, y0), _pt(x1, y1), 255, -1)
    return m


def _person_colours(rng: np.random.Generator) -> dict:
    """Skin, hair, shirt, trousers (one of four styles; every style's colour is drawn), shoes and sleeves."""
    skin = hsv(rng.uniform(0.03, 0.1), rng.uniform(0.25, 0.6), rng.uniform(0.3, 0.95))
    hair = hsv(rng.uniform(0.02, 0.12), rng.uniform(0.2, 0.7), rng.uniform(0.05, 0.75))
    shirt = hsv(rng.random(), rng.uniform(0.0, 0.9), rng.uniform(0.15, 0.95))
    pants_choice = rng.integers(4)
    pants = [
        hsv(0.6, rng.uniform(0.4, 0.7), rng.uniform(0.2, 0.5)),  # jeans
        hsv(0.0, 0.0, rng.uniform(0.05, 0.2)),  # black
        hsv(rng.random(), rng.uniform(0.0, 0.15), rng.uniform(0.25, 0.6)),  # grey-ish
        hsv(0.1, rng.uniform(0.25, 0.45), rng.uniform(0.5, 0.75)),  # khaki
    ][int(pants_choice)]
    shoes = hsv(rng.random(), rng.uniform(0.0, 0.4), rng.uniform(0.03, 0.5))
    long_sleeves = rng.random() < 0.6
    return {"skin": skin, "hair": hair, "shirt": shirt, "pants": pants, "shoes": shoes, "long_sleeves": long_sleeves}


def _person_body(rng: np.random.Generator, y0: float, hs: int, u: float) -> dict:
    """Body lines in canvas pixels: shoulder line and half width, hip line and half width, ankles, stance."""
    return {
        "y_sh": y0 + rng.uniform(1.2, 1.35) * u,  # shoulder line
        "sw": rng.uniform(0.8, 1.05) * u,  # half shoulder width
        "y_hip": y0 + rng.uniform(3.7, 4.0) * u,
        "hw": rng.uniform(0.62, 0.8) * u,  # half hip width
        "y_ank": hs - 0.3 * u,
        "spread": rng.uniform(0.2, 0.55) * u,
        "sway": rng.uniform(-0.08, 0.08) * u,
    }


def _person_legs(cv: _Canvas, rng: np.random.Generator, cx: float, u: float, b: dict, c: dict) -> None:
    """Legs (trousers), then shoes touching the bottom row."""
    hs = cv.h
    legs = cv.new_mask()
    for s in (-1, 1):
        xt = cx + s * b["hw"] * 0.5
        xa = cx + s * b["spread"] + b["sway"]
        wt, wa = b["hw"] * 1.0, rng.uniform(0.36, 0.46) * u
        y_top = b["y_hip"] - 0.3 * u
        quad = [_pt(xt - wt / 2, y_top), _pt(xt + wt / 2, y_top), _pt(xa + wa / 2, b["y_ank"]), _pt(xa - wa / 2, b["y_ank"])]
        cv2.fillPoly(legs, [np.array(quad, np.int32)], 255)
    _rect(cv, cx - b["hw"], b["y_hip"] - 0.6 * u, cx + b["hw"], b["y_hip"] + 0.35 * u, m=legs)
    cv.paint(legs, c["pants"], roundness=0.35, tex=0.08)
    shoe_m = cv.new_mask()
    for s in (-1, 1):
        xa = cx + s * b["spread"] + b["sway"]
        sl = rng.uniform(0.28, 0.36) * u
        _ellipse(cv, xa + s * 0.05 * u, hs - 0.22 * u, sl, 0.16 * u, m=shoe_m)
        _rect(cv, xa + s * 0.05 * u - sl, hs - 0.22 * u, xa + s * 0.05 * u + sl, hs - 1, m=shoe_m)
    cv.paint(shoe_m, c["shoes"], roundness=0.3, tex=0.03)


def _person_torso(cv: _Canvas, rng: np.random.Generator, cx: float, y0: float, u: float, b: dict, c: dict) -> tuple[float, float, bool]:
    """Torso (with long hair behind it and the neck), painted; returns the head centre and baldness ``(hx, hy, bald)``."""
    y_sh, sw, hw = b["y_sh"], b["sw"], b["hw"]
    waist = rng.uniform(0.6, 0.8) * u
    torso = _poly(
        cv,
        [
            (cx - sw, y_sh),
            (cx - 0.3 * u, y_sh - 0.12 * u),
            (cx + 0.3 * u, y_sh - 0.12 * u),
            (cx + sw, y_sh),
            (cx + waist, y_sh + 1.6 * u),
            (cx + hw, b["y_hip"] - 0.25 * u),
            (cx - hw, b["y_hip"] - 0.25 * u),
            (cx - waist, y_sh + 1.6 * u),
        ],
    )
    for s in (-1, 1):
        _ellipse(cv, cx + s * (sw - 0.22 * u), y_sh + 0.12 * u, 0.25 * u, 0.22 * u, m=torso)
    hx = cx + rng.uniform(-0.05, 0.05) * u
    hy = y0 + 0.5 * u
    bald = rng.random() < 0.1
    if not bald and rng.random() < 0.3:  # long hair, behind the neck and torso
        back_hair = _rect(cv, hx - 0.4 * u, hy, hx + 0.4 * u, hy + rng.uniform(0.6, 1.1) * u)
        cv.paint(back_hair, c["hair"] * 0.85, roundness=0.3, tex=0.1)
    neck = _rect(cv, cx - 0.16 * u, y0 + 0.8 * u, cx + 0.16 * u, y_sh + 0.05 * u)
    cv.paint(neck, c["skin"] * 0.85, roundness=0.3, tex=0.02)
    cv.paint(torso, c["shirt"], roundness=0.45, tex=0.07)
    return hx, hy, bald


def _person_arms(cv: _Canvas, rng: np.random.Generator, cx: float, u: float, b: dict, c: dict) -> None:
    """Upper arm, forearm (sleeved or bare) and hand of each side."""
    for s in (-1, 1):
        sh = (cx + s * (b["sw"] - 0.18 * u), b["y_sh"] + 0.2 * u)
        a1 = math.radians(rng.uniform(4, 18))
        a2 = a1 + math.radians(rng.uniform(-15, 10))
        l1, l2 = rng.uniform(1.3, 1.5) * u, rng.uniform(1.2, 1.4) * u
        el = (sh[0] + s * l1 * math.sin(a1), sh[1] + l1 * math.cos(a1))
        wr = (el[0] + s * l2 * math.sin(a2), el[1] + l2 * math.cos(a2))
        upper = _capsule(cv, sh, el, 0.36 * u)
        fore = _capsule(cv, el, wr, 0.3 * u)
        hand = _ellipse(cv, wr[0], wr[1] + 0.1 * u, 0.13 * u, 0.2 * u)
        if c["long_sleeves"]:
            cv.paint(upper | fore, c["shirt"] * 0.95, roundness=0.5, tex=0.07)
        else:
            cv.paint(fore, c["skin"], roundness=0.4, tex=0.02)
            cv.paint(upper, c["shirt"] * 0.95, roundness=0.5, tex=0.07)
        cv.paint(hand, c["skin"], roundness=0.3, tex=0.02)


def _person(rng: np.random.Generator, H: int) -> np.ndarray:
    ss = _SS_FG
    top_px = 2 if H >= 32 else 1
    hs = H * ss
    y0 = top_px * ss
    u = (hs - y0) / rng.uniform(7.0, 8.0)  # head-height unit
    width = int(math.ceil((5.0 * u + 8 * ss) / ss)) * ss
    cv = _Canvas(rng, hs, width)
    cx = width / 2.0
    c = _person_colours(rng)
    b = _person_body(rng, y0, hs, u)
    _person_legs(cv, rng, cx, u, b, c)  # legs (trousers) first
    hx, hy, bald = _person_torso(cv, rng, cx, y0, u, b, c)
    _person_arms(cv, rng, cx, u, b, c)
    if not bald:  # head (+ hair)
        hair_m = _ellipse(cv, hx, hy - 0.04 * u, 0.4 * u, 0.5 * u)
        cv.paint(hair_m, c["hair"], roundness=0.3, tex=0.1)
    face = _ellipse(cv, hx, hy + (0.06 * u if not bald else 0.0), 0.36 * u, 0.44 * u if not bald else 0.5 * u)
    cv.paint(face, c["skin"], roundness=0.4, tex=0.02)
    return cv.finish(H)


_OBJECT_KINDS = ("chair", "box", "plant", "bin", "cabinet")


def _chair(cv: _Canvas, rng: np.random.Generator, P: float, y0: float, cx: float, col: np.ndarray) -> None:
    """An office chair: three wheels on the bottom row, a base, a pole, a seat and a backrest."""
    hs = cv.h
    wheel_r = 0.035 * P
    base_y = hs - 2 * wheel_r
    half = 0.3 * P
    metal = hsv(0.0, 0.0, rng.uniform(0.1, 0.7))
    wheels = cv.new_mask()
    for x in (cx - half, cx, cx + half):
        _ellipse(cv, x, hs - wheel_r, wheel_r, wheel_r, m=wheels)
        _rect(cv, x - wheel_r, hs - wheel_r, x + wheel_r, hs - 1, m=wheels)
    base = _poly(
        cv,
        [
            (cx - half, base_y - 0.02 * P),
            (cx + half, base_y - 0.02 * P),
            (cx + half, base_y + 0.01 * P),
            (cx - half, base_y + 0.01 * P),
        ],
    )
    seat_y = hs - rng.uniform(0.42, 0.5) * P
    pole = _rect(cv, cx - 0.025 * P, seat_y, cx + 0.025 * P, base_y)
    cv.paint(wheels, hsv(0, 0, 0.08), roundness=0.3)
    cv.paint(base | pole, metal, roundness=0.4, tex=0.02)
    seat = _ellipse(cv, cx, seat_y, 0.3 * P, 0.05 * P)
    _rect(cv, cx - 0.3 * P, seat_y - 0.04 * P, cx + 0.3 * P, seat_y + 0.03 * P, m=seat)
    back = _ellipse(cv, cx, y0 + 0.25 * P, rng.uniform(0.22, 0.3) * P, 0.25 * P)
    stem = _rect(cv, cx - 0.03 * P, y0 + 0.45 * P, cx + 0.03 * P, seat_y)
    cv.paint(stem, metal, roundness=0.3)
    cv.paint(back, col, roundness=0.5, tex=0.08)
    cv.paint(seat, col * 0.9, roundness=0.5, tex=0.08)


def _box(cv: _Canvas, rng: np.random.Generator, P: float, y0: float, cx: float, col: np.ndarray, aspect: float) -> None:
    """A cardboard box (70 %) or a coloured one, alone or a stack of two, taped."""
    hs = cv.h
    card = hsv(rng.uniform(0.07, 0.1), rng.uniform(0.35, 0.55), rng.uniform(0.45, 0.75)) if rng.random() < 0.7 else col
    half = aspect * P / 2
    n_stack = 1 if rng.random() < 0.6 else 2
    for i in range(n_stack):
        hh = P / n_stack
        yt = y0 + i * hh
        inset = 0.0 if i == n_stack - 1 else rng.uniform(0.0, 0.1) * P
        m = _rect(cv, cx - half + inset, yt, cx + half - inset, min(yt + hh, hs - 1) if i == n_stack - 1 else yt + hh - 1)
        cv.paint(m, card * rng.uniform(0.9, 1.05), roundness=0.15, tex=0.05)
        tape = _rect(cv, cx - 0.04 * P, yt, cx + 0.04 * P, yt + 0.3 * hh) & m
        cv.paint(tape, np.clip(card * 1.15, 0, 1), roundness=0.1, tex=0.02)


def _plant(cv: _Canvas, rng: np.random.Generator, P: float, y0: float, cx: float, col: np.ndarray, aspect: float) -> None:
    """A potted plant: leaves radiating from the pot (the first one vertical, reaching the top margin)."""
    hs = cv.h
    pot_h = rng.uniform(0.25, 0.4) * P
    pot_w = rng.uniform(0.25, 0.35) * P
    pot = _poly(cv, [(cx - pot_w, hs - pot_h), (cx + pot_w, hs - pot_h), (cx + 0.75 * pot_w, hs - 1), (cx - 0.75 * pot_w, hs - 1)])
    base_g = rng.uniform(0.22, 0.38)
    top_y = hs - pot_h
    fh = top_y - y0  # foliage height
    fw = min(0.5 * aspect * P, cv.w / 2 - 4 * _SS_FG)  # foliage half width
    stem = _rect(cv, cx - 0.015 * P, top_y - 0.5 * fh, cx + 0.015 * P, top_y)
    cv.paint(stem, hsv(0.1, 0.5, 0.3), roundness=0.2)
    n_leaves = int(rng.integers(18, 32))
    for i in range(n_leaves):
        ang = 0.0 if i == 0 else rng.uniform(-1.2, 1.2)
        L = fh if i == 0 else rng.uniform(0.45, 1.0) * fh
        tipx = cx + math.sin(ang) * min(L, fw / max(abs(math.sin(ang)), 1e-3))
        tipy = top_y - math.cos(ang) * L
        tipx = float(np.clip(tipx, cx - fw, cx + fw))
        tipy = max(tipy, float(y0))
        mx, my = (cx + tipx) / 2, (top_y + tipy) / 2
        ln = math.hypot(tipx - cx, tipy - top_y) / 2
        leaf = _ellipse(
            cv, mx, my, max(ln, 2), max(rng.uniform(0.04, 0.08) * P, 2), angle=math.degrees(math.atan2(tipy - top_y, tipx - cx))
        )
        green = hsv(base_g + rng.uniform(-0.03, 0.03), rng.uniform(0.45, 0.8), rng.uniform(0.2, 0.65))
        cv.paint(leaf, green, roundness=0.5, tex=0.06)
    cv.paint(pot, col, roundness=0.4, tex=0.05)


def _bin(cv: _Canvas, rng: np.random.Generator, P: float, y0: float, cx: float, col: np.ndarray, aspect: float) -> None:
    """A waste bin: a tapered body with a darker rim."""
    hs = cv.h
    half_t = aspect * P / 2
    half_b = half_t * rng.uniform(0.7, 0.9)
    body = _poly(cv, [(cx - half_t, y0), (cx + half_t, y0), (cx + half_b, hs - 1), (cx - half_b, hs - 1)])
    cv.paint(body, col, roundness=0.5, tex=0.05)
    rim = _rect(cv, cx - half_t, y0, cx + half_t, y0 + 0.06 * P)
    cv.paint(rim, col * 0.7, roundness=0.2, tex=0.03)


def _cabinet(cv: _Canvas, rng: np.random.Generator, P: float, y0: float, cx: float, col: np.ndarray, aspect: float) -> None:
    """A filing cabinet with 2-4 drawers (handles and dividing lines)."""
    hs = cv.h
    half = aspect * P / 2
    body = _rect(cv, cx - half, y0, cx + half, hs - 1)
    cv.paint(body, col, roundness=0.15, tex=0.04)
    nd = int(rng.integers(2, 5))
    for i in range(nd):
        yt = y0 + (i + 0.5) * P / nd
        handle = _rect(cv, cx - 0.12 * half, yt - 0.01 * P, cx + 0.12 * half, yt + 0.01 * P)
        cv.paint(handle, hsv(0, 0, 0.75), roundness=0.2)
        line = _rect(cv, cx - half, y0 + (i + 1) * P / nd - 1, cx + half, y0 + (i + 1) * P / nd + 1) & body
        if i < nd - 1:
            cv.paint(line, col * 0.6, roundness=0.0)


def _object(rng: np.random.Generator, H: int, sub: str | None = None) -> np.ndarray:
    ss = _SS_FG
    top_px = 2 if H >= 32 else 1
    hs = H * ss
    y0 = top_px * ss
    P = hs - y0
    kind = _OBJECT_KINDS[int(rng.integers(len(_OBJECT_KINDS)))]
    if sub is not None:
        kind = sub
    aspect = {  # every kind's aspect is drawn (the draws of the generator stay the same whatever the kind)
        "chair": 0.65,
        "box": rng.uniform(0.8, 1.5),
        "plant": rng.uniform(0.6, 0.9),
        "bin": rng.uniform(0.55, 0.8),
        "cabinet": rng.uniform(0.4, 0.7),
    }[kind]
    width = int(math.ceil((aspect * P + 8 * ss) / ss)) * ss
    cv = _Canvas(rng, hs, width)
    cx = width / 2.0
    col = hsv(rng.random(), rng.uniform(0.0, 0.8), rng.uniform(0.1, 0.9))
    if kind == "chair":
        _chair(cv, rng, P, y0, cx, col)
    else:
        {"box": _box, "plant": _plant, "bin": _bin, "cabinet": _cabinet}.get(kind, _cabinet)(cv, rng, P, y0, cx, col, aspect)
    return cv.finish(H)


def procedural_foreground(rng: np.random.Generator, kind: str = "person", height_px: int = 96) -> np.ndarray:
    """A synthetic foreground cutout (the embedded-default foregrounds).

    Drawn at 4x resolution and area-downsampled, so the alpha edge is antialiased.

    Args:
        rng: the random generator (all randomness; same state -> identical output).
        kind: ``"person"``: a standing human-like figure seen from the front (head
            with hair, neck, torso, two arms with hands, two legs, shoes; random
            skin / hair / shirt / trouser colours, per-part rounded shading and
            fabric noise). ``"object"``: an office-object-like shape chosen at
            random among an office chair, a cardboard box (stack), a potted
            plant, a waste bin and a filing cabinet, with random colours.
        height_px: output height ``h`` in pixels, 16 <= h <= 4096.

    Returns:
        uint8 ``(h, w, 4)`` RGBA, ``h == height_px``, ``w`` follows the shape
        (a person is roughly ``0.3-0.45 h`` wide). RGB is straight (not
        premultiplied) colour and is 0 where alpha is 0. Alpha is 0 in the top
        1-2 rows and the first / last 1-2 columns; the figure stands on the last
        row: the bottom of the feet (wheels / base for objects) touches the last
        row, which therefore has non-zero alpha.

    Raises:
        TypeError: ``rng`` is not a ``numpy.random.Generator``.
        ValueError: unknown ``kind`` or bad ``height_px``.
    """
    check_rng(rng)
    if kind not in FOREGROUND_KINDS:
        raise ValueError(f"unknown foreground kind {kind!r}; expected one of {', '.join(FOREGROUND_KINDS)}")
    if isinstance(height_px, bool) or not isinstance(height_px, (int, np.integer)) or not 16 <= int(height_px) <= 4096:
        raise ValueError(f"height_px must be an int in [16, 4096], got {height_px!r}")
    H = int(height_px)
    return _person(rng, H) if kind == "person" else _object(rng, H)
