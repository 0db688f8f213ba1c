"""Registration by XLSX on both databases: all-or-nothing, every problem by row and column."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from engine import administration
from engine.certification.errors import RegistrationFileError
from engine.certification.models import Registration
from engine.certification.registration import import_registrations, set_eligibility_rules
from engine.errors import InvalidInputError
from engine.models import AuditEntry, Candidate, CandidateSession, ExamDefinition, ExamSession, Room
from tests.engine.certification.xlsx import HEADERS_ZH, good_row, resident_id, workbook
from tests.web.test_bad_input import snapshot

TODAY = date(2026, 11, 24)


@pytest.fixture
def session(db_engine, demo):
    with Session(db_engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def exam_session_id(session) -> int:
    return session.exec(select(ExamSession.id)).first()


def big_exam_session(session: Session, capacity: int = 250) -> int:
    room = session.exec(select(Room)).first()
    big = administration.create_room(session, room.test_center_id, "大考场", capacity, "test")
    definition = session.exec(select(ExamDefinition)).first()
    return administration.create_exam_session(session, definition.id, big.id, "大批次",
                                              datetime(2030, 1, 1, 8, tzinfo=UTC), "test").id


def problems_of(session, content, exam_session_id) -> list[tuple[int, str]]:
    with pytest.raises(RegistrationFileError) as refused:
        import_registrations(session, content, exam_session_id, "test", TODAY)
    return [(p.row, p.column) for p in refused.value.problems]


class TestImport:
    def test_two_hundred_candidates_are_enrolled_with_their_registration(self, session, db_engine):
        target = big_exam_session(session)
        session.commit()
        content = workbook(HEADERS_ZH, [good_row(i) for i in range(200)])
        report = import_registrations(session, content, target, "test", TODAY, source="batch.xlsx")
        session.commit()
        assert len(report.enrolled) == 200
        sittings = session.exec(select(CandidateSession).where(CandidateSession.exam_session_id == target)).all()
        assert len(sittings) == 200
        registration = session.exec(select(Registration).where(
            Registration.candidate_session_id == report.enrolled[0])).one()
        assert (registration.employer, registration.years_in_occupation, registration.condition_met) == \
            ("济南电力公司", 6.0, {"years": 6.0})
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "registration.imported")).one()
        assert entry.data == {"rows": 200, "source": "batch.xlsx"}

    def test_english_headers_in_any_order_and_extra_columns(self, session, exam_session_id):
        born = "19920101"
        content = workbook(["note", "resident_id", "name", "prior_level", "years"],
                           [["x", resident_id(born, 11), "王五", "五级/初级工", 4]])
        report = import_registrations(session, content, exam_session_id, "test", TODAY)
        assert report.rows[0].condition.as_data() == {"prior_level": "level5", "years": 4.0}

    def test_dry_run_checks_and_writes_nothing(self, session, db_engine, exam_session_id):
        session.commit()
        before = snapshot(db_engine)
        report = import_registrations(session, workbook(HEADERS_ZH, [good_row(1), good_row(2)]), exam_session_id,
                                      "test", TODAY, dry_run=True)
        session.commit()
        assert report.dry_run and len(report.rows) == 2 and report.enrolled == []
        assert snapshot(db_engine) == before


class TestProblems:
    def test_every_problem_is_named_by_row_and_column_and_nothing_is_written(self, session, db_engine,
                                                                                exam_session_id):
        demo_id = session.exec(select(CandidateSession)).first()
        zhang = session.get(Candidate, demo_id.candidate_id)
        bad_check = good_row(3)
        bad_check[1] = bad_check[1][:17] + ("0" if bad_check[1][17] != "0" else "1")
        wrong_birth, wrong_sex = good_row(4), good_row(5)
        wrong_birth[2], wrong_sex[3] = "1991-01-01", "女"
        duplicate = good_row(6)
        rows = [
            good_row(1),                                   # row 2: fine
            bad_check,                                     # row 3: check character
            wrong_birth,                                   # row 4: birth date vs ID
            wrong_sex,                                     # row 5: sex vs ID
            good_row(6), duplicate,                        # rows 6, 7: the same ID twice
            [zhang.name, zhang.resident_id, "", "", "", "", 6, "", ""],   # row 8: already enrolled
            good_row(10, years=2),                         # row 9: not eligible for level 4
            good_row(11, years="很多"),                    # row 10: years not a number
            good_row(12)[:7] + ["七级", "也许"],             # row 11: prior level and yes/no
            ["", "", "", "", "", "", "", "", ""],          # blank row: skipped
            ["李四", "11010519491231002X", "", "", "", "", 6, "", ""],  # row 13: fine
        ]
        session.commit()
        before = snapshot(db_engine)
        found = problems_of(session, workbook(HEADERS_ZH, rows), exam_session_id)
        session.rollback()
        assert found == [(3, "resident_id"), (4, "birth_date"), (5, "sex"), (7, "resident_id"), (8, "resident_id"),
                         (9, "eligibility"), (10, "years_in_occupation"), (11, "prior_level"),
                         (11, "school_graduate")]
        assert snapshot(db_engine) == before

    def test_a_known_resident_id_under_another_name(self, session):
        target = big_exam_session(session)
        zhang = session.exec(select(Candidate).where(Candidate.name == "张伟")).one()
        rows = [["张卫", zhang.resident_id, "", "", "", "", 6, "", ""]]
        assert problems_of(session, workbook(HEADERS_ZH, rows), target) == [(2, "name")]

    def test_messages_say_what_is_wrong(self, session, exam_session_id):
        row = good_row(10, years=2)
        with pytest.raises(RegistrationFileError) as refused:
            import_registrations(session, workbook(HEADERS_ZH, [row]), exam_session_id, "test", TODAY)
        assert str(refused.value.problems[0]) == (
            "row 2, eligibility: not eligible for level4: needs a level5 certificate and 4 years in the occupation; "
            "or 6 years in the occupation; or a technical-school diploma")
        assert "1 problems; nothing was imported" in str(refused.value)

    def test_a_missing_required_column(self, session, exam_session_id):
        assert problems_of(session, workbook(["姓名", "手机"], [["王五", "1"]]), exam_session_id) == \
            [(1, "resident_id")]

    @pytest.mark.parametrize("content", [b"not a spreadsheet", b"PK\x03\x04broken zip"])
    def test_a_file_that_is_not_xlsx(self, session, exam_session_id, content):
        assert problems_of(session, content, exam_session_id) == [(0, "file")]

    def test_a_file_without_rows(self, session, exam_session_id):
        assert problems_of(session, workbook(HEADERS_ZH, []), exam_session_id) == [(0, "file")]

    def test_more_candidates_than_seats(self, session, exam_session_id):
        rows = [good_row(i) for i in range(28)]  # 3 enrolled + 28 > 30 seats
        assert problems_of(session, workbook(HEADERS_ZH, rows), exam_session_id) == [(0, "file")]


class TestEligibilityAsData:
    def test_an_occupations_own_rules_replace_the_defaults(self, session, exam_session_id):
        definition = session.exec(select(ExamDefinition)).first()
        set_eligibility_rules(session, definition.occupation_id, "level4", [{"years": 2}], "test")
        report = import_registrations(session, workbook(HEADERS_ZH, [good_row(10, years=2)]), exam_session_id,
                                      "test", TODAY)
        assert len(report.enrolled) == 1

    def test_malformed_rules_are_refused(self, session):
        definition = session.exec(select(ExamDefinition)).first()
        with pytest.raises(InvalidInputError):
            set_eligibility_rules(session, definition.occupation_id, "level4", [{"years": "many"}], "test")
        with pytest.raises(InvalidInputError, match="unknown level"):
            set_eligibility_rules(session, definition.occupation_id, "level9", [], "test")
