"""A blob born still inside a zone: not counted in until it moves or lasts (``EventEngine(born_still_s=2.0)``).

On the broken-up arms of the painted synthetic walker clips most count errors are zone entries counted over the truth
(seeds 20-59, the product as it is: head-height broken-up 21 clips with a zone entry too many). A scratch look at one
of them (head-height broken-up, seed 49: five entries for two visits) showed where they come from: small still blobs of
mask noise (the clips' spurious squares, ``BROKEN`` in ``benchmarks/events_synthetic.py``, 1-10 frames) that appear
inside the desk zone, get a track and count an entry. ``born_still_s`` holds the entry of a track that is inside a zone
from its first frame and has not moved (by more than the engine's ``stationary_radius`` x its box height) until it
moves or has lasted 2 s; its entry then dates from its first frame. 2 s was set before any run (that the clips' noise
blobs last at most 1 s is known from the renderer: the fresh seeds and the other arms are the check); a bag put down
in a zone still counts, 2 s late. The tracker is unchanged, so IDF1 is too.

The painted synthetic walker clips with their pixels, the product (``adopted``) against the same events engine with
``born_still_s=2.0``, under :data:`CRITERION` (written down before the first run), which it passed on both seed sets
(:data:`DECISION`): the events engine's default since.

Usage: ``python -m benchmarks.events_born_still --first-seed 20 --clips 40`` (then, only if it passes, the fresh
seeds: ``--first-seed 600 --clips 40``); ``--render``: only rewrite the page from its JSON.
"""

from __future__ import annotations

import sys

from benchmarks.rule_pages import ENGINE_THEN, FEWER_COUNTS, RulePage

RULES = {"adopted": ENGINE_THEN, "born_still2s": {"engine": {"born_still_s": 2.0, "born_still_max_height_m": None}}}
"""The product as it was when the runs were made (no ``born_still_s``), and with the events engine's ``born_still_s``
= 2 s (the tracker's defaults in both)."""

FRESH_SEED = 600

CRITERION = (
    "Criterion, written down before the first run (2026-12-07, 23:29 UTC by this machine's clock): `born_still2s` "
    "against `adopted` (the product's defaults), the clips' camera given, on the painted clips with their pixels of seeds "
    "20-59 (the seeds of the look that led to it: on them it is a check of the mechanism, the fresh seeds decide). It "
    "passes if the count errors summed over the six arms with the camera fall and no arm's share of clips within one is "
    "lower by more than 0.05 (IDF1 cannot change: the tracker is the same, and the page checks that too). Only if it "
    "passes, it is run once on fresh seeds 600-639 (never used before) under the same rules; only if it passes there "
    "too does it become the default of `watch` and `predict --video`, followed by a rerun of the held-out events page. "
    "Whatever the outcome, it is reported here."
)

DECISION = (
    "Decision: `born_still2s` passed on seeds 20-59 (count errors 189 -> 180) and on the fresh seeds 600-639 (148 -> 138; "
    "CCTV broken-up clips within one 0.725 -> 0.875), so `EventEngine(born_still_s=2.0)` is the default of `watch` and "
    "`predict --video` since, and the held-out events page was run again. Not free: every fall is in the broken-up "
    "arms (noise blobs born still in the desk zone no longer count), while the clean masks and boxes arms lose a few "
    "true entries (fresh seeds: 15 -> 17, 15 -> 17, 16 -> 19, 15 -> 17; choice seeds: +1, 0, +2, 0), none of them "
    "a clip within one. Looked at after the decision (cctv/masks, seeds 600-639, `work/`-style scratch, nothing chosen "
    "on it): the two clips that changed (608, 620) are walkers the tracker first sees standing inside the zone, after "
    "entering it merged with another, whose entry was counted at that moment and now waits until they move; in both "
    "they left first. A candidate for later, to be tested on other fresh seeds: hold only blobs smaller than a person "
    "in metres."
)

PAGE = RulePage.of(globals(), "A blob born still inside a zone: not counted in until it moves or lasts", **FEWER_COUNTS)

main = PAGE.main
"""The command line (the module docstring)."""


if __name__ == "__main__":
    sys.exit(main())
