"""Item quality for one occupation and level, from live responses: classical statistics,
IRT parameters of the latest calibration, S-X² misfit, Mantel–Haenszel DIF, exposure, and
appraisal points with too few usable items. Every number comes from ``itembank.irt``.

The responses are passed in (``LiveResponse`` rows) because sittings live in the engine
layer above; the caller scores them with ``itembank.scoring``.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlmodel import Session, col, select

from itembank.calibrations import latest_parameters
from itembank.irt.classical import classical_stats
from itembank.irt.data import ResponseData
from itembank.irt.dif import mantel_haenszel
from itembank.irt.errors import IRTError
from itembank.irt.fit import s_x2
from itembank.irt.models import ItemBank, ItemParams
from itembank.models import AppraisalNode, Item, ItemCalibration, ItemStatus, ItemVersion, NodeKind
from itembank.sanitize import plain_text

USABLE = (ItemStatus.approved, ItemStatus.active)


@dataclass(frozen=True)
class Thresholds:
    too_easy: float = 0.95
    too_hard: float = 0.10
    low_discrimination: float = 0.20
    misfit_p: float = 0.01
    over_exposed: float = 0.30  # share of sittings that saw the item
    min_items_per_point: int = 3
    min_responses: int = 20  # below this, classical flags are not raised


@dataclass(frozen=True)
class LiveResponse:
    person: str
    item_id: int
    score: int
    group: str = ""  # for DIF, e.g. the candidate's sex


@dataclass(frozen=True)
class Flag:
    kind: str
    message: str


@dataclass
class ItemQuality:
    item_id: int
    point_code: str
    status: str
    stem: str
    exposures: int = 0
    n: int = 0
    p_value: float | None = None
    point_biserial: float | None = None
    model: str | None = None
    a: float | None = None
    b: float | None = None
    s_x2_p: float | None = None
    dif_class: str | None = None
    flags: list[Flag] = field(default_factory=list)


@dataclass(frozen=True)
class PointCoverage:
    code: str
    name: str
    usable: int


@dataclass
class QualityReport:
    items: list[ItemQuality]
    thin_points: list[PointCoverage]
    sittings: int
    alpha: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[ItemQuality]:
        return [row for row in self.items if row.flags]


def _finite(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def quality_report(session: Session, occupation_id: int, level: str, responses: Sequence[LiveResponse],
                   sittings: int, exposures: dict[int, int], limits: Thresholds = Thresholds()) -> QualityReport:
    rows = session.exec(select(Item, ItemVersion, AppraisalNode)
                        .join(ItemVersion, (col(ItemVersion.item_id) == Item.id)
                              & (col(ItemVersion.version_no) == Item.current_version))
                        .join(AppraisalNode, col(AppraisalNode.id) == Item.appraisal_point_id)
                        .where(Item.occupation_id == occupation_id, Item.level == level,
                               Item.status != ItemStatus.retired).order_by(Item.id)).all()
    items = {item.id: ItemQuality(item.id, point.code, item.status.value, plain_text(version.stem)[:80],
                                  exposures=exposures.get(item.id, 0)) for item, version, point in rows}
    report = QualityReport(list(items.values()), _thin_points(session, occupation_id, level, limits), sittings)
    data, groups = _response_data([r for r in responses if r.item_id in items])
    if data is not None:
        _classical(data, items, report, limits)
        bank = _calibrated_bank(session, [item.id for item, _v, _p in rows], items)
        if bank is not None:
            _misfit(data, bank, items, report, limits)
        _dif(data, groups, items, report)
    for row in items.values():
        _exposure_flags(row, sittings, limits)
    return report


def _response_data(responses: Sequence[LiveResponse]) -> tuple[ResponseData | None, np.ndarray]:
    if not responses:
        return None, np.array([])
    people = sorted({r.person for r in responses})
    item_ids = sorted({r.item_id for r in responses})
    p_index = {p: i for i, p in enumerate(people)}
    i_index = {j: i for i, j in enumerate(item_ids)}
    dense = np.full((len(people), len(item_ids)), np.nan)
    groups = np.array([""] * len(people), dtype=object)
    for r in responses:
        dense[p_index[r.person], i_index[r.item_id]] = r.score
        groups[p_index[r.person]] = r.group
    # Scores are 0/1: say so, or an item everyone got right would look like a one-category item.
    return (ResponseData.from_dense(dense, item_ids=[str(j) for j in item_ids], categories=[(0, 1)] * len(item_ids)),
            groups.astype(str))


def _classical(data: ResponseData, items: dict[int, ItemQuality], report: QualityReport, limits: Thresholds) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        stats = classical_stats(data)
    report.alpha = _finite(stats.alpha)
    for j, raw_id in enumerate(stats.item_ids):
        row = items[int(raw_id)]
        row.n, row.p_value, row.point_biserial = int(stats.n[j]), _finite(stats.p_value[j]), _finite(
            stats.point_biserial[j])
        if row.n < limits.min_responses:
            continue
        if row.p_value is not None and row.p_value > limits.too_easy:
            row.flags.append(Flag("too_easy", f"p = {row.p_value:.2f}"))
        if row.p_value is not None and row.p_value < limits.too_hard:
            row.flags.append(Flag("too_hard", f"p = {row.p_value:.2f}"))
        if row.point_biserial is not None and row.point_biserial < limits.low_discrimination:
            row.flags.append(Flag("low_discrimination", f"r_pb = {row.point_biserial:.2f}"))


def _calibrated_bank(session: Session, item_ids: list[int], items: dict[int, ItemQuality]) -> ItemBank | None:
    versions = session.exec(select(ItemVersion.id, ItemVersion.item_id)
                            .where(col(ItemVersion.item_id).in_(item_ids))).all()
    by_version = dict(versions)
    latest: dict[int, ItemCalibration] = {}
    for version_id, calibration in latest_parameters(session, list(by_version)).items():
        item_id = by_version[version_id]
        if item_id not in latest or calibration.calibration_run_id >= latest[item_id].calibration_run_id:
            latest[item_id] = calibration
    params = []
    for item_id, calibration in sorted(latest.items()):
        row = items[item_id]
        row.model, row.a = calibration.model, calibration.a
        row.b = -calibration.d[0] / calibration.a if len(calibration.d) == 1 and calibration.a else None
        params.append(as_params(str(item_id), calibration))
    try:
        return ItemBank.from_items(params) if params else None
    except IRTError:
        return None


def as_params(item_id: str, calibration: ItemCalibration) -> ItemParams:
    return ItemParams(id=item_id, model=calibration.model, a=calibration.a, d=tuple(calibration.d),
                      c=calibration.c or 0.0)


def _misfit(data: ResponseData, bank: ItemBank, items: dict[int, ItemQuality], report: QualityReport,
            limits: Thresholds) -> None:
    keep = [j for j, raw in enumerate(data.item_ids) if raw in set(bank.ids)]
    if len(keep) < 2:
        return
    try:
        subset = ResponseData.from_dense(data.to_dense(raw=True)[:, keep], item_ids=[data.item_ids[j] for j in keep],
                                         categories=[(0, 1)] * len(keep))
        fit = s_x2(subset, bank.subset(bank.index(subset.item_ids)))
    except (IRTError, ValueError) as exc:
        report.notes.append(f"S-X² not computed: {exc}")
        return
    for raw_id, p in zip(fit.item_ids, fit.p, strict=False):
        row = items[int(raw_id)]
        row.s_x2_p = _finite(p)
        if row.s_x2_p is not None and row.s_x2_p < limits.misfit_p:
            row.flags.append(Flag("misfit", f"S-X² p = {row.s_x2_p:.3f}"))


def _dif(data: ResponseData, groups: np.ndarray, items: dict[int, ItemQuality], report: QualityReport) -> None:
    if len(set(groups.tolist()) - {""}) != 2:
        report.notes.append("DIF needs two groups of candidates")
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            dif = mantel_haenszel(data, groups)
    except (IRTError, ValueError) as exc:
        report.notes.append(f"DIF not computed: {exc}")
        return
    for raw_id, ets in zip(dif.item_ids, dif.ets_class, strict=False):
        row = items[int(raw_id)]
        row.dif_class = ets
        if ets == "C":
            row.flags.append(Flag("dif", f"Mantel–Haenszel class C ({dif.reference}/{dif.focal})"))


def _exposure_flags(row: ItemQuality, sittings: int, limits: Thresholds) -> None:
    if row.status == ItemStatus.active.value and row.exposures == 0:
        row.flags.append(Flag("never_used", "active but never administered"))
    if sittings and row.exposures / sittings > limits.over_exposed:
        row.flags.append(Flag("over_exposed", f"seen in {row.exposures} of {sittings} sittings"))


def _thin_points(session: Session, occupation_id: int, level: str, limits: Thresholds) -> list[PointCoverage]:
    points = session.exec(select(AppraisalNode).where(AppraisalNode.occupation_id == occupation_id,
                                                      AppraisalNode.level == level,
                                                      AppraisalNode.kind == NodeKind.point)
                          .order_by(AppraisalNode.code)).all()
    counts: dict[int, int] = defaultdict(int)
    for point_id in session.exec(select(Item.appraisal_point_id).where(col(Item.status).in_(USABLE),
                                                                       Item.occupation_id == occupation_id,
                                                                       Item.level == level)).all():
        counts[point_id] += 1
    return [PointCoverage(p.code, p.name, counts[p.id]) for p in points if counts[p.id] < limits.min_items_per_point]


# ---- curves ----------------------------------------------------------------------------

WIDTH, HEIGHT, PAD = 320, 180, 28


def curves_svg(calibration: ItemCalibration, points: int = 81) -> str:
    """Inline SVG with the item characteristic curve (expected score, left axis) and the
    information curve (dashed, scaled to its maximum) over θ in [−4, 4]."""
    bank = ItemBank.from_items([as_params("item", calibration)])
    theta = np.linspace(-4, 4, points)
    expected = bank.expected_scores(theta)[:, 0] / max(1, bank.n_categories[0] - 1)
    information = bank.item_information(theta)[:, 0]
    peak = float(information.max()) or 1.0

    def path(values: np.ndarray) -> str:
        xs = PAD + (theta + 4) / 8 * (WIDTH - 2 * PAD)
        ys = HEIGHT - PAD - np.clip(values, 0, 1) * (HEIGHT - 2 * PAD)
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=False))

    axis = (f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="currentColor"/>'
            f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="currentColor"/>')
    ticks = "".join(f'<text x="{PAD + (t + 4) / 8 * (WIDTH - 2 * PAD):.1f}" y="{HEIGHT - 8}" font-size="10" '
                    f'text-anchor="middle">{t}</text>' for t in range(-4, 5, 2))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'data-testid="item-curves">{axis}{ticks}'
            f'<polyline fill="none" stroke="#1565c0" stroke-width="2" points="{path(expected)}" data-curve="icc"/>'
            f'<polyline fill="none" stroke="#b26a00" stroke-width="2" stroke-dasharray="5 3" '
            f'points="{path(information / peak)}" data-curve="information"/>'
            f'<text x="{WIDTH - PAD}" y="{PAD - 8}" font-size="10" text-anchor="end">max I = {peak:.2f}</text></svg>')


def latest_calibration(session: Session, item_id: int) -> ItemCalibration | None:
    versions = session.exec(select(ItemVersion.id).where(ItemVersion.item_id == item_id)).all()
    found = latest_parameters(session, list(versions))
    return max(found.values(), key=lambda c: (c.calibration_run_id, c.item_version_id)) if found else None
