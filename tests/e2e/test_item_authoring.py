"""Authoring to assembly, and typed answers to marking, in a real browser.

Examiner A (``examiner``) writes an item with its metadata and submits it; A cannot
approve it. Examiner B (``reviewer``) approves and activates it. Once calibrated
parameters are stored (``skillcert bank import-params``, as after a pretest), B assembles
a fixed form on the exam page and the new item is on it — while a bank item sharing its
enemy set is not. Then a candidate types a text-entry and a written answer, the result
waits for marking, B marks the written answer and the candidate sees the final score.
Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import Session, select

from engine.models import ExamDefinition, ExamFormItem, Result
from itembank import service
from itembank.models import AppraisalNode, Item, ItemStatus, NodeKind
from tests.e2e.pages import expect, sign_in
from web.db import make_engine

pytestmark = pytest.mark.e2e

STEM = "兆欧表测量电动机绝缘电阻时，摇测转速应保持在每分钟约（　）转。"
SOURCE = "命题研讨会 2025（浏览器测试）"
ENEMY_SET = "E2E-兆欧表"


class Database:
    """The live server's database, for set-up the browser cannot do and for checks."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)

    def __enter__(self) -> Session:
        self.session = Session(self.engine, expire_on_commit=False)
        return self.session

    def __exit__(self, *exc) -> None:
        self.session.close()
        self.engine.dispose()


def _points(url: str) -> tuple[AppraisalNode, AppraisalNode]:
    """Two appraisal points under different elements (parents), for the new item and its enemy."""
    with Database(url) as session:
        points = session.exec(select(AppraisalNode).where(AppraisalNode.kind == NodeKind.point)
                               .order_by(AppraisalNode.code)).all()
        first = points[0]
        other = next(p for p in points if p.parent_id != first.parent_id)
        return first, other


def _calibrate(live_server, tmp_path, strong: dict[int, float]) -> None:
    """Parameters for every active item: modest slopes spread over difficulty, and the
    ``strong`` items very discriminating at θ = 0 (so the assembler wants them most)."""
    with Database(live_server.database_url) as session:
        active = session.exec(select(Item.id).where(Item.status == ItemStatus.active).order_by(Item.id)).all()
    entries = [{"id": item_id, "model": "2pl", "a": strong.get(item_id, 0.7),
                "d": [0.0 if item_id in strong else round(-1.5 + 3.0 * (n % 7) / 6, 3)]}
               for n, item_id in enumerate(active)]
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"model": "2pl", "n_persons": 800, "items": entries}), encoding="utf-8")
    live_server.cli("bank", "import-params", str(params), "--actor", "e2e-calibration")


