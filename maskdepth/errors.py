"""The one exception type the command line turns into a one-line error.

Every problem caused by the user's input (a missing directory, an unreadable
image, a checkpoint of another architecture, ...) is raised as
:class:`MaskDepthError` with a message that names the file and the problem.
The library names *parameters*, never command-line flags: ``MaskDepthError("not found: x.mp4",
param="video")`` (the message continues the parameter's name). ``maskdepth.cli.main`` maps the parameter
to its flag in one place and prints ``maskdepth: error: --video not found: x.mp4`` on stderr with exit
status 2; no traceback is shown. In Python, ``str(e)`` is ``"video not found: x.mp4"``.
"""

from __future__ import annotations


class MaskDepthError(Exception):
    """A user-facing error: bad input, bad configuration, unusable file.

    Args:
        message: one line naming the file or value and the problem; with ``param``, it continues the
            parameter's name ("not found: x", "must be >= 1", "is a folder but ...").
        param: the parameter (a config field or keyword argument, e.g. ``"bg_depth"``) the problem is
            about, or ``None``; the command line shows it as its flag (``--bg-depth``), the Python API
            as the parameter name.
    """

    def __init__(self, message: str = "", param: str | None = None):
        super().__init__(message)
        self.param = param

    def __str__(self) -> str:
        msg = super().__str__()
        return f"{self.param} {msg}" if self.param and not msg.startswith(f"{self.param}") else msg
