"""Pages that compare the product's tracker with one change of it on the painted synthetic walker clips, each under a
criterion written down before its first run (:class:`RulePage`): ``results/events_colour_boxes.md``,
``results/events_hidden_*.md``. A page module declares its rules, criterion, decision and seeds in a
:class:`RulePage`; this module scores a run (:func:`decision`), writes the page (:func:`markdown`) and gives its
command line (:func:`page_command`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

GAIN, TOLERANCE = 0.005, 0.005
"""The default criterion: the CCTV mean IDF1 up by at least ``GAIN`` on the choice seeds, no arm down by more than
``TOLERANCE``."""

ENGINE_THEN = {"engine": {"born_still_s": None}}
"""The events engine of the pages run before ``EventEngine(born_still_s)`` became a default (results/events_born_still.md):
each of their rules pins it, so they reproduce under today's defaults."""

FEWER_COUNTS = {"output_only": False, "gain": 0.0, "counts_must_fall": True}
"""The criterion of a rule meant to cut the count errors (``RulePage(**FEWER_COUNTS, ...)``): they must fall, the CCTV
mean IDF1 must not."""


@dataclass(frozen=True)
class RulePage:
    """A page that compares, on the painted clips with their pixels, the product's tracker (``base``) with one change
    of it (``cand``) under the criterion of this module: the CCTV mean IDF1 (camera/cctv masks and boxes) up by
    ``gain`` on the choice seeds (by ``fresh_gain`` on the fresh ones, ``fresh_seed``: default 0, not down), no arm down by more than ``tolerance``;
    for an ``output_only`` change (boxes, never ids or the events engine's objects) the count errors equal on every arm,
    else their sum over the arms not higher (lower, with ``counts_must_fall``) and no arm's share of clips within one lower by more than
    ``within_tolerance``."""

    module: str
    doc: str
    title: str
    criterion: str
    decision_text: str
    rules: dict
    fresh_seed: int
    gain: float = GAIN
    tolerance: float = TOLERANCE
    output_only: bool = True
    within_tolerance: float = 0.05
    fresh_gain: float = 0.0
    counts_must_fall: bool = False

    @classmethod
    def of(cls, namespace: dict, title: str, **criterion) -> RulePage:
        """The page of the module whose globals are ``namespace``: its dotted name, docstring and ``CRITERION``,
        ``DECISION``, ``RULES``, ``FRESH_SEED``; ``criterion``: the other fields (``gain``, ``output_only``, ...).
        Raises ``KeyError`` naming a missing constant."""
        spec = namespace.get("__spec__")
        return cls(
            module=spec.name if spec is not None else namespace["__name__"],
            doc=namespace["__doc__"],
            title=title,
            criterion=namespace["CRITERION"],
            decision_text=namespace["DECISION"],
            rules=namespace["RULES"],
            fresh_seed=namespace["FRESH_SEED"],
            **criterion,
        )

    @property
    def intro(self) -> str:
        """The page's first paragraph: the module docstring's second."""
        return self.doc.split("\n\n")[1].replace("\n", " ")

    def main(self, argv=None) -> int:
        """``python -m <module>`` (the module docstring): :func:`page_command`."""
        return page_command(self, argv)

    @property
    def base(self) -> str:
        """The first rule's name: the product's tracker as it was."""
        return next(iter(self.rules))

    @property
    def cand(self) -> str:
        """The second rule's name: the change."""
        return list(self.rules)[1]

    @property
    def out(self) -> Path:
        """``results/<module's last name>`` (``.json`` and ``.md``)."""
        return RESULTS / self.module.rsplit(".", 1)[1]


RESULTS = Path(__file__).resolve().parents[1] / "results"


