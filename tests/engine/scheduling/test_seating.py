"""Seat maps and seat assignment: colleagues kept apart, measured against plain random seating."""

from __future__ import annotations

from statistics import fmean

import pytest

from engine.errors import InvalidInputError
from engine.scheduling import seating


def employers(*sizes: int) -> dict[int, str]:
    found, key = {}, 0
    for group, size in enumerate(sizes):
        for _ in range(size):
            found[key] = f"employer-{group}"
            key += 1
    return found


def test_seat_map_leaves_out_missing_seats_and_labels_row_column():
    seats = seating.seat_map(3, 4, ["02-03", "03-04"])
    assert len(seats) == 10
    assert seating.Seat(2, 3) not in seats and seats[0].label == "01-01"


@pytest.mark.parametrize("rows, columns, missing, problem", [
    (0, 5, [], "between 1 and 40"), (5, 41, [], "between 1 and 40"),
    (5, 5, ["6-1"], "outside the 5 × 5 room"), (5, 5, ["A-1"], "is not a seat such as 03-05")])
def test_bad_seat_maps_are_refused(rows, columns, missing, problem):
    with pytest.raises(InvalidInputError, match=problem):
        seating.seat_map(rows, columns, missing)


def test_adjacent_pairs_are_counted_side_by_side_and_front_to_back_only():
    placement = {1: seating.Seat(1, 1), 2: seating.Seat(1, 2), 3: seating.Seat(2, 2), 4: seating.Seat(3, 3)}
    same = {1: "A", 2: "A", 3: "A", 4: "A"}
    assert seating.same_employer_pairs(placement, same) == 2  # 1–2 side by side, 2–3 front to back; 4 diagonal
    assert seating.same_employer_pairs(placement, {1: "", 2: "", 3: "", 4: ""}) == 0  # unknown never counts


def test_two_equal_employers_in_a_room_with_spare_seats_are_fully_separated():
    """Known optimum: 40 + 40 candidates in a 10 × 10 room can sit with no colleague beside them."""
    colleagues = employers(40, 40)
    for seed in range(5):
        placement = seating.assign(colleagues, seating.seat_map(10, 10), seed)
        assert len(set(placement.values())) == 80
        assert seating.same_employer_pairs(placement, colleagues) == 0


def test_separation_beats_random_seating_by_far():
    """200 candidates from five employers of uneven size in a 15 × 14 room."""
    colleagues = employers(80, 50, 30, 20, 20)
    seats = seating.seat_map(15, 14)
    random_pairs = fmean(seating.same_employer_pairs(seating.random_assign(list(colleagues), seats, seed), colleagues)
                         for seed in range(20))
    ours = [seating.same_employer_pairs(seating.assign(colleagues, seats, seed), colleagues) for seed in range(3)]
    assert random_pairs > 60  # random seating puts dozens of colleagues side by side
    assert max(ours) <= 0.1 * random_pairs


def test_one_dominant_employer_cannot_be_fully_separated_but_is_improved():
    colleagues = employers(70, 10)  # 70 colleagues in 80 of 100 seats: some must sit together
    seats = seating.seat_map(10, 10)
    random_pairs = fmean(seating.same_employer_pairs(seating.random_assign(list(colleagues), seats, s), colleagues)
                         for s in range(20))
    ours = seating.same_employer_pairs(seating.assign(colleagues, seats, 1), colleagues)
    assert 0 < ours < random_pairs


def test_assignment_is_reproducible_from_the_seed_and_random_across_seeds():
    colleagues = employers(10, 10, 10)
    seats = seating.seat_map(6, 6)
    assert seating.assign(colleagues, seats, 7) == seating.assign(colleagues, seats, 7)
    assert seating.assign(colleagues, seats, 7) != seating.assign(colleagues, seats, 8)


def test_more_candidates_than_seats_is_refused():
    with pytest.raises(InvalidInputError, match="5 candidates do not fit in 4 seats"):
        seating.assign(employers(5), seating.seat_map(2, 2), 1)
