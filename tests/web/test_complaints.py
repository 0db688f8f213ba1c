"""The public complaints form: anyone files, bad input is refused naming the field, and it is rate-limited."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from engine.models import AuditEntry, Institution
from engine.quality.models import Complaint
from tests.conftest import Visitor


@pytest.fixture
def anonymous(client) -> Visitor:
    visitor = Visitor(client)
    visitor.refresh_csrf("/complaints")
    return visitor


def test_anyone_files_a_complaint(anonymous, db_engine, demo):
    with Session(db_engine) as db:
        institution_id = db.exec(select(Institution.id)).first()
    response = anonymous.post("/complaints", {"institution_id": str(institution_id), "category": "proxy",
                                              "subject": "疑似替考", "body": "上午场第3排", "contact": ""})
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    with Session(db_engine) as db:
        filed = db.exec(select(Complaint)).one()
        assert filed.reference in response.text and filed.institution_id == institution_id
        assert db.exec(select(AuditEntry).where(AuditEntry.action == "complaint.received")).one().actor == "public"


@pytest.mark.parametrize("form,field,problem", [
    ({"category": "bribery", "subject": "s", "body": "b"}, "category", "unknown complaint category"),
    ({"category": "fees", "subject": "", "body": "b"}, "subject", "subject is required"),
    ({"category": "fees", "subject": "s", "body": "x" * 5001}, "body", "body is longer than 5000 characters"),
    ({"category": "fees", "subject": "s", "body": "b", "institution_id": "9999"}, "institution_id",
     "institution 9999 not found"),
])
def test_bad_input_is_refused_and_nothing_is_written(anonymous, db_engine, demo, form, field, problem):
    response = anonymous.post("/complaints", form)
    assert response.status_code == 422
    assert f'data-field-error="{field}"' in response.text and problem in response.text
    with Session(db_engine) as db:
        assert db.exec(select(Complaint)).all() == []


def test_filing_is_rate_limited(anonymous, db_engine, demo, monkeypatch):
    monkeypatch.setenv("SKILLCERT_COMPLAINT_RATE_LIMIT", "2/hour")
    form = {"category": "fees", "subject": "s", "body": "b"}
    assert [anonymous.post("/complaints", form).status_code for _ in range(3)] == [200, 200, 429]
    limited = anonymous.post("/complaints", form)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert "Too many complaints from your address" in limited.text
    with Session(db_engine) as db:
        assert len(db.exec(select(Complaint)).all()) == 2


def test_a_forged_post_without_the_token_is_refused(client, db_engine, demo):
    response = client.post("/complaints", data={"category": "fees", "subject": "s", "body": "b"})
    assert response.status_code == 403
    with Session(db_engine) as db:
        assert db.exec(select(Complaint)).all() == []
