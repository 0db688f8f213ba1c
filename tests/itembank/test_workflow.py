"""The review workflow: the transition table over every (status, command) pair, self-review
refusal, rejection comments, edits returning to draft, bulk all-or-nothing, audit entries."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from itembank import service, workflow
from itembank.errors import IllegalTransitionError, ItemValidationError, SelfReviewError
from itembank.models import Item, ItemReview, ItemStatus
from itembank.workflow import Command

ALLOWED = {
    (ItemStatus.draft, Command.submit): ItemStatus.submitted,
    (ItemStatus.submitted, Command.withdraw): ItemStatus.draft,
    (ItemStatus.submitted, Command.approve): ItemStatus.approved,
    (ItemStatus.submitted, Command.reject): ItemStatus.draft,
    (ItemStatus.approved, Command.reject): ItemStatus.draft,
    (ItemStatus.approved, Command.activate): ItemStatus.active,
    (ItemStatus.approved, Command.retire): ItemStatus.retired,
    (ItemStatus.active, Command.retire): ItemStatus.retired,
    (ItemStatus.retired, Command.reopen): ItemStatus.draft,
    (ItemStatus.submitted, Command.revise): ItemStatus.draft,
    (ItemStatus.approved, Command.revise): ItemStatus.draft,
    (ItemStatus.active, Command.revise): ItemStatus.draft,
    (ItemStatus.retired, Command.revise): ItemStatus.draft,
}


class Recorder:
    def __init__(self) -> None:
        self.entries: list[tuple] = []

    def __call__(self, action, entity_type, entity_id, data):
        self.entries.append((action, entity_type, entity_id, data))


@pytest.mark.parametrize("status", list(ItemStatus))
@pytest.mark.parametrize("command", list(Command))
def test_every_status_command_pair(status, command):
    if (status, command) in ALLOWED:
        assert workflow.next_status(status, command) == ALLOWED[(status, command)]
    else:
        with pytest.raises(IllegalTransitionError, match=f"cannot {command.value}"):
            workflow.next_status(status, command)


def test_table_is_exactly_the_documented_one():
    assert workflow.TRANSITIONS == ALLOWED


def _draft_item(db: Session, author: str = "examiner") -> Item:
    item = db.exec(select(Item).order_by(Item.id)).first()
    version = service.current_version(db, item)
    draft = service.ItemDraft(occupation_id=item.occupation_id, level=item.level.value,
                              item_type=item.item_type.value, appraisal_point_id=item.appraisal_point_id,
                              stem="工作流测试题", options=version.options, key=version.key)
    return service.create_item(db, draft, author, lambda *a: None)


class TestTransitions:
    def test_author_submits_and_another_examiner_approves_and_activates(self, db, demo):
        item = _draft_item(db)
        record = Recorder()
        workflow.transition(db, item.id, Command.submit, "examiner", record)
        workflow.transition(db, item.id, Command.approve, "reviewer", record)
        workflow.transition(db, item.id, Command.activate, "reviewer", record)
        db.commit()
        assert db.get(Item, item.id).status == ItemStatus.active
        assert [e[0] for e in record.entries] == ["item.submit", "item.approve", "item.activate"]
        assert record.entries[1][3]["from"] == "submitted" and record.entries[1][3]["to"] == "approved"
        trail = workflow.history(db, item.id)
        assert [(r.command, r.actor) for r in trail] == [("activate", "reviewer"), ("approve", "reviewer"),
                                                         ("submit", "examiner")]

    def test_nobody_approves_their_own_item(self, db, demo):
        item = _draft_item(db)
        workflow.transition(db, item.id, Command.submit, "examiner", lambda *a: None)
        with pytest.raises(SelfReviewError, match="nobody may review"):
            workflow.transition(db, item.id, Command.approve, "examiner", lambda *a: None)
        assert db.get(Item, item.id).status == ItemStatus.submitted

    def test_a_reviewer_who_edited_the_item_is_an_author_too(self, db, demo):
        item = _draft_item(db)
        version = service.current_version(db, item)
        service.edit_item(db, item.id, service.ItemDraft(
            occupation_id=item.occupation_id, level=item.level.value, item_type=item.item_type.value,
            appraisal_point_id=item.appraisal_point_id, stem="审题人改过的题干", options=version.options,
            key=version.key), "reviewer", lambda *a: None)
        workflow.transition(db, item.id, Command.submit, "examiner", lambda *a: None)
        with pytest.raises(SelfReviewError):
            workflow.transition(db, item.id, Command.approve, "reviewer", lambda *a: None)
        workflow.transition(db, item.id, Command.approve, "admin", lambda *a: None)
        assert db.get(Item, item.id).status == ItemStatus.approved

    def test_rejection_needs_a_comment_and_keeps_it(self, db, demo):
        item = _draft_item(db)
        workflow.transition(db, item.id, Command.submit, "examiner", lambda *a: None)
        with pytest.raises(ItemValidationError) as refused:
            workflow.transition(db, item.id, Command.reject, "reviewer", lambda *a: None, comment="  ")
        assert "comment" in refused.value.errors
        review = workflow.transition(db, item.id, Command.reject, "reviewer", lambda *a: None,
                                     comment="选项C与题干矛盾")
        assert review.to_status == ItemStatus.draft and review.comment == "选项C与题干矛盾"
        assert db.get(Item, item.id).status == ItemStatus.draft

    def test_only_an_author_withdraws(self, db, demo):
        item = _draft_item(db)
        workflow.transition(db, item.id, Command.submit, "examiner", lambda *a: None)
        with pytest.raises(IllegalTransitionError, match="only its authors"):
            workflow.transition(db, item.id, Command.withdraw, "reviewer", lambda *a: None)
        workflow.transition(db, item.id, Command.withdraw, "examiner", lambda *a: None)
        assert db.get(Item, item.id).status == ItemStatus.draft

    def test_editing_an_active_item_returns_it_to_draft_and_audits(self, db, demo):
        item = db.exec(select(Item).where(Item.status == ItemStatus.active).order_by(Item.id)).first()
        version = service.current_version(db, item)
        record = Recorder()
        service.edit_item(db, item.id, service.ItemDraft(
            occupation_id=item.occupation_id, level=item.level.value, item_type=item.item_type.value,
            appraisal_point_id=item.appraisal_point_id, stem=version.stem + "（修订）", options=version.options,
            key=version.key, status="active"), "examiner", record)
        assert db.get(Item, item.id).status == ItemStatus.draft
        assert [e[0] for e in record.entries] == ["item.version_created", "item.revise"]


class TestBulk:
    def test_bulk_approve_moves_every_item(self, db, demo):
        ids = [_draft_item(db).id for _ in range(3)]
        for item_id in ids:
            workflow.transition(db, item_id, Command.submit, "examiner", lambda *a: None)
        moved = workflow.bulk_transition(db, ids, Command.approve, "reviewer", lambda *a: None)
        assert len(moved) == 3
        assert {db.get(Item, i).status for i in ids} == {ItemStatus.approved}

    def test_one_refusal_moves_none(self, db, demo):
        submitted = [_draft_item(db).id for _ in range(2)]
        for item_id in submitted:
            workflow.transition(db, item_id, Command.submit, "examiner", lambda *a: None)
        own = _draft_item(db, author="reviewer")
        workflow.transition(db, own.id, Command.submit, "reviewer", lambda *a: None)
        still_draft = _draft_item(db).id
        with pytest.raises(workflow.BulkRefusedError) as refused:
            workflow.bulk_transition(db, [*submitted, own.id, still_draft], Command.approve, "reviewer",
                                     lambda *a: None)
        assert sorted(r.item_id for r in refused.value.refusals) == sorted([own.id, still_draft])
        assert {db.get(Item, i).status for i in submitted} == {ItemStatus.submitted}
        assert db.exec(select(ItemReview).where(ItemReview.command == "approve")).all() == []

    def test_submit_is_not_a_bulk_action_and_empty_is_refused(self, db, demo):
        with pytest.raises(ItemValidationError):
            workflow.bulk_transition(db, [1], Command.submit, "examiner", lambda *a: None)
        with pytest.raises(ItemValidationError):
            workflow.bulk_transition(db, [], Command.approve, "reviewer", lambda *a: None)


class TestReviewQueue:
    def test_queue_lists_submitted_items_not_written_by_the_reviewer(self, db, demo):
        theirs = _draft_item(db, author="examiner")
        mine = _draft_item(db, author="reviewer")
        for item, author in ((theirs, "examiner"), (mine, "reviewer")):
            workflow.transition(db, item.id, Command.submit, author, lambda *a: None)
        queued = [item.id for item, _version in workflow.review_queue(db, "reviewer")]
        assert theirs.id in queued and mine.id not in queued
