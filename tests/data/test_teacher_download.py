"""``maskdepth teacher download``: verified, atomic, cached downloads from a local HTTP server
(127.0.0.1) serving a small ONNX model exported here; checksum mismatch, size mismatch and network
failures leave nothing behind; registry override by environment; generate --teacher NAME."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import stat
import threading
import warnings
from pathlib import Path

import pytest
import torch

from maskdepth.cli import main
from maskdepth.data.teacher.registry import REGISTRY, cache_dir, download
from maskdepth.errors import MaskDepthError


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A static file server on 127.0.0.1 serving ``tiny.onnx`` (a 3->1 conv, 64 px); counts GET requests."""
    root = tmp_path_factory.mktemp("www")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 1, 3, padding=1)

        def forward(self, x):
            return torch.nn.functional.softplus(self.conv(x)) + 0.1

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Net().eval(),
            torch.rand(1, 3, 64, 64),
            str(root / "tiny.onnx"),
            dynamo=False,
            opset_version=17,
            input_names=["image"],
            output_names=["disparity"],
        )
    hits = {"n": 0}

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def do_GET(self):  # noqa: N802
            hits["n"] += 1
            super().do_GET()

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    data = (root / "tiny.onnx").read_bytes()
    yield {
        "url": f"http://127.0.0.1:{srv.server_address[1]}/tiny.onnx",
        "sha": hashlib.sha256(data).hexdigest(),
        "data": data,
        "hits": hits,
        "base": f"http://127.0.0.1:{srv.server_address[1]}",
    }
    srv.shutdown()
    srv.server_close()


def run(capsys, *args):
    capsys.readouterr()
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(rc, err, match):
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("maskdepth: error: ") and match in lines[0], err


def test_download_verify_and_cache_hit(server, tmp_path, capsys):
    cache = tmp_path / "cache"
    rc, out, err = run(
        capsys, "teacher", "download", "tiny", "--url", server["url"], "--sha256", server["sha"], "--cache-dir", cache, "--quiet"
    )
    assert rc == 0, err
    assert "downloaded" in out and "sha256 verified" in out
    assert (cache / "tiny.onnx").read_bytes() == server["data"]
    assert sorted(p.name for p in cache.iterdir()) == ["tiny.onnx"]  # no temporary file left
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE((cache / "tiny.onnx").stat().st_mode) == 0o666 & ~mask  # a plain file's mode, not mkstemp's 0600
    n = server["hits"]["n"]
    rc, out, _ = run(
        capsys, "teacher", "download", "tiny", "--url", server["url"], "--sha256", server["sha"], "--cache-dir", cache, "--quiet"
    )
    assert rc == 0 and "cached" in out
    assert server["hits"]["n"] == n  # a cache hit makes no request
    # a damaged cached file is not trusted: it is downloaded again
    (cache / "tiny.onnx").write_bytes(b"garbage")
    path, status = download("tiny", cache=str(cache), url=server["url"], sha256=server["sha"], quiet=True)
    assert status == "downloaded" and path.read_bytes() == server["data"] and server["hits"]["n"] == n + 1


def test_checksum_mismatch_leaves_nothing(server, tmp_path, capsys):
    cache = tmp_path / "cache"
    rc, _, err = run(capsys, "teacher", "download", "tiny", "--url", server["url"], "--sha256", "0" * 64, "--cache-dir", cache, "--quiet")
    one_line_error(rc, err, "checksum mismatch")
    assert server["sha"] in err
    assert list(cache.iterdir()) == []  # neither the final file nor the .part


