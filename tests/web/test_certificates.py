"""Admin certificate pages: numbering, part scores, issue, refusals, revocation, PDF."""

from __future__ import annotations

import html

import pytest
from sqlmodel import Session, select

from engine.certification.models import Certificate
from engine.models import Institution
from tests.engine.certification.helpers import give_theory, pdf_texts, sitting_of
from tests.engine.certification.xlsx import HEADERS_ZH, good_row, workbook
from tests.web.test_bad_input import snapshot


@pytest.fixture
def admin(visitor, demo, db_engine):
    with Session(db_engine, expire_on_commit=False) as session:
        for username, score in (("candidate", 88), ("candidate2", 45), ("candidate3", 72)):
            give_theory(session, sitting_of(session, username), score)
        session.commit()
        visitor.institution_id = session.exec(select(Institution.id)).one()
        visitor.sittings = {u: sitting_of(session, u) for u in ("candidate", "candidate2", "candidate3")}
    visitor.exam_session_id = visitor.sittings["candidate"].exam_session_id
    visitor.login("admin")
    return visitor


def number_them(admin) -> None:
    response = admin.post(f"/admin/certificates/numbering/{admin.institution_id}",
                          {"body_code": "3701", "province_code": "37", "site_serial": "000001", "kind_letter": ""})
    assert response.status_code == 303


def practical(admin, username: str, score: str, veto: bool = False):
    form = {"candidate_session_id": str(admin.sittings[username].id), "part": "practical", "score": score}
    if veto:
        form["veto"] = "true"
    return admin.post(f"/admin/certificates/sessions/{admin.exam_session_id}/scores", form)


def certificates(db_engine) -> list[Certificate]:
    with Session(db_engine) as session:
        return list(session.exec(select(Certificate).order_by(Certificate.id)).all())


class TestIssuePages:
    def test_from_scores_to_certificates_for_the_passed_only(self, admin, db_engine):
        number_them(admin)
        for username, score in (("candidate", "75"), ("candidate2", "90"), ("candidate3", "61.5")):
            assert practical(admin, username, score).status_code == 303
        page = admin.get(f"/admin/certificates/sessions/{admin.exam_session_id}")
        assert page.status_code == 200 and page.text.count("Not passed") == 1
        assert "theory score 45.0 is below the pass mark 60.0" in page.text
        response = admin.post(f"/admin/certificates/sessions/{admin.exam_session_id}/issue")
        assert response.status_code == 303 and response.headers["location"].endswith("?issued=2")
        assert sorted(c.holder_name for c in certificates(db_engine)) == ["张伟", "赵敏"]
        listing = admin.get("/admin/certificates")
        assert listing.text.count('data-testid="certificate-row"') == 2

    def test_a_failed_result_is_refused_with_the_reason_and_nothing_written(self, admin, db_engine):
        number_them(admin)
        practical(admin, "candidate2", "90")
        before = snapshot(db_engine)
        response = admin.post(f"/admin/certificates/sittings/{admin.sittings['candidate2'].id}/issue")
        assert response.status_code == 409
        assert "刘洋 did not pass" in response.text and "below the pass mark" in response.text
        assert snapshot(db_engine) == before

    def test_a_veto_fails_the_candidate(self, admin, db_engine):
        number_them(admin)
        practical(admin, "candidate", "98", veto=True)
        response = admin.post(f"/admin/certificates/sittings/{admin.sittings['candidate'].id}/issue")
        assert response.status_code == 409 and "veto item was triggered" in response.text
        assert certificates(db_engine) == []

    def test_without_numbering_the_issue_is_refused(self, admin, db_engine):
        practical(admin, "candidate", "80")
        before = snapshot(db_engine)
        response = admin.post(f"/admin/certificates/sessions/{admin.exam_session_id}/issue")
        assert response.status_code == 409 and "no certificate numbering profile" in response.text
        assert snapshot(db_engine) == before

    @pytest.mark.parametrize("score, problem", [("abc", "as a number"), ("101", "between 0 and 100")])
    def test_bad_scores_are_refused(self, admin, db_engine, score, problem):
        before = snapshot(db_engine)
        response = practical(admin, "candidate", score)
        assert response.status_code == 422 and problem in response.text
        assert snapshot(db_engine) == before

    def test_a_sitting_of_another_exam_session_is_not_found(self, admin, db_engine):
        response = admin.post(f"/admin/certificates/sessions/{admin.exam_session_id + 1}/scores",
                              {"candidate_session_id": str(admin.sittings["candidate"].id), "part": "practical",
                               "score": "70"})
        assert response.status_code == 404

    def test_malformed_numbering_is_refused_beside_its_field(self, admin, db_engine):
        before = snapshot(db_engine)
        response = admin.post(f"/admin/certificates/numbering/{admin.institution_id}",
                              {"body_code": "37x1", "province_code": "37", "site_serial": "000001"})
        assert response.status_code == 422
        assert 'data-field-error="body_code"' in response.text and "must be 4 digits" in response.text
        assert snapshot(db_engine) == before


