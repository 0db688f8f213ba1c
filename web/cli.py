"""The ``skillcert`` command line: serve, migrate, seed, manage users, verify the audit chain."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from sqlmodel import Session

from engine import audit
from engine.accounts import create_user
from engine.errors import DeliveryError
from engine.models import Role
from web import cli_archive, cli_cat, cli_certificates, cli_irt, cli_items, cli_scenario
from web.db import make_engine
from web.settings import SettingsError, get_settings

app = typer.Typer(help="skillcert — vocational skill certification exam engine.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
bank_app = typer.Typer(help="The item bank.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(bank_app, name="bank")
cli_irt.register(app)  # calibrate, score, itemfit, dif, link
cli_scenario.register(app)  # scenario validate / run
cli_certificates.register(app)  # candidates import / eligibility, certificates issue / pdf
cli_items.register(app)  # items import / export / score
cli_cat.register(app)  # simulate-cat, assemble
cli_archive.register(app)  # archive export / verify / completeness


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


@app.command()
def serve(host: str = typer.Option(None, help="Bind address (default from settings)."),
          port: int = typer.Option(None, help="Port (default from settings)."),
          workers: int = typer.Option(1, help="uvicorn worker processes."),
          reload: bool = typer.Option(False, help="Reload on code changes (development).")) -> None:
    """Serve the web application with uvicorn."""
    import uvicorn

    settings = get_settings()
    try:
        settings.resolved_secret_key()
    except SettingsError as exc:
        _fail(str(exc))
    uvicorn.run("web.app:create_app", factory=True, host=host or settings.host, port=port or settings.port,
                workers=workers, reload=reload, proxy_headers=True,
                # Frames are small or go to a test center's LAN: compressing each one cost
                # more CPU than any link saved (a roster table per supervisor, every 15 s).
                ws_per_message_deflate=False)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("heads", help="Target revision (default: every head).")) -> None:
    """Apply database migrations up to REVISION."""
    from web.migrate import upgrade

    url = get_settings().resolved_database_url
    upgrade(url, revision)
    typer.echo(f"database at revision {revision}: {_redacted(url)}")


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@demo_app.command("seed")
def demo_seed() -> None:
    """Load the demo: electrician level 4 bank, an exam today, and one account per role."""
    from web.demo.seed import seed

    db = make_engine(get_settings().resolved_database_url)
    with Session(db, expire_on_commit=False) as session:
        report = seed(session, adaptive=True)
        session.commit()
    typer.echo(report)


@users_app.command("create")
def users_create(username: str, role: Role = typer.Option(..., help="candidate, examiner, supervisor or admin."),
                 display_name: str = typer.Option("", help="Name shown in the interface."),
                 password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True)) -> None:
    """Create a user account."""
    db = make_engine(get_settings().resolved_database_url)
    with Session(db, expire_on_commit=False) as session:
        try:
            user = create_user(session, username, display_name or username, role, password, actor="cli")
        except DeliveryError as exc:
            _fail(str(exc))
        session.commit()
        typer.echo(f"created {user.role.value} {user.username} (id {user.id})")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit chain; exit 1 and name the first broken link if it does not hold."""
    db = make_engine(get_settings().resolved_database_url)
    with Session(db) as session:
        report = audit.verify(session)
    if report.ok:
        typer.echo(f"audit chain intact: {report.entries} entries")
        return
    where = f" at entry {report.first_broken_id}" if report.first_broken_id else ""
    typer.secho(f"audit chain BROKEN{where} after {report.entries} good entries: {report.problem}",
                fg=typer.colors.RED, err=True)
    sys.exit(1)


@bank_app.command("import-params")
def bank_import_params(params: Path = typer.Argument(..., exists=True, dir_okay=False, help="PARAMS.json"),
                       actor: str = typer.Option("cli", help="Who stores the calibration (audit log).")) -> None:
    """Store calibrated parameters (PARAMS.json from `skillcert calibrate`) on the bank's item versions."""
    import json

    from itembank.calibrations import store_calibration
    from itembank.errors import ItemValidationError

    try:
        doc = json.loads(params.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(f"{params}: not a JSON file ({exc})")
    db = make_engine(get_settings().resolved_database_url)
    with Session(db, expire_on_commit=False) as session:
        try:
            run = store_calibration(session, doc, actor, _audit_sink(session, actor), source=params.name)
        except ItemValidationError as exc:
            _fail(f"{params}: {exc}")
        session.commit()
        typer.echo(f"stored calibration run {run.id}: {run.n_items} items, model {run.model}")


def _audit_sink(session: Session, actor: str):
    def record_change(action: str, entity_type: str, entity_id: object, data: dict) -> None:
        audit.record(session, actor, action, entity_type, entity_id, data)

    return record_change


if __name__ == "__main__":
    app()