def test_network_failures_leave_nothing(server, tmp_path, capsys):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    cache = tmp_path / "cache"
    rc, _, err = run(
        capsys,
        "teacher",
        "download",
        "tiny",
        "--url",
        f"http://127.0.0.1:{port}/x.onnx",
        "--sha256",
        server["sha"],
        "--cache-dir",
        cache,
        "--quiet",
    )
    one_line_error(rc, err, "cannot download tiny")
    rc, _, err = run(
        capsys,
        "teacher",
        "download",
        "tiny",
        "--url",
        server["base"] + "/missing.onnx",
        "--sha256",
        server["sha"],
        "--cache-dir",
        cache,
        "--quiet",
    )
    one_line_error(rc, err, "HTTP 404")
    assert not cache.exists() or list(cache.iterdir()) == []


def test_registry_from_environment_and_generate_by_name(server, tmp_path, monkeypatch, capsys, bg_dir, fg_dir):
    reg = tmp_path / "reg.json"
    entry = {"url": server["url"], "sha256": server["sha"], "size": len(server["data"]), "filename": "tiny_teacher.onnx"}
    reg.write_text(json.dumps({"tiny_teacher": entry, "wrong_size": {**entry, "size": 5, "filename": "w.onnx"}}))
    monkeypatch.setenv("MASKDEPTH_TEACHER_REGISTRY", str(reg))
    monkeypatch.setenv("MASKDEPTH_CACHE", str(tmp_path / "mcache"))
    assert cache_dir() == tmp_path / "mcache" / "teachers"
    # not downloaded yet: generate says how to get it
    rc, _, err = run(
        capsys,
        "generate",
        "--out",
        tmp_path / "ds0",
        "--bg-dir",
        bg_dir,
        "--fg-dir",
        fg_dir,
        "--teacher",
        "tiny_teacher",
        "-n",
        "4",
        "--size",
        "64",
        "--workers",
        "1",
        "--quiet",
    )
    one_line_error(rc, err, "maskdepth teacher download tiny_teacher")
    rc, out, err = run(capsys, "teacher", "download", "tiny_teacher", "--quiet")
    assert rc == 0, err
    assert (tmp_path / "mcache" / "teachers" / "tiny_teacher.onnx").read_bytes() == server["data"]
    rc, out, _ = run(capsys, "teacher", "list")
    assert rc == 0 and "tiny_teacher" in out and "midas_v21_small_256" in out and "NOT verified here" in out
    rc, out, err = run(
        capsys,
        "generate",
        "--out",
        tmp_path / "ds",
        "--bg-dir",
        bg_dir,
        "--fg-dir",
        fg_dir,
        "--teacher",
        "tiny_teacher",
        "-n",
        "6",
        "--size",
        "64",
        "--shard-size",
        "6",
        "--workers",
        "1",
        "--quiet",
    )
    assert rc == 0, err
    stats = json.loads((tmp_path / "ds" / "stats.json").read_text())
    assert stats["depth_kinds"] == {"teacher": 6}
    rc, _, err = run(capsys, "teacher", "download", "wrong_size", "--quiet")
    one_line_error(rc, err, "expected 5")
    assert sorted(p.name for p in (tmp_path / "mcache" / "teachers").iterdir()) == ["tiny_teacher.onnx"]


def test_registry_entry_and_bad_requests(tmp_path, capsys):
    e = REGISTRY["midas_v21_small_256"]
    assert e["url"] == "https://github.com/isl-org/MiDaS/releases/download/v2_1/model-small.onnx"
    assert len(e["sha256"]) == 64 and e["size"] > 10_000_000
    assert e["verified"] is False and "UNVERIFIED" in e["verification_note"]
    rc, _, err = run(capsys, "teacher", "download", "no_such_model", "--cache-dir", tmp_path)
    one_line_error(rc, err, "unknown teacher")
    rc, _, err = run(capsys, "teacher", "download", "custom", "--url", "http://127.0.0.1:9/x", "--cache-dir", tmp_path)
    one_line_error(rc, err, "sha256")
    with pytest.raises(MaskDepthError, match="sha256"):
        download("custom", cache=str(tmp_path), url="http://127.0.0.1:9/x", sha256="abc")
    assert not any(Path(tmp_path).iterdir())