def decision(page: RulePage, res: dict, fresh: bool) -> dict:
    """The criterion's figures for ``res`` (:func:`benchmarks.events_colour_split.run`'s result) on the choice seeds or,
    with ``fresh``, the fresh ones: ``{"cctv_gain", "worst_arm", "counts_equal", "counts_ok", "passes"}``
    (``counts_ok``: equal for an ``output_only`` page, else the sum not higher and each arm's within-one share not
    lower by more than ``within_tolerance``)."""
    idf1, counts, b, c = res["idf1"], res["counts"], page.base, page.cand
    gain = float(np.mean([idf1[a][c] - idf1[a][b] for a in ("camera/cctv/masks", "camera/cctv/boxes")]))
    worst = float(min(v[c] - v[b] for v in idf1.values()))
    equal = all(v[c] == v[b] for v in counts.values())
    summed = {r: sum(v[r]["abs_err_sum"] for v in counts.values()) for r in (b, c)}
    within = min(v[c]["within_one_fraction"] - v[b]["within_one_fraction"] for v in counts.values())
    fewer = summed[c] < summed[b] if page.counts_must_fall else summed[c] <= summed[b]
    ok = equal if page.output_only else fewer and within >= -page.within_tolerance - 1e-9
    passes = ok and worst >= -page.tolerance and gain >= (page.fresh_gain if fresh else page.gain)
    return {
        "cctv_gain": gain,
        "worst_arm": worst,
        "counts_equal": equal,
        "counts_ok": ok,
        "count_sums": summed,
        "within_drop": within,
        "passes": passes,
    }


def markdown(page: RulePage, runs: dict) -> str:
    """The page ``results/<module>.md`` from the runs (``{"<first_seed>": result}``)."""
    from benchmarks.common import md_table

    b, c = page.base, page.cand
    lines = [f"# {page.title}", "", page.intro, "", page.criterion, ""]
    for seed in sorted(runs, key=int):
        res, n = runs[seed], runs[seed]["clips"]
        fresh = int(seed) == page.fresh_seed
        d = decision(page, res, fresh=fresh)
        lines += [f"## Seeds {seed}-{int(seed) + n - 1}", "", f"Command: `python -m {page.module} --first-seed {seed} --clips {n}`", ""]
        rows = []
        for arm, v in res["idf1"].items():
            k = res["counts"].get(arm)
            errs = f"{k[b]['abs_err_sum']} / {k[c]['abs_err_sum']}" if k else ""
            row = [arm, f"{v[b]:.3f}", f"{v[c]:.3f}", f"{v[c] - v[b]:+.4f}", errs]
            if not page.output_only:
                row.append(f"{k[b]['within_one_fraction']:.3f} / {k[c]['within_one_fraction']:.3f}" if k else "")
            rows.append(row)
        head = ["camera known / camera / detections", f"`{b}` IDF1", f"`{c}` IDF1", "difference", f"count errors ({b} / {c})"]
        head += [] if page.output_only else [f"clips within one ({b} / {c})"]
        lines += md_table(head, rows)
        counts_line = (
            f"count errors equal on every arm: {'yes' if d['counts_equal'] else 'no'}"
            if page.output_only
            else f"count errors summed over the arms {d['count_sums'][b]} -> {d['count_sums'][c]} "
            f"(must {'fall' if page.counts_must_fall else 'not rise'}); largest drop of an "
            f"arm's share of clips within one {max(0.0, -d['within_drop']):.3f} (allowed {page.within_tolerance})"
        )
        lines += [
            "",
            f"CCTV mean IDF1 gain {d['cctv_gain']:+.4f} (needed {f'>= {page.fresh_gain:g}' if fresh else f'+{page.gain}'}); worst arm "
            f"{d['worst_arm']:+.4f} (allowed -{page.tolerance}); {counts_line}; "
            f"passes: {'yes' if d['passes'] else 'no'}. Wall time {res['wall_s'] / 60:.0f} min.",
            "",
        ]
    if page.decision_text and runs:
        lines += [page.decision_text, ""]
    return "\n".join(lines)


def page_command(page: RulePage, argv=None) -> int:
    """The command line of ``page`` (:func:`benchmarks.events_colour_split.page_main`: ``--first-seed``, ``--clips``,
    ``--jobs``, ``--render``)."""
    from benchmarks.events_colour_split import page_main, run

    return page_main(
        argv,
        page.doc,
        page.out,
        lambda runs: markdown(page, runs),
        str,
        lambda seed, clips, jobs: run(seed, clips, jobs, rules=page.rules, without_camera=True),
    )
