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
