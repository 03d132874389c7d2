"""benchmarks.events_handover: the criterion's arithmetic."""

from __future__ import annotations

from benchmarks import events_handover as eh


def _res(clean_off: int, clean_cand: int, broken_off: int, broken_cand: int, within_drop: bool = False) -> dict:
    def clips(err: int, within: bool) -> list[dict]:
        return [{"cross": err, "zone": 0, "within_one": within}] + [{"cross": 0, "zone": 0, "within_one": True}] * 3

    arms = {}
    for arm in ("cctv/masks", "cctv/boxes", "head_height/masks", "head_height/boxes"):
        arms[arm] = {"off": clips(clean_off, True), "handover2s": clips(clean_cand, not within_drop)}
    for arm in ("cctv/broken", "head_height/broken"):
        arms[arm] = {"off": clips(broken_off, True), "handover2s": clips(broken_cand, True)}
    return {"arms": arms}


def test_handover_criterion():
    assert eh.verdict(_res(10, 9, 5, 5), fresh=False)[0]  # -10 %, broken unchanged
    assert not eh.verdict(_res(10, 10, 5, 5), fresh=False)[0]  # no fall
    assert not eh.verdict(_res(10, 8, 5, 6), fresh=False)[0]  # broken-up arms worse
    assert not eh.verdict(_res(10, 8, 5, 5, within_drop=True), fresh=False)[0]  # a clip falls out of "within one"
    assert eh.verdict(_res(10, 10, 5, 5), fresh=True)[0] and not eh.verdict(_res(10, 11, 5, 5), fresh=True)[0]
    s = eh.summary(_res(3, 2, 1, 1))
    assert s["cctv/masks"]["off"]["err"] == 3 and s["cctv/masks"]["handover2s"]["within_one"] == 1.0
