"""``skillcert candidates import FILE --exam-session ID [--dry-run]``: registration by XLSX.

Wired into the main CLI by ``register(app)``. A file with problems exits with code 2 and
lists every problem by row and column on stderr; nothing is written. A dry run checks
the file and writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from engine.certification.errors import RegistrationFileError
from engine.certification.registration import import_registrations
from engine.errors import DeliveryError
from itembank.timeutil import utcnow
from web.db import make_engine
from web.settings import get_settings

INVALID_INPUT = 2


def register(app: typer.Typer) -> None:
    """Add the ``candidates`` command group to ``app``."""
    group = typer.Typer(help="Candidates: registration by XLSX import.", no_args_is_help=True)
    group.command("import")(import_file)
    app.add_typer(group, name="candidates")


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
