"""Items are versioned; a version that was administered is frozen."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from engine import delivery
from engine.models import CandidateSession, SessionItem
from itembank import service
from itembank.errors import FrozenVersionError, ItemValidationError
from itembank.models import Item, ItemVersion


def _noop_audit(*_args) -> None:
    return None


def _draft_from(session: Session, item: Item, **changes) -> service.ItemDraft:
    version = service.current_version(session, item)
    values = dict(occupation_id=item.occupation_id, level=item.level.value, item_type=item.item_type.value,
                  appraisal_point_id=item.appraisal_point_id, stem=version.stem, options=version.options,
                  key=version.key, difficulty=version.difficulty, explanation=version.explanation,
                  status=item.status.value)
    values.update(changes)
    return service.ItemDraft(**values)


class TestItemVersions:
    def test_edit_creates_a_new_version_and_keeps_the_old(self, db, demo):
        item = db.exec(select(Item).order_by(Item.id)).first()
        original = service.current_version(db, item).stem
        version = service.edit_item(db, item.id, _draft_from(db, item, stem="改写后的题干"), "examiner", _noop_audit)
        db.commit()
        assert version.version_no == 2
        stems = {v.version_no: v.stem for v in service.versions_of(db, item.id)}
        assert stems == {1: original, 2: "改写后的题干"}

    def test_administered_version_cannot_change(self, db, demo, clock):
        sitting = db.exec(select(CandidateSession)).first()
        delivery.start(db, sitting, "candidate", clock())
        db.commit()
        line = db.exec(select(SessionItem).where(SessionItem.candidate_session_id == sitting.id)).first()
        version = db.get(ItemVersion, line.item_version_id)
        assert version.administered_at is not None
        version.stem = "偷偷改题"
        with pytest.raises(FrozenVersionError, match="frozen"):
            db.flush()
        db.rollback()

    def test_running_sitting_keeps_its_version_after_an_edit(self, db, demo, clock):
        sitting = db.exec(select(CandidateSession)).first()
        delivery.start(db, sitting, "candidate", clock())
        db.commit()
        first = delivery.presented_items(db, sitting)[0]
        line = db.exec(select(SessionItem).where(SessionItem.candidate_session_id == sitting.id,
                                                 SessionItem.position == 1)).one()
        item_id = db.get(ItemVersion, line.item_version_id).item_id
        item = db.get(Item, item_id)
        service.edit_item(db, item_id, _draft_from(db, item, stem="新版本题干"), "examiner", _noop_audit)
        db.commit()
        assert delivery.presented_items(db, sitting)[0].stem == first.stem != "新版本题干"

    @pytest.mark.parametrize("changes, field", [
        ({"stem": "  "}, "stem"),
        ({"key": ["Q"]}, "key"),
        ({"key": ["A", "B"]}, "key"),
        ({"difficulty": 1.5}, "difficulty"),
        ({"level": "level9"}, "level"),
        ({"options": [{"id": "A", "text": "只有一个"}]}, "options"),
    ])
    def test_invalid_drafts_name_the_field_and_write_nothing(self, db, demo, changes, field):
        item = db.exec(select(Item).where(Item.item_type == "single")).first()
        count = len(db.exec(select(ItemVersion)).all())
        with pytest.raises(ItemValidationError) as error:
            service.edit_item(db, item.id, _draft_from(db, item, **changes), "examiner", _noop_audit)
        assert field in error.value.errors
        db.rollback()
        assert len(db.exec(select(ItemVersion)).all()) == count
