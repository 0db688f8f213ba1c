"""Item bank commands of the ``skillcert`` CLI: ``items import``, ``items export``, ``items score``.

``register(app)`` adds the ``items`` group. Bad input (unknown item, malformed JSON, a
response that does not fit the item, an unreadable file, any rejected item in an import)
ends with ``error: …`` or per-item lines on stdout/stderr and exit code 2; an import with
any rejected item writes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from sqlmodel import Session

from itembank import service
from itembank.errors import ItemBankError, NotFoundError
from itembank.scoring import ResponseError, ScoringRule, score

items_app = typer.Typer(help="The item bank: import, export, score.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(items_app, name="items")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _session() -> Session:
    from web import cli  # late: web.cli imports this module; tests swap cli.make_engine
    from web.settings import get_settings

    return Session(cli.make_engine(get_settings().resolved_database_url), expire_on_commit=False)


@items_app.command("score")
def score_command(item_id: int = typer.Argument(..., help="Item number."),
                  response: str = typer.Option(..., "--response", help='JSON: ["A","C"], "text" or {"points": 2}.')
                  ) -> None:
    """Print the score the item's response processing gives RESPONSE (current version)."""
    try:
        answer = json.loads(response)
    except json.JSONDecodeError as exc:
        _fail(f"--response is not JSON: {exc.msg} at column {exc.colno}")
    with _session() as session:
        try:
            item = service.get_item(session, item_id)
        except NotFoundError as exc:
            _fail(str(exc))
        version = service.current_version(session, item)
        rule = ScoringRule.of(item.item_type.value, version.key, version.options, version.scoring)
        try:
            result = score(rule, answer)
        except ResponseError as exc:
            _fail(f"response does not fit item {item_id}: {exc}")
    if result.needs_rater:
        typer.echo(f"needs a rater (0 to {result.max_points:g} points)")
    else:
        typer.echo(f"{result.points:g} / {result.max_points:g}")


def _reader(path: Path):
    from itembank.interchange import package, qti, xlsx
    from itembank.interchange.model import ImportLine, ReadResult

    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return package.read_package(data)
    if suffix == ".xml":
        parsed = qti.read_item(data, path.stem)
        return ReadResult(problems=[parsed]) if isinstance(parsed, ImportLine) else ReadResult(items=[parsed])
    if suffix in (".xlsx", ".csv"):
        return xlsx.read_sheet(data, suffix)
    raise ItemBankError(f"unknown file type {suffix!r}: give a QTI .xml, a .zip package, an .xlsx or a .csv")


def _recorder(session: Session, actor: str):
    from engine import audit

    return lambda action, entity_type, entity_id, data: audit.record(session, actor, action, entity_type,
                                                                     entity_id, data)


def _user(session: Session, username: str):
    from sqlmodel import select

    from engine.models import User

    return session.exec(select(User).where(User.username == username)).first()


@items_app.command("import")
def import_command(file: Path = typer.Argument(..., help="QTI item .xml, QTI package .zip, or the .xlsx/.csv."),
                  occupation: str = typer.Option(None, help="Occupation code for items that carry none."),
                  level: str = typer.Option(None, help="Level (4, level4 or 四级) for items that carry none."),
                  point: str = typer.Option(None, help="Appraisal point code (default: the level's first point)."),
                  dry_run: bool = typer.Option(False, "--dry-run", help="Check and report; write nothing."),
                  actor: str = typer.Option("import", "--as", help="Examiner recorded as the items' author.")) -> None:
    """Import items as drafts: one line per item; exit 2 (and write nothing) if any is refused."""
    from itembank.interchange import bank, xlsx
    from web.settings import get_settings

    if level is not None and bank.parse_level(level) is None:
        _fail(f"unknown level {level!r}")
    try:
        read = _reader(file)
    except (ItemBankError, OSError) as exc:
        _fail(str(exc))
    with _session() as session:
        report = bank.import_items(session, read, actor, _recorder(session, actor),
                                   bank.Place(occupation, level, point), dry_run=dry_run,
                                   column_of=xlsx.FIELD_COLUMNS if file.suffix.lower() in (".xlsx", ".csv") else None,
                                   image_root=get_settings().data_dir)
        for line in report.lines:
            typer.echo(str(line))
        if not report.ok:
            session.rollback()
            typer.echo(f"error: {sum(1 for x in report.lines if x.outcome != 'imported')} item(s) refused; "
                       "nothing was imported", err=True)
            raise typer.Exit(code=2)
        if not dry_run:
            session.commit()


