"""Shared by the page tests of `maskdepth serve`: the app behind FastAPI's TestClient, and the real server in a
subprocess driven by headless Chromium (Playwright), skipped with the reason only when Chromium or Playwright is absent."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import warnings
from contextlib import contextmanager

import pytest

from benchmarks.common import stop_process
from tests.helpers import REPO, chromium_or_skip, free_port

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-dev-shm-usage"]


@contextmanager
def serve_client(ck):
    """The real app on checkpoint ``ck`` (model name ``tiny-test``, 2 Mpx cap) behind FastAPI's TestClient."""
    from maskdepth.inference.predictor import load_predictor
    from maskdepth.serve.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's notice about TestClient on httpx
        from fastapi.testclient import TestClient
    with TestClient(create_app(load_predictor(str(ck)), model_name="tiny-test", max_pixels=2_000_000)) as c:
        yield c


def start_server(ck, tmp_path):
    """``maskdepth serve`` on ``ck`` at a free port of 127.0.0.1: ``(process, log file, url)`` once ``/health`` answers
    (the test fails with the log's tail when it does not within 40 s)."""
    port = free_port()
    log = open(tmp_path / "server.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "maskdepth.cli", "serve", "--checkpoint", str(ck), "--host", "127.0.0.1", "--port", str(port)]
        + ["--log-level", "warning"],
        cwd=str(REPO),
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url, deadline = f"http://127.0.0.1:{port}", time.time() + 40
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return proc, log, url
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            log.seek(0)
            text = log.read()[-2000:]
            stop_process(proc)
            log.close()
            pytest.fail(f"server did not start: {text}")
        time.sleep(0.25)


def drive_page(ck, tmp_path, what: str, drive) -> None:
    """Start the server, open a headless Chromium page (1200x900, downloads accepted) and call ``drive(page, url)``;
    the browser and the server are stopped whatever happens. Skips when Chromium or Playwright is absent."""
    exe = chromium_or_skip(what)
    sync_api = pytest.importorskip("playwright.sync_api", reason="the Python package playwright is not installed (pip install playwright)")
    proc, log, url = start_server(ck, tmp_path)
    try:
        with sync_api.sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                str(tmp_path / "profile"),
                executable_path=exe,
                headless=True,
                args=BROWSER_ARGS,
                viewport={"width": 1200, "height": 900},
                accept_downloads=True,
            )
            try:
                drive(ctx.new_page(), url)
            finally:
                ctx.close()
    finally:
        stop_process(proc)
        log.close()
