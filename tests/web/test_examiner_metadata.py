"""Item metadata on the examiner pages: source, tags and enemy sets when authoring, the
labels form on the item page (no new version), and the list filters."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from engine.models import AuditEntry
from itembank import service
from itembank.models import AppraisalNode, Item, NodeKind


def _point_id(db_engine) -> int:
    with Session(db_engine) as session:
        return session.exec(select(AppraisalNode.id).where(AppraisalNode.kind == NodeKind.point)
                            .order_by(AppraisalNode.id)).first()


def _form(point_id: int, stem: str, **changes) -> dict:
    form = {"item_type": "single", "appraisal_point_id": str(point_id), "stem": stem, "option_A": "甲",
            "option_B": "乙", "option_C": "丙", "option_D": "丁", "key": ["A"]}
    form.update(changes)
    return form


def _item_count(db_engine) -> int:
    with Session(db_engine) as session:
        return len(session.exec(select(Item.id)).all())


def _created_id(response) -> int:
    assert response.status_code == 303, response.text
    return int(re.search(r"/examiner/items/(\d+)", response.headers["location"]).group(1))


@pytest.fixture
def examiner(visitor, demo):
    return visitor.login("examiner")


class TestAuthoringMetadata:
    def test_new_item_keeps_source_tags_and_enemy_sets(self, examiner, db_engine):
        item_id = _created_id(examiner.post("/examiner/items", _form(
            _point_id(db_engine), "带出处的题", source="命题研讨会 2025", tags="安全，接地", enemy_sets="E-接地")))
        page = examiner.get(f"/examiner/items/{item_id}")
        assert 'data-testid="item-source">命题研讨会 2025<' in page.text
        assert 'value="安全, 接地"' in page.text and 'value="E-接地"' in page.text
        with Session(db_engine) as session:
            assert service.item_labels(session, [item_id])[item_id] == (["安全", "接地"], ["E-接地"])

    def test_too_long_source_comes_back_beside_its_field(self, examiner, db_engine):
        before = _item_count(db_engine)
        response = examiner.post("/examiner/items", _form(_point_id(db_engine), "出处过长", source="出" * 301))
        assert response.status_code == 422
        assert 'id="e-source"' in response.text and "longer than 300" in response.text
        assert _item_count(db_engine) == before

    def test_labels_form_changes_labels_without_a_new_version(self, examiner, db_engine):
        with Session(db_engine) as session:
            item = session.exec(select(Item).order_by(Item.id)).first()
        response = examiner.post(f"/examiner/items/{item.id}/labels", {"tags": "识图", "enemy_sets": "E9, E10"})
        assert response.status_code == 303
        page = examiner.get(response.headers["location"])
        assert 'data-testid="labels-saved"' in page.text
        with Session(db_engine) as session:
            again = session.get(Item, item.id)
            assert (again.current_version, again.status) == (item.current_version, item.status)
            assert service.item_labels(session, [item.id])[item.id] == (["识图"], ["E10", "E9"])
            entry = session.exec(select(AuditEntry).where(AuditEntry.action == "item.labels_changed")).one()
            assert entry.actor == "examiner" and entry.data["enemy_sets"] == ["E9", "E10"]
        refused = examiner.post(f"/examiner/items/{item.id}/labels", {"tags": "长" * 61})
        assert refused.status_code == 422 and 'id="le-tags"' in refused.text

    def test_enemy_partners_are_linked_from_the_item_page(self, examiner, db_engine):
        point = _point_id(db_engine)
        first = _created_id(examiner.post("/examiner/items", _form(point, "敌对一", enemy_sets="同源")))
        second = _created_id(examiner.post("/examiner/items", _form(point, "敌对二", enemy_sets="同源")))
        page = examiner.get(f"/examiner/items/{first}")
        assert re.search(rf'data-testid="enemy-items">.*href="/examiner/items/{second}"', page.text)


class TestListFilters:
    def test_filters_by_tag_enemy_set_and_source(self, examiner, db_engine):
        point = _point_id(db_engine)
        a = _created_id(examiner.post("/examiner/items", _form(point, "筛选甲", tags="安全", source="教材一")))
        b = _created_id(examiner.post("/examiner/items", _form(point, "筛选乙", tags="安全",
                                                                 enemy_sets="E-筛")))
        c = _created_id(examiner.post("/examiner/items", _form(point, "筛选丙", enemy_sets="E-筛")))

        def listed(query: str) -> list[int]:
            page = examiner.get(f"/examiner/items?{query}")
            assert page.status_code == 200
            return [int(n) for n in re.findall(r'data-testid="item-row" data-item-id="(\d+)"', page.text)]

        assert listed("tag=安全") == [a, b]
        assert listed("enemy=E-筛") == [b, c]
        assert listed("source=教材一") == [a]
        assert listed("tag=安全&enemy=E-筛") == [b]
        assert listed("tag=没有这个") == []
        table = examiner.get("/examiner/items?tag=安全", headers={"HX-Request": "true"})
        assert "<html" not in table.text and "#安全" in table.text and "⊘ E-筛" in table.text
        page = examiner.get("/examiner/items")
        assert '<option value="E-筛"' in page.text and '<option value="安全"' in page.text
