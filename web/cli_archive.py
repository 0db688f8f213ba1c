"""``skillcert archive ...``: a candidate sitting's evidence archive.

- ``archive export SITTING_ID --out FILE.zip [--base-url URL]``: write the deterministic
  ZIP and record the export (with the manifest's SHA-256) in the audit log.
- ``archive verify FILE.zip [--registered]``: offline, on the file alone; lists every
  tampered, missing or extra file and every broken audit link, and exits 1 when anything
  is wrong. ``--registered`` also asks the database whether it recorded exporting this
  exact manifest (a resealed forgery passes the offline check but not this one).
- ``archive completeness --exam-session ID``: which required parts each sitting lacks.

Wired into the main CLI by ``register(app)``; bad input exits with code 2.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from engine.archive import bundle, completeness, retention
from engine.archive.verify import verify_archive
from engine.errors import DeliveryError
from web.db import make_engine
from web.settings import get_settings

INVALID_INPUT, BROKEN = 2, 1


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Evidence archives: export, offline verification, completeness.", no_args_is_help=True)
    group.command("export")(export)
    group.command("verify")(verify)
    group.command("completeness")(check_completeness)
    app.add_typer(group, name="archive")


def retention_rules() -> dict[str, int | None]:
    return retention.policy(retention.parse_overrides(os.environ.get(retention.ENV_VAR, "")))


def export(sitting_id: Annotated[int, typer.Argument(help="The candidate sitting (candidate session id).")],
           out: Annotated[Path, typer.Option("--out", "-o", help="The ZIP file to write.")],
           base_url: Annotated[str, typer.Option(help="Public address printed on the certificate's QR code.")] = "",
           actor: Annotated[str, typer.Option(help="Who exports (audit log).")] = "cli") -> None:
    """Export SITTING_ID's evidence archive as one ZIP with a manifest."""
    db = make_engine(get_settings().resolved_database_url)
    with Session(db, expire_on_commit=False) as session:
        try:
            archive = bundle.export(session, sitting_id, base_url, retention_rules())
            bundle.record_export(session, sitting_id, archive.manifest_sha256, actor)
        except DeliveryError as exc:
            session.rollback()
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(INVALID_INPUT) from None
        try:
            out.write_bytes(archive.data)
        except OSError as exc:
            session.rollback()
            typer.echo(f"error: cannot write {out}: {exc.strerror}", err=True)
            raise typer.Exit(INVALID_INPUT) from None
        session.commit()
    missing = [s["name"] for s in archive.manifest["sections"] if s["status"] == "missing" and s["required"]]
    typer.echo(f"wrote {out}: {len(archive.manifest['files'])} files, manifest sha256 {archive.manifest_sha256}")
    if missing:
        typer.echo(f"incomplete: missing {', '.join(missing)}")


def verify(file: Annotated[Path, typer.Argument(help="An archive written by `archive export`.")],
           registered: Annotated[bool, typer.Option(
               "--registered", help="Also check that this database recorded exporting this exact manifest.")] = False,
           ) -> None:
    """Check every file hash, the manifest and the audit chain segment of FILE, offline."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror}", err=True)
        raise typer.Exit(INVALID_INPUT) from None
    report = verify_archive(data)
    if report.ok:
        typer.echo(f"archive intact: {report.files_checked} files, {report.audit_entries} audit entries on "
                   f"{report.chain_links} chain links; manifest sha256 {report.manifest_sha256}")
        if registered:
            _check_registered(data, report.manifest_sha256)
        return
    typer.secho(f"archive FAILED verification: {len(report.problems)} problem(s)", fg=typer.colors.RED, err=True)
    for problem in report.problems:
        typer.echo(f"  {problem}", err=True)
    raise typer.Exit(BROKEN)


def _check_registered(data: bytes, digest: str) -> None:
    import io
    import json
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sitting_id = json.loads(archive.read(bundle.MANIFEST))["sitting"]["candidate_session_id"]
    db = make_engine(get_settings().resolved_database_url)
    with Session(db) as session:
        entry = bundle.recorded_export(session, sitting_id, digest)
    if entry is None:
        typer.secho(f"archive NOT REGISTERED: this database never exported sitting {sitting_id} with manifest "
                    f"sha256 {digest}", fg=typer.colors.RED, err=True)
        raise typer.Exit(BROKEN)
    typer.echo(f"registered: exported by {entry.actor} at {entry.at.isoformat()} (audit entry {entry.id})")


def check_completeness(exam_session: Annotated[int, typer.Option("--exam-session", help="Exam session id.")]) -> None:
    """List each sitting of an exam session with the required archive parts it lacks."""
    db = make_engine(get_settings().resolved_database_url)
    with Session(db) as session:
        try:
            rows = completeness.of_exam_session(session, exam_session)
        except DeliveryError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(INVALID_INPUT) from None
    for row in rows:
        state = "complete" if row.complete else "missing " + ", ".join(row.missing)
        typer.echo(f"sitting {row.sitting_id}: {state}")
    incomplete = sum(not row.complete for row in rows)
    typer.echo(f"{len(rows) - incomplete} of {len(rows)} sittings complete")
