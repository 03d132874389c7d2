"""The box of a person on a merged blob from its share of the blob's pixels by colour (``ByteTracker(colour_boxes=True)``).

Where a track's detection is a merged blob that hides other tracks, the product's tracker reports, in
``person_boxes`` (``objects.jsonl``'s ``person_bbox``, the overlay), the track's size seen alone standing on the blob's
bottom row (``merged_box="own_size_rows"``, with a camera) or the blob's box (without). ``colour_boxes`` reports
instead the box of its share of the blob's pixels by colour (:func:`maskdepth.scene.blob_people.split_by_colour`, the
split of ``results/events_colour_split.md`` with its settings unchanged), where the people's colours differ and the
split gives boxes apart. Output only: the ids, the hidden tracks and the objects the events engine gets are the same,
so the counts of events cannot change (checked: the count errors must be equal on every arm).

The painted synthetic walker clips with their pixels (:class:`benchmarks.events_colour_split.PixelPainter`), the
product's tracker with its other defaults and ``colour_boxes=False`` (``adopted``, the default when the runs were
made) against the same with ``colour_boxes=True``, under :data:`CRITERION` (written down before the first run), which
it passed: it is the default since (:data:`DECISION`).

Usage: ``python -m benchmarks.events_colour_boxes --first-seed 20 --clips 40`` (then, only if it passes, the fresh
seeds: ``--first-seed 480 --clips 40``); ``--render``: only rewrite the page from its JSON.
"""

from __future__ import annotations

import sys

from benchmarks.rule_pages import ENGINE_THEN, RulePage

_THEN = {"hidden_colour_boxes": False, "hidden_tall_m": None}
RULES = {"adopted": {"colour_boxes": False, **_THEN, **ENGINE_THEN}, "colour_boxes": {"colour_boxes": True, **_THEN, **ENGINE_THEN}}
"""The product's tracker with its other defaults when the runs were made, without and with ``colour_boxes`` (off by
default then, on since; the hidden tracks' settings adopted later are pinned to their values then)."""

FRESH_SEED = 480

CRITERION = (
    "Criterion, written down before the first run (2026-12-07, 17:26 UTC by this machine's clock): `colour_boxes` against "
    "`adopted` (the product's tracker with its default settings), both given the clips' camera and, for IDF1 only, "
    "without it, on the painted clips with their pixels (`benchmarks.events_colour_split.pixel_painter`) of seeds 20-59. "
    "It changes output only (ids, hidden tracks and the events engine's objects are the same), so the count errors "
    "must be equal on every arm; if they are not, it fails (a bug). It passes if the mean IDF1 of camera/cctv/masks and "
    "camera/cctv/boxes rises by at least 0.005 and no arm (camera known or not x cctv / head-height x masks / boxes / "
    "broken) is lower by more than 0.005. Only if it passes, it is run once on fresh seeds 480-519 (never used before), "
    "where the CCTV mean must not fall and no arm may be lower by more than 0.005; only if it passes there too does "
    "`colour_boxes` become the product's default. The split's settings are those of `results/events_colour_split.md`, "
    "unchanged. Looked at before this was written: a prototype on seeds 20-39 (the arms with the camera): CCTV masks "
    "+0.010, boxes +0.007, broken +0.007, head-height masks +0.005, boxes +0.002, broken +0.006; the product's code on "
    "seeds 20-29, CCTV masks: 0.797 -> 0.806, count errors equal. Whatever the outcome, it is reported here."
)


DECISION = (
    "Decision: `colour_boxes` passed on seeds 20-59 (CCTV mean IDF1 +0.0070, every arm higher, count errors equal) and "
    "on the fresh seeds 480-519 (+0.0076, every arm higher, count errors equal), so it is the product's default since "
    "2026-12-07 (`ByteTracker(colour_boxes=True)`; `colour_boxes=False` gives the boxes of before). The gain is small: "
    "it changes the box of the track on a merged blob, not which walkers have a box or which id they carry, so the "
    "issue's target (CCTV IDF1 >= 0.85) is still far (0.805 on the fresh seeds)."
)


PAGE = RulePage.of(globals(), "The box of a person on a merged blob, from its colours")

main = PAGE.main
"""The command line (the module docstring)."""


if __name__ == "__main__":
    sys.exit(main())