def test_authoring_review_approval_and_assembly(new_page, live_server, screenshot_dir, tmp_path):
    point, enemy_point = _points(live_server.database_url)

    # Examiner A writes the item, with source, tags and an enemy set, and submits it.
    author = new_page()
    sign_in(author, "examiner")
    author.goto("/examiner/items/new")
    author.locator("#f-type").select_option("single")
    author.locator("#f-point").select_option(str(point.id))
    author.locator("#f-stem").fill(STEM)
    for option, text in zip("ABCD", ("60", "120", "500", "1000"), strict=True):
        author.locator(f"#f-option-{option}").fill(text)
    author.locator("#f-key-B").check()
    author.locator("#f-difficulty").fill("0.55")
    author.get_by_test_id("f-source").fill(SOURCE)
    author.get_by_test_id("f-tags").fill("仪表, 绝缘")
    author.get_by_test_id("f-enemy-sets").fill(ENEMY_SET)
    author.screenshot(path=str(screenshot_dir / "item-authoring-editor.png"), full_page=True)
    author.get_by_test_id("save-item").click()
    expect(author.get_by_test_id("saved-notice")).to_be_visible()
    item_id = int(re.search(r"/examiner/items/(\d+)", author.url).group(1))
    expect(author.get_by_test_id("item-source").first).to_have_text(SOURCE)
    expect(author.get_by_test_id("labels-tags")).to_have_value("仪表, 绝缘")
    expect(author.get_by_test_id("labels-enemy-sets")).to_have_value(ENEMY_SET)
    author.get_by_test_id("workflow-submit").click()
    expect(author.get_by_test_id("item-status")).to_have_text(re.compile(r"\S"))
    # The author cannot approve their own item: the button is disabled, and the server refuses.
    expect(author.get_by_test_id("workflow-approve")).to_be_disabled()
    refused = author.request.post(f"/examiner/items/{item_id}/workflow", form={
        "command": "approve", "csrf_token": author.locator('input[name="csrf_token"]').first.input_value()})
    assert refused.status == 403
    with Database(live_server.database_url) as session:
        assert session.get(Item, item_id).status == ItemStatus.submitted

    # A bank item in another element joins the same enemy set (on its item page, no new version).
    with Database(live_server.database_url) as session:
        enemy = session.exec(select(Item).where(Item.appraisal_point_id == enemy_point.id,
                                                Item.status == ItemStatus.active,
                                                Item.item_type == "single").order_by(Item.id)).first()
        enemy_version = enemy.current_version
    author.goto(f"/examiner/items/{enemy.id}")
    author.get_by_test_id("labels-enemy-sets").fill(ENEMY_SET)
    author.get_by_test_id("save-labels").click()
    expect(author.get_by_test_id("labels-saved")).to_be_visible()
    expect(author.get_by_test_id("enemy-items")).to_contain_text(str(item_id))

    # Examiner B finds it in the review queue, approves and activates it.
    reviewer = new_page()
    sign_in(reviewer, "reviewer")
    reviewer.goto("/examiner/review")
    row = reviewer.locator(f'[data-testid="queue-row"][data-item-id="{item_id}"]')
    expect(row).to_be_visible()
    row.get_by_role("link").click()
    expect(reviewer.get_by_test_id("workflow-approve")).to_be_enabled()
    reviewer.screenshot(path=str(screenshot_dir / "item-authoring-review.png"), full_page=True)
    reviewer.get_by_test_id("workflow-approve").click()
    expect(reviewer.get_by_test_id("workflow-activate")).to_be_visible()
    reviewer.get_by_test_id("workflow-activate").click()
    expect(reviewer.get_by_test_id("workflow-retire")).to_be_visible()
    with Database(live_server.database_url) as session:
        item = session.get(Item, item_id)
        assert item.status == ItemStatus.active
        assert session.get(Item, enemy.id).current_version == enemy_version
        assert service.enemy_groups(session, [item_id, enemy.id]) == [sorted([item_id, enemy.id])]
        definition = session.exec(select(ExamDefinition).where(ExamDefinition.code == "DG-4-THEORY-DEMO")).one()

    # The list filters by the new metadata.
    reviewer.goto("/examiner/items?tag=绝缘")
    expect(reviewer.get_by_test_id("item-row")).to_have_count(1)
    expect(reviewer.get_by_test_id("item-row")).to_have_attribute("data-item-id", str(item_id))

    # Calibrated (pretest) parameters: both enemies are the most informative items at θ = 0.
    _calibrate(live_server, tmp_path, {item_id: 3.0, enemy.id: 2.9})

    # B assembles a fixed form on the exam page: the new item is on it, its enemy is not.
    reviewer.goto(f"/examiner/exams/{definition.id}")
    reviewer.get_by_test_id("field-length").fill("12")
    reviewer.get_by_test_id("assemble").click()
    assembled = reviewer.get_by_test_id("assembled")
    expect(assembled).to_be_visible(timeout=30_000)
    chosen = [int(n) for n in re.findall(r"\d+", assembled.locator('input[name="item_ids"]').input_value())]
    assert len(chosen) == 12
    assert item_id in chosen, f"item {item_id} is not on the assembled form {chosen}"
    assert enemy.id not in chosen, "two items of one enemy set on one form"
    reviewer.screenshot(path=str(screenshot_dir / "item-authoring-assembled.png"), full_page=True)
    reviewer.get_by_test_id("use-form").click()
    expect(reviewer.get_by_test_id("current-form")).to_contain_text("12")
    with Database(live_server.database_url) as session:
        form = session.exec(select(ExamFormItem.item_id).where(
            ExamFormItem.exam_definition_id == definition.id)).all()
        assert item_id in form and enemy.id not in form
    assert author.js_errors == [] and reviewer.js_errors == []


