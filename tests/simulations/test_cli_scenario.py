"""``scenario validate`` and ``scenario run`` through typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from simulations.scenarios import builtin_path
from web.cli_scenario import register

HERE = Path(__file__).parent
ACTIONS = HERE / "actions"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """skillcert (test harness)."""

    register(app)
    return app


@pytest.fixture()
def cli(app):
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["scenario", *map(str, args)])


class TestValidate:
    def test_valid_file_prints_a_summary(self, cli):
        result = cli("validate", builtin_path("electrician-feeder-switching"))
        assert result.exit_code == 0
        assert "OK electrician-feeder-switching v1" in result.stdout and "5 vetoes" in result.stdout

    def test_invalid_file_exits_2_naming_file_line_field(self, cli):
        bad = HERE / "malformed" / "unknown_variable.yaml"
        result = cli("validate", bad)
        assert result.exit_code == 2
        assert f"{bad}:18: actions.open_valve.requires: unknown name 'valv'" in result.stderr

    def test_missing_file_exits_2(self, cli, tmp_path):
        result = cli("validate", tmp_path / "nope.yaml")
        assert result.exit_code == 2 and "cannot read file" in result.stderr


class TestRun:
    @pytest.mark.parametrize(
        "scenario_id, actions",
        [
            ("electrician-feeder-switching", "electrician_model.json"),
            ("chemical-cstr-control", "cstr_model_seed0.json"),
            ("cnc-lathe-startup", "cnc_model_seed0.json"),
        ],
    )
    def test_model_action_lists_score_100(self, cli, tmp_path, scenario_id, actions):
        out = tmp_path / "sheet.json"
        result = cli(
            "run",
            builtin_path(scenario_id),
            "--actions",
            ACTIONS / actions,
            "--out",
            out,
            "--seed",
            0,
        )
        assert result.exit_code == 0, result.output
        sheet = json.loads(out.read_text("utf-8"))
        assert sheet["total"] == 100.0 and sheet["passed"] and sheet["seed"] == 0
        assert "总分: 100 / 100" in result.stdout

    def test_same_inputs_give_the_same_sheet(self, cli, tmp_path):
        sheets = []
        for name in ("a.json", "b.json"):
            cli(
                "run",
                builtin_path("chemical-cstr-control"),
                "--actions",
                ACTIONS / "cstr_model_seed0.json",
                "--out",
                tmp_path / name,
                "--seed",
                4,
            )
            sheets.append((tmp_path / name).read_bytes())
        assert sheets[0] == sheets[1]

    def test_vetoed_run_still_exits_0_with_the_sheet(self, cli, tmp_path):
        actions = tmp_path / "a.json"
        actions.write_text(
            json.dumps([{"t": 5, "action": "open_QS2"}, {"t": 10, "action": "finish"}])
        )
        out = tmp_path / "s.json"
        result = cli(
            "run",
            builtin_path("electrician-feeder-switching"),
            "--actions",
            actions,
            "--out",
            out,
            "--lang",
            "en",
        )
        assert result.exit_code == 0
        assert json.loads(out.read_text())["vetoed"] is True and "VETO V1" in result.stdout

    @pytest.mark.parametrize(
        "content, message",
        [
            ('[{"t": 1, "action": "open_QF1"', "invalid JSON"),
            ('{"t": 1}', "JSON array"),
            ('[{"t": 1, "action": "fly"}]', "unknown action 'fly'"),
            ('[{"t": 1, "action": "open_QF1", "args": {"x": 1}}]', "unknown argument"),
            (
                '[{"t": 5, "action": "finish"}, {"t": 6, "action": "open_QF1"}]',
                "after the session ended",
            ),
        ],
    )
    def test_invalid_action_lists_exit_2(self, cli, tmp_path, content, message):
        actions = tmp_path / "a.json"
        actions.write_text(content)
        out = tmp_path / "s.json"
        result = cli(
            "run", builtin_path("electrician-feeder-switching"), "--actions", actions, "--out", out
        )
        assert result.exit_code == 2
        assert message in result.stderr and not out.exists()

    def test_invalid_scenario_exits_2(self, cli, tmp_path):
        result = cli(
            "run",
            HERE / "malformed" / "huge_exponent.yaml",
            "--actions",
            ACTIONS / "electrician_model.json",
            "--out",
            tmp_path / "s.json",
        )
        assert result.exit_code == 2 and "exponent 1e+06 exceeds the limit of 64" in result.stderr