@items_app.command("export")
def export_command(format: str = typer.Option(..., "--format", help="qti3, xlsx or csv."),
                   out: Path = typer.Option(..., "--out", help="File to write."),
                   occupation: str = typer.Option(None, help="Only this occupation code."),
                   level: str = typer.Option(None, help="Only this level."),
                   point: str = typer.Option(None, help="Only this appraisal point code."),
                   actor: str = typer.Option(..., "--as", help="An admin account: exports are admin-only and audited.")
                   ) -> None:
    """Export the bank (or a part of it) as a QTI 3.0 content package or the XLSX/CSV template."""
    from engine.models import Role
    from itembank.interchange import bank

    if format not in ("qti3", "xlsx", "csv"):
        _fail(f"unknown format {format!r}: qti3, xlsx or csv")
    wanted_level = bank.parse_level(level) if level else None
    if level and wanted_level is None:
        _fail(f"unknown level {level!r}")
    with _session() as session:
        user = _user(session, actor)
        if user is None or user.role != Role.admin:
            _fail(f"{actor!r} is not an admin account; only admins export the bank")
        data, ids = _export(session, format, occupation, wanted_level, point, actor)
        _recorder(session, actor)("bank.exported", "bank", "items", {
            "format": format, "occupation": occupation, "level": wanted_level, "point": point, "items": ids,
            "file": out.name})
        try:
            out.write_bytes(data)
        except OSError as exc:
            session.rollback()
            _fail(str(exc))
        session.commit()
    typer.echo(f"exported {len(ids)} item(s) to {out}")


def _export(session: Session, format: str, occupation: str | None, level: str | None, point: str | None,
            actor: str) -> tuple[bytes, list[int]]:
    from itembank import images
    from itembank.interchange import bank, package, xlsx
    from itembank.timeutil import utcnow
    from web.routes.examiner_bank import usage_statistics
    from web.settings import get_settings

    rows = bank.bank_items(session, occupation, level, point)
    ids = [item.id for item, _version, _parsed in rows]
    if format == "qti3":
        entries = [package.Exported(parsed.identifier, parsed) for _item, _version, parsed in rows]
        root = get_settings().data_dir
        return package.write_package(entries, actor, utcnow(), lambda sha: images.stored_bytes(root, sha),
                                     statistics=usage_statistics(session, rows)), ids
    return xlsx.write_sheet([parsed for _item, _version, parsed in rows], "." + format), ids


@items_app.command("taxonomy-import")
def taxonomy_import(file: Path = typer.Argument(..., help="The appraisal breakdown as .xlsx or .csv."),
                    occupation: str = typer.Option(..., help="Occupation code, e.g. 6-31-01-03."),
                    level: str = typer.Option(..., help="Level: 4, level4 or 四级."),
                    name: str = typer.Option("", help="Occupation name, when the occupation is new."),
                    dry_run: bool = typer.Option(False, "--dry-run", help="Check and report; write nothing."),
                    actor: str = typer.Option("import", "--as", help="Recorded in the audit log.")) -> None:
    """Import one occupation level's appraisal-element tree (module → element → point)."""
    from itembank.errors import ItemValidationError
    from itembank.interchange import bank, taxonomy_sheet
    from itembank.levels import Level

    wanted = bank.parse_level(level)
    if wanted is None:
        _fail(f"unknown level {level!r}")
    try:
        read = taxonomy_sheet.read_tree(file.read_bytes(), file.suffix.lower())
    except (ItemBankError, OSError) as exc:
        _fail(str(exc))
    for problem in read.problems:
        typer.echo(f"rejected {problem}")
    with _session() as session:
        try:
            nodes = taxonomy_sheet.import_sheet(session, read, occupation, name, Level(wanted))
        except ItemValidationError as exc:
            session.rollback()
            _fail("; ".join(exc.errors.values()) if not read.problems else f"{len(read.problems)} problem(s); "
                  "nothing was imported")
        _recorder(session, actor)("taxonomy.imported", "occupation", occupation,
                                  {"level": wanted, "nodes": len(nodes), "file": file.name})
        if dry_run:
            session.rollback()
        else:
            session.commit()
    typer.echo(f"{'would import' if dry_run else 'imported'} {len(nodes)} appraisal node(s) for {occupation} {wanted}")


@items_app.command("taxonomy-export")
def taxonomy_export(occupation: str = typer.Option(..., help="Occupation code."),
                    level: str = typer.Option(..., help="Level: 4, level4 or 四级."),
                    out: Path = typer.Option(..., "--out", help=".xlsx or .csv file to write.")) -> None:
    """Write one occupation level's appraisal tree in the import layout."""
    from itembank.interchange import bank, taxonomy_sheet

    wanted = bank.parse_level(level)
    if wanted is None:
        _fail(f"unknown level {level!r}")
    with _session() as session:
        try:
            rows = taxonomy_sheet.export_rows(session, occupation, wanted)
        except ItemBankError as exc:
            _fail(str(exc))
    from itembank.interchange.xlsx import rows_to_file

    out.write_bytes(rows_to_file(rows, out.suffix.lower(), "鉴定要素 appraisal"))
    typer.echo(f"exported {len(rows) - 1} appraisal node(s) to {out}")


