"""Response data: dense (NaN = not presented) or sparse, with validation and CSV reading.

Internally responses are kept as observed triplets (person, item, category index), so
memory scales with the number of observed responses. The E-step design matrices are
built from them in :mod:`.likelihood`.

Raw integer scores are recoded per item to consecutive category indices ``0..K−1``
following the sorted observed values (``categories``), as established MML programs do;
the raw values are kept so that expected scores stay in raw units.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .errors import DataError

DENSE_FILL_THRESHOLD = 0.5
DENSE_MAX_CELLS = 60_000_000
MAX_SCORE = 1000


@dataclass
class ResponseData:
    """Observed item responses.

    Attributes
    ----------
    persons : (n_obs,) person index of each observed response
    items : (n_obs,) item index of each observed response
    scores : (n_obs,) category index (0..K_j−1) of each observed response
    n_persons, n_items : matrix dimensions
    item_ids : (n_items,) item identifiers
    person_ids : (n_persons,) person identifiers
    categories : per item, the raw score value of each category index
    """

    persons: np.ndarray
    items: np.ndarray
    scores: np.ndarray
    n_persons: int
    n_items: int
    item_ids: tuple[str, ...]
    person_ids: tuple[str, ...]
    categories: tuple[tuple[int, ...], ...]
    _cache: dict = field(default_factory=dict, repr=False)

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_dense(cls, responses, item_ids=None, person_ids=None, categories=None):
        """Build from a dense array, shape (n_persons, n_items); NaN means not presented."""
        x = np.asarray(responses, dtype=float)
        if x.ndim != 2:
            raise DataError("responses must be a 2-D array (persons × items)")
        obs = ~np.isnan(x)
        persons, items = np.nonzero(obs)
        return cls.from_triplets(persons, items, x[obs], x.shape, item_ids, person_ids,
                                 categories)

    @classmethod
    def from_sparse(cls, matrix, item_ids=None, person_ids=None, categories=None):
        """Build from a scipy.sparse matrix, shape (n_persons, n_items).

        Every *stored* entry is an observed response, explicit zeros included; entries
        that are not stored were not presented.
        """
        coo = sp.coo_matrix(matrix)
        return cls.from_triplets(coo.row, coo.col, coo.data, coo.shape, item_ids, person_ids,
                                 categories)

    @classmethod
    def from_triplets(cls, persons, items, values, shape, item_ids=None, person_ids=None,
                      categories=None):
        """Build from observed (person, item, raw score) triplets."""
        n_persons, n_items = int(shape[0]), int(shape[1])
        persons = np.asarray(persons, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        values = np.asarray(values, dtype=float)
        item_ids = tuple(str(i) for i in (item_ids if item_ids is not None
                                          else [f"item{j + 1}" for j in range(n_items)]))
        person_ids = tuple(str(p) for p in (person_ids if person_ids is not None
                                            else [f"p{i + 1}" for i in range(n_persons)]))
        if len(item_ids) != n_items or len(person_ids) != n_persons:
            raise DataError("item_ids/person_ids do not match the response matrix shape")
        bad = np.flatnonzero(values != np.round(values))
        if bad.size:
            k = bad[0]
            raise DataError(f"score {values[k]!r} is not an integer",
                            row=int(persons[k]) + 1, column=item_ids[items[k]])
        raw = values.astype(np.int64)
        scores, cats = _recode(raw, items, n_items, item_ids, persons, categories)
        return cls(persons, items, scores, n_persons, n_items, item_ids, person_ids, cats)

    # -- views --------------------------------------------------------------------------

    @property
    def n_observed(self) -> int:
        return int(self.scores.size)

    @property
    def n_categories(self) -> np.ndarray:
        """(n_items,) number of categories of each item."""
        return np.array([len(c) for c in self.categories], dtype=int)

    def raw_scores(self) -> np.ndarray:
        """(n_obs,) raw score values of the observed responses."""
        lut = _category_table(self.categories)
        return lut[self.items, self.scores]

    def to_dense(self, raw: bool = False) -> np.ndarray:
        """Dense (n_persons, n_items) array of category indices (or raw scores), NaN if missing."""
        out = np.full((self.n_persons, self.n_items), np.nan)
        out[self.persons, self.items] = self.raw_scores() if raw else self.scores
        return out

    def observed_mask(self) -> sp.csr_matrix:
        """(n_persons, n_items) sparse 0/1 matrix of presented items."""
        ones = np.ones(self.n_observed)
        return sp.csr_matrix((ones, (self.persons, self.items)),
                             shape=(self.n_persons, self.n_items))

    def is_dense(self) -> bool:
        """True when a dense E-step is cheaper than a sparse one."""
        cells = self.n_persons * self.n_items
        return cells <= DENSE_MAX_CELLS and self.n_observed >= DENSE_FILL_THRESHOLD * cells

    def indicator(self, n_columns_per_item: int):
        """Category indicator, shape (n_persons, n_items · n_columns_per_item).

        Column ``j · K + k`` is 1 where person answered item j in category k. Dense
        ``ndarray`` for nearly complete data, CSR otherwise (memory ∝ observed responses).
        """
        key = ("indicator", n_columns_per_item)
        if key not in self._cache:
            cols = self.items * n_columns_per_item + self.scores
            shape = (self.n_persons, self.n_items * n_columns_per_item)
            if self.is_dense():
                mat = np.zeros(shape)
                mat[self.persons, cols] = 1.0
            else:
                mat = sp.csr_matrix((np.ones(self.n_observed), (self.persons, cols)), shape=shape)
            self._cache[key] = mat
        return self._cache[key]

    def subset_persons(self, mask: np.ndarray) -> ResponseData:
        """Data restricted to persons where ``mask`` (n_persons,) is true (categories kept)."""
        keep = np.flatnonzero(mask)
        new_index = np.full(self.n_persons, -1)
        new_index[keep] = np.arange(keep.size)
        sel = mask[self.persons]
        return ResponseData(new_index[self.persons[sel]], self.items[sel], self.scores[sel],
                            keep.size, self.n_items, self.item_ids,
                            tuple(self.person_ids[i] for i in keep), self.categories)

    def subset_items(self, index: Sequence[int]) -> ResponseData:
        """Data restricted to the given item positions (in that order)."""
        index = np.asarray(index, dtype=int)
        new_index = np.full(self.n_items, -1)
        new_index[index] = np.arange(index.size)
        sel = new_index[self.items] >= 0
        return ResponseData(self.persons[sel], new_index[self.items[sel]], self.scores[sel],
                            self.n_persons, index.size, tuple(self.item_ids[i] for i in index),
                            self.person_ids, tuple(self.categories[i] for i in index))

    def validate_for_calibration(self) -> None:
        """Raise :class:`DataError` for an item nobody answered or with one category only."""
        counts = np.bincount(self.items, minlength=self.n_items)
        for j in range(self.n_items):
            if counts[j] == 0:
                raise DataError("item was answered by nobody", column=self.item_ids[j])
            if len(self.categories[j]) < 2:
                raise DataError(f"all responses are {self.categories[j][0]} (constant column)",
                                column=self.item_ids[j])


def as_responses(responses, item_ids=None) -> ResponseData:
    """Accept a :class:`ResponseData`, a dense array (NaN = not presented) or a scipy.sparse
    matrix (stored entries, explicit zeros included, are the observed responses)."""
    if isinstance(responses, ResponseData):
        return responses
    if sp.issparse(responses):
        return ResponseData.from_sparse(responses, item_ids=item_ids)
    return ResponseData.from_dense(responses, item_ids=item_ids)


def _category_table(categories) -> np.ndarray:
    kmax = max((len(c) for c in categories), default=1)
    lut = np.zeros((len(categories), max(kmax, 1)), dtype=np.int64)
    for j, cats in enumerate(categories):
        lut[j, : len(cats)] = cats
    return lut


def _recode(raw, items, n_items, item_ids, persons, categories):
    """Map raw scores to category indices per item; returns (scores, categories)."""
    if raw.size and raw.min() < 0:
        k = int(np.argmin(raw))
        raise DataError(f"negative score {raw[k]}", row=int(persons[k]) + 1,
                        column=item_ids[items[k]])
    if raw.size and raw.max() > MAX_SCORE:
        k = int(np.argmax(raw))
        raise DataError(f"score {raw[k]} exceeds the largest allowed score {MAX_SCORE}",
                        row=int(persons[k]) + 1, column=item_ids[items[k]])
    width = int(raw.max()) + 1 if raw.size else 1
    if categories is None:
        present = np.zeros(n_items * width, dtype=bool)
        present[items * width + raw] = True
        present = present.reshape(n_items, width)
        categories = tuple(tuple(int(v) for v in np.flatnonzero(row)) for row in present)
    else:
        categories = tuple(tuple(int(v) for v in c) for c in categories)
        if len(categories) != n_items:
            raise DataError("categories must list one tuple per item")
    top = max([width] + [c[-1] + 1 for c in categories if c])
    lut = np.full((n_items, top), -1, dtype=np.int64)
    for j, cats in enumerate(categories):
        lut[j, list(cats)] = np.arange(len(cats))
    scores = lut[items, raw] if raw.size else raw.copy()
    bad = np.flatnonzero(scores < 0)
    if bad.size:
        k = bad[0]
        j = int(items[k])
        raise DataError(f"score {raw[k]} is not a category of this item {list(categories[j])}",
                        row=int(persons[k]) + 1, column=item_ids[j])
    return scores, categories


def read_responses_csv(path: str | Path, group_column: str | None = None):
    """Read a RESPONSES.csv file.

    Format: a header of item ids, optionally preceded by ``person_id``; one row per
    person; integer scores; an empty cell means "not presented".

    Parameters
    ----------
    path : file to read
    group_column : optional column holding a grouping variable (e.g. for DIF); it is
        removed from the items and returned separately

    Returns
    -------
    data : ResponseData
    groups : (n_persons,) array of str, only when ``group_column`` is given

    Raises
    ------
    DataError
        Naming the 1-based data row (the header is row 0... data rows start at 1) and
        the column for ragged rows, non-integer cells and negative scores.
    """
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise DataError(f"{path}: file is empty") from None
        rows = [r for r in reader if any(cell.strip() for cell in r)]
    has_pid = bool(header) and header[0].lower() in ("person_id", "person", "id")
    item_cols = [i for i in range(int(has_pid), len(header)) if header[i] != group_column]
    if group_column is not None and group_column not in header:
        raise DataError(f"group column {group_column!r} not found in the header")
    if not item_cols:
        raise DataError("the header names no item columns")
    _check_header(header)
    values, persons, items, groups, pids = [], [], [], [], []
    for r, row in enumerate(rows, start=1):
        if len(row) != len(header):
            raise DataError(f"has {len(row)} cells but the header has {len(header)}", row=r)
        pids.append(row[0].strip() if has_pid else f"p{r}")
        if group_column is not None:
            groups.append(row[header.index(group_column)].strip())
        for j, col in enumerate(item_cols):
            cell = row[col].strip()
            if cell == "" or cell.upper() == "NA":
                continue
            values.append(_parse_score(cell, r, header[col]))
            persons.append(r - 1)
            items.append(j)
    data = ResponseData.from_triplets(persons, items, values, (len(rows), len(item_cols)),
                                      [header[c] for c in item_cols], pids)
    return (data, np.array(groups, dtype=object)) if group_column is not None else data


def _check_header(header: list[str]) -> None:
    seen = set()
    for name in header:
        if not name:
            raise DataError("the header has an empty column name")
        if name in seen:
            raise DataError("duplicate column name in the header", column=name)
        seen.add(name)


def _parse_score(cell: str, row: int, column: str) -> int:
    try:
        value = float(cell)
    except ValueError:
        raise DataError(f"cell {cell!r} is not an integer score", row=row, column=column) from None
    if not np.isfinite(value) or value != int(value):
        raise DataError(f"cell {cell!r} is not an integer score", row=row, column=column)
    return int(value)
