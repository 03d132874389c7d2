"""Zones and lines drawn on the `maskdepth serve` page (issue 21: "how to draw one on the web page"):
`POST /zones/check` (FastAPI TestClient on the real app) validates with the parser `watch --zones` uses, and
the page in headless Chromium draws a zone and a line on the background, checks them and downloads a
zones.json that `maskdepth.events.zones.load_zones` reads back with the clicked pixels.

The browser test starts `maskdepth serve` in a subprocess on a free port like the floor-points test; it is
skipped, with the reason, only when Chromium or Playwright is absent.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.serve.page_helpers import drive_page, serve_client

pytest.importorskip("fastapi")


@pytest.fixture(scope="module")
def client(tiny_ck):
    with serve_client(tiny_ck) as c:
        yield c


GOOD = {
    "image_size": [640, 480],
    "zones": [{"name": "door", "polygon_px": [[10, 10], [200, 10], [200, 300]]}],
    "lines": [{"name": "entry", "px": [[0, 400], [639, 400]], "min_crossing_frames": 2}],
}


def test_zones_check_answers_the_names(client):
    r = client.post("/zones/check", json=GOOD)
    assert r.status_code == 200, r.text
    assert r.json() == {"zones": ["door"], "lines": ["entry"], "image_size": [640, 480]}


@pytest.mark.parametrize(
    "body, needle",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        ({"zones": [{"name": "a", "polygon_px": [[0, 0], [1, 1]]}]}, "'polygon_px'"),
        ({"zones": [GOOD["zones"][0], GOOD["zones"][0]]}, "two zones are named 'door'"),
        ({"zones": [{"name": "a", "polygon_floor_m": [[0, 1], [1, 1], [1, 2]]}]}, "needs a camera"),
        ({"lines": [{"name": "l", "px": [[0, 0], [1, 1], [2, 2]]}]}, "'px'"),
        ({"zones": [], "lines": []}, "defines no zone and no line"),
        ({**GOOD, "image_size": [40000, 40000]}, "Mpx"),
        ({**GOOD, "colour": "red"}, "unknown key(s) colour"),
    ],
)
def test_zones_check_errors_are_one_line_400(client, body, needle):
    r = client.post("/zones/check", content=body) if isinstance(body, bytes) else client.post("/zones/check", json=body)
    assert r.status_code == 400, r.text
    msg = r.json()["error"]
    assert needle in msg and "\n" not in msg and "Traceback" not in msg, (needle, msg)


def test_page_has_the_zones_card(client):
    html = client.get("/").text
    for needle in ('id="zn-canvas"', 'id="zn-kind"', 'id="zn-add-btn"', 'id="zn-check-btn"', 'id="zn-download"'):
        assert needle in html, needle
    assert "/zones/check" in client.get("/static/app.js").text


def _click(page, scale, u, v):
    page.click("#zn-canvas", position={"x": (u + 0.5) * scale, "y": (v + 0.5) * scale})


def _draw(page, scale, kind, name, pts):
    page.select_option("#zn-kind", kind)
    page.fill("#zn-name", name)
    for u, v in pts:
        _click(page, scale, u, v)
    page.click("#zn-add-btn")


def _drive_page(page, url, tmp_path):
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + "/")
    assert page.is_hidden("#zn-canvas") and page.is_disabled("#zn-check-btn")
    page.set_input_files("#bg-input", str(tmp_path / "bg.png"))
    page.wait_for_function("document.getElementById('zn-canvas').width === 640", timeout=10_000)
    scale = page.eval_on_selector("#zn-canvas", "c => c.getBoundingClientRect().width") / 640
    door = [[100, 120], [300, 120], [300, 400], [100, 400]]
    _click(page, scale, 5, 5)
    _click(page, scale, 50, 5)
    assert page.is_disabled("#zn-add-btn")  # two corners are not a zone
    page.click("#zn-undo-btn")
    page.click("#zn-undo-btn")
    _draw(page, scale, "zone", "door", door)
    _draw(page, scale, "line", "entry", [[20, 450], [620, 450]])
    assert page.locator("#zn-list li").count() == 2
    page.click("#zn-check-btn")
    page.wait_for_selector("#zn-links:not([hidden])", timeout=20_000)
    assert "1 zone(s), 1 line(s)" in page.inner_text("#zn-status")
    with page.expect_download() as dl:
        page.click("#zn-download")
    saved = tmp_path / "zones.json"
    dl.value.save_as(str(saved))
    from maskdepth.events.zones import load_zones

    z = load_zones(saved)
    assert z.image_size == (640, 480) and [x.name for x in z.zones] == ["door"] and [x.name for x in z.lines] == ["entry"]
    assert np.abs(z.zones[0].points - np.array(door)).max() <= 1.0  # the clicks land on the pixels clicked
    assert np.abs(z.lines[0].points - np.array([[20, 450], [620, 450]])).max() <= 1.0
    assert z.zones[0].contains((200, 250)) and not z.zones[0].contains((50, 50))
    # a second zone with the same name is refused on the page, before any request
    _draw(page, scale, "zone", "door", [[400, 50], [500, 50], [450, 150]])
    assert page.locator("#zn-status.error").count() == 1 and "already named 'door'" in page.inner_text("#zn-status")
    assert page.locator("#zn-list li").count() == 2
    assert not errors, errors


def test_page_zones_in_headless_chromium(tiny_ck, tmp_path):
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(40, 200, (480, 640, 3), dtype=np.uint8)).save(tmp_path / "bg.png")
    drive_page(tiny_ck, tmp_path, "the zones card", lambda page, url: _drive_page(page, url, tmp_path))
