"""Seat maps and seat assignment that keeps colleagues apart [pure].

A room is a grid of rows × columns; a seat is labelled "RR-CC". Two seats are adjacent
when they share a side (left/right or front/back) — the neighbours a candidate can see
or whisper to. Assignment is random, then improved by seeded local search that swaps
seats while that lowers the number of adjacent pairs from the same employer (an empty
employer is unknown and never counts). The result is reproducible from the seed.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from engine.errors import N_, InvalidInputError

MAX_SIDE = 40
TRIES = 12  # random partner seats tried per conflicted seat


@dataclass(frozen=True, order=True)
class Seat:
    row: int
    column: int

    @property
    def label(self) -> str:
        return f"{self.row:02d}-{self.column:02d}"


def parse_label(label: str) -> Seat:
    try:
        row, column = (int(part) for part in label.strip().split("-"))
    except ValueError:
        raise InvalidInputError(N_("seat '%(seat)s' is not a seat such as 03-05 (row-column)"), "missing_seats",
                                seat=label) from None
    return Seat(row, column)


def seat_map(rows: int, columns: int, missing: Iterable[str] = ()) -> list[Seat]:
    """Every existing seat, front row first."""
    if not (1 <= rows <= MAX_SIDE and 1 <= columns <= MAX_SIDE):
        raise InvalidInputError(N_("rows and columns must each be between 1 and %(limit)s"), "rows", limit=MAX_SIDE)
    gone = set()
    for label in missing:
        seat = parse_label(label)
        if not (1 <= seat.row <= rows and 1 <= seat.column <= columns):
            raise InvalidInputError(N_("seat %(seat)s is outside the %(rows)s × %(columns)s room"), "missing_seats",
                                    seat=label, rows=rows, columns=columns)
        gone.add(seat)
    return [Seat(r, c) for r in range(1, rows + 1) for c in range(1, columns + 1) if Seat(r, c) not in gone]


def _neighbours(seats: Sequence[Seat]) -> dict[Seat, list[Seat]]:
    present = set(seats)
    return {s: [n for n in (Seat(s.row - 1, s.column), Seat(s.row + 1, s.column), Seat(s.row, s.column - 1),
                            Seat(s.row, s.column + 1)) if n in present] for s in seats}


def same_employer_pairs(placement: Mapping[Hashable, Seat], employer_of: Mapping[Hashable, str]) -> int:
    """How many adjacent seat pairs hold two candidates of the same (known) employer."""
    at = {seat: employer_of[key] for key, seat in placement.items()}
    pairs = 0
    for seat, employer in at.items():
        if not employer:
            continue
        for other in (Seat(seat.row + 1, seat.column), Seat(seat.row, seat.column + 1)):
            pairs += at.get(other) == employer
    return pairs


def assign(employer_of: Mapping[Hashable, str], seats: Sequence[Seat], seed: int,
           sweeps: int = 200) -> dict[Hashable, Seat]:
    """A seat for every candidate (keys of ``employer_of``), random but with colleagues kept apart."""
    keys = sorted(employer_of, key=str)
    if len(keys) > len(seats):
        raise InvalidInputError(N_("%(candidates)s candidates do not fit in %(seats)s seats"), "room",
                                candidates=len(keys), seats=len(seats))
    rng = random.Random(seed)
    order = list(seats)
    rng.shuffle(order)
    holder: dict[Seat, Hashable | None] = {seat: None for seat in seats}
    for key, seat in zip(keys, order, strict=False):
        holder[seat] = key
    neighbours = _neighbours(seats)

    def clashes(seat: Seat, key: Hashable | None) -> int:
        employer = employer_of[key] if key is not None else ""
        if not employer:
            return 0
        return sum(1 for n in neighbours[seat] if holder[n] is not None and employer_of[holder[n]] == employer)

    all_seats = list(seats)

    def swap_gain(a: Seat, b: Seat) -> int:
        before = clashes(a, holder[a]) + clashes(b, holder[b])
        holder[a], holder[b] = holder[b], holder[a]
        after = clashes(a, holder[a]) + clashes(b, holder[b])
        holder[a], holder[b] = holder[b], holder[a]
        return before - after

    for _ in range(sweeps):
        conflicted = [s for s in all_seats if holder[s] is not None and clashes(s, holder[s])]
        if not conflicted:
            break
        rng.shuffle(conflicted)
        for a in conflicted:
            if not clashes(a, holder[a]):
                continue
            tries = [all_seats[rng.randrange(len(all_seats))] for _ in range(TRIES)]
            gain, b = max(((swap_gain(a, b), b) for b in tries if b != a and holder[b] != holder[a]),
                          default=(-1, a), key=lambda pair: pair[0])
            if gain > 0 or (gain == 0 and rng.random() < 0.3):  # sideways moves escape plateaus
                holder[a], holder[b] = holder[b], holder[a]
    return {key: seat for seat, key in holder.items() if key is not None}


def random_assign(keys: Sequence[Hashable], seats: Sequence[Seat], seed: int) -> dict[Hashable, Seat]:
    """Plain random seating: the baseline the separation is measured against."""
    order = list(seats)
    random.Random(seed).shuffle(order)
    return dict(zip(sorted(keys, key=str), order, strict=False))
