"""The supervisor's quality dashboard in a real browser against a real server process.

Two institutions with known results are written into the server's database (A passes 18
of 20, B 10 of 20, A has 3 incidents to B's 1). The supervisor sees both rows with A's
pass rate and incidents highlighted, the Chart.js charts drawn from the vendored file,
opens A's page with its own charts and report link, and looks at the certificate
statistics. A member of the public files a complaint, which the supervisor then finds
in the queue. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from itembank.timeutil import utcnow
from tests.e2e.pages import expect, sign_in
from tests.engine.quality.seeding import two_institutions
from web.db import make_engine

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def seeded(live_server) -> dict[str, int]:
    db = make_engine(live_server.database_url)
    try:
        with Session(db, expire_on_commit=False) as session:
            ids = two_institutions(session, when=utcnow().replace(microsecond=0) - timedelta(days=20))
            session.commit()
    finally:
        db.dispose()
    return ids


def _english(page) -> None:
    """Switch the UI to English (the default is Chinese), so the assertions read one language."""
    page.get_by_test_id("locale-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def _charts_drawn(page, *ids: str) -> None:
    expect(page.locator("body")).to_have_attribute("data-charts-ready", "true")
    for chart_id in ids:
        drawn = page.evaluate(f"() => {{ const c = document.getElementById('{chart_id}'); "
                              f"return !!(c && c.chart && c.width > 0 && c.chart.data.datasets.length); }}")
        assert drawn, f"chart {chart_id} was not drawn"


def test_supervisor_dashboard_highlights_outliers(new_page, seeded, screenshot_dir):
    page = new_page("en")
    sign_in(page, "supervisor")
    _english(page)
    page.get_by_role("link", name="Quality supervision").click()
    expect(page.get_by_role("heading", name="Quality supervision", level=1)).to_be_visible()
    row_a = page.locator('[data-testid="institution-row"][data-code="QA001"]')
    row_b = page.locator('[data-testid="institution-row"][data-code="QB002"]')
    expect(row_a).to_have_attribute("data-outlier", "true")
    expect(row_a.locator('[data-cell="pass-rate"]')).to_contain_text("90.0%")
    expect(row_a.locator('[data-cell="pass-rate"]')).to_have_class("outlier")
    expect(row_a.locator('[data-cell="incidents"]')).to_have_class("outlier")
    expect(row_b.locator('[data-cell="pass-rate"]')).to_contain_text("50.0%")
    _charts_drawn(page, "pass-rate-chart")
    page.screenshot(path=str(screenshot_dir / "quality-dashboard.png"), full_page=True)

    row_a.get_by_role("link").click()
    expect(page.get_by_test_id("outliers")).to_contain_text("pass rate")
    expect(page.get_by_test_id("report-link")).to_be_visible()
    _charts_drawn(page, "group-chart", "score-chart")
    page.screenshot(path=str(screenshot_dir / "quality-institution.png"), full_page=True)

    page.get_by_role("link", name="Certificate statistics").click()
    expect(page.get_by_test_id("certificate-total")).to_be_visible()
    _charts_drawn(page, "month-chart", "occupation-chart", "level-chart", "kind-chart")
    assert page.js_errors == []


def test_a_public_complaint_reaches_the_supervisor(new_page, seeded, screenshot_dir):
    public = new_page("en")
    public.goto("/complaints")
    _english(public)
    public.get_by_label("Evaluation body concerned (if known)").select_option(label="甲评价中心")
    public.get_by_label("What is it about?").select_option("proxy")
    public.get_by_label("Subject").fill("疑似替考")
    public.get_by_label("What happened (when, where, who)").fill("上午场第3排考生与准考证照片不符。")
    public.get_by_role("button", name="Submit").click()
    reference = public.get_by_test_id("complaint-reference").inner_text()
    assert reference.startswith("TS")

    supervisor = new_page("en")
    sign_in(supervisor, "supervisor")
    _english(supervisor)
    supervisor.goto("/quality/complaints")
    supervisor.get_by_role("link", name=reference).click()
    expect(supervisor.get_by_test_id("complaint-status")).to_contain_text("received")
    supervisor.locator("#triage-severity").select_option("high")
    supervisor.get_by_role("button", name="Record the preliminary look").click()
    expect(supervisor.get_by_test_id("complaint-status")).to_contain_text("triaged")
    supervisor.screenshot(path=str(screenshot_dir / "quality-complaint.png"), full_page=True)
    assert public.js_errors == [] and supervisor.js_errors == []
