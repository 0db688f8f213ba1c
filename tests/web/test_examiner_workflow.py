"""The review workflow through HTTP: submit, the review queue, self-approval refused,
rejection with a comment, bulk actions (all or nothing), version diffs, audit entries."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from engine.models import AuditEntry
from itembank.models import AppraisalNode, Item, ItemReview, ItemStatus, NodeKind


@pytest.fixture(autouse=True)
def _english(client):
    client.cookies.set("skillcert_locale", "en")


def _point_id(db_engine) -> int:
    with Session(db_engine) as session:
        return session.exec(select(AppraisalNode.id).where(AppraisalNode.kind == NodeKind.point)
                            .order_by(AppraisalNode.id)).first()


def _create(visitor, db_engine, stem: str = "接地电阻测量用什么仪表？") -> int:
    response = visitor.post("/examiner/items", {
        "item_type": "single", "appraisal_point_id": str(_point_id(db_engine)), "stem": stem,
        "option_A": "接地电阻测试仪", "option_B": "万用表", "option_C": "钳形表", "option_D": "电能表", "key": "A"})
    assert response.status_code == 303, response.text
    return int(re.search(r"/examiner/items/(\d+)", response.headers["location"]).group(1))


def _status(db_engine, item_id: int) -> ItemStatus:
    with Session(db_engine) as session:
        return session.get(Item, item_id).status


def _switch(visitor, username: str):
    visitor.post("/logout")
    return visitor.login(username)


class TestReviewThroughTheBrowser:
    def test_author_submits_reviewer_approves_from_the_queue(self, visitor, demo, db_engine):
        visitor.login("examiner")
        item_id = _create(visitor, db_engine)
        assert _status(db_engine, item_id) == ItemStatus.draft
        page = visitor.get(f"/examiner/items/{item_id}").text
        assert 'data-testid="workflow-submit"' in page
        assert visitor.post(f"/examiner/items/{item_id}/workflow", {"command": "submit"}).status_code == 303
        assert f'data-item-id="{item_id}"' not in visitor.get("/examiner/review").text, "not in the author's queue"
        refused = visitor.post(f"/examiner/items/{item_id}/workflow", {"command": "approve"})
        assert refused.status_code == 403 and "nobody may review" in refused.text
        assert _status(db_engine, item_id) == ItemStatus.submitted

        _switch(visitor, "reviewer")
        queue = visitor.get("/examiner/review").text
        assert f'data-item-id="{item_id}"' in queue
        moved = visitor.post("/examiner/bulk", {"command": "approve", "item_ids": [str(item_id)],
                                                "back": "/examiner/review"})
        assert moved.status_code == 303 and moved.headers["location"] == "/examiner/review?moved=1"
        assert visitor.post(f"/examiner/items/{item_id}/workflow", {"command": "activate"}).status_code == 303
        assert _status(db_engine, item_id) == ItemStatus.active
        with Session(db_engine) as session:
            actions = session.exec(select(AuditEntry.action).where(AuditEntry.entity_type == "item",
                                                                   AuditEntry.entity_id == str(item_id))
                                   .order_by(AuditEntry.id)).all()
        assert actions == ["item.created", "item.submit", "item.approve", "item.activate"]
        assert 'data-testid="review-history"' in visitor.get(f"/examiner/items/{item_id}").text

    def test_reject_without_comment_is_422_and_with_comment_returns_to_draft(self, visitor, demo, db_engine):
        visitor.login("examiner")
        item_id = _create(visitor, db_engine)
        visitor.post(f"/examiner/items/{item_id}/workflow", {"command": "submit"})
        _switch(visitor, "reviewer")
        assert visitor.post(f"/examiner/items/{item_id}/workflow", {"command": "reject"}).status_code == 422
        assert _status(db_engine, item_id) == ItemStatus.submitted
        assert visitor.post(f"/examiner/items/{item_id}/workflow",
                            {"command": "reject", "comment": "干扰项太弱"}).status_code == 303
        assert _status(db_engine, item_id) == ItemStatus.draft
        assert "干扰项太弱" in visitor.get(f"/examiner/items/{item_id}").text

    def test_illegal_and_unknown_commands_change_nothing(self, visitor, demo, db_engine):
        visitor.login("examiner")
        item_id = _create(visitor, db_engine)
        assert visitor.post(f"/examiner/items/{item_id}/workflow", {"command": "activate"}).status_code == 409
        assert visitor.post(f"/examiner/items/{item_id}/workflow", {"command": "explode"}).status_code == 422
        assert visitor.post("/examiner/items/99999/workflow", {"command": "submit"}).status_code == 404
        assert _status(db_engine, item_id) == ItemStatus.draft
        with Session(db_engine) as session:
            assert session.exec(select(ItemReview).where(ItemReview.item_id == item_id)).all() == []


class TestBulkFromTheList:
    def test_list_has_checkboxes_and_bulk_retire_moves_active_items(self, visitor, demo, db_engine):
        visitor.login("reviewer")
        page = visitor.get("/examiner/items").text
        assert 'name="item_ids" value="1" form="bulk-form"' in page and 'id="bulk-form"' in page
        response = visitor.post("/examiner/bulk", {"command": "retire", "item_ids": ["1", "2"]})
        assert response.status_code == 303 and "moved=2" in response.headers["location"]
        assert _status(db_engine, 1) == _status(db_engine, 2) == ItemStatus.retired
        assert "2 items moved." in visitor.get(response.headers["location"]).text

    def test_a_refused_item_leaves_every_chosen_item_unmoved(self, visitor, demo, db_engine):
        visitor.login("examiner")
        draft_id = _create(visitor, db_engine)
        response = visitor.post("/examiner/bulk", {"command": "retire", "item_ids": ["1", str(draft_id)]})
        assert response.status_code == 409
        assert f'data-item-id="{draft_id}"' in response.text
        assert _status(db_engine, 1) == ItemStatus.active and _status(db_engine, draft_id) == ItemStatus.draft

    def test_foreign_redirect_target_is_ignored(self, visitor, demo, db_engine):
        visitor.login("reviewer")
        response = visitor.post("/examiner/bulk", {"command": "retire", "item_ids": ["1"],
                                                   "back": "https://evil.example/"})
        assert response.headers["location"].startswith("/examiner/items?")


class TestVersionDiff:
    def test_item_page_shows_what_changed_between_versions(self, visitor, demo, db_engine):
        visitor.login("examiner")
        item_id = _create(visitor, db_engine, stem="测量接地电阻用什么仪表？")
        visitor.post(f"/examiner/items/{item_id}", {
            "item_type": "single", "appraisal_point_id": str(_point_id(db_engine)), "stem": "测量绝缘电阻用什么仪表？",
            "option_A": "兆欧表", "option_B": "万用表", "option_C": "钳形表", "option_D": "电能表", "key": "A"})
        page = visitor.get(f"/examiner/items/{item_id}").text
        diff = page[page.index('data-testid="version-diff"'):]
        assert "<del>接地</del><ins>绝缘</ins>" in diff
        assert "<del>接地电阻测试仪</del><ins>兆欧表</ins>" in diff
