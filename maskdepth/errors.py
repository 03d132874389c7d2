"""The one exception type the command line turns into a one-line error.

Every problem caused by the user's input (a missing directory, an unreadable
image, a checkpoint of another architecture, ...) is raised as
:class:`MaskDepthError` with a message that names the file and the problem.
``maskdepth.cli.main`` prints ``maskdepth: error: <message>`` on stderr and
exits with status 2; no traceback is shown.
"""


class MaskDepthError(Exception):
    """A user-facing error: bad input, bad configuration, unusable file."""
