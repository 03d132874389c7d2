"""A real RTSP server for the tests of ``maskdepth watch``: GStreamer's RTSP server (gst-rtsp-server)
serving a test pattern (``videotestsrc`` → x264, one key frame a second) on 127.0.0.1.

Run by the *system* Python, which has Debian's ``python3-gi`` and ``gir1.2-gst-rtsp-server-1.0``
(the project's virtual environment has no GObject bindings)::

    /usr/bin/python3 tests/live/rtsp_server.py --port 8554 [--size 320x240] [--fps 10]
        [--auth user:pass] [--resize-after 2.0 --resize-to 256x192]

It prints ``READY rtsp://127.0.0.1:PORT/test`` once listening and serves until killed.
``--resize-after S`` changes the frame size of the stream S seconds after the first client
connects (the encoder renegotiates; a new SPS follows); ``--auth`` requires HTTP Basic credentials.
"""

from __future__ import annotations

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def _size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--size", type=_size, default=(320, 240))
    ap.add_argument("--fps", type=int, default=10)
    ap.add_argument("--auth", help="user:pass required from clients")
    ap.add_argument("--resize-after", type=float, help="seconds after the media starts to change the frame size")
    ap.add_argument("--resize-to", type=_size, default=(256, 192))
    a = ap.parse_args()
    Gst.init(None)
    w, h = a.size
    launch = (
        f"( videotestsrc is-live=true pattern=ball ! video/x-raw,framerate={a.fps}/1 ! videoscale ! "
        f"capsfilter name=caps caps=video/x-raw,width={w},height={h} ! videoconvert ! "
        f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={a.fps} ! rtph264pay name=pay0 pt=96 )"
    )
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(a.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(True)
    if a.auth:
        user, password = a.auth.split(":", 1)
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_role_from_structure(
            Gst.Structure.new_from_string("user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true")
        )
        factory.set_permissions(perms)

    def on_configure(_factory, media):
        if a.resize_after:
            caps = media.get_element().get_by_name("caps")
            rw, rh = a.resize_to

            def resize():
                caps.set_property("caps", Gst.Caps.from_string(f"video/x-raw,width={rw},height={rh}"))
                return False

            GLib.timeout_add(int(a.resize_after * 1000), resize)

    factory.connect("media-configure", on_configure)
    server.get_mount_points().add_factory("/test", factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{a.port}", file=sys.stderr, flush=True)
        return 1
    print(f"READY rtsp://127.0.0.1:{a.port}/test", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
