"""An adaptive exam in a real browser, against a real server process.

The demo's adaptive exam (``skillcert demo seed``) is scheduled for a new candidate.
The examiner simulates its settings (conditional SE and expected length charts); the
candidate gets one item at a time with no navigator and no way back, reloads mid-item
and finds the saved answer, and ends with θ, SE, items used and the decision; the
examiner's record shows the θ trail with its SE band. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from engine import administration
from engine.adaptive.models import AdaptiveSitting
from engine.identity import check_character
from engine.models import ExamDefinition, Result, Room, SessionItem
from itembank.models import Item, ItemVersion
from itembank.timeutil import utcnow
from tests.e2e.pages import expect, pick_options, sign_in
from web.db import make_engine

pytestmark = pytest.mark.e2e


def schedule(database_url: str) -> int:
    """An exam session of the adaptive demo exam, now, with candidate 'cat1' enrolled."""
    db = make_engine(database_url)
    try:
        with Session(db, expire_on_commit=False) as session:
            definition = session.exec(select(ExamDefinition).where(ExamDefinition.theory_mode == "adaptive")).one()
            room = session.exec(select(Room)).first()
            exam_session = administration.create_exam_session(session, definition.id, room.id, "自适应理论考试（演示）",
                                                              utcnow(), "e2e")
            first17 = "37010219920218035"
            sitting = administration.enrol(session, exam_session.id, "王磊", first17 + check_character(first17),
                                           "e2e", username="cat1", password="cat1-demo")
            session.commit()
            return sitting.id
    finally:
        db.dispose()


def item_at(database_url: str, sitting_id: int, position: int) -> tuple[str, list[str], list[str]]:
    db = make_engine(database_url)
    try:
        with Session(db) as session:
            kind, options, key = session.exec(
                select(Item.item_type, ItemVersion.options, ItemVersion.key).select_from(SessionItem)
                .join(ItemVersion, ItemVersion.id == SessionItem.item_version_id)
                .join(Item, Item.id == ItemVersion.item_id)
                .where(SessionItem.candidate_session_id == sitting_id, SessionItem.position == position)).one()
    finally:
        db.dispose()
    return getattr(kind, "value", kind), [o["id"] for o in options], list(key)


def outcome(database_url: str, sitting_id: int) -> tuple[Result, AdaptiveSitting]:
    db = make_engine(database_url)
    try:
        with Session(db) as session:
            result = session.exec(select(Result).where(Result.candidate_session_id == sitting_id)).one()
            record = session.exec(select(AdaptiveSitting)
                                  .where(AdaptiveSitting.candidate_session_id == sitting_id)).one()
            return result, record
    finally:
        db.dispose()


def current_position(page) -> int:
    return int(page.get_by_test_id("item").get_attribute("data-position"))


def choose(page, position: int, choices: list[str]) -> None:
    pick_options(page, choices)
    saved = page.locator('#save-status [data-testid="saved"]')
    expect(saved).to_have_attribute("data-position", str(position))


def test_examiner_previews_and_candidate_sits_an_adaptive_exam(new_page, live_server, screenshot_dir):
    sitting_id = schedule(live_server.database_url)

    examiner = new_page()
    sign_in(examiner, "examiner")
    examiner.goto("/examiner/exams")
    examiner.get_by_role("link", name="DG-4-THEORY-CAT").click()
    expect(examiner.get_by_test_id("theory-mode")).to_be_visible()
    examiner.get_by_test_id("run-preview").click(timeout=90_000)  # the simulation runs on the server
    expect(examiner.get_by_test_id("chart-conditional-se")).to_be_visible()
    expect(examiner.get_by_test_id("chart-expected-length")).to_be_visible()
    expect(examiner.get_by_test_id("simulation-summary")).to_contain_text("0")
    examiner.screenshot(path=str(screenshot_dir / "examiner-adaptive-preview.png"), full_page=True)

    page = new_page()
    sign_in(page, "cat1")
    page.get_by_test_id("start-exam").click()
    expect(page).to_have_url(re.compile(rf"/candidate/sessions/{sitting_id}/adaptive$"))
    expect(page.locator(".nav-grid")).to_have_count(0)  # no navigator, no way back
    expect(page.get_by_test_id("previous")).to_have_count(0)

    answered = 0
    while "/result" not in page.url:
        position = current_position(page)
        assert position == answered + 1, "items come one after another"
        kind, options, key = item_at(live_server.database_url, sitting_id, position)
        right = answered % 3 != 2  # two of every three right
        chosen = key if right else [next(o for o in options if o not in key)]
        choose(page, position, chosen)
        if answered == 2:  # reload before going on: the saved answer is still selected
            page.reload()
            assert current_position(page) == position
            for choice in chosen:
                expect(page.get_by_test_id(f"option-{choice}")).to_be_checked()
            page.screenshot(path=str(screenshot_dir / "candidate-adaptive-item.png"), full_page=True)
        page.get_by_test_id("adaptive-next").click()
        answered += 1
        # the server commits the answer and sends the browser to the next item or the result
        expect(page.locator(f'[data-testid="item"][data-position="{position}"]')).to_have_count(0)
        page.wait_for_load_state()
        expect(page).to_have_url(re.compile(rf"/candidate/sessions/{sitting_id}/(adaptive|result)$"))
        assert answered <= 13, "the demo test has at most 12 scored items and one trial item"

    result, record = outcome(live_server.database_url, sitting_id)
    assert 8 <= record.n_scored <= 12 and answered == record.n_scored + record.n_pretest
    expect(page.get_by_test_id("score")).to_have_text(f"{result.score:.1f}")
    expect(page.get_by_test_id("theta")).to_have_text(f"{record.theta:.2f}")
    expect(page.get_by_test_id("se")).to_have_text(f"{record.se:.2f}")
    expect(page.get_by_test_id("items-used")).to_have_text(str(record.n_scored))
    page.screenshot(path=str(screenshot_dir / "candidate-adaptive-result.png"), full_page=True)

    examiner.goto(f"/examiner/sittings/{sitting_id}/adaptive")
    expect(examiner.get_by_test_id("theta-trail-band")).to_be_attached()
    expect(examiner.locator('[data-testid="adaptive-steps"] tbody tr')).to_have_count(answered)
    examiner.screenshot(path=str(screenshot_dir / "examiner-theta-trail.png"), full_page=True)
    assert page.js_errors == [] and examiner.js_errors == []
