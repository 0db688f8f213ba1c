"""The administrator's scheduling page in a real browser against a real server process.

The administrator records what the demo institution may certify, draws the seat map of
the demo room, schedules a batch in it, is refused an overlapping batch with the name of
the sitting it clashes with, then — after twelve candidates of three employers are
registered — assigns seats and sees no two colleagues side by side. Screenshots go to
docs/screenshots/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from engine.certification import registration
from engine.scheduling import seating
from engine.scheduling.models import ExamBatch, RoomBooking
from itembank.timeutil import utcnow
from tests.e2e.pages import expect, sign_in
from tests.engine.certification.xlsx import HEADERS_ZH, good_row, workbook
from web.db import make_engine

pytestmark = pytest.mark.e2e
EMPLOYERS = ["国网济南供电公司"] * 4 + ["济南二机床"] * 4 + ["山东电建三公司"] * 4


def _register(database_url: str, code: str) -> int:
    """Twelve candidates of three employers in the batch's sitting (the XLSX import's own path)."""
    db = make_engine(database_url)
    try:
        with Session(db) as session:
            batch = session.exec(select(ExamBatch).where(ExamBatch.code == code)).one()
            exam_session_id = session.exec(select(RoomBooking.exam_session_id)
                                           .where(RoomBooking.batch_id == batch.id)).one()
            rows = [good_row(i)[:5] + [employer] + good_row(i)[6:] for i, employer in enumerate(EMPLOYERS, 40)]
            registration.import_registrations(session, workbook(HEADERS_ZH, rows), exam_session_id, "e2e",
                                              utcnow().date())
            session.commit()
    finally:
        db.dispose()
    return exam_session_id


def test_admin_schedules_a_batch_and_seats_colleagues_apart(new_page, live_server, screenshot_dir):
    page = new_page("en")
    page.context.add_cookies([{"name": "skillcert_locale", "value": "en", "url": live_server.url}])
    sign_in(page, "admin")
    page.get_by_role("link", name="Scheduling").first.click()
    expect(page.get_by_role("heading", name="Scheduling", level=1)).to_be_visible()

    scope = page.locator('[data-testid="scope"]').first
    scope.locator("summary").click()
    scope.locator('input[name="scope"][value$=":level4"]').first.check()
    scope.get_by_role("button", name="Save scope").click()
    expect(page.locator('[data-testid="scope"]').first.locator("summary")).to_contain_text("1 occupation level")

    room = page.locator('[data-testid="room-layout"]').first
    room.locator("summary").click()
    room.locator('input[name="rows"]').fill("4")
    room.locator('input[name="columns"]').fill("6")
    room.locator('input[name="missing_seats"]').fill("01-01 01-06")
    room.locator('input[name="equipment"]').fill("每座一台计算机，配摄像头")
    room.locator('input[name="standardized"]').check()
    room.get_by_role("button", name="Save seat map").click()
    expect(page.locator('[data-testid="room-layout"]').first.locator("summary")).to_contain_text("4 × 6, 22 seats")

    starts = (utcnow() + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    form = page.locator('[data-testid="batch-form"]')

    def schedule(code: str, at) -> None:
        form.locator('select[name="institution_id"]').select_option(index=1)
        form.locator('select[name="exam_definition_id"]').select_option(index=1)
        form.locator('input[name="code"]').fill(code)
        form.locator('input[name="title"]').fill("电工四级认定")
        form.locator('input[name="starts_at"]').fill(at.strftime("%Y-%m-%dT%H:%M"))
        form.locator('input[name="room_ids"]').first.check()
        form.locator('button[type="submit"]').click()

    schedule("E2E-B1", starts)
    expect(page.locator('[data-testid="batch-row"]')).to_have_count(1)
    schedule("E2E-B2", starts + timedelta(minutes=15))
    expect(page.locator('[data-testid="form-errors"]')).to_be_visible()
    alert = page.locator('[data-field-error="room_ids"]')
    expect(alert).to_contain_text("is booked from")
    expect(alert).to_contain_text("电工四级认定 · 第1考场")
    page.screenshot(path=str(screenshot_dir / "admin-scheduling-refused.png"), full_page=True)
    expect(page.locator('[data-testid="batch-row"]')).to_have_count(1)  # nothing was written

    exam_session_id = _register(live_server.database_url, "E2E-B1")
    page.goto(f"/admin/scheduling/sessions/{exam_session_id}")
    page.get_by_test_id("assign-seats").click()
    taken = page.locator(".seat-taken")
    expect(taken).to_have_count(12)
    employer_at = {seating.parse_label(taken.nth(i).get_attribute("data-seat")): taken.nth(i).get_attribute(
        "data-employer") for i in range(12)}
    assert seating.same_employer_pairs({seat: seat for seat in employer_at}, employer_at) == 0
    expect(page.get_by_role("link", name="Admission tickets (PDF)")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "admin-scheduling-seats.png"), full_page=True)
    assert page.js_errors == []
