"""The split of a blob holding two people, decided again on the choice seeds that look like typical clips.

``ByteTracker(split_merged="wide")`` became the default with a camera by its criterion on seeds 0-19
(``results/events.md``, 'People in one blob'); those seeds later proved easier than typical clips
(``results/events_appearance.md``), and on the page's fresh seeds 200-239 the split raised IDF1 but worsened the counts.
Here `wide` and `off` are compared on seeds 20-59 by the same criterion, then once on fresh seeds 300-339
(:data:`CRITERION`).

Usage: python -m benchmarks.events_split_recheck --first-seed 20 --clips 40 [--out results/events_split_recheck]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.common import write_json_md
from benchmarks.events_synthetic import SPLIT_MERGED_CRITERION, criterion_choice, rules_comparison, rules_table

RULES = {"off": {"split_merged": "off"}, "wide": {"split_merged": "wide"}}
CRITERION = (
    "written down before the first run (2026-12-07, 02:11 UTC): `wide` (the default) against `off` on seeds 20-59 with the "
    "test of the split's own criterion (the mean IDF1 of camera/cctv/masks and camera/cctv/boxes at least 0.005 higher, no "
    "arm lower by more than 0.005, the summed count errors of the four masks and boxes arms not higher). If `wide` passes, "
    "it stays the default and nothing more is run. If it fails, both are run once on fresh seeds 300-339 and `wide` is "
    "dropped (the default becomes `off`) if it fails the same test there too; otherwise it stays."
)


def markdown(runs: dict) -> str:
    """results/events_split_recheck.md from ``{first_seed: rules_comparison result}``."""
    lines = [
        "# The split of a blob holding two people, decided again",
        "",
        __doc__.split("\n\n")[1].replace("\n", " "),
        "",
        f"Criterion: {CRITERION} (The split's first criterion: {SPLIT_MERGED_CRITERION})",
        "",
    ]
    for seed, res in sorted(runs.items(), key=lambda kv: int(kv[0])):
        n = res["clips"]
        chosen, stats = criterion_choice(res, "off")
        lines += [
            f"## Seeds {seed}-{int(seed) + n - 1}",
            "",
            f"`python -m benchmarks.events_split_recheck --first-seed {seed} --clips {n}` ({res.get('seconds', 0):.0f} s).",
            "",
            *rules_table(res, "camera / detections", strip="camera/"),
            "",
            "Per rule (CCTV mean IDF1; worst arm's difference to `off`; summed count errors of the masks and boxes arms; "
            "passes): " + ", ".join(f"`{r}` {m:.4f} ({w:+.4f}; {e}; {'yes' if ok else 'no'})" for r, (m, w, e, ok) in stats.items()) + ".",
            "",
            f"`wide` {'passes' if chosen == 'wide' else 'does not pass'} on these seeds.",
            "",
        ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--first-seed", type=int, default=20)
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="results/events_split_recheck")
    a = ap.parse_args(argv)
    t0 = time.time()
    res = {**rules_comparison(RULES, a.clips, a.first_seed, jobs=a.jobs), "clips": a.clips}
    res["seconds"] = round(time.time() - t0, 1)
    prev = json.loads(Path(f"{a.out}.json").read_text()) if Path(f"{a.out}.json").is_file() else {}
    prev[str(a.first_seed)] = res
    write_json_md(a.out, prev, markdown(prev))
    return 0


if __name__ == "__main__":
    sys.exit(main())
