"""Typed and written answers in the fixed sitting: text entry scored at submission by the
item's own matching rules, written answers marked by an examiner in a blind, audited queue;
the result stays provisional until the last mark. Candidate pages never carry key material."""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import Session, select

from engine import audit
from engine.marking.models import RubricMark
from engine.models import AuditEntry, ExamDefinition, ExamFormItem, Result
from itembank import service as items
from itembank.models import AppraisalNode, Item, ItemStatus, ItemVersion, NodeKind

ACCEPTED = "欧姆定律"  # the text-entry key; the candidate types the full-width, spaced variant
RUBRIC_TOP = "写出停电、验电、挂接地线三步且顺序正确"
SOURCE = "国家职业技能标准 电工 2018 版"


def _add_typed_items(db_engine) -> dict[str, int]:
    """A text-entry item (1 point on the form) and a 3-point rubric item (4 points on the form)."""
    with Session(db_engine, expire_on_commit=False) as session:
        point = session.exec(select(AppraisalNode).where(AppraisalNode.kind == NodeKind.point)).first()
        definition = session.exec(select(ExamDefinition)).first()
        record = lambda *args: None  # noqa: E731
        base = dict(occupation_id=point.occupation_id, level=point.level.value, appraisal_point_id=point.id,
                    options=[], status=ItemStatus.active.value, source=SOURCE, explanation="解析：只给考评员看")
        text = items.create_item(session, items.ItemDraft(
            item_type="text", stem="描述电流、电压与电阻关系的定律是____。", key=[ACCEPTED, "Ohm's law"],
            scoring={"ignore_width": True, "ignore_whitespace": True, "case_sensitive": False}, **base),
            "examiner", record)
        essay = items.create_item(session, items.ItemDraft(
            item_type="extended", stem="简述停电检修前的安全技术措施。", key=[],
            scoring={"max_points": 3, "rubric": [{"points": 3, "description": RUBRIC_TOP},
                                                 {"points": 1, "description": "只写出其中一步"},
                                                 {"points": 0, "description": "未答或错误"}]}, **base),
            "examiner", record)
        last = max(line.position for line in session.exec(
            select(ExamFormItem).where(ExamFormItem.exam_definition_id == definition.id)).all())
        session.add(ExamFormItem(exam_definition_id=definition.id, position=last + 1, item_id=text.id, points=1.0))
        session.add(ExamFormItem(exam_definition_id=definition.id, position=last + 2, item_id=essay.id, points=4.0))
        session.commit()
        return {"text": last + 1, "essay": last + 2, "text_item": text.id, "essay_item": essay.id}


def _start(visitor) -> int:
    page = visitor.get("/candidate")
    sitting_id = int(re.search(r"/candidate/sessions/(\d+)/start", page.text).group(1))
    assert visitor.post(f"/candidate/sessions/{sitting_id}/start").status_code == 303
    return sitting_id


def _key_material(db_engine) -> list[str]:
    """Everything a candidate must never see: keys of typed items, rubric texts, scoring
    settings, explanations and sources. (Choice keys are option ids like "A", which every
    page shows as option labels; choice items never reach the page with their key marked.)"""
    with Session(db_engine) as session:
        secrets = []
        for version, item in session.exec(select(ItemVersion, Item).join(Item, Item.id == ItemVersion.item_id)):
            if item.item_type.value in ("text", "extended"):
                secrets.extend(version.key)
            scoring = version.scoring or {}
            secrets.extend(level["description"] for level in scoring.get("rubric", []))
            if version.explanation:
                secrets.append(version.explanation)
            if version.source:
                secrets.append(version.source)
        # scoring settings as stored, and the markers examiner pages use for keys
        secrets.extend(["ignore_width", "ignore_whitespace", "case_sensitive", "max_points", "is-key", "key-mark"])
        return sorted(set(secrets))


@pytest.fixture
def typed(demo, db_engine) -> dict[str, int]:
    return _add_typed_items(db_engine)


