"""``skillcert scenario ...``: validate a scenario file, run it on a scripted action list, and
replay a candidate's stored practical attempts (``replay SESSION_ID``).

Wired into the main CLI by ``register(app)``. Invalid input (a rejected scenario, an
unreadable or malformed ACTIONS.json) exits with code 2 and a message on stderr naming
what is wrong; a run that merely fails the exam exits 0 (the sheet says so).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from simulations.errors import ActionLogError, NumericalError, ScenarioError, SimulationError
from simulations.runtime import Program, parse_action_log, replay, score
from simulations.scenario import load_scenario

INVALID_INPUT = 2


def register(app: typer.Typer) -> None:
    """Add the ``scenario`` command group to ``app``."""
    group = typer.Typer(
        help="Simulation scenarios: validate files, dry-run action lists.", no_args_is_help=True
    )
    group.command("validate")(validate)
    group.command("run")(run)
    group.command("replay")(replay_session)
    app.add_typer(group, name="scenario")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(INVALID_INPUT)


def _load(file: Path) -> Program:
    try:
        return load_scenario(file)
    except ScenarioError as exc:
        raise _fail(str(exc)) from None


def validate(file: Annotated[Path, typer.Argument(help="Scenario YAML file.")]) -> None:
    """Check a scenario file; print a summary or the first error with its line."""
    program = _load(file)
    rubric = program.rubric
    typer.echo(
        f"OK {program.id} v{program.version}: {program.title.zh} / {program.title.en}\n"
        f"  {len(program.variables)} variables, {len(program.actions)} actions, "
        f"{len(program.controls)} controls, {len(program.events)} events, {len(program.alarms)} alarms\n"
        f"  rubric: {len(rubric.lines)} lines ({rubric.max_points:g} points), "
        f"{len(rubric.deductions)} deductions, {len(rubric.vetoes)} vetoes; time limit {program.time_limit:g} s"
    )


def _read_actions(path: Path) -> Any:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {path}: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None


def run(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    actions: Annotated[
        Path,
        typer.Option("--actions", help='JSON list of {"t": s, "action": name, "args": {...}}.'),
    ],
    out: Annotated[Path, typer.Option("--out", help="Where to write the score sheet (JSON).")],
    seed: Annotated[int, typer.Option("--seed", help="Session seed (random draws).")] = 0,
    lang: Annotated[
        str, typer.Option("--lang", help="Language of the printed sheet: zh or en.")
    ] = "zh",
) -> None:
    """Replay an action list on a scenario and write its score sheet."""
    program = _load(file)
    raw = _read_actions(actions)
    try:
        log = parse_action_log(raw)
        trace = replay(program, log, seed)
    except ActionLogError as exc:
        raise _fail(f"{actions}: {exc}") from None
    except NumericalError as exc:
        raise _fail(f"{file}: {exc}") from None
    except SimulationError as exc:
        raise _fail(str(exc)) from None
    sheet = score(program, trace)
    try:
        out.write_text(sheet.to_json(), encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc}") from None
    typer.echo(sheet.render_text(lang))


MISMATCH = 1


def replay_session(
    session_id: Annotated[int, typer.Argument(help="Candidate session (sitting) id.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the replayed score sheets (JSON) here.")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of the printed sheet: zh or en.")] = "zh",
) -> None:
    """Replay every finished simulation attempt of a sitting from its seed and stored action log.

    Prints each replayed score sheet and compares it, and the run's fingerprint, with what
    was stored; exits 1 if anything differs, 2 if there is nothing to replay.
    """
    from sqlmodel import Session

    from engine.errors import DeliveryError
    from engine.practical import service as practical
    from engine.practical.models import AttemptStatus
    from web.db import make_engine
    from web.settings import get_settings

    db = make_engine(get_settings().resolved_database_url)
    sheets, mismatches = [], 0
    with Session(db) as session:
        attempts = [a for a in practical.attempts_of(session, session_id) if a.scenario_version_id is not None]
        finished = [a for a in attempts if a.status == AttemptStatus.scored]
        if not finished:
            raise _fail(f"sitting {session_id} has no finished simulation attempt to replay")
        for attempt in finished:
            try:
                report = practical.replay_attempt(session, attempt.id)
            except DeliveryError as exc:
                typer.echo(f"attempt {attempt.id}: MISMATCH — {exc}")
                mismatches += 1
                continue
            typer.echo(report.sheet.render_text(lang))
            verdict = "identical" if report.matches else "MISMATCH"
            detail = "" if report.matches else (
                f" (score sheet {'same' if report.same_sheet else 'differs'}, "
                f"run {'same' if report.same_fingerprint else 'differs'})")
            typer.echo(f"attempt {attempt.id}: replay {verdict}{detail}; stored total {attempt.score:g}, "
                       f"replayed {report.sheet.total:g}\n")
            mismatches += 0 if report.matches else 1
            sheets.append({"attempt": attempt.id, "matches": report.matches, "sheet": report.sheet.to_dict()})
    if out is not None:
        try:
            out.write_text(json.dumps(sheets, ensure_ascii=False, indent=2, default=_plain), encoding="utf-8")
        except OSError as exc:
            raise _fail(f"cannot write {out}: {exc}") from None
    if mismatches:
        raise typer.Exit(MISMATCH)


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
