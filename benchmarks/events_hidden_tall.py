"""Hidden tracks of people seen whole for a few frames (``ByteTracker(hidden_tall_m=1.5)``).

The product's tracker lists a walker hidden inside another's merged blob (:attr:`ByteTracker.hidden`, the events
engine's anchor for its zones and lines) only if its track was matched in at least ``hidden_min_hits`` = 10 frames:
the short tracks of the pieces of a person broken up by the mask must not be listed (a lost piece's track lies inside
its person's blob once the mask is whole). So a walker that another hides within a second of its arrival has no hidden
track, and the zones it enters and the lines it crosses while hidden are not counted (seen on seeds 20-59 with
``work/``'s scratch diagnosis: e.g. seed 24, a walker in the CCTV view 0.6 s before a nearer one covered it for 2 s,
its desk-zone visit missed). A piece of a broken-up person is short in metres; a whole person is tall.
``hidden_tall_m`` lists a confirmed track after fewer frames where its matched detections' median height (their
``height_m``: with a camera, or from measured depth) is at least 1.5 m (about the 5th percentile of adult height;
set before any run, not tuned). It changes which tracks are hidden, so the events engine's objects, hence the counts
of events, and the ids the benchmark scores.

The painted synthetic walker clips with their pixels (:class:`benchmarks.events_colour_split.PixelPainter`), the
product's tracker with its other defaults (``adopted``) against the same with ``hidden_tall_m=1.5``, under
:data:`CRITERION` (written down before the first run), which it did not pass (:data:`DECISION`). In the arms without the camera the tracker has no camera but
the detections still bring their heights (as measured depth would give them).

Usage: ``python -m benchmarks.events_hidden_tall --first-seed 20 --clips 40`` (then, only if it passes, the fresh
seeds: ``--first-seed 520 --clips 40``); ``--render``: only rewrite the page from its JSON.
"""

from __future__ import annotations

import sys

from benchmarks.rule_pages import ENGINE_THEN, RulePage

RULES = {
    "adopted": {"hidden_tall_m": None, "hidden_colour_boxes": False, **ENGINE_THEN},
    "hidden_tall_m": {"hidden_tall_m": 1.5, "hidden_colour_boxes": False, **ENGINE_THEN},
}
"""The product's tracker with its other defaults when the runs were made, without and with ``hidden_tall_m`` = 1.5 m
(``hidden_colour_boxes`` off, as it was then)."""

FRESH_SEED = 520

CRITERION = (
    "Criterion, written down before the first run (2026-12-07, 20:11 UTC by this machine's clock): `hidden_tall_m` "
    "(1.5 m) against `adopted` (the product's tracker with its default settings), both given the clips' camera and, "
    "for IDF1 only, without it, on the painted clips with their pixels of seeds 20-59. It passes if the mean IDF1 of "
    "camera/cctv/masks and camera/cctv/boxes rises by at least 0.005, no arm (camera known or not x cctv / head-height "
    "x masks / boxes / broken) is lower by more than 0.005, the count errors (|crossings per side| + |zone entries|) "
    "summed over the six arms with the camera do not rise, and no arm's share of clips within one of the truth is "
    "lower by more than 0.05 (2 clips of 40). Only if it passes, it is run once on fresh seeds 520-559 (never used "
    "before) under the same rules except that the CCTV mean IDF1 need only not fall; only if it passes there too does "
    "`hidden_tall_m` = 1.5 become the product's default (with the camera and without: it needs heights, not a camera). "
    "Looked at before this was written: seeds 20-29 (arms with the camera): IDF1 CCTV masks +0.009, boxes +0.010, "
    "broken +0.004, head-height masks +0.008, boxes +0.010, broken -0.001; count errors 11/10/13/11/11/14 -> "
    "8/7/13/8/8/13; clips within one 0.9 on every arm but head-height broken (0.8) -> the same but CCTV broken 0.8. "
    "Whatever the outcome, it is reported here."
)

DECISION = (
    "Decision: `hidden_tall_m` does not pass on seeds 20-59: the CCTV mean IDF1 rose by +0.0044 (needed +0.005), the "
    "count errors summed over the six arms fell (196 -> 189) and the largest drop of clips within one was 2 clips of "
    "40 (camera/cctv/broken, at the limit). So the fresh seeds were not run for it alone and the default stays "
    "`hidden_tall_m=None`. The option stays in the library. It and `hidden_colour_boxes` (results/events_hidden_colour.md, "
    "+0.0033) each fell just short on these seeds; their combination, formed after both runs, was then tested on "
    "fresh seeds only, under a stricter rule, and passed: both are the product's defaults since (results/events_hidden_combined.md)."
)

PAGE = RulePage.of(globals(), "Hidden tracks of people seen whole for a few frames", output_only=False)

main = PAGE.main
"""The command line (the module docstring)."""


if __name__ == "__main__":
    sys.exit(main())
