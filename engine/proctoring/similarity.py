"""Answer similarity between candidates of one room: identical incorrect answers beyond chance.

Pure core (numpy, no database). The index is a generalized binomial test restricted to
items both candidates answered *incorrectly* — the evidence Holland's K-index and van der
Linden & Sotaridona's GBT rest on: two independent candidates who both miss an item
choose the same wrong option only as often as the room's wrong answers make likely.

For a pair (subject, other) and each item both answered wrongly, the chance of the same
wrong choice under independence is ``π_k = Σ_o q_k(o)²``, where ``q_k`` are the shares of
the wrong options among the *other* candidates of the room (the pair itself left out,
smoothed by half a count so that an option nobody else chose is not impossible). The
number of identical wrong answers ``M`` is compared with the Poisson-binomial
distribution of ``Σ Bernoulli(π_k)``: ``p = P(X ≥ M)``. A pair is flagged when ``p`` is
below ``alpha`` divided by the number of candidates compared (Bonferroni), so a room of
any size keeps the family-wise false-flag rate per candidate at ``alpha``.

A flag is evidence for a person to weigh (seating plan, who sat next to whom), never a
verdict: identical wrong answers also arise from a shared misconception taught in class.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np

Answer = tuple[str, ...]


@dataclass(frozen=True)
class PairEvidence:
    other: Hashable
    common_wrong: int  # items both answered incorrectly
    identical_wrong: int  # of those, with the very same wrong answer
    expected: float  # identical wrong answers expected by chance
    p_value: float
    flagged: bool


def poisson_binomial_tail(probabilities: np.ndarray, at_least: int) -> float:
    """P(X ≥ at_least) for X a sum of independent Bernoulli(p_i) (exact, by convolution)."""
    if at_least <= 0:
        return 1.0
    dist = np.zeros(len(probabilities) + 1)
    dist[0] = 1.0
    for n, p in enumerate(probabilities, start=1):
        dist[1:n + 1] = dist[1:n + 1] * (1 - p) + dist[:n] * p
        dist[0] *= 1 - p
    return float(min(1.0, dist[at_least:].sum()))


def _wrong(answers: Mapping[Hashable, Answer], keys: Mapping[Hashable, Answer]) -> dict[Hashable, Answer]:
    return {item: answer for item, answer in answers.items()
            if answer and item in keys and tuple(sorted(answer)) != tuple(sorted(keys[item]))}


def compare(subject: Hashable, room: Mapping[Hashable, Mapping[Hashable, Answer]], keys: Mapping[Hashable, Answer],
            alpha: float = 0.01, min_common: int = 4) -> list[PairEvidence]:
    """The subject against every other candidate of the room, most suspicious first.

    ``room`` maps candidate → {item → answer (option ids)}; ``keys`` maps item → key.
    Pairs with fewer than ``min_common`` items both answered wrongly are not tested.
    """
    wrong = {who: _wrong(answers, keys) for who, answers in room.items()}
    counts: dict[Hashable, Counter] = {}
    for answers in wrong.values():
        for item, answer in answers.items():
            counts.setdefault(item, Counter())[tuple(sorted(answer))] += 1
    others = [who for who in room if who != subject]
    threshold = alpha / max(1, len(others))
    mine = wrong.get(subject, {})
    found = []
    for other in others:
        theirs = wrong[other]
        common = [item for item in mine if item in theirs]
        if len(common) < min_common:
            continue
        chances, identical = [], 0
        for item in common:
            a, b = tuple(sorted(mine[item])), tuple(sorted(theirs[item]))
            identical += a == b
            chances.append(_match_chance(counts[item], a, b))
        probabilities = np.asarray(chances)
        p = poisson_binomial_tail(probabilities, identical)
        found.append(PairEvidence(other, len(common), identical, round(float(probabilities.sum()), 3), p,
                                  p < threshold))
    return sorted(found, key=lambda e: e.p_value)


def _match_chance(counts: Counter, a: Answer, b: Answer) -> float:
    """Chance two independent wrong answers to this item coincide, from the others' wrong answers."""
    rest = Counter(counts)
    rest[a] -= 1
    rest[b] -= 1
    options = {answer for answer, n in rest.items() if n > 0} | {a, b}
    shares = np.array([max(rest[o], 0) + 0.5 for o in options], dtype=float)
    shares /= shares.sum()
    return float(np.clip((shares**2).sum(), 1e-6, 1.0))
