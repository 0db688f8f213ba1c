"""The candidate's exam in a real browser, against a real server process.

Debian's chromium, driven by Playwright, signs in as the demo candidate, answers items
(each answer confirmed by the server), flags one, reloads mid-exam and finds every
answer still selected, switches the interface to English and back to Chinese, submits,
and sees the score the keys say it earned. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from engine.models import SessionItem
from itembank.models import Item, ItemVersion
from tests.e2e.pages import expect, pick_options, sign_in
from web.db import make_engine

pytestmark = pytest.mark.e2e

LOGOUT_BUTTON = 'form[action="/logout"] button[type="submit"]'


def presented_items(database_url: str, sitting_id: int) -> dict[int, tuple[str, list[str], list[str], float]]:
    """position -> (item type, option ids, key, points), read from the server's database."""
    db = make_engine(database_url)
    try:
        with Session(db) as session:
            rows = session.exec(
                select(SessionItem.position, Item.item_type, ItemVersion.options, ItemVersion.key,
                       SessionItem.points)
                .join(ItemVersion, ItemVersion.id == SessionItem.item_version_id)
                .join(Item, Item.id == ItemVersion.item_id)
                .where(SessionItem.candidate_session_id == sitting_id)).all()
    finally:
        db.dispose()
    return {position: (getattr(kind, "value", kind), [o["id"] for o in options], list(key), points)
            for position, kind, options, key, points in rows}


def show_item(page, position: int) -> None:
    expect(page.get_by_test_id("item")).to_have_attribute("data-position", str(position))


def choose(page, position: int, choices: list[str], truefalse: bool = False) -> None:
    """Click the options and wait until the server confirms exactly this answer."""
    show_item(page, position)
    saved = page.locator('#save-status [data-testid="saved"]')
    before = saved.get_attribute("data-seq") if saved.count() else None
    pick_options(page, choices)
    # The confirmation names the stored answer: letters for choice items, the label for true/false.
    if truefalse:
        label = page.locator("label.option", has=page.get_by_test_id(f"option-{choices[0]}"))
        shown = label.inner_text().strip()
    else:
        shown = ", ".join(sorted(choices))
    expect(saved).to_have_attribute("data-position", str(position))
    expect(saved).to_contain_text(shown)
    seq = saved.get_attribute("data-seq")
    assert seq and seq.isdigit() and seq != before, f"no fresh sequence number in the receipt ({before!r} -> {seq!r})"
    expect(page.get_by_test_id(f"nav-{position}")).to_have_class(re.compile(r"\banswered\b"))


def assert_selected(page, position: int, options: list[str], chosen: list[str]) -> None:
    page.get_by_test_id(f"nav-{position}").click()
    show_item(page, position)
    for option in options:
        box = page.get_by_test_id(f"option-{option}")
        if option in chosen:
            expect(box).to_be_checked()
        else:
            expect(box).not_to_be_checked()


