"""From an XLSX registration to a verified certificate, through the admin pages, on both databases."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from engine import audit
from engine.certification.models import Certificate
from engine.models import CandidateSession, ExamSession, Institution
from tests.conftest import Visitor
from tests.engine.certification.helpers import give_theory, pdf_texts
from tests.engine.certification.xlsx import HEADERS_ZH, good_row, workbook


def test_registration_to_verified_certificate(app, visitor, demo, db_engine):
    admin = visitor.login("admin")
    with Session(db_engine) as session:
        exam_session_id = session.exec(select(ExamSession.id)).first()
        institution_id = session.exec(select(Institution.id)).one()
    upload = admin.client.post(f"/admin/certificates/sessions/{exam_session_id}/registrations",
                               data={"csrf_token": admin.csrf},
                               files={"file": ("batch.xlsx", workbook(HEADERS_ZH, [good_row(i) for i in range(1, 6)]),
                                               "application/octet-stream")})
    assert upload.status_code == 303

    # the theory part is marked by the engine; here its results are stored as delivery would
    with Session(db_engine, expire_on_commit=False) as session:
        imported = session.exec(select(CandidateSession).where(CandidateSession.exam_session_id == exam_session_id)
                                .order_by(CandidateSession.id)).all()[3:]
        for index, sitting in enumerate(imported):
            give_theory(session, sitting, 55 if index == 0 else 70 + index)
        session.commit()
    for sitting in imported:
        form = {"candidate_session_id": str(sitting.id), "part": "practical", "score": "80"}
        assert admin.post(f"/admin/certificates/sessions/{exam_session_id}/scores", form).status_code == 303
    assert admin.post(f"/admin/certificates/numbering/{institution_id}",
                      {"body_code": "0042", "province_code": "37", "site_serial": "000107"}).status_code == 303
    issued = admin.post(f"/admin/certificates/sessions/{exam_session_id}/issue")
    assert issued.headers["location"].endswith("?issued=4")  # the one with theory 55 gets none

    with Session(db_engine) as session:
        certificate = session.exec(select(Certificate).order_by(Certificate.id)).first()
    assert re.fullmatch(r"S0042370001072\d4\d{6}", certificate.number)
    pdf = admin.get(f"/admin/certificates/{certificate.id}/pdf").content
    url = next(text for text in pdf_texts(pdf) if text.startswith("http"))

    with TestClient(app, follow_redirects=False) as anonymous_client:
        anonymous = Visitor(anonymous_client)
        page = anonymous.get(urlparse(url).path)
        assert page.status_code == 200 and "考生002" not in page.text and "考*" in page.text
        assert "This certificate is genuine and valid." in page.text
        admin.post(f"/admin/certificates/{certificate.id}/revoke", {"reason": "资料造假 forged documents"})
        again = anonymous.get(urlparse(url).path)
        assert "has been revoked" in again.text and "forged" not in again.text

    with Session(db_engine) as session:
        assert audit.verify(session).ok