def _typed_items(url: str) -> dict[str, int]:
    """A text-entry and a 3-point rubric item, appended to the demo exam's form."""
    with Database(url) as session:
        point = session.exec(select(AppraisalNode).where(AppraisalNode.kind == NodeKind.point)).first()
        definition = session.exec(select(ExamDefinition).where(ExamDefinition.code == "DG-4-THEORY-DEMO")).one()
        base = dict(occupation_id=point.occupation_id, level=point.level.value, appraisal_point_id=point.id,
                    options=[], status=ItemStatus.active.value)
        text = service.create_item(session, service.ItemDraft(
            item_type="text", stem="交流电的频率单位是____。", key=["赫兹", "Hz"],
            scoring={"ignore_width": True, "ignore_whitespace": True}, **base), "examiner", lambda *a: None)
        essay = service.create_item(session, service.ItemDraft(
            item_type="extended", stem="简述使用验电器前应做的检查。", key=[],
            scoring={"max_points": 3, "rubric": [{"points": 3, "description": "外观、电压等级、自检三项齐全"},
                                                 {"points": 0, "description": "未答"}]}, **base),
            "examiner", lambda *a: None)
        last = max(session.exec(select(ExamFormItem.position).where(
            ExamFormItem.exam_definition_id == definition.id)).all())
        session.add(ExamFormItem(exam_definition_id=definition.id, position=last + 1, item_id=text.id, points=1.0))
        session.add(ExamFormItem(exam_definition_id=definition.id, position=last + 2, item_id=essay.id, points=3.0))
        session.commit()
        return {"text": last + 1, "essay": last + 2}


def test_candidate_types_answers_and_an_examiner_marks_them(new_page, live_server, screenshot_dir):
    positions = _typed_items(live_server.database_url)
    candidate = new_page()
    sign_in(candidate, "candidate3")
    candidate.get_by_test_id("start-exam").click()
    expect(candidate).to_have_url(re.compile(r"/candidate/sessions/\d+/items/\d+$"))
    sitting_id = int(re.search(r"/sessions/(\d+)/", candidate.url).group(1))

    candidate.get_by_test_id(f"nav-{positions['text']}").click()
    box = candidate.get_by_test_id("answer-text")
    box.fill("ＨＺ")  # full-width, other case: the item's matching rules accept it
    box.press("Enter")
    saved = candidate.locator('#save-status [data-testid="saved"]')
    expect(saved).to_have_attribute("data-position", str(positions["text"]))
    expect(saved).to_contain_text("ＨＺ")
    candidate.get_by_test_id(f"nav-{positions['essay']}").click()
    essay = candidate.get_by_test_id("answer-essay")
    essay.fill("检查外观无破损；确认电压等级相符；在有电设备上自检。")
    expect(saved).to_have_attribute("data-position", str(positions["essay"]))  # saved while typing
    candidate.screenshot(path=str(screenshot_dir / "candidate-written-answer.png"), full_page=True)
    candidate.reload()
    expect(candidate.get_by_test_id("answer-essay")).to_have_value(re.compile("自检"))
    candidate.goto(f"/candidate/sessions/{sitting_id}/review")
    candidate.get_by_test_id("submit-exam").click()
    expect(candidate).to_have_url(re.compile(rf"/candidate/sessions/{sitting_id}/result$"))
    expect(candidate.locator("article.result")).to_have_class(re.compile(r"\bprovisional\b"))
    with Database(live_server.database_url) as session:
        result = session.exec(select(Result).where(Result.candidate_session_id == sitting_id)).one()
        assert result.provisional and not result.passed and result.raw_points == 1.0  # the typed answer

    marker = new_page()
    sign_in(marker, "reviewer")
    marker.goto("/examiner/marking")
    marker.get_by_test_id("mark-open").first.click()
    expect(marker.get_by_test_id("written-answer")).to_contain_text("自检")
    marker.get_by_test_id("points-3").check()
    marker.screenshot(path=str(screenshot_dir / "marking-answer.png"), full_page=True)
    marker.get_by_test_id("award").click()
    expect(marker.get_by_test_id("marked-notice")).to_be_visible()
    with Database(live_server.database_url) as session:
        result = session.exec(select(Result).where(Result.candidate_session_id == sitting_id)).one()
        assert not result.provisional and result.raw_points == 4.0
    candidate.reload()
    expect(candidate.locator("article.result")).not_to_have_class(re.compile(r"\bprovisional\b"))
    expect(candidate.get_by_test_id("score")).to_have_text(f"{result.score:.1f}")
    assert candidate.js_errors == [] and marker.js_errors == []
