"""HLS over HTTP as a SOURCE: a playlist and its segments written here (FFmpeg's ``hls`` muxer through
PyAV), served by the standard library's HTTP server on 127.0.0.1, read as a live source."""

from __future__ import annotations

import functools
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

av = pytest.importorskip("av")

from maskdepth.live.source import FrameSource, SourceOptions, parse_source  # noqa: E402


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_hls_playlist_over_http(tmp_path):
    d = tmp_path / "hls"
    d.mkdir()
    with av.open(str(d / "index.m3u8"), "w", format="hls", options={"hls_time": "1", "hls_list_size": "0"}) as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 160, 120, "yuv420p"
        for i in range(30):
            fr = av.VideoFrame.from_ndarray(np.full((120, 160, 3), 8 * i, np.uint8), format="rgb24")
            fr.pts = i
            for p in s.encode(fr):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(d)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        spec = parse_source(f"http://127.0.0.1:{httpd.server_address[1]}/index.m3u8")
        src = FrameSource(spec, SourceOptions(open_timeout=10, stall_timeout=5)).open()
        got, end = [], time.monotonic() + 15
        while len(got) < 3 and time.monotonic() < end:
            f = src.read(1.0)
            if f is not None:
                got.append(f)
        src.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert spec.live and len(got) == 3
    assert all(f.image.shape == (120, 160, 3) for f in got)
    assert [f.index for f in got] == sorted({f.index for f in got}) and all(f.t_s >= 0 for f in got)
