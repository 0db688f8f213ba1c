"""Quality indicators on seeded data with known answers, and the outlier arithmetic."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from engine.certification.models import Certificate, CertificateStatus
from engine.certification.rules import Part
from engine.models import CandidateSession, Institution
from engine.quality import complaints, indicators, statistics
from engine.quality.indicators import Period
from engine.quality.report_pdf import render_report
from engine.results.models import Appeal, AppealStatus, SurveyAnswer
from tests.engine.quality.seeding import two_institutions

PERIOD = Period(date(2026, 1, 1), date(2026, 7, 1))


class TestArithmetic:
    def test_pass_rate_z_against_known_values(self):
        # 18/20 against the others' 10/20: (0.9 - 0.5) / sqrt(0.25 / 20)
        assert indicators.pass_rate_z(18, 20, 10, 20) == pytest.approx(0.4 / math.sqrt(0.25 / 20))
        assert indicators.pass_rate_z(18, 20, 10, 20) == pytest.approx(3.5777, abs=1e-4)
        assert indicators.pass_rate_z(10, 20, 18, 20) == pytest.approx(-0.4 / math.sqrt(0.09 / 20))
        assert indicators.pass_rate_z(5, 10, 0, 0) is None and indicators.pass_rate_z(5, 10, 10, 10) is None

    def test_count_z_against_known_values(self):
        assert indicators.count_z(3, 20, 1, 20) == pytest.approx(2.0)  # expected 1, sd 1
        assert indicators.count_z(1, 20, 3, 20) == pytest.approx(-2 / math.sqrt(3))
        assert indicators.count_z(1, 20, 0, 20) is None

    def test_outlier_rule_needs_the_limit_and_enough_candidates(self):
        assert indicators.is_outlier(2.0, 10) and indicators.is_outlier(-2.5, 50)
        assert not indicators.is_outlier(1.99, 100) and not indicators.is_outlier(5.0, 9)
        assert not indicators.is_outlier(None, 100)

    def test_histogram_bins(self):
        assert indicators.histogram([0, 9.9, 10, 59.9, 60, 99.9, 100]) == [2, 1, 0, 0, 0, 1, 1, 0, 0, 2]

    def test_a_simulated_fair_institution_is_rarely_an_outlier(self):
        """Institutions drawing from the province's true rate are flagged at about the 5% two-sided level."""
        import numpy as np

        rng = np.random.default_rng(7)
        flagged = 0
        runs = 2000
        for _ in range(runs):
            passed = int(rng.binomial(40, 0.7))
            others = int(rng.binomial(4000, 0.7))
            flagged += indicators.is_outlier(indicators.pass_rate_z(passed, 40, others, 4000), 40)
        assert 0.02 < flagged / runs < 0.09


@pytest.fixture
def seeded(db_engine, demo):
    with Session(db_engine, expire_on_commit=False) as db:
        ids = two_institutions(db)
        now = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
        for subject in ("替考", "收费"):
            complaints.submit(db, ids["a"], "proxy", subject, "详细情况", "", now)
        db.add(Appeal(candidate_session_id=ids["a_first"], part=Part.theory, reason="复核", original_score=80.0,
                      status=AppealStatus.upheld))
        for value in (4, 5):
            db.add(SurveyAnswer(exam_session_id=_exam_session(db, ids), institution_id=ids["a"],
                                ratings=dict.fromkeys(("organisation", "venue", "staff", "fairness", "overall"),
                                                      value)))
        db.commit()
    return ids


def _exam_session(db: Session, ids: dict) -> int:
    return db.get(CandidateSession, ids["a_first"]).exam_session_id


def _of(db_engine, institution_id: int) -> indicators.Indicators:
    with Session(db_engine) as db:
        return indicators.institution_indicators(db, db.get(Institution, institution_id), PERIOD)


