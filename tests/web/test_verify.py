"""The public verification page: masked fields only, look-ups by number or name + ID, throttled."""

from __future__ import annotations

import html
import re

import pytest
from sqlmodel import Session

from engine.certification import service
from itembank.timeutil import utcnow
from tests.conftest import csrf_from
from tests.engine.certification.helpers import ACTOR, configure_numbering, with_scores

PRIVATE = ("张伟", "19900315", "济南市职业技能评价中心", "candidate-demo", "82.5", "proxy")


@pytest.fixture(autouse=True)
def english(client):
    """Assertions read the English UI (zh_CN is the default locale)."""
    client.cookies.set("skillcert_locale", "en")


@pytest.fixture
def issued(db_engine, demo):
    with Session(db_engine, expire_on_commit=False) as session:
        configure_numbering(session)
        certificate = service.issue(session, with_scores(session, "candidate", 82.5, 77).id, ACTOR, utcnow().date())
        session.commit()
    return certificate


def holder(client, name: str, resident_id: str):
    """The name + ID look-up, posted with the page's CSRF token as a browser would."""
    token = csrf_from(client.get("/verify").text)
    return client.post("/verify", data={"name": name, "resident_id": resident_id, "csrf_token": token})


def visible_text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


class TestLookUp:
    def test_by_number_shows_the_masked_fields(self, client, issued):
        response = client.get(f"/verify/{issued.number}")
        assert response.status_code == 200
        text = visible_text(response.text)
        for shown in (issued.number, "张*", service.mask_resident_id(issued.resident_id), "电工",
                      issued.issued_on.isoformat(), "Valid"):
            assert shown in text
        assert response.headers["cache-control"] == "no-store"

    def test_the_page_leaks_nothing_more(self, client, issued):
        by_holder = holder(client, "张伟", issued.resident_id)
        assert by_holder.status_code == 200 and issued.number in by_holder.text
        for page in (client.get(f"/verify/{issued.number}").text, by_holder.text):
            page = html.unescape(page)
            leaked = [secret for secret in (*PRIVATE, issued.resident_id, issued.resident_id[6:14],
                                            issued.resident_id[-4:]) if secret in page]
            assert leaked == []

    def test_by_name_and_resident_id(self, client, issued):
        response = holder(client, "张伟", issued.resident_id.lower())
        assert response.status_code == 200 and issued.number in response.text

    def test_a_wrong_name_finds_nothing_and_says_nothing(self, client, issued):
        response = holder(client, "张三", issued.resident_id)
        assert response.status_code == 404 and issued.number not in response.text
        assert "No certificate matches" in response.text

    def test_an_unknown_number_is_404(self, client, issued):
        response = client.get("/verify/" + issued.number[:-1] + "9")
        assert response.status_code == 404 and "verified-certificate" not in response.text

    def test_a_malformed_number_is_422(self, client, issued):
        response = client.get("/verify", params={"number": "S12<script>"})
        assert response.status_code == 422 and "is not a certificate number" in html.unescape(response.text)
        assert "<script>" not in response.text

    def test_a_name_without_an_id_number_is_422(self, client, issued):
        assert holder(client, "张伟", "").status_code == 422

    def test_name_lookup_needs_the_forms_csrf_token(self, client, issued):
        response = client.post("/verify", data={"name": "张伟", "resident_id": issued.resident_id})
        assert response.status_code == 403 and issued.number not in response.text

    def test_revoked_shows_the_status_but_not_the_reason(self, client, db_engine, issued):
        with Session(db_engine) as session:
            service.revoke(session, issued.id, "proxy sitter", ACTOR, utcnow())
            session.commit()
        response = client.get(f"/verify/{issued.number}")
        assert "Revoked" in response.text and "has been revoked" in response.text
        assert "proxy sitter" not in response.text

    def test_htmx_gets_only_the_result(self, client, issued):
        response = client.get("/verify", params={"number": issued.number}, headers={"HX-Request": "true"})
        assert response.status_code == 200 and "verified-certificate" in response.text
        assert "<form" not in response.text and "<html" not in response.text

    def test_the_form_alone_is_not_a_lookup(self, client, issued):
        response = client.get("/verify")
        assert response.status_code == 200 and "verified-certificate" not in response.text


class TestThrottle:
    def test_lookups_beyond_the_budget_get_429_with_retry_after(self, app, client, issued, monkeypatch):
        monkeypatch.setenv("SKILLCERT_VERIFY_RATE_LIMIT", "3/minute")
        assert [client.get("/verify").status_code for _ in range(5)] == [200] * 5  # the form is free
        codes = [client.get(f"/verify/{issued.number[:-1]}{i}").status_code for i in range(3)]
        assert codes == [200 if f"{issued.number[:-1]}{i}" == issued.number else 404 for i in range(3)]
        refused = client.get(f"/verify/{issued.number}")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert issued.number not in visible_text(refused.text).replace(f"/verify/{issued.number}", "")
        assert "Too many look-ups" in refused.text
        assert holder(client, "张伟", issued.resident_id).status_code == 429

    def test_malformed_lookups_count_too(self, client, issued, monkeypatch):
        monkeypatch.setenv("SKILLCERT_VERIFY_RATE_LIMIT", "2/minute")
        assert [client.get("/verify/bad").status_code for _ in range(3)] == [422, 422, 429]
