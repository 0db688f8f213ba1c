"""From an XLSX registration of 200 candidates to verified certificates, on both databases.

Registration → scope, seat map and batch → seats → tickets → duty (cross-dispatched
supervisor) → identity check-in at the door → theory → practical → publication → an appeal → certificates →
verification page → results export → archive (when engine/archive is present) → audit chain.

Three candidates go through every step over HTTP (their own sign-in, answers, results
page, appeal, survey); the other 197 through the same services the routes call. Every
candidate's answers are chosen so that the outcome is known in advance: candidate i
answers the ``answered(i)`` most valuable questions correctly and leaves the rest, and gets the
practical score ``practical(i)`` (veto when ``i % 37 == 0``).
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta
from urllib.parse import urlparse

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from engine import audit, delivery
from engine.accounts import create_user
from engine.certification import service as certification
from engine.certification.models import Certificate, Registration
from engine.models import (
    Candidate,
    CandidateSession,
    ExamDefinition,
    ExamFormItem,
    Institution,
    Role,
    User,
)
from engine.proctoring import actions
from engine.scheduling.models import ExamBatch, RoomBooking, SeatAssignment
from engine.scoring import theory_score
from itembank.models import Item, ItemVersion
from tests.conftest import Visitor
from tests.engine.certification.helpers import pdf_texts
from tests.engine.certification.xlsx import HEADERS_ZH, good_row, workbook

CANDIDATES = 200
EMPLOYERS = ["国网济南供电公司"] * 70 + ["济南二机床"] * 50 + ["山东电建三公司"] * 40 + ["个体"] * 20 + [""] * 20
ACTOR = "lifecycle-test"


def answered(i: int) -> int:
    return 4 + (7 * i) % 10  # 4 … 13 of the 20 questions, the most valuable first


def practical(i: int) -> float:
    return float(40 + (13 * i) % 61)  # 40 … 100


def veto(i: int) -> bool:
    return i % 37 == 0


def _form(db: Session, definition: ExamDefinition) -> list[tuple[int, float, list[str]]]:
    """(position, points, key) of every question on the form, the most valuable first."""
    rows = db.exec(select(ExamFormItem, Item).join(Item, Item.id == ExamFormItem.item_id)
                   .where(ExamFormItem.exam_definition_id == definition.id).order_by(ExamFormItem.position)).all()
    keys = []
    for line, item in rows:
        version = db.exec(select(ItemVersion).where(ItemVersion.item_id == item.id,
                                                    ItemVersion.version_no == item.current_version)).one()
        keys.append((line.position, line.points, list(version.key)))
    return sorted(keys, key=lambda question: (-question[1], question[0]))


def expected_theory(form, i: int) -> float:
    return theory_score(sum(points for _, points, _ in form[:answered(i)]), sum(points for _, points, _ in form))


def _sample(form) -> tuple[int, int, int]:
    """Three HTTP candidates: one who will appeal (theory below 60, practical passed), one who
    passes, one who fails the practical."""
    appellant = next(i for i in range(CANDIDATES) if expected_theory(form, i) < 60 <= practical(i) and not veto(i))
    passer = next(i for i in range(CANDIDATES) if expected_theory(form, i) >= 60 and practical(i) >= 60
                  and not veto(i))
    failer = next(i for i in range(CANDIDATES) if practical(i) < 60 and i not in (appellant, passer))
    return appellant, passer, failer


def test_registration_to_verified_certificate_for_200_candidates(app, demo, db_engine, clock):
    admin = Visitor(TestClient(app, follow_redirects=False)).login("admin")
    with Session(db_engine, expire_on_commit=False) as db:
        institution = db.exec(select(Institution)).one()
        definition = db.exec(select(ExamDefinition)).one()
        form = _form(db, definition)
        outsider = create_user(db, "dispatched", "外派督考员 孙磊", Role.supervisor, "dispatched-pass", ACTOR)
        db.commit()

    # ---- scope, test center, room with its seat map, batch --------------------------------
    assert admin.post(f"/admin/scheduling/scope/{institution.id}",
                      {"scope": f"{definition.occupation_id}:{definition.level.value}"}).status_code == 303
    assert admin.post(f"/admin/institutions/{institution.id}/centers", {"name": "标准化考点", "address": "济南"}
                      ).status_code == 303
    with Session(db_engine, expire_on_commit=False) as db:
        from engine.models import Room, TestCenter

        center = db.exec(select(TestCenter).where(TestCenter.name == "标准化考点")).one()
    assert admin.post(f"/admin/centers/{center.id}/rooms", {"name": "机房一", "capacity": "30"}).status_code == 303
    with Session(db_engine, expire_on_commit=False) as db:
        room = db.exec(select(Room).where(Room.name == "机房一")).one()
    assert admin.post(f"/admin/scheduling/rooms/{room.id}/layout",
                      {"rows": "15", "columns": "14", "missing_seats": "01-01 01-14", "equipment": "每座一台计算机",
                       "standardized": "on"}).status_code == 303
    starts = (clock() + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    scheduled = admin.post("/admin/scheduling/batches", {
        "institution_id": str(institution.id), "exam_definition_id": str(definition.id), "code": "DG4-2026-07",
        "title": "电工四级认定", "starts_at": starts.strftime("%Y-%m-%dT%H:%M"), "room_ids": str(room.id)})
    assert scheduled.status_code == 303, scheduled.text
    with Session(db_engine, expire_on_commit=False) as db:
        batch = db.exec(select(ExamBatch).where(ExamBatch.code == "DG4-2026-07")).one()
        exam_session_id = db.exec(select(RoomBooking.exam_session_id).where(RoomBooking.batch_id == batch.id)).one()

    # ---- registration of 200 candidates by XLSX (one file, all or nothing) ---------------------
    rows = [good_row(i)[:5] + [EMPLOYERS[i]] + good_row(i)[6:] for i in range(CANDIDATES)]
    upload = admin.client.post(f"/admin/certificates/sessions/{exam_session_id}/registrations",
                               data={"csrf_token": admin.csrf},
                               files={"file": ("报名表.xlsx", workbook(HEADERS_ZH, rows), "application/octet-stream")})
    assert upload.status_code == 303 and upload.headers["location"].endswith(f"registered={CANDIDATES}")
    with Session(db_engine, expire_on_commit=False) as db:
        by_row = {row[1]: i for i, row in enumerate(rows)}  # resident ID → row index
        sittings = {by_row[candidate.resident_id]: sitting for sitting, candidate in db.exec(
            select(CandidateSession, Candidate).join(Candidate, Candidate.id == CandidateSession.candidate_id)
            .where(CandidateSession.exam_session_id == exam_session_id)).all()}
    assert len(sittings) == CANDIDATES

    # ---- seats (colleagues apart), tickets, duty -----------------------------------------------
    assert admin.post(f"/admin/scheduling/sessions/{exam_session_id}/seats").status_code == 303
    with Session(db_engine, expire_on_commit=False) as db:
        seats = db.exec(select(SeatAssignment).where(SeatAssignment.exam_session_id == exam_session_id)).all()
        seated = db.exec(select(audit.AuditEntry).where(audit.AuditEntry.action == "seats.assigned")).one()
    assert len({s.seat for s in seats}) == CANDIDATES and not {"01-01", "01-14"} & {s.seat for s in seats}
    assert seated.data["same_employer_pairs"] <= 3  # random seating puts about 100 such pairs side by side
    tickets = admin.get(f"/admin/scheduling/sessions/{exam_session_id}/tickets.pdf")
    assert tickets.status_code == 200 and tickets.content.count(b"/Type /Page\n") + tickets.content.count(
        b"/Type /Page ") >= CANDIDATES
    page = admin.get(f"/admin/scheduling/sessions/{exam_session_id}")
    assert page.text.count('class="seat seat-taken"') == CANDIDATES
    assert admin.post(f"/admin/scheduling/sessions/{exam_session_id}/duties",
                      {"user_id": str(outsider.id), "role": "supervisor"}).status_code == 303

    # ---- the three HTTP candidates get accounts; the supervisor on duty sees the room ----------
    appellant, passer, failer = _sample(form)
    with Session(db_engine, expire_on_commit=False) as db:
        for i in (appellant, passer, failer):
            candidate = db.get(Candidate, sittings[i].candidate_id)
            candidate.user_id = create_user(db, f"cand{i}", candidate.name, Role.candidate, f"cand{i}-pass",
                                            ACTOR).id
            db.add(candidate)
        db.commit()
    visitors = {}
    for i in (appellant, passer, failer):
        visitors[i] = Visitor(TestClient(app, follow_redirects=False)).login(f"cand{i}", f"cand{i}-pass")
        own = visitors[i].get("/candidate/results")
        assert "Results are not published yet." in own.text
        ticket = visitors[i].get(f"/candidate/results/{sittings[i].id}/ticket.pdf")
        number = next(s.ticket_number for s in seats if s.candidate_session_id == sittings[i].id)
        assert ticket.status_code == 200 and any(number in text for text in pdf_texts(ticket.content))
    supervisor = Visitor(TestClient(app, follow_redirects=False)).login("dispatched", "dispatched-pass")
    roster = supervisor.get(f"/supervisor/sessions/{exam_session_id}")
    assert roster.status_code == 200 and roster.text.count('data-sitting="') >= CANDIDATES
    not_on_duty = Visitor(TestClient(app, follow_redirects=False)).login("supervisor")
    assert not_on_duty.get(f"/supervisor/sessions/{exam_session_id}").status_code == 404

    # ---- the sitting: check-in (proctoring), then the theory part --------------------------------
    clock.advance(seconds=(starts - clock()).total_seconds() + 60)
    supervisor.refresh_csrf(f"/supervisor/sessions/{exam_session_id}")
    for i in (appellant, passer, failer):  # identity check at the door by the supervisor on duty
        checked = supervisor.post(f"/supervisor/sittings/{sittings[i].id}/check-in",
                                  {"id_checked": "yes", "photo_match": "yes", "document": "resident_id"}, htmx=True)
        assert checked.status_code == 200, checked.text
    assert not_on_duty.post(f"/supervisor/sittings/{sittings[passer].id}/check-in",
                            {"id_checked": "yes", "photo_match": "yes"}, htmx=True).status_code == 404
    for i in (appellant, passer, failer):
        candidate = visitors[i]
        candidate.post(f"/candidate/sessions/{sittings[i].id}/start")
        for seq, (position, _points, key) in enumerate(form[:answered(i)], start=1):
            reply = candidate.post(f"/candidate/sessions/{sittings[i].id}/items/{position}/answer",
                                   {"answer": key, "seq": str(seq)}, htmx=True)
            assert reply.status_code == 200, reply.text
        assert candidate.post(f"/candidate/sessions/{sittings[i].id}/submit").status_code == 303
    now = clock()
    for i, sitting in sittings.items():
        if i in visitors:
            continue
        with Session(db_engine, expire_on_commit=False) as db:  # one unit of work per candidate, as over HTTP
            sitting = db.get(CandidateSession, sitting.id)
            actions.check_in(db, sitting.id, "dispatched", now, id_checked=True, photo_match=True)
            delivery.start(db, sitting, ACTOR, now)
            for seq, (position, _points, key) in enumerate(form[:answered(i)], start=1):
                delivery.record_answer(db, sitting, position, key, seq, ACTOR, now)
            delivery.submit(db, sitting, ACTOR, now)
            db.commit()

    # ---- the practical part: one candidate runs the real simulated task (engine/practical), the
    # ---- others' rated scores are recorded (HTTP for the sample, the service for the rest) --------
    simulated = _simulated_practical(db_engine, sittings[passer].id, clock())
    assert simulated >= 60
    for i in (appellant, failer):
        form_data = {"candidate_session_id": str(sittings[i].id), "part": "practical", "score": f"{practical(i):g}"}
        if veto(i):
            form_data["veto"] = "on"
        assert admin.post(f"/admin/certificates/sessions/{exam_session_id}/scores", form_data).status_code == 303
    with Session(db_engine, expire_on_commit=False) as db:
        for i, sitting in sittings.items():
            if i not in visitors:
                certification.record_part_score(db, sitting.id, "practical", practical(i), veto(i), ACTOR)
        assert certification.outcome_of(db, sittings[passer].id).scores[certification.Part.practical].score == \
            simulated
        db.commit()
        for i, sitting in sittings.items():
            assert certification.outcome_of(db, sitting.id).scores[certification.Part.theory].score == \
                expected_theory(form, i)

    # ---- publication, the candidates' view, an appeal, the survey ---------------------------------
    assert admin.post(f"/admin/scheduling/sessions/{exam_session_id}/publish").status_code == 303
    own = visitors[appellant].get("/candidate/results")
    assert f'data-testid="part-theory">{expected_theory(form, appellant):g}' in own.text
    assert "Not passed" in own.text
    asked = visitors[appellant].post(f"/candidate/results/{sittings[appellant].id}/appeal",
                                     {"part": "theory", "reason": "第14题的标准答案可能有误，请复核"})
    assert asked.status_code == 303
    with Session(db_engine, expire_on_commit=False) as db:
        from engine.results.models import Appeal

        appeal = db.exec(select(Appeal)).one()
    file = admin.get(f"/admin/appeals/{appeal.id}")
    assert f"Computed again from the stored answers: {expected_theory(form, appellant):g}" in file.text
    decided = admin.post(f"/admin/appeals/{appeal.id}/decide",
                         {"outcome": "corrected", "new_score": "64", "finding": "第14题标准答案有误，改判为正确"})
    assert decided.status_code == 303
    assert "Passed" in visitors[appellant].get("/candidate/results").text
    for i in (appellant, passer, failer):
        answer = {key: "4" for key in ("organisation", "venue", "staff", "fairness", "overall")}
        assert visitors[i].post(f"/candidate/survey/{sittings[i].id}", answer).status_code == 303
    assert "3 answers" in admin.get("/admin/surveys").text

    # ---- certificates: exactly the passed candidates (known in advance), plus the corrected one -----
    assert admin.post(f"/admin/certificates/numbering/{institution.id}",
                      {"body_code": "0042", "province_code": "37", "site_serial": "000107"}).status_code == 303
    passing = {i for i in range(CANDIDATES) if expected_theory(form, i) >= 60 and practical(i) >= 60 and not veto(i)}
    passing.add(appellant)
    issued = admin.post(f"/admin/certificates/sessions/{exam_session_id}/issue")
    assert issued.headers["location"].endswith(f"?issued={len(passing)}")
    with Session(db_engine, expire_on_commit=False) as db:
        certified = {c.candidate_session_id: c for c in db.exec(select(Certificate)).all()}
    assert set(certified) == {sittings[i].id for i in passing}

    # ---- the verification page (public): masked fields only ----------------------------------------
    certificate = certified[sittings[passer].id]
    pdf = admin.get(f"/admin/certificates/{certificate.id}/pdf").content
    url = next(text for text in pdf_texts(pdf) if text.startswith("http"))
    with TestClient(app, follow_redirects=False) as anonymous:
        shown = anonymous.get(urlparse(url).path, cookies={"skillcert_locale": "en"})
        assert shown.status_code == 200 and "genuine and valid" in shown.text
        assert certificate.holder_name not in shown.text and certificate.resident_id not in shown.text

    # ---- results export (CSV) for reporting --------------------------------------------------------
    exported = admin.get(f"/admin/scheduling/sessions/{exam_session_id}/results.csv")
    lines = exported.content.decode("utf-8-sig").splitlines()
    assert len(lines) == CANDIDATES + 1 and sum(",pass," in line for line in lines) == len(passing)

    # ---- archive export and verification (engine/archive), then the audit chain ------------------------
    _archive_step(db_engine, sittings[passer].id)
    with Session(db_engine, expire_on_commit=False) as db:
        checked_in = db.exec(select(audit.AuditEntry).where(
            audit.AuditEntry.action == "proctoring.identity_checked")).all()
        assert len({entry.entity_id for entry in checked_in}) == CANDIDATES
        assert audit.verify(db).ok
        assert len(db.exec(select(Registration)).all()) == CANDIDATES
        assert db.exec(select(User).where(User.username == "dispatched")).one()
    assert re.fullmatch(r"S0042370001072\d4\d{6}", certificate.number)


def _simulated_practical(db_engine, candidate_session_id: int, now) -> float:
    """The demo exam's electrician switching task run with the model ticket; its score sheet sets the part."""
    from engine.practical import service as practical
    from tests.engine.practical.helpers import model_ticket, perform, scenario_task

    with Session(db_engine, expire_on_commit=False) as db:
        sitting = db.get(CandidateSession, candidate_session_id)
        attempt = practical.start_attempt(db, sitting, scenario_task(db, sitting).id, ACTOR, now)
        actions = model_ticket()
        perform(db, attempt, actions, now)
        finished = practical.finish(db, attempt, ACTOR, now + timedelta(seconds=actions[-1]["t"] + 1))
        db.commit()
        return finished.score


def _archive_step(db_engine, candidate_session_id: int) -> None:
    """Export one sitting's evidence archive and verify it offline; a tampered copy is named."""
    from engine.archive import bundle
    from engine.archive.verify import verify_archive

    with Session(db_engine, expire_on_commit=False) as db:
        exported = bundle.export(db, candidate_session_id, "https://verify.example")
    report = verify_archive(exported.data)
    assert report.ok, [str(p) for p in report.problems]
    assert report.files_checked > 5 and report.audit_entries > 0
    source, copy = zipfile.ZipFile(io.BytesIO(exported.data)), io.BytesIO()
    with zipfile.ZipFile(copy, "w") as changed:
        for name in source.namelist():
            data = source.read(name)
            if "result" in name and name.endswith(".json"):
                data, target = data.replace(b"passed", b"Passed", 1) + b" ", name
            changed.writestr(name, data)
    tampered = copy.getvalue()
    assert any(target == p.path for p in verify_archive(tampered).problems)
