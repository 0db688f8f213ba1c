"""The electrician's practical in a real browser, against a real server process.

The demo candidate starts the feeder-switching task and performs the model operation
ticket (tests/simulations/actions/electrician_model.json) by clicking the controls of the
generated SVG single-line diagram and the operations they offer — one with the keyboard
only. A supervisor, in a second browser context, watches the practical monitor update
live over its WebSocket and ends on the candidate's score. The server's stored run then
replays bit for bit. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import Session, select

from engine.practical import service as practical
from engine.practical.models import PracticalAttempt
from simulations.scenarios import load_builtin
from tests.e2e.pages import expect, sign_in
from tests.engine.practical.helpers import model_ticket
from web.db import make_engine

pytestmark = pytest.mark.e2e


def control_of() -> dict[str, str]:
    """Which on-screen control offers each operation (from the scenario's own controls)."""
    program = load_builtin("electrician-feeder-switching")
    return {action: control.id for control in program.controls for action in control.actions}


def operate(page, control: str, action: str, seq: int, keyboard: bool = False) -> None:
    """Open the control on the diagram, choose the operation, wait for the server's receipt."""
    target = page.get_by_test_id(f"control-{control}")
    if keyboard:
        target.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_test_id(f"action-{action}")).to_be_focused()
        page.keyboard.press("Enter")
    else:
        target.click()
        page.get_by_test_id(f"action-{action}").click()
    status = page.get_by_test_id("action-status")
    expect(status).to_have_attribute("data-seq", str(seq))
    expect(status).to_have_attribute("data-result", "accepted")


def test_candidate_switches_the_feeder_and_the_supervisor_sees_it(new_page, live_server, screenshot_dir):
    supervisor = new_page("en")
    sign_in(supervisor, "supervisor")
    supervisor.goto("/practical/monitor")
    supervisor.get_by_test_id("practical-sessions").locator("a").first.click()
    monitor = supervisor.get_by_test_id("practical-monitor")
    expect(monitor).to_have_attribute("data-connection", "online")

    page = new_page("en")
    sign_in(page, "candidate")
    page.get_by_test_id("nav-practical").click()
    page.get_by_test_id("start-practical").click()
    expect(page).to_have_url(re.compile(r"/candidate/practical/\d+$"))
    attempt_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_test_id("practical-connection")).to_have_attribute("data-state", "online")
    row = supervisor.locator('tr[data-testid="progress-row"]', has_text="张伟")
    expect(row.locator('[data-field="status"]')).to_have_text("running")

    controls = control_of()
    ticket = [entry["action"] for entry in model_ticket()]
    operations = [a for a in ticket if a != "finish"]
    for seq, action in enumerate(operations, start=1):
        operate(page, controls[action], action, seq, keyboard=(action == "open_QF1"))
        if action == "hang_sign":  # outage complete: the diagram shows the feeder isolated and earthed
            expect(page.get_by_test_id("control-QF1_handle")).to_have_attribute("data-state", "open")
            expect(page.get_by_test_id("control-earth_set")).to_have_attribute("data-state", "applied")
            expect(row.locator('[data-field="last_action"]')).to_have_text("hang_sign")
            page.screenshot(path=str(screenshot_dir / "practical-candidate-mimic.png"), full_page=True)
            supervisor.screenshot(path=str(screenshot_dir / "practical-supervisor-monitor.png"), full_page=True)
    expect(row.locator('[data-field="actions"]')).to_have_text(str(len(operations)))

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("finish").click()
    expect(page.get_by_test_id("practical-score")).to_have_text("100.0")
    page.screenshot(path=str(screenshot_dir / "practical-candidate-done.png"), full_page=True)
    expect(row.locator('[data-field="status"]')).to_have_text("scored")
    expect(row.locator('[data-field="score"]')).to_have_text("100.0")
    assert page.js_errors == [] and supervisor.js_errors == []

    db = make_engine(live_server.database_url)
    try:
        with Session(db) as session:
            stored = session.exec(select(PracticalAttempt).where(PracticalAttempt.id == attempt_id)).one()
            report = practical.replay_attempt(session, attempt_id)
            logged = [a.action for a in practical.action_log(session, attempt_id)]
    finally:
        db.dispose()
    assert logged == ticket and stored.score == 100.0
    assert report.matches, json.dumps(report.sheet.to_dict(), default=str)[:400]