class TestTypedAnswers:
    def test_text_and_written_answers_score_mark_and_finalize(self, visitor, typed, db_engine, client):
        visitor.login("candidate")
        sitting_id = _start(visitor)
        base = f"/candidate/sessions/{sitting_id}/items"
        page = visitor.get(f"{base}/{typed['text']}")
        assert 'data-testid="answer-text"' in page.text and 'name="answer"' in page.text
        essay_page = visitor.get(f"{base}/{typed['essay']}")
        assert "<textarea" in essay_page.text and 'data-testid="answer-essay"' in essay_page.text
        saved = visitor.post(f"{base}/{typed['text']}/answer", {"answer": "  欧 姆 定 律 ", "seq": "1"}, htmx=True)
        assert saved.status_code == 200
        essay = "先停电，\n再验电，然后挂接地线。"
        written = visitor.post(f"{base}/{typed['essay']}/answer", {"answer": essay, "seq": "2"}, htmx=True)
        assert written.status_code == 200
        # every choice item answered with its key, so the sitting can pass once the essay is marked
        with Session(db_engine) as session:
            definition = session.exec(select(ExamDefinition)).first()
            keyed = session.exec(select(ExamFormItem, ItemVersion, Item)
                                 .join(Item, Item.id == ExamFormItem.item_id)
                                 .join(ItemVersion, (ItemVersion.item_id == Item.id)
                                       & (ItemVersion.version_no == Item.current_version))
                                 .where(ExamFormItem.exam_definition_id == definition.id)).all()
        seq = 10
        for line, version, item in keyed:
            if item.item_type.value in ("single", "multiple", "truefalse"):
                seq += 1
                response = visitor.client.post(f"{base}/{line.position}/answer",
                                               data={"answer": version.key, "seq": str(seq),
                                                     "csrf_token": visitor.csrf}, headers={"HX-Request": "true"})
                assert response.status_code == 200
        assert visitor.post(f"/candidate/sessions/{sitting_id}/submit").status_code == 303
        result_page = visitor.get(f"/candidate/sessions/{sitting_id}/result")
        assert "Awaiting marking" in result_page.text
        with Session(db_engine) as session:
            result = session.exec(select(Result).where(Result.candidate_session_id == sitting_id)).one()
            possible = sum(line.points for line, _v, _i in keyed)
            # all choice items and the typed answer right; the 4-point essay counts 0 for now
            assert (result.provisional, result.passed, result.max_points) == (True, False, possible)
            assert result.raw_points == pytest.approx(possible - 4.0)
            mark = session.exec(select(RubricMark).where(RubricMark.candidate_session_id == sitting_id)).one()
            assert (mark.position, mark.max_points, mark.points) == (typed["essay"], 3, None)

        client.cookies.clear()
        examiner = type(visitor)(client).login("reviewer")
        queue = examiner.get("/examiner/marking")
        assert queue.status_code == 200 and f'data-mark-id="{mark.id}"' in queue.text
        assert "张伟" not in queue.text  # blind: the candidate is not named
        task = examiner.get(f"/examiner/marking/{mark.id}")
        assert "挂接地线" in task.text and RUBRIC_TOP in task.text and "张伟" not in task.text
        refused = examiner.post(f"/examiner/marking/{mark.id}", {"points": "4"})
        assert refused.status_code == 422 and "from 0 to 3" in refused.text
        assert examiner.post(f"/examiner/marking/{mark.id}", {"points": "2", "comment": "缺少悬挂标示牌"}
                             ).status_code == 303
        again = examiner.post(f"/examiner/marking/{mark.id}", {"points": "3"})
        assert again.status_code == 409 and "already marked" in again.text
        with Session(db_engine) as session:
            result = session.exec(select(Result).where(Result.candidate_session_id == sitting_id)).one()
            assert result.provisional is False
            assert result.raw_points == pytest.approx(possible - 4.0 + 4.0 * 2 / 3)
            assert result.score == pytest.approx(round(100 * result.raw_points / possible, 1))
            assert result.passed is (result.score >= 60)
            actions = [(e.actor, e.action) for e in session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]
            assert ("reviewer", "response.marked") in actions and ("reviewer", "result.finalized") in actions
            assert audit.verify(session).ok
        client.cookies.clear()
        candidate = type(visitor)(client).login("candidate")
        final = candidate.get(f"/candidate/sessions/{sitting_id}/result")
        assert "Awaiting marking" not in final.text and "Passed" in final.text

    def test_wrong_text_earns_nothing_and_a_blank_essay_needs_no_marker(self, visitor, typed, db_engine):
        visitor.login("candidate")
        sitting_id = _start(visitor)
        base = f"/candidate/sessions/{sitting_id}/items"
        visitor.post(f"{base}/{typed['text']}/answer", {"answer": "基尔霍夫定律", "seq": "1"}, htmx=True)
        visitor.post(f"{base}/{typed['essay']}/answer", {"answer": "   ", "seq": "2"}, htmx=True)
        visitor.post(f"/candidate/sessions/{sitting_id}/submit")
        with Session(db_engine) as session:
            result = session.exec(select(Result).where(Result.candidate_session_id == sitting_id)).one()
            assert (result.provisional, result.raw_points) == (False, 0.0)
            assert session.exec(select(RubricMark).where(RubricMark.candidate_session_id == sitting_id)).all() == []

    @pytest.mark.parametrize("answer, message", [
        ("甲" * 201, "longer than 200"), ("a\x00b", "control characters")])
    def test_bad_typed_answers_are_refused_and_nothing_is_stored(self, visitor, typed, db_engine, answer, message):
        visitor.login("candidate")
        sitting_id = _start(visitor)
        response = visitor.post(f"/candidate/sessions/{sitting_id}/items/{typed['text']}/answer",
                                {"answer": answer, "seq": "1"}, htmx=True)
        assert response.status_code == 422 and message in response.text
        with Session(db_engine) as session:
            from engine.models import Response
            assert session.exec(select(Response).where(Response.candidate_session_id == sitting_id)).all() == []

    def test_candidates_cannot_reach_the_marking_pages(self, visitor, typed):
        visitor.login("candidate")
        assert visitor.get("/examiner/marking").status_code == 403
        assert visitor.post("/examiner/marking/1", {"points": "1"}).status_code == 403


