"""Which ids came in moving (:class:`maskdepth.live.stationary.StillObjects`) when the tracker swaps ids."""

from __future__ import annotations

from dataclasses import dataclass

from maskdepth.live.stationary import StillObjects, StillRecord

FPS = 25.0
PERSON = (100, 40, 130, 200)  # where the person stands


@dataclass
class Obj:
    id: int
    bbox: tuple


def walk_in(still: StillObjects, frames: int = 40) -> int:
    """Id 1 walks in from the left and stands at PERSON; returns the next frame index."""
    for k in range(frames):
        dx = max(0, 60 - 3 * k)
        still.update([Obj(1, (PERSON[0] - dx, PERSON[1], PERSON[2] - dx, PERSON[3]))], k / FPS)
    assert still.records[1].moved
    return frames


def test_a_new_id_where_a_moving_objects_id_jumped_away_came_in_moving():
    """A passer-by merges with the still person and takes their id when they part: the person's new id (confirmed
    the next frame) came in moving, so it is never absorbed."""
    still = StillObjects(stationary_after_s=1.0, absorb_after_s=2.0)
    k = walk_in(still)
    still.update([Obj(1, (150, 40, 180, 200))], k / FPS)  # the id went off with the passer-by
    absorbed = []
    for j in range(k + 1, k + 1 + int(4 * FPS)):
        absorbed += still.update([Obj(1, (150 + j - k, 40, 180 + j - k, 200)), Obj(7, PERSON)], j / FPS)[1]
    assert still.records[7].moved and not absorbed


def test_the_claim_on_a_vacated_place_expires_and_a_bag_beside_a_person_is_born_still():
    """A new id where the jump happened more than ``vacated_s`` ago, or a bag appearing beside a person whose box stays
    put, is born still (absorbed after ``absorb_after_s``)."""
    still = StillObjects(stationary_after_s=1.0, absorb_after_s=2.0, vacated_s=2.0)
    k = walk_in(still)
    still.update([Obj(1, (150, 40, 180, 200))], k / FPS)
    late = k + 1 + int(2.5 * FPS)
    for j in range(k + 1, late):
        still.update([Obj(1, (150, 40, 180, 200))], j / FPS)
    absorbed = []
    for j in range(late, late + int(3 * FPS)):
        absorbed += still.update([Obj(1, (150, 40, 180, 200)), Obj(8, PERSON), Obj(9, (185, 180, 200, 200))], j / FPS)[1]
    assert not still.records[8].moved and not still.records[9].moved
    assert {r.id for r in absorbed} == {8, 9}


def test_record_round_trip_keeps_the_vacated_place_and_reads_older_states():
    r = StillRecord(3, (0, 0, 9, 9), (1, 1, 9, 9), True, 1.0, 2.0, seen_bbox=(1, 1, 9, 9), vacated=(5, 5, 20, 20), vacated_t=1.5)
    assert StillRecord.from_json(r.to_json()) == r
    old = r.to_json()
    del old["vacated"], old["vacated_t"]
    assert StillRecord.from_json(old).vacated is None