class TestCertificatePages:
    @pytest.fixture
    def issued(self, admin, db_engine) -> Certificate:
        number_them(admin)
        practical(admin, "candidate", "80")
        admin.post(f"/admin/certificates/sittings/{admin.sittings['candidate'].id}/issue")
        (certificate,) = certificates(db_engine)
        return certificate

    def test_pdf_download(self, admin, issued):
        response = admin.get(f"/admin/certificates/{issued.id}/pdf")
        assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        assert f"http://testserver/verify/{issued.number}" in pdf_texts(response.content)

    def test_revoke_needs_a_reason(self, admin, issued, db_engine):
        before = snapshot(db_engine)
        response = admin.post(f"/admin/certificates/{issued.id}/revoke", {"reason": "  "})
        assert response.status_code == 422 and "give the reason" in response.text
        assert snapshot(db_engine) == before

    def test_revoke_with_a_reason(self, admin, issued, db_engine):
        response = admin.post(f"/admin/certificates/{issued.id}/revoke", {"reason": "替考 proxy sitter"})
        assert response.status_code == 303
        page = admin.get(f"/admin/certificates/{issued.id}")
        assert "Revoked" in page.text and "替考 proxy sitter" in html.unescape(page.text)
        again = admin.post(f"/admin/certificates/{issued.id}/revoke", {"reason": "again"})
        assert again.status_code == 409 and "already revoked" in again.text

    def test_unknown_certificate_is_404(self, admin):
        assert admin.get("/admin/certificates/999/pdf").status_code == 404


class TestRegistrationUpload:
    def upload(self, admin, content: bytes, dry_run: bool = False):
        data = {"csrf_token": admin.csrf, **({"dry_run": "true"} if dry_run else {})}
        return admin.client.post(f"/admin/certificates/sessions/{admin.exam_session_id}/registrations", data=data,
                                 files={"file": ("报名.xlsx", content, "application/octet-stream")})

    def test_valid_file_registers_everyone(self, admin, db_engine):
        response = self.upload(admin, workbook(HEADERS_ZH, [good_row(1), good_row(2)]))
        assert response.status_code == 303 and response.headers["location"].endswith("?registered=2")
        page = admin.get(response.headers["location"])
        assert "Candidates registered: 2" in page.text and "考生001" in page.text

    def test_problems_are_listed_by_row_and_column_and_nothing_is_written(self, admin, db_engine):
        bad = good_row(2)
        bad[3] = "女"
        before = snapshot(db_engine)
        response = self.upload(admin, workbook(HEADERS_ZH, [good_row(1), bad, good_row(3, years=0)]))
        assert response.status_code == 422
        table = response.text[response.text.index('data-testid="registration-problems"'):]
        assert "<td>3</td><td>sex</td>" in table and "<td>4</td><td>eligibility</td>" in table
        assert snapshot(db_engine) == before

    def test_dry_run_writes_nothing(self, admin, db_engine):
        before = snapshot(db_engine)
        response = self.upload(admin, workbook(HEADERS_ZH, [good_row(1)]), dry_run=True)
        assert response.status_code == 200 and "all 1 rows are valid" in response.text
        assert snapshot(db_engine) == before

    def test_no_file_is_422(self, admin, db_engine):
        response = admin.post(f"/admin/certificates/sessions/{admin.exam_session_id}/registrations", {})
        assert response.status_code == 422 and "choose an XLSX file" in response.text
