"""The quality report over live responses: classical flags, misfit from stored calibrations,
DIF between two groups, exposure, thin appraisal points, and the item curves."""

from __future__ import annotations

import numpy as np
from sqlmodel import select

from itembank import quality
from itembank.models import (
    AppraisalNode,
    CalibrationRun,
    Item,
    ItemCalibration,
    ItemStatus,
    ItemVersion,
    NodeKind,
    Occupation,
)


def _bank(db):
    occupation = db.exec(select(Occupation)).first()
    items = list(db.exec(select(Item).where(Item.occupation_id == occupation.id).order_by(Item.id)).all())
    return occupation, items


def _responses(items, n_persons=400, seed=7):
    """2PL responses (a=1.5, b spread); item 0 everyone gets right, item 1 is a coin flip,
    item 2 is much harder for group F at equal ability (DIF)."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n_persons)
    groups = np.where(np.arange(n_persons) % 2 == 0, "M", "F")
    rows = []
    for j, item in enumerate(items):
        b = -1.5 + 3 * j / max(1, len(items) - 1)
        p = 1 / (1 + np.exp(-1.5 * (theta - b)))
        if j == 0:
            p = np.ones(n_persons)
        if j == 1:
            p = np.full(n_persons, 0.5)
        if j == 2:
            p = np.where(groups == "F", p * 0.2, p)
        answers = (rng.random(n_persons) < p).astype(int)
        rows += [quality.LiveResponse(f"p{i}", item.id, int(answers[i]), groups[i]) for i in range(n_persons)]
    return rows


class TestQualityReport:
    def test_classical_dif_exposure_and_thin_point_flags(self, db, demo):
        occupation, items = _bank(db)
        used = items[:20]
        exposures = {item.id: 400 for item in used}
        report = quality.quality_report(db, occupation.id, "level4", _responses(used), 1000, exposures)
        by_id = {row.item_id: row for row in report.items}
        kinds = {item_id: {f.kind for f in row.flags} for item_id, row in by_id.items()}
        assert "too_easy" in kinds[used[0].id]
        assert "low_discrimination" in kinds[used[1].id]
        assert "dif" in kinds[used[2].id] and by_id[used[2].id].dif_class == "C"
        assert by_id[used[10].id].p_value is not None and 0.2 < by_id[used[10].id].p_value < 0.8
        assert "too_easy" not in kinds[used[10].id] and "low_discrimination" not in kinds[used[10].id]
        assert "never_used" in kinds[items[30].id] and "never_used" not in kinds[used[5].id]
        assert report.alpha is not None and 0.5 < report.alpha < 1

    def test_over_exposure_is_a_share_of_sittings(self, db, demo):
        occupation, items = _bank(db)
        report = quality.quality_report(db, occupation.id, "level4", [], 10, {items[0].id: 4, items[1].id: 2})
        kinds = {row.item_id: {f.kind for f in row.flags} for row in report.items}
        assert "over_exposed" in kinds[items[0].id] and "over_exposed" not in kinds[items[1].id]

    def test_points_with_too_few_usable_items(self, db, demo):
        occupation, items = _bank(db)
        point_id = items[0].appraisal_point_id
        for item in db.exec(select(Item).where(Item.appraisal_point_id == point_id)).all():
            item.status = ItemStatus.draft
            db.add(item)
        db.flush()
        code = db.get(AppraisalNode, point_id).code
        report = quality.quality_report(db, occupation.id, "level4", [], 0, {})
        thin = {p.code: p.usable for p in report.thin_points}
        assert thin[code] == 0
        all_points = db.exec(select(AppraisalNode).where(AppraisalNode.kind == NodeKind.point)).all()
        assert set(thin) < {p.code for p in all_points}

    def test_misfit_uses_the_stored_calibration(self, db, demo):
        occupation, items = _bank(db)
        used = items[:12]
        run = CalibrationRun(model="2pl", n_persons=400, n_items=12, created_by="test")
        db.add(run)
        db.flush()
        for j, item in enumerate(used):
            version = db.exec(select(ItemVersion).where(ItemVersion.item_id == item.id)).first()
            b = -1.5 + 3 * j / 11
            a = 1.5 if j != 5 else -1.5  # item 5's stored parameters contradict its data
            db.add(ItemCalibration(calibration_run_id=run.id, item_version_id=version.id, model="2pl", a=a, d=[-a * b]))
        db.flush()
        rng_rows = [r for r in _responses(used, seed=11) if r.item_id not in (used[0].id, used[1].id, used[2].id)]
        report = quality.quality_report(db, occupation.id, "level4", rng_rows, 400, {})
        by_id = {row.item_id: row for row in report.items}
        assert by_id[used[4].id].a == 1.5 and by_id[used[4].id].s_x2_p is not None
        assert "misfit" in {f.kind for f in by_id[used[5].id].flags}


class TestCurves:
    def test_svg_has_both_curves_rising_icc(self, db, demo):
        calibration = ItemCalibration(calibration_run_id=1, item_version_id=1, model="2pl", a=1.2, d=[0.5])
        svg = quality.curves_svg(calibration)
        assert svg.startswith("<svg") and 'data-curve="icc"' in svg and 'data-curve="information"' in svg
        icc = svg.split('data-curve="icc"')[0].rsplit('points="', 1)[1].split('"')[0]
        ys = [float(point.split(",")[1]) for point in icc.split()]
        assert ys == sorted(ys, reverse=True), "the ICC rises (SVG y grows downwards)"
