"""``skillcert candidates ...`` and ``skillcert certificates ...``.

- ``candidates import FILE --exam-session ID [--dry-run]``: registration by XLSX. A file
  with problems exits with code 2 and lists every problem by row and column on stderr;
  nothing is written. A dry run checks the file and writes nothing.
- ``candidates eligibility OCCUPATION LEVEL CONDITIONS_JSON``: an occupation's own
  eligibility conditions for a level (replacing the defaults).
- ``certificates issue --exam-session ID``: certificates for every passed sitting.
- ``certificates pdf NUMBER --base-url URL -o FILE``: the certificate as PDF.

Wired into the main CLI by ``register(app)``; bad input exits with code 2, writing nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session, select

from engine.certification import service
from engine.certification.errors import RegistrationFileError
from engine.certification.pdf import render_pdf, sheet_for
from engine.certification.registration import import_registrations, set_eligibility_rules
from engine.errors import DeliveryError
from itembank.models import Occupation
from itembank.timeutil import utcnow
from web.db import make_engine
from web.settings import get_settings

INVALID_INPUT = 2


def register(app: typer.Typer) -> None:
    """Add the ``candidates`` and ``certificates`` command groups to ``app``."""
    candidates = typer.Typer(help="Candidates: registration by XLSX import, eligibility rules.",
                             no_args_is_help=True)
    candidates.command("import")(import_file)
    candidates.command("eligibility")(set_eligibility)
    app.add_typer(candidates, name="candidates")
    certificates = typer.Typer(help="Certificates: issue for passed results, PDF.", no_args_is_help=True)
    certificates.command("issue")(issue)
    certificates.command("pdf")(pdf)
    app.add_typer(certificates, name="certificates")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(INVALID_INPUT)


def import_file(file: Annotated[Path, typer.Argument(help="XLSX file, headers in the first row.")],
                exam_session: Annotated[int, typer.Option("--exam-session", help="Exam session to enrol into.")],
                dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; write nothing.")] = False,
                actor: Annotated[str, typer.Option(help="Who imports (audit log).")] = "cli") -> None:
    """Register and enrol every candidate of FILE, or none if any row has a problem."""
    try:
        content = file.read_bytes()
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror}", err=True)
        raise typer.Exit(INVALID_INPUT) from None
    db = make_engine(get_settings().resolved_database_url)
    with Session(db, expire_on_commit=False) as session:
        try:
            report = import_registrations(session, content, exam_session, actor, utcnow().date(), dry_run=dry_run,
                                          source=file.name)
        except RegistrationFileError as exc:
            session.rollback()
            typer.echo(f"error: {file}: {exc}", err=True)
            for problem in exc.problems:
                typer.echo(f"  {problem}", err=True)
            raise typer.Exit(INVALID_INPUT) from None
        except DeliveryError as exc:
            session.rollback()
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(INVALID_INPUT) from None
        if dry_run:
            typer.echo(f"dry run: {len(report.rows)} candidates are valid for exam session {exam_session}; "
                       "nothing was written")
            return
        session.commit()
    typer.echo(f"imported {len(report.enrolled)} candidates into exam session {exam_session}")


def set_eligibility(occupation: Annotated[str, typer.Argument(help="Occupation code, e.g. 6-31-01-03.")],
                    level: Annotated[str, typer.Argument(help="level5 … level1.")],
                    conditions: Annotated[str, typer.Argument(
                        help='JSON list, e.g. \'[{"prior_level": "level5", "years": 2}, {"years": 5}]\'.')],
                    actor: Annotated[str, typer.Option(help="Who sets them (audit log).")] = "cli") -> None:
    """Store an occupation's own eligibility conditions for a level (any one suffices)."""
    try:
        data = json.loads(conditions)
    except json.JSONDecodeError as exc:
        raise _fail(f"conditions are not JSON: {exc.msg}") from None
    if not isinstance(data, list) or not all(isinstance(entry, dict) for entry in data):
        raise _fail("conditions must be a JSON list of objects")
    db = make_engine(get_settings().resolved_database_url)
    with Session(db, expire_on_commit=False) as session:
        found = session.exec(select(Occupation).where(Occupation.code == occupation)).first()
        if found is None:
            raise _fail(f"occupation {occupation} not found")
        try:
            stored = set_eligibility_rules(session, found.id, level, data, actor)
        except DeliveryError as exc:
            raise _fail(str(exc)) from None
        session.commit()
    typer.echo(f"{occupation} {level}: {json.dumps(stored.conditions, ensure_ascii=False)}")


def issue(exam_session: Annotated[int, typer.Option("--exam-session", help="Exam session to issue for.")],
          actor: Annotated[str, typer.Option(help="Who issues (audit log).")] = "cli") -> None:
    """Issue certificates for every passed, not yet certified sitting of an exam session."""
    db = make_engine(get_settings().resolved_database_url)
    with Session(db, expire_on_commit=False) as session:
        try:
            report = service.issue_for_exam_session(session, exam_session, actor, utcnow().date())
        except DeliveryError as exc:
            session.rollback()
            raise _fail(str(exc)) from None
        session.commit()
    for certificate in report.issued:
        typer.echo(f"issued {certificate.number} {certificate.holder_name}")
    for outcome in report.not_passed:
        reasons = "; ".join(s.message % s.params for s in outcome.outcome.shortfalls)
        typer.echo(f"not passed: {outcome.candidate.name}: {reasons}")
    typer.echo(f"{len(report.issued)} issued, {len(report.not_passed)} not passed, "
               f"{len(report.already)} already certified")


def pdf(number: Annotated[str, typer.Argument(help="Certificate number.")],
        base_url: Annotated[str, typer.Option("--base-url", help="Public address, e.g. https://cert.example.org")],
        output: Annotated[Path, typer.Option("-o", "--output", help="PDF file to write.")]) -> None:
    """Write a certificate as PDF with the QR code to its public verification page."""
    if not base_url.startswith(("https://", "http://")):
        raise _fail("--base-url must start with https:// or http://")
    db = make_engine(get_settings().resolved_database_url)
    with Session(db) as session:
        try:
            certificate = service.find_by_number(session, number)
        except DeliveryError as exc:
            raise _fail(str(exc)) from None
        if certificate is None:
            raise _fail(f"no certificate {number}")
        url = f"{base_url.rstrip('/')}/verify/{certificate.number}"
        content = render_pdf(sheet_for(certificate, service.institution_name(session, certificate), url))
    output.write_bytes(content)
    typer.echo(f"wrote {output} ({len(content)} bytes, QR code to {url})")
