"""Physical heights of foreground cutouts: the sidecar table ``fg_heights.csv``.

The packaged table (``maskdepth/data/fg_heights.csv``) holds category defaults (person
1.5-1.9 m, object 0.45-1.2 m); a user table given with ``--fg-heights FILE`` (same
columns: ``key,min_m,max_m[,notes]``; ``#`` starts a comment line) overrides or adds
rows. A key is ``category:<name>`` for a category default, or names one cutout by its
file name (``fg_0001.png``) or foreground id (``fg/fg_0001``). Lookup order for a cutout:
file name, id, its category, then ``category:person``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..errors import MaskDepthError

DEFAULT_TABLE = Path(__file__).with_name("fg_heights.csv")
MAX_HEIGHT_M = 5.0


def _parse(text: str, name: str) -> dict[str, tuple[float, float]]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return {}
    rows = csv.DictReader(io.StringIO("\n".join(lines)))
    if rows.fieldnames is None or not {"key", "min_m", "max_m"} <= set(f.strip() for f in rows.fieldnames):
        raise MaskDepthError(f"{name}: a heights table needs the columns key,min_m,max_m (got {rows.fieldnames})")
    out: dict[str, tuple[float, float]] = {}
    for i, row in enumerate(rows, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        key = row["key"]
        try:
            lo, hi = float(row["min_m"]), float(row["max_m"])
        except ValueError:
            raise MaskDepthError(f"{name}: row {i} ({key!r}): min_m and max_m must be numbers") from None
        if not key or not (0.0 < lo <= hi <= MAX_HEIGHT_M):
            raise MaskDepthError(f"{name}: row {i} ({key!r}): need a key and 0 < min_m <= max_m <= {MAX_HEIGHT_M} m")
        out[key] = (lo, hi)
    return out


def load_height_table(user_table: str | None = None) -> dict[str, tuple[float, float]]:
    """The packaged table, updated by ``user_table`` when given.

    Returns:
        ``{key: (min_m, max_m)}``.
    Raises:
        MaskDepthError: the user table is missing or malformed.
    """
    table = _parse(DEFAULT_TABLE.read_text(), str(DEFAULT_TABLE))
    if user_table:
        p = Path(user_table)
        if not p.is_file():
            raise MaskDepthError(f"not found: {p}", param="fg_heights")
        table.update(_parse(p.read_text(), str(p)))
    return table


def height_range(
    table: dict[str, tuple[float, float]], fg_id: str, category: str, path: str | None = None
) -> tuple[tuple[float, float], str]:
    """Height range of one cutout and the key it came from (see the module docstring)."""
    keys = ([Path(path).name] if path else []) + [fg_id, f"category:{category}", "category:person"]
    for k in keys:
        if k in table:
            return table[k], k
    return (1.5, 1.9), "builtin:person"
