"""``skillcert scenario ...``: validate a scenario file, run it on a scripted action list.

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
