"""Shared set-up for certification tests: demo sittings with scores, PDF text extraction."""

from __future__ import annotations

import base64
import re
import zlib

from sqlmodel import Session, select

from engine.certification import service
from engine.models import Candidate, CandidateSession, CandidateSessionStatus, Institution, Result, User

ACTOR = "test-admin"


def sitting_of(session: Session, username: str) -> CandidateSession:
    return session.exec(select(CandidateSession).join(Candidate, Candidate.id == CandidateSession.candidate_id)
                        .join(User, User.id == Candidate.user_id).where(User.username == username)).one()


def give_theory(session: Session, sitting: CandidateSession, score: float) -> None:
    """A submitted theory part with this score (as delivery.submit would store it)."""
    sitting.status = CandidateSessionStatus.submitted
    session.add(sitting)
    session.add(Result(candidate_session_id=sitting.id, raw_points=score, max_points=100, score=score,
                       passed=score >= 60))
    session.flush()


def with_scores(session: Session, username: str, theory: float | None, practical: float | None,
                veto: bool = False) -> CandidateSession:
    sitting = sitting_of(session, username)
    if theory is not None:
        give_theory(session, sitting, theory)
    if practical is not None:
        service.record_part_score(session, sitting.id, "practical", practical, veto, ACTOR)
    return sitting


def configure_numbering(session: Session, body_code: str = "3701", site: str = "000001") -> Institution:
    institution = session.exec(select(Institution)).first()
    service.set_numbering_profile(session, institution.id, body_code, "37", site, None, ACTOR)
    return institution


def pdf_texts(pdf: bytes) -> list[str]:
    """The strings drawn on the page (reportlab: ASCII85 + Flate stream, UTF-16BE CID text)."""
    texts = []
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        raw = match.group(1).strip()
        content = zlib.decompress(base64.a85decode(raw[:-2], adobe=False))
        for literal in re.findall(rb"\(((?:\\.|[^\\)])*)\) Tj", content, re.S):
            texts.append(_unescape(literal))
    return texts


def _unescape(literal: bytes) -> str:
    out, i = bytearray(), 0
    while i < len(literal):
        if literal[i:i + 1] == b"\\":
            octal = re.match(rb"[0-7]{1,3}", literal[i + 1:i + 4])
            if octal:
                out.append(int(octal.group(0), 8))
                i += 1 + len(octal.group(0))
                continue
            out += {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(literal[i + 1:i + 2], literal[i + 1:i + 2])
            i += 2
            continue
        out += literal[i:i + 1]
        i += 1
    data = bytes(out)
    try:
        return data.decode("utf-16-be")
    except UnicodeDecodeError:
        return data.decode("latin-1")
