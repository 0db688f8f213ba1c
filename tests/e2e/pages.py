"""Page helpers shared by the browser tests: Playwright's ``expect`` and signing in as a demo user."""

from __future__ import annotations

import re


def expect(*args, **kwargs):
    """Playwright's ``expect``, imported late so the modules load (and skip) without Playwright."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args, **kwargs)


def sign_in(page, username: str) -> None:
    """Sign in through the login form with the demo password and wait to leave /login."""
    page.goto("/login")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(f"{username}-demo")
    page.locator('form[action="/login"] button[type="submit"]').click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def pick_options(page, choices: list[str]) -> None:
    """Tick checkboxes (multiple response) and click radios (single choice, true/false) by option id."""
    for choice in choices:
        option = page.get_by_test_id(f"option-{choice}")
        if option.get_attribute("type") == "checkbox":
            option.check()
        else:
            option.click()
