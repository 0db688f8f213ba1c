"""Examiner pages for exam modes: settings, the simulated adaptive preview, assembled fixed
forms with their curves and coverage, the θ trail record, and the supervisor's summary."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sqlmodel import Session, select

from engine.adaptive.models import AdaptiveExamSettings
from engine.models import AuditEntry, ExamDefinition, ExamFormItem
from tests.conftest import Visitor
from tests.web.test_adaptive_flow import answer_and_go_on, sitting_id  # noqa: F401  (fixture)


def definitions(db_engine) -> tuple[int, int]:
    with Session(db_engine) as session:
        fixed = session.exec(select(ExamDefinition).where(ExamDefinition.theory_mode == "fixed")).first()
        adaptive = session.exec(select(ExamDefinition).where(ExamDefinition.theory_mode == "adaptive")).one()
        return fixed.id, adaptive.id


def snapshot(db_engine, definition_id: int):
    with Session(db_engine) as session:
        row = session.exec(select(AdaptiveExamSettings)
                           .where(AdaptiveExamSettings.exam_definition_id == definition_id)).first()
        form = session.exec(select(ExamFormItem.item_id).where(ExamFormItem.exam_definition_id == definition_id)
                            .order_by(ExamFormItem.position)).all()
        mode = session.get(ExamDefinition, definition_id).theory_mode
        return (row.settings, row.type_bounds, row.enemies) if row else None, list(form), mode


@pytest.fixture
def examiner(visitor, sitting_id) -> Visitor:  # noqa: F811  (sitting_id seeds the adaptive demo)
    return visitor.login("examiner")


def test_the_adaptive_preview_simulates_the_saved_settings(examiner, db_engine):
    _fixed, adaptive_id = definitions(db_engine)
    assert 'data-testid="mode-DG-4-THEORY-CAT"' in examiner.get("/examiner/exams").text
    page = examiner.get(f"/examiner/exams/{adaptive_id}/preview")
    assert page.status_code == 200
    summary = re.search(r'data-testid="simulation-summary">(.*?)</p>', page.text, re.S).group(1)
    rmse, length = (float(x) for x in re.search(r"RMSE ([\d.]+), mean length ([\d.]+)", summary).groups())
    assert 0.1 < rmse < 0.8 and 8 <= length <= 12  # the demo settings: 8–12 items, SE stop 0.45
    assert "blueprint violations 0" in summary
    for chart in ("chart-conditional-se", "chart-expected-length"):
        assert f'data-testid="{chart}"' in page.text
    table = page.text.split('data-testid="by-theta"')[1]
    rows = re.findall(r"<tr><td>[^<]*</td><td>(\d+)</td><td>([\d.]+)</td>", table)
    assert len(rows) >= 6 and sum(int(n) for n, _se in rows) == 400
    ses = [float(se) for _n, se in rows]
    assert max(ses) > min(ses)  # conditional: SE differs across θ


def test_saving_validates_everything_first_and_writes_nothing_on_error(examiner, db_engine):
    _fixed, adaptive_id = definitions(db_engine)
    before = snapshot(db_engine, adaptive_id)
    bad = examiner.post(f"/examiner/exams/{adaptive_id}/settings",
                        {"theory_mode": "fixed", "min_length": "15", "max_length": "10", "n_pretest": "1"})
    assert bad.status_code == 422 and 'data-field-error="settings"' in bad.text
    assert snapshot(db_engine, adaptive_id) == before  # not even the mode changed
    enemy = examiner.post(f"/examiner/exams/{adaptive_id}/settings",
                          {"theory_mode": "adaptive", "min_length": "8", "max_length": "12", "enemies": "1, x"})
    assert enemy.status_code == 422 and 'data-field-error="enemies"' in enemy.text
    assert snapshot(db_engine, adaptive_id) == before
    good = examiner.post(f"/examiner/exams/{adaptive_id}/settings",
                         {"theory_mode": "adaptive", "min_length": "4", "max_length": "6", "se_stop": "",
                          "exposure": "sympson-hetter", "exposure_rmax": "0.3", "classification": "sprt",
                          "cut_theta": "0.2", "enemies": "1, 2\n3 4 5", "type_min_single": "3"})
    assert good.status_code == 303
    settings, bounds, enemies = snapshot(db_engine, adaptive_id)[0]
    assert settings["se_stop"] is None and settings["classification"] == "sprt" and settings["cut_theta"] == 0.2
    assert settings["exposure"] == "sympson-hetter:0.3" and bounds == {"single": {"min": 3}}
    assert enemies == [[1, 2], [3, 4, 5]]
    with Session(db_engine) as session:
        row = session.exec(select(AdaptiveExamSettings)
                           .where(AdaptiveExamSettings.exam_definition_id == adaptive_id)).one()
        k = np.array(list(row.sympson_hetter.values()))
        assert k.size == 56 and k.min() < 1.0 and k.max() <= 1.0  # calibrated by simulation
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "exam.theory_mode_set")).first()


def test_an_assembled_fixed_form_meets_the_blueprint_and_becomes_the_exam_form(examiner, db_engine):
    fixed_id, _adaptive = definitions(db_engine)
    page = examiner.post(f"/examiner/exams/{fixed_id}/assemble", {"length": "20"})
    assert page.status_code == 200 and 'data-testid="assembled"' in page.text
    assert 'data-testid="chart-information"' in page.text and 'data-testid="chart-se"' in page.text
    cells = r'<tr data-rule="([^"]+)"><td>[^<]*</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>'
    coverage = re.findall(cells, page.text)
    assert {rule for rule, *_ in coverage} == {"module=A", "module=B"}
    for _rule, count, low, high in coverage:
        assert int(low) <= int(count) <= int(high)
    ids = re.search(r'name="item_ids" value="([\d,]+)"', page.text).group(1)
    assert len(ids.split(",")) == 20
    used = examiner.post(f"/examiner/exams/{fixed_id}/form", {"item_ids": ids})
    assert used.status_code == 303
    assert snapshot(db_engine, fixed_id)[1] == [int(i) for i in ids.split(",")]
    shown = examiner.get(f"/examiner/exams/{fixed_id}").text
    assert 'data-testid="chart-current-information"' in shown and "The exam&#39;s form has 20 items" in shown


def test_infeasible_assembly_names_the_constraint_and_nothing_changes(examiner, db_engine):
    fixed_id, _adaptive = definitions(db_engine)
    examiner.post(f"/examiner/exams/{fixed_id}/settings",
                  {"theory_mode": "fixed", "min_length": "8", "max_length": "12", "type_min_truefalse": "15"})
    before = snapshot(db_engine, fixed_id)[1]
    page = examiner.post(f"/examiner/exams/{fixed_id}/assemble", {"length": "20"})
    assert page.status_code == 422
    assert "type=truefalse" in page.text and "short by" in page.text
    assert snapshot(db_engine, fixed_id)[1] == before


def test_the_theta_trail_record_and_the_supervisor_summary(app, db_engine, sitting_id):  # noqa: F811
    from fastapi.testclient import TestClient

    candidate = Visitor(TestClient(app, follow_redirects=False)).login("cat1")
    candidate.post(f"/candidate/sessions/{sitting_id}/start", {})
    rng = np.random.default_rng(5)
    for seq in range(1, 5):
        answer_and_go_on(candidate, db_engine, sitting_id, rng, seq)
    supervisor = Visitor(TestClient(app, follow_redirects=False)).login("supervisor")
    page = supervisor.get(f"/supervisor/sittings/{sitting_id}").text
    assert f'hx-get="/supervisor/sittings/{sitting_id}/adaptive"' in page
    fragment = supervisor.get(f"/supervisor/sittings/{sitting_id}/adaptive").text
    scored = int(re.search(r'data-testid="adaptive-items">(\d+)<', fragment).group(1))
    assert 'data-testid="adaptive-theta"' in fragment and scored in (3, 4)  # one of the four may be a trial item
    examiner = Visitor(TestClient(app, follow_redirects=False)).login("examiner")
    record = examiner.get(f"/examiner/sittings/{sitting_id}/adaptive")
    assert record.status_code == 200
    assert 'data-testid="theta-trail"' in record.text and 'data-testid="theta-trail-band"' in record.text
    assert len(re.findall(r'<tr data-position="\d+"', record.text)) == 5  # four answered, one pending
    assert candidate.get(f"/examiner/sittings/{sitting_id}/adaptive").status_code == 403
