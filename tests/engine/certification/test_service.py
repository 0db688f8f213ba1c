"""Certificates on both databases: issue only for passed results, numbering, revocation, audit."""

from __future__ import annotations

from datetime import date

import pytest
import segno
from sqlmodel import Session, select

from engine import audit
from engine.certification import service
from engine.certification.errors import InvalidCertificateNumberError, NotPassedError, NumberingNotConfiguredError
from engine.certification.models import Certificate, CertificateStatus
from engine.certification.pdf import render_pdf, sheet_for
from engine.errors import DuplicateError, IllegalTransitionError, InvalidInputError
from engine.models import AuditEntry
from itembank.timeutil import utcnow
from tests.engine.certification.helpers import ACTOR, configure_numbering, pdf_texts, with_scores

TODAY = date(2026, 11, 24)


@pytest.fixture
def session(db_engine, demo):
    with Session(db_engine, expire_on_commit=False) as session:
        yield session


def certificate_count(session: Session) -> int:
    return len(session.exec(select(Certificate)).all())


class TestIssue:
    def test_passed_sitting_gets_a_numbered_certificate(self, session):
        configure_numbering(session)
        sitting = with_scores(session, "candidate", 82.5, 75)
        certificate = service.issue(session, sitting.id, ACTOR, TODAY)
        assert certificate.number == "S370137000001264000001"  # social org, level 4, serial 1
        assert (certificate.holder_name, certificate.occupation_name, certificate.level) == ("张伟", "电工", "level4")
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "certificate.issued")).one()
        assert entry.data["number"] == certificate.number and entry.data["scores"] == {"practical": 75.0,
                                                                                      "theory": 82.5}
        assert audit.verify(session).ok

    def test_serials_count_up_per_prefix(self, session):
        configure_numbering(session)
        first = service.issue(session, with_scores(session, "candidate", 90, 90).id, ACTOR, TODAY)
        second = service.issue(session, with_scores(session, "candidate2", 90, 90).id, ACTOR, TODAY)
        third = service.issue(session, with_scores(session, "candidate3", 90, 90).id, ACTOR, date(2027, 1, 2))
        assert [first.number[-6:], second.number[-6:]] == ["000001", "000002"]
        assert third.number[13:15] == "27" and third.number[-6:] == "000001"  # a new year starts again

    @pytest.mark.parametrize("theory, practical, veto, reason", [
        (59, 90, False, "theory score 59.0 is below the pass mark 60.0"),
        (90, 95, True, "a veto item was triggered in the practical part"),
        (90, None, False, "no practical score is recorded"),
        (None, 80, False, "no theory score is recorded"),
    ])
    def test_a_result_that_did_not_pass_is_refused_with_the_reason(self, session, theory, practical, veto, reason):
        configure_numbering(session)
        sitting = with_scores(session, "candidate", theory, practical, veto)
        session.commit()
        entries = session.exec(select(AuditEntry)).all()
        with pytest.raises(NotPassedError) as refused:
            service.issue(session, sitting.id, ACTOR, TODAY)
        assert reason in str(refused.value) and "张伟 did not pass" in str(refused.value)
        session.rollback()
        assert certificate_count(session) == 0 and len(session.exec(select(AuditEntry)).all()) == len(entries)

    def test_a_second_certificate_for_the_same_sitting_is_refused(self, session):
        configure_numbering(session)
        sitting = with_scores(session, "candidate", 90, 90)
        first = service.issue(session, sitting.id, ACTOR, TODAY)
        with pytest.raises(DuplicateError, match=first.number):
            service.issue(session, sitting.id, ACTOR, TODAY)

    def test_without_a_numbering_profile_nothing_is_issued(self, session):
        sitting = with_scores(session, "candidate", 90, 90)
        with pytest.raises(NumberingNotConfiguredError, match="S370100001 has no certificate numbering profile"):
            service.issue(session, sitting.id, ACTOR, TODAY)
        assert certificate_count(session) == 0

    def test_scores_are_closed_once_certified(self, session):
        configure_numbering(session)
        sitting = with_scores(session, "candidate", 90, 90)
        service.issue(session, sitting.id, ACTOR, TODAY)
        with pytest.raises(IllegalTransitionError, match="closed"):
            service.record_part_score(session, sitting.id, "practical", 10, False, ACTOR)

    def test_issue_for_an_exam_session_takes_the_passed_only(self, session):
        configure_numbering(session)
        with_scores(session, "candidate", 90, 90)
        with_scores(session, "candidate2", 40, 90)
        sitting = with_scores(session, "candidate3", 70, 65)
        report = service.issue_for_exam_session(session, sitting.exam_session_id, ACTOR, TODAY)
        assert [c.holder_name for c in report.issued] == ["张伟", "赵敏"]
        assert [o.candidate.name for o in report.not_passed] == ["刘洋"]
        again = service.issue_for_exam_session(session, sitting.exam_session_id, ACTOR, TODAY)
        assert again.issued == [] and len(again.already) == 2