class TestSeededIndicators:
    def test_institution_a(self, db_engine, seeded):
        found = _of(db_engine, seeded["a"])
        assert found.candidates == 20  # the 2025 sitting lies outside the period
        assert (found.overall.n, found.overall.passed, found.overall.others_n, found.overall.others_passed) == (
            20, 18, 20, 10)
        assert found.overall.rate == pytest.approx(0.9) and found.overall.z == pytest.approx(3.5777, abs=1e-4)
        assert found.overall.outlier
        [group] = found.groups
        assert (group.occupation, group.level, group.n, group.passed) == ("电工", "level4", 20, 18)
        assert found.theory_histogram == [0, 0, 0, 0, 2, 0, 0, 0, 18, 0]
        assert found.practical_histogram == [0, 0, 0, 0, 0, 0, 0, 20, 0, 0]
        assert found.incidents.count == 3 and found.incidents.per_100 == pytest.approx(15.0)
        assert found.incidents.others_per_100 == pytest.approx(5.0)
        assert found.incidents.z == pytest.approx(2.0) and found.incidents.outlier
        assert found.anomalies.count == 0
        assert found.complaints["received"] == 2 and found.complaints_per_100 == pytest.approx(10.0)
        assert found.appeals == {"open": 0, "upheld": 1, "corrected": 0}
        assert found.satisfaction == {"answers": 2, "mean": 4.5, "overall": 4.5}
        assert (found.archive_complete, found.archive_checked) == (0, 20)  # seeded without items or proctoring
        assert found.outliers == ["pass rate", "pass rate 电工 level4", "incidents"]
        assert [(h.occupation, h.level, h.items) for h in found.bank_health] == [("电工", "level4", 60)]

    def test_institution_b(self, db_engine, seeded):
        found = _of(db_engine, seeded["b"])
        assert (found.candidates, found.overall.passed, found.overall.others_passed) == (20, 10, 18)
        assert found.overall.z == pytest.approx(-0.4 / math.sqrt(0.09 / 20))
        assert found.incidents.z == pytest.approx(-2 / math.sqrt(3)) and not found.incidents.outlier
        assert found.complaints["received"] == 0 and found.appeals == {"open": 0, "upheld": 0, "corrected": 0}
        assert found.satisfaction == {"answers": 0, "mean": None, "overall": None}
        assert found.outliers == ["pass rate", "pass rate 电工 level4"]

    def test_overview_covers_every_institution(self, db_engine, seeded):
        with Session(db_engine) as db:
            rows = indicators.all_indicators(db, PERIOD, archive=False)
        by_code = {row.institution.code: row for row in rows}
        assert by_code["QA001"].candidates == 20 and by_code["QB002"].candidates == 20
        demo = next(row for code, row in by_code.items() if code not in ("QA001", "QB002"))
        assert demo.candidates == 0 and demo.overall.rate is None  # the demo sits today, outside the period

    def test_the_evaluation_report_is_a_pdf(self, db_engine, seeded):
        found = _of(db_engine, seeded["a"])
        pdf = render_report(found, "2026-07-01")
        assert pdf.startswith(b"%PDF") and pdf == render_report(found, "2026-07-01")


class TestCertificateStatistics:
    def test_counts_by_occupation_level_kind_and_month(self, db_engine, seeded):
        rows = [(seeded["a"], "电工", "level4", date(2026, 1, 15)), (seeded["a"], "电工", "level4", date(2026, 1, 20)),
                (seeded["b"], "电工", "level3", date(2026, 3, 2)), (seeded["b"], "焊工", "level4", date(2026, 3, 9)),
                (seeded["b"], "焊工", "level4", date(2026, 8, 1))]  # the last lies outside the period
        with Session(db_engine) as db:
            sittings = sorted(db.exec(select(CandidateSession.id)).all())
            for index, (institution_id, occupation, level, issued_on) in enumerate(rows):
                db.add(Certificate(number=f"S37{index:019d}", candidate_id=1, candidate_session_id=sittings[index],
                                   institution_id=institution_id, holder_name="某", resident_id="x",
                                   occupation_code="X", occupation_name=occupation, level=level, issued_on=issued_on,
                                   issued_by="admin",
                                   status=CertificateStatus.revoked if index == 0 else CertificateStatus.issued))
            db.flush()
            found = statistics.certificate_statistics(db, PERIOD)
        assert found.total == 4 and found.revoked == 1
        assert found.by_occupation == [("电工", 3), ("焊工", 1)]
        assert found.by_level == [("level3", 1), ("level4", 3)]
        assert found.by_institution_kind == [("school", 2), ("social_org", 2)]
        assert found.by_month == [("2026-01", 2), ("2026-02", 0), ("2026-03", 2), ("2026-04", 0), ("2026-05", 0),
                                  ("2026-06", 0)]
