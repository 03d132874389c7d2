"""What ``maskdepth watch`` writes while it runs: append-only JSON lines, the latency record,
the resume state.

* :class:`JsonLinesLog`: ``objects.jsonl`` (``events.jsonl`` is the events package's
  :class:`~maskdepth.events.sinks.JsonlSink`, with the same guarantees). Each record is one
  ``write(2)`` of one whole line on a file opened with ``O_APPEND``, so a reader (``tail -f``)
  sees it at once (nothing is buffered in the process: flushed well within a second) and never
  half a line: a write that fails or is cut short (a full disk) is undone by truncating the
  file back to its length before the write, and reported as one line
  (:class:`~maskdepth.errors.MaskDepthError`). A file left with a partial last line by a killed
  process is cut back to its last whole line when it is opened again.
* :class:`Latency`: frame decoded → results written, in milliseconds, p50/p99 over the last
  ``window`` frames.
* :func:`save_state` / :func:`load_state`: ``state/watch_state.json`` (atomic, ``version``).
"""

from __future__ import annotations

import collections
import errno
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import MaskDepthError
from ..events.sinks import cut_partial_tail
from ..io import atomic_write_json, read_json

STATE_VERSION = 1
"""Version of ``state/watch_state.json``; a state of another version is not resumed."""


def utc_now_iso() -> str:
    """The current time as ISO 8601 UTC with milliseconds, e.g. ``2026-12-06T11:37:02.123Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonLinesLog:
    """An append-only JSON-lines file (see the module docstring).

    Args:
        path: the file (created; appended to when it exists).
    Raises:
        MaskDepthError: the file cannot be opened.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.lines = 0
        try:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise MaskDepthError(f"cannot open {self.path}: {e.strerror or e}") from None
        if os.path.isfile(self.path) and os.stat(self.path).st_size:
            rfd = os.open(self.path, os.O_RDWR)
            try:
                cut_partial_tail(rfd)
            finally:
                os.close(rfd)

    def write(self, record: dict) -> None:
        """Append ``record`` as one line. Raises MaskDepthError (one line) when it cannot be written
        whole; the file is then left as it was before the call."""
        data = (json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n").encode()
        try:
            before = os.fstat(self.fd).st_size
        except OSError:
            before = None
        try:
            n = os.write(self.fd, data)
            if n != len(data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as e:
            if before is not None:
                try:
                    os.ftruncate(self.fd, before)
                except OSError:
                    pass
            raise MaskDepthError(f"cannot write {self.path.name}: {e.strerror or e}") from None
        self.lines += 1

    def sync(self) -> None:
        """``fsync`` the file (errors ignored: the lines are already whole)."""
        try:
            os.fsync(self.fd)
        except OSError:
            pass

    def close(self) -> None:
        """Sync and close (idempotent)."""
        if self.fd >= 0:
            self.sync()
            os.close(self.fd)
            self.fd = -1


class Latency:
    """Latencies in milliseconds over the last ``window`` frames (a ring buffer)."""

    def __init__(self, window: int = 10000):
        self.values: collections.deque = collections.deque(maxlen=window)

    def add(self, ms: float) -> None:
        """Record one frame's latency (milliseconds, >= 0)."""
        self.values.append(float(ms))

    def to_json(self) -> dict:
        """``{"p50", "p99", "max", "n"}`` in milliseconds (``None`` without frames)."""
        if not self.values:
            return {"p50": None, "p99": None, "max": None, "n": 0}
        a = np.asarray(list(self.values))  # a copy: the page's thread reads while the loop appends
        p50, p99 = np.percentile(a, [50, 99])
        return {"p50": round(float(p50), 2), "p99": round(float(p99), 2), "max": round(float(a.max()), 2), "n": int(a.size)}


def save_state(state_dir: Path, record: dict) -> None:
    """Write ``state_dir/watch_state.json`` atomically with ``version`` :data:`STATE_VERSION`."""
    atomic_write_json(Path(state_dir) / "watch_state.json", {"version": STATE_VERSION, **record})


def load_state(state_dir: Path) -> dict | None:
    """The saved resume record, or ``None`` when there is none or it has another ``version``.

    Raises: MaskDepthError: the file exists but is not valid JSON.
    """
    p = Path(state_dir) / "watch_state.json"
    if not p.is_file():
        return None
    rec = read_json(p, "watch state")
    if not isinstance(rec, dict) or rec.get("version") != STATE_VERSION:
        return None
    return rec
