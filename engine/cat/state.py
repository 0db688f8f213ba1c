"""Response trails of many persons at once: the state that every adaptive step folds.

A :class:`TrailState` holds, for ``n`` persons, the operational (scored) responses so
far and the quantities that are cheaper to keep than to recompute: the log-likelihood
and the test information on the quadrature nodes. It is updated by :meth:`record`,
one response per person, so a session's state is a fold over its response list. A
single candidate session is the case ``n = 1``; simulations run thousands in lockstep.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .bank import CATBank


@dataclass
class TrailState:
    """Adaptive-test state of ``n`` persons.

    Attributes
    ----------
    items : (n, capacity) positions of the scored items in order, −1 after the end
    scores : (n, capacity) category indices of the responses
    length : (n,) number of scored responses
    loglik : (n, n_nodes) log-likelihood of the responses at the quadrature nodes
    info_nodes : (n, n_nodes) test information of the answered items at the nodes
    blocked : (n, n_items) items that may not be served (answered, excluded, enemies of
        answered items, previous sittings)
    rejected : (n, n_items) items withdrawn by the exposure control for this test
    elapsed : (n,) seconds spent
    """

    items: np.ndarray
    scores: np.ndarray
    length: np.ndarray
    loglik: np.ndarray
    info_nodes: np.ndarray
    blocked: np.ndarray
    rejected: np.ndarray
    elapsed: np.ndarray

    @classmethod
    def empty(cls, bank: CATBank, n: int, capacity: int,
              blocked: np.ndarray | None = None) -> TrailState:
        q = bank.nodes.size
        blk = np.zeros((n, bank.n_items), dtype=bool) if blocked is None else blocked.copy()
        return cls(items=np.full((n, capacity), -1, dtype=np.int64),
                   scores=np.zeros((n, capacity), dtype=np.int64),
                   length=np.zeros(n, dtype=np.int64), loglik=np.zeros((n, q)),
                   info_nodes=np.zeros((n, q)), blocked=blk,
                   rejected=np.zeros((n, bank.n_items), dtype=bool), elapsed=np.zeros(n))

    @property
    def n(self) -> int:
        return self.length.size

    def copy(self) -> TrailState:
        return replace(self, **{k: v.copy() for k, v in vars(self).items()})

    def rows(self, index: np.ndarray) -> TrailState:
        """The state of a subset of persons (a copy)."""
        return replace(self, **{k: v[index] for k, v in vars(self).items()})

    def put_rows(self, index: np.ndarray, part: TrailState) -> None:
        for k, v in vars(self).items():
            v[index] = getattr(part, k)

    def record(self, bank: CATBank, rows: np.ndarray, items: np.ndarray, scores: np.ndarray,
               seconds: np.ndarray | float = 0.0, enemies: EnemyIndex | None = None) -> None:
        """Append one scored response to each of the persons ``rows``.

        Parameters
        ----------
        rows : (m,) person positions
        items : (m,) item positions
        scores : (m,) category indices
        """
        pos = self.length[rows]
        self.items[rows, pos] = items
        self.scores[rows, pos] = scores
        self.length[rows] = pos + 1
        self.loglik[rows] += bank.log_prob[bank.response_rows(items, scores)]
        self.info_nodes[rows] += bank.info_nodes[items]
        self.blocked[rows, items] = True
        if enemies is not None:
            enemies.block(self.blocked, rows, items)
        self.elapsed[rows] += seconds

    def answered(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """Items and category indices answered by one person."""
        k = self.length[row]
        return self.items[row, :k], self.scores[row, :k]


class EnemyIndex:
    """Enemy sets (items that give each other away) as an item → enemies lookup.

    Parameters
    ----------
    sets : lists of item positions; at most one item of a set may appear in a test
    n_items : bank size
    """

    def __init__(self, sets: list[list[int]], n_items: int) -> None:
        self.sets = [sorted(set(s)) for s in sets if len(set(s)) > 1]
        partners: list[set[int]] = [set() for _ in range(n_items)]
        for s in self.sets:
            for j in s:
                partners[j].update(s)
        self.partners = [np.array(sorted(p), dtype=np.int64) for p in partners]
        self.any = bool(self.sets)

    def block(self, blocked: np.ndarray, rows: np.ndarray, items: np.ndarray) -> None:
        """Mark the enemies of each person's new item as blocked."""
        for r, j in zip(np.atleast_1d(rows), np.atleast_1d(items), strict=False):
            if self.partners[j].size:
                blocked[r, self.partners[j]] = True