def test_candidate_sits_the_exam(new_page, live_server, screenshot_dir):
    page = new_page()
    sign_in(page, "candidate")
    expect(page).to_have_url(re.compile(r"/candidate$"))
    expect(page.locator(LOGOUT_BUTTON)).to_be_visible()

    page.get_by_test_id("start-exam").click()
    expect(page).to_have_url(re.compile(r"/candidate/sessions/\d+/items/1$"))
    sitting_id = int(re.search(r"/sessions/(\d+)/", page.url).group(1))
    items = presented_items(live_server.database_url, sitting_id)
    assert len(items) == 20, f"the demo form has 20 items, the sitting has {len(items)}"
    by_type: dict[str, list[int]] = {}
    for position in sorted(items):
        by_type.setdefault(items[position][0], []).append(position)
    singles, multiple, truefalse = by_type["single"], by_type["multiple"][0], by_type["truefalse"][0]

    def key(position: int) -> list[str]:
        return items[position][2]

    def wrong(position: int) -> list[str]:
        return [next(o for o in items[position][1] if o not in key(position))]

    # The timer counts down from the server's deadline: 30 minutes, started just now.
    expect(page.get_by_test_id("time-left")).to_have_text(re.compile(r"^0:(29|30):\d\d$"))

    # One right; the next first wrong, then changed to right; the third wrong and flagged.
    first, second, third = singles[:3]

    def go(position: int) -> None:
        current = int(page.get_by_test_id("item").get_attribute("data-position"))
        if position == current + 1:
            page.get_by_test_id("next").click()
        else:
            page.get_by_test_id(f"nav-{position}").click()
        show_item(page, position)

    if first != 1:
        go(first)
    answers = {first: key(first)}
    choose(page, first, key(first))
    go(second)
    choose(page, second, wrong(second))
    choose(page, second, key(second))
    answers[second] = key(second)
    go(third)
    choose(page, third, wrong(third))
    answers[third] = wrong(third)
    page.get_by_test_id("flag").click()
    expect(page.get_by_test_id("flag")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id(f"nav-{third}")).to_have_class(re.compile(r"\bflagged\b"))

    # A multiple-choice item (all of its key) and a true/false item, reached by the navigator.
    go(multiple)
    choose(page, multiple, key(multiple))
    answers[multiple] = key(multiple)
    go(truefalse)
    choose(page, truefalse, key(truefalse), truefalse=True)
    answers[truefalse] = key(truefalse)
    expect(page.get_by_test_id("progress").first).to_contain_text(re.compile(r"5\D+20"))

    # Reload mid-exam: every answer is still selected, the flag and the position are kept.
    page.reload()
    show_item(page, truefalse)
    expect(page.get_by_test_id("progress").first).to_contain_text(re.compile(r"5\D+20"))
    expect(page.get_by_test_id(f"nav-{third}")).to_have_class(re.compile(r"\bflagged\b"))
    for position, chosen in answers.items():
        expect(page.get_by_test_id(f"nav-{position}")).to_have_class(re.compile(r"\banswered\b"))
        assert_selected(page, position, items[position][1], chosen)
    for position in set(items) - set(answers):
        expect(page.get_by_test_id(f"nav-{position}")).not_to_have_class(re.compile(r"\banswered\b"))
    # A fresh visit to the exam (as after a browser restart) resumes at the last item shown.
    page.goto("/candidate")
    page.get_by_test_id("resume-exam").click()
    show_item(page, truefalse)

    # English and back to Chinese, mid-exam; the exam state survives the switch.
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    zh_sign_out = page.locator(LOGOUT_BUTTON).inner_text().strip()
    zh_heading = page.locator("#item-heading").inner_text().strip()
    page.get_by_test_id("locale-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(LOGOUT_BUTTON)).to_have_text("Sign out")
    expect(page.locator("#item-heading")).to_contain_text(f"Question {truefalse} of 20")
    en_heading = page.locator("#item-heading").inner_text().strip()
    show_item(page, truefalse)
    expect(page.get_by_test_id(f"option-{key(truefalse)[0]}")).to_be_checked()
    page.get_by_test_id("locale-zh_CN").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_test_id("locale-en")).to_be_visible()
    expect(page.locator(LOGOUT_BUTTON)).to_have_text(zh_sign_out)
    expect(page.get_by_test_id(f"option-{key(truefalse)[0]}")).to_be_checked()
    expect(page.locator("#item-heading")).to_have_text(zh_heading)
    still_english = [text for text, english in ((zh_sign_out, "Sign out"), (zh_heading, en_heading))
                     if text == english]
    page.get_by_test_id(f"nav-{third}").click()
    show_item(page, third)
    page.screenshot(path=str(screenshot_dir / "candidate-item.png"), full_page=True)

    # Review and submit: the score is what the keys say the answers earned.
    last = max(items)
    page.get_by_test_id(f"nav-{last}").click()
    show_item(page, last)
    page.get_by_test_id("review").click()
    expect(page).to_have_url(re.compile(rf"/candidate/sessions/{sitting_id}/review$"))
    expect(page.get_by_test_id("unanswered-warning")).to_contain_text(str(len(items) - len(answers)))
    page.get_by_test_id("submit-exam").click()
    expect(page).to_have_url(re.compile(rf"/candidate/sessions/{sitting_id}/result$"))
    possible = sum(points for *_rest, points in items.values())
    earned = sum(items[p][3] for p, chosen in answers.items() if sorted(chosen) == sorted(key(p)))
    assert 0 < earned < possible
    score = earned * 100 / possible
    expect(page.get_by_test_id("score")).to_have_text(f"{score:.1f}")
    expect(page.get_by_test_id("verdict")).to_contain_text("60")
    expect(page.locator("article.result")).to_have_class(re.compile(r"\bfail\b" if score < 60 else r"\bpass\b"))
    page.screenshot(path=str(screenshot_dir / "candidate-result.png"), full_page=True)

    # After submission the items are closed: any item link lands on the result.
    page.goto(f"/candidate/sessions/{sitting_id}/items/1")
    expect(page).to_have_url(re.compile(rf"/candidate/sessions/{sitting_id}/result$"))
    assert page.js_errors == [], f"JavaScript errors in the candidate's pages: {page.js_errors}"

    assert not still_english, f"the Chinese interface shows English text: {still_english}"


@pytest.mark.parametrize(("username", "path", "shot"), [
    ("examiner", "/examiner/items", "examiner-items.png"),
    ("supervisor", "/supervisor", None),
])
def test_staff_start_pages(new_page, live_server, screenshot_dir, username, path, shot):
    page = new_page()
    sign_in(page, username)
    response = page.goto(path)
    assert response is not None and response.status < 500, f"{path} answered {response and response.status}"
    # Signed in, not sent back to /login. (The pages themselves are being built: the test
    # only refuses a server error and keeps a screenshot of what is there.)
    expect(page).to_have_url(re.compile(re.escape(path) + r"$"))
    if shot:
        page.screenshot(path=str(screenshot_dir / shot), full_page=True)
    assert page.js_errors == [], f"JavaScript errors on {path}: {page.js_errors}"
