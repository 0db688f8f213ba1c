"""Live proctoring in two real browser contexts against a real server process.

A candidate sits the exam while a supervisor watches: the supervisor's roster row changes
live when the candidate answers; the supervisor pauses the candidate (overlay, timer
stops), extends the time (timer jumps), resumes, and terminates (forced submission
notice, then the result page). Each reaction on the candidate's page must come within a
second; the supervisor sees every command confirmed as applied.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.e2e.pages import expect, sign_in

pytestmark = pytest.mark.e2e
REACTION_MS = 1000  # the bound for the candidate's page to react


def _seconds(text: str) -> int:
    h, m, s = (int(part) for part in text.strip().split(":"))
    return h * 3600 + m * 60 + s


def _start(page, username: str) -> int:
    sign_in(page, username)
    page.get_by_test_id("start-exam").click()
    expect(page.get_by_test_id("item")).to_be_visible()
    expect(page.get_by_test_id("proctor-connection")).to_have_attribute("data-state", "online")
    return int(re.search(r"/candidate/sessions/(\d+)/", page.url).group(1))


def _command(supervisor, kind: str, reason: str) -> None:
    supervisor.get_by_test_id(f"reason-{kind}").fill(reason)
    supervisor.get_by_test_id(f"do-{kind}").click()
    expect(supervisor.get_by_test_id("command-result")).to_have_attribute("data-kind", re.compile(".+"))


def test_supervisor_pauses_extends_and_terminates_live(new_page, live_server, screenshot_dir):
    candidate = new_page("en")
    sitting = _start(candidate, "candidate2")
    supervisor = new_page("en")
    sign_in(supervisor, "supervisor")
    supervisor.goto(f"/supervisor/sittings/{sitting}")
    row = supervisor.locator(f"#row-{sitting}")
    expect(row).to_have_attribute("data-presence", "online")

    # an answer on the candidate's page shows up in the supervisor's row without a reload
    candidate.get_by_test_id("option-A").click()
    expect(candidate.locator('#save-status [data-testid="saved"]')).to_be_visible()
    expect(row.get_by_test_id("progress")).to_contain_text(re.compile(r"\b1\D+20"))

    # pause: overlay within a second, and the timer stands still
    _command(supervisor, "pause", "fire drill in the corridor")
    expect(candidate.get_by_test_id("pause-overlay")).to_be_visible(timeout=REACTION_MS)
    expect(candidate.get_by_test_id("pause-overlay")).to_contain_text("fire drill")
    expect(candidate.locator("#timer")).to_have_attribute("data-paused", "true", timeout=REACTION_MS)
    frozen = _seconds(candidate.get_by_test_id("time-left").inner_text())
    time.sleep(2.2)  # long enough for two ticks of a running timer
    assert _seconds(candidate.get_by_test_id("time-left").inner_text()) == frozen
    expect(row).to_have_attribute("data-status", "paused")
    expect(row.get_by_test_id("command")).to_have_attribute("data-command-state", "applied")
    candidate.screenshot(path=str(screenshot_dir / "proctoring-paused.png"))

    # extend by 10 minutes while paused: the frozen time jumps by 600 s
    supervisor.get_by_test_id("minutes").fill("10")
    _command(supervisor, "update", "lost time in the drill")
    expect(candidate.get_by_test_id("proctor-warning")).to_be_visible(timeout=REACTION_MS)
    expect(candidate.get_by_test_id("time-left")).to_have_text(
        re.compile(_clock(frozen + 600)), timeout=REACTION_MS)

    # resume: overlay gone within a second, the timer runs again
    _command(supervisor, "resume", "drill over")
    expect(candidate.get_by_test_id("pause-overlay")).to_be_hidden(timeout=REACTION_MS)
    expect(candidate.locator("#timer")).to_have_attribute("data-paused", "false", timeout=REACTION_MS)
    running = _seconds(candidate.get_by_test_id("time-left").inner_text())
    time.sleep(2.2)
    assert _seconds(candidate.get_by_test_id("time-left").inner_text()) < running
    supervisor.screenshot(path=str(screenshot_dir / "proctoring-supervisor.png"), full_page=True)

    # terminate: forced-submission notice within a second, then the result page
    _command(supervisor, "terminate", "notes found under the keyboard")
    expect(candidate.get_by_test_id("ended-overlay")).to_be_visible(timeout=REACTION_MS)
    expect(candidate.get_by_test_id("ended-overlay")).to_contain_text("notes found")
    expect(candidate).to_have_url(re.compile(rf"/candidate/sessions/{sitting}/result"))
    expect(row).to_have_attribute("data-status", "submitted")
    assert candidate.js_errors == [] and supervisor.js_errors == []


def _clock(seconds: int) -> str:
    """The timer's text for ``seconds``, allowing a second either way for the tick."""
    options = [f"{s // 3600}:{(s % 3600) // 60:02d}:{s % 60:02d}" for s in (seconds - 1, seconds, seconds + 1)]
    return "^(" + "|".join(options) + ")$"


def test_roster_rows_change_live_and_filter_to_attention(new_page, live_server):
    supervisor = new_page("en")
    sign_in(supervisor, "supervisor")
    supervisor.goto("/supervisor")
    supervisor.locator('[data-testid="exam-session-row"] a').first.click()
    rows = supervisor.get_by_test_id("roster-row")
    expect(rows).to_have_count(3)
    candidate = new_page("en")
    sitting = _start(candidate, "candidate3")
    row = supervisor.locator(f"#row-{sitting}")
    expect(row).to_have_attribute("data-status", "in_progress")
    expect(row).to_have_attribute("data-presence", "online")
    # the candidate leaves the page: evidence reaches the supervisor live
    candidate.close()
    expect(row).to_have_attribute("data-presence", "offline")
    expect(row).to_have_attribute("data-attention", "true")
    supervisor.get_by_test_id("attention-filter").check()
    expect(row).to_be_visible()
    assert supervisor.js_errors == []