class TestConfidentiality:
    def test_no_candidate_response_carries_key_material(self, visitor, typed, db_engine):
        """Walk every candidate page and answer reply of a sitting with typed items and scan
        each body for keys, rubric text, scoring settings, explanations and sources."""
        visitor.login("candidate")
        sitting_id = _start(visitor)
        secrets = _key_material(db_engine)
        assert ACCEPTED in secrets and RUBRIC_TOP in secrets and SOURCE in secrets
        with Session(db_engine) as session:
            positions = [line.position for line in session.exec(select(ExamFormItem)).all()]
        bodies = [visitor.get("/candidate").text, visitor.get(f"/candidate/sessions/{sitting_id}",
                                                              follow_redirects=True).text]
        for seq, position in enumerate(sorted(positions), start=1):
            url = f"/candidate/sessions/{sitting_id}/items/{position}"
            bodies.append(visitor.get(url).text)
            bodies.append(visitor.get(url, headers={"HX-Request": "true"}).text)
            answer = "电阻" if position in (typed["text"], typed["essay"]) else "A"
            bodies.append(visitor.post(f"{url}/answer", {"answer": answer, "seq": str(seq)}, htmx=True).text)
            bodies.append(visitor.post(f"{url}/flag", {"flagged": "true"}, htmx=True).text)
        bodies.append(visitor.get(f"/candidate/sessions/{sitting_id}/review").text)
        visitor.post(f"/candidate/sessions/{sitting_id}/submit")
        bodies.append(visitor.get(f"/candidate/sessions/{sitting_id}/result").text)
        leaks = sorted({secret for body in bodies for secret in secrets if secret in body})
        assert leaks == []
        assert len(bodies) > 4 * len(positions)
        assert json.dumps(ACCEPTED, ensure_ascii=False) not in "".join(bodies)