class TestPartScores:
    @pytest.mark.parametrize("part, score, problem", [("theory", 80, "practical or review"),
                                                      ("oral", 80, "practical or review"),
                                                      ("practical", 101, "between 0 and 100")])
    def test_bad_part_scores_are_refused(self, session, part, score, problem):
        sitting = with_scores(session, "candidate", None, None)
        with pytest.raises(InvalidInputError, match=problem):
            service.record_part_score(session, sitting.id, part, score, False, ACTOR)

    def test_a_correction_replaces_the_score_and_keeps_the_old_one_in_the_audit(self, session):
        sitting = with_scores(session, "candidate", 70, 50)
        service.record_part_score(session, sitting.id, "practical", 65, False, ACTOR)
        outcome = service.outcome_of(session, sitting.id)
        assert outcome.outcome.passed and outcome.scores[service.Part.practical].score == 65
        last = session.exec(select(AuditEntry).where(AuditEntry.action == "part_score.recorded")
                            .order_by(AuditEntry.id.desc())).first()
        assert last.data["previous"] == {"score": 50.0, "veto": False}


class TestRevoke:
    def test_revoke_with_a_reason(self, session):
        configure_numbering(session)
        certificate = service.issue(session, with_scores(session, "candidate", 90, 90).id, ACTOR, TODAY)
        service.revoke(session, certificate.id, "  冒名顶替 (proxy sitter)  ", ACTOR, utcnow())
        assert certificate.status == CertificateStatus.revoked
        assert certificate.revoke_reason == "冒名顶替 (proxy sitter)"
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "certificate.revoked")).one()
        assert entry.data == {"number": certificate.number, "reason": "冒名顶替 (proxy sitter)"}

    def test_revoke_without_a_reason_or_twice_is_refused(self, session):
        configure_numbering(session)
        certificate = service.issue(session, with_scores(session, "candidate", 90, 90).id, ACTOR, TODAY)
        with pytest.raises(InvalidInputError, match="reason"):
            service.revoke(session, certificate.id, "   ", ACTOR, utcnow())
        assert certificate.status == CertificateStatus.issued
        service.revoke(session, certificate.id, "fraud", ACTOR, utcnow())
        with pytest.raises(IllegalTransitionError, match="already revoked"):
            service.revoke(session, certificate.id, "again", ACTOR, utcnow())


class TestNumberingProfile:
    @pytest.mark.parametrize("body, province, site, problem", [("37", "37", "000001", "body_code"),
                                                               ("3701", "S7", "000001", "province"),
                                                               ("3701", "37", "1", "site_serial")])
    def test_malformed_codes_are_refused(self, session, body, province, site, problem):
        institution_id = configure_numbering(session).id
        with pytest.raises(InvalidCertificateNumberError, match=problem):
            service.set_numbering_profile(session, institution_id, body, province, site, None, ACTOR)


class TestLookups:
    def test_by_number_and_by_name_with_id(self, session):
        configure_numbering(session)
        certificate = service.issue(session, with_scores(session, "candidate", 90, 90).id, ACTOR, TODAY)
        assert service.find_by_number(session, certificate.number.lower()) == certificate
        assert service.find_by_holder(session, "张伟", certificate.resident_id.lower()) == [certificate]
        assert service.find_by_holder(session, "张三", certificate.resident_id) == []

    def test_masks(self):
        assert service.mask_name("张伟") == "张*" and service.mask_name("欧阳娜娜") == "欧***"
        assert service.mask_resident_id("11010519491231002X") == "110*************2X"


class TestPdf:
    def test_pdf_carries_the_fields_and_a_qr_code_of_the_verification_url(self, session):
        configure_numbering(session)
        certificate = service.issue(session, with_scores(session, "candidate", 90, 90).id, ACTOR, TODAY)
        url = f"https://cert.example/verify/{certificate.number}"
        pdf = render_pdf(sheet_for(certificate, "济南市职业技能评价中心", url))
        texts = pdf_texts(pdf)
        for expected in ("职业技能等级证书", "张伟", certificate.resident_id, "电工", "四级/中级工", certificate.number,
                         url, "2026年11月24日"):
            assert expected in texts
        dark = sum(sum(row) for row in segno.make(url, error="m", micro=False).matrix_iter(scale=1, border=2))
        assert _filled_rects(pdf) == dark + 1  # the QR's dark modules plus its white background
        assert render_pdf(sheet_for(certificate, "济南市职业技能评价中心", url)) == pdf  # reproducible


def _filled_rects(pdf: bytes) -> int:
    import base64
    import re
    import zlib

    raw = re.search(rb"stream\r?\n(.*?)endstream", pdf, re.S).group(1).strip()
    return zlib.decompress(base64.a85decode(raw[:-2], adobe=False)).count(b" re f")


class TestConcurrency:
    def test_concurrent_issues_draw_distinct_serials(self, db_engine, demo):
        import threading
        from concurrent.futures import ThreadPoolExecutor

        with Session(db_engine, expire_on_commit=False) as setup:
            configure_numbering(setup)
            sittings = [with_scores(setup, user, 90, 90).id for user in ("candidate", "candidate2", "candidate3")]
            setup.commit()
        barrier = threading.Barrier(len(sittings))

        def issue(sitting_id: int) -> str:
            with Session(db_engine, expire_on_commit=False) as session:
                barrier.wait()
                number = service.issue(session, sitting_id, ACTOR, TODAY).number
                session.commit()
                return number

        with ThreadPoolExecutor(len(sittings)) as pool:
            numbers = list(pool.map(issue, sittings))
        assert sorted(number[-6:] for number in numbers) == ["000001", "000002", "000003"]
        with Session(db_engine) as session:
            assert audit.verify(session).ok

    def test_two_concurrent_issues_for_one_sitting_give_one_certificate(self, db_engine, demo):
        import threading
        from concurrent.futures import ThreadPoolExecutor

        with Session(db_engine, expire_on_commit=False) as setup:
            configure_numbering(setup)
            sitting_id = with_scores(setup, "candidate", 90, 90).id
            setup.commit()
        barrier = threading.Barrier(2)

        def issue(_: int) -> str:
            with Session(db_engine, expire_on_commit=False) as session:
                barrier.wait()
                try:
                    number = service.issue(session, sitting_id, ACTOR, TODAY).number
                except DuplicateError:
                    session.rollback()
                    return "refused"
                session.commit()
                return number

        with ThreadPoolExecutor(2) as pool:
            outcomes = sorted(pool.map(issue, range(2)))
        assert outcomes == ["S370137000001264000001", "refused"]
        with Session(db_engine) as session:
            assert certificate_count(session) == 1 and audit.verify(session).ok
