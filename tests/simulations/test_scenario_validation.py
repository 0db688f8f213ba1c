"""Malformed scenario files are rejected with file, line and field; none runs code."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from simulations.errors import ScenarioError
from simulations.scenario import load_scenario, load_scenario_text
from simulations.scenario.schema import scenario_schema
from simulations.scenarios import BUILTIN, builtin_path

HERE = Path(__file__).parent
MALFORMED = sorted((HERE / "malformed").glob("*.yaml"))
CANARY = Path("/tmp/skillcert_pwned")


def expectations(path: Path) -> dict[str, str]:
    """The ``# key: value`` header lines of a malformed file."""
    header = {}
    for line in path.read_text("utf-8").splitlines():
        if not line.startswith("# "):
            break
        key, _, value = line[2:].partition(": ")
        header[key] = value
    return header


class TestMalformedFiles:
    def test_there_are_at_least_a_dozen(self):
        assert len(MALFORMED) >= 12

    @pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.stem)
    def test_rejected_with_file_line_field_and_message(self, path):
        expected = expectations(path)
        CANARY.unlink(missing_ok=True)
        started = time.perf_counter()
        with pytest.raises(ScenarioError) as caught:
            load_scenario(path)
        elapsed = time.perf_counter() - started
        error = caught.value
        assert error.file == str(path)
        assert error.line == int(expected["line"])
        assert error.field == expected["field"]
        assert expected["message"] in error.message
        assert str(error).startswith(f"{path}:{error.line}: {error.field or '<document>'}: ")
        assert elapsed < 1.0  # nothing hangs
        assert not CANARY.exists()  # nothing ran

    def test_the_base_file_itself_is_valid(self):
        program = load_scenario(HERE / "valid_tank.yaml")
        assert program.id == "tank" and set(program.actions) == {"open_valve", "finish"}


class TestBuiltinScenarios:
    @pytest.mark.parametrize("scenario_id", sorted(BUILTIN))
    def test_builtins_validate_and_are_bilingual(self, scenario_id):
        program = load_scenario(builtin_path(scenario_id))
        assert program.id == scenario_id
        assert program.title.zh and program.title.en and program.title.zh != program.title.en
        assert program.instructions.zh and program.instructions.en
        assert program.rubric.vetoes, "every built-in scenario has veto lines"
        assert program.rubric.max_points == 100


class TestMessages:
    BASE = (HERE / "valid_tank.yaml").read_text("utf-8")

    def reject(self, old: str, new: str) -> ScenarioError:
        assert old in self.BASE
        with pytest.raises(ScenarioError) as caught:
            load_scenario_text(self.BASE.replace(old, new, 1), "x.yaml")
        return caught.value

    def test_missing_required_field_is_named(self):
        error = self.reject("time_limit: 60\n", "")
        assert error.message == "missing required field 'time_limit'" and error.line == 2

    def test_wrong_type_is_described(self):
        error = self.reject("time_limit: 60", "time_limit: soon")
        assert (
            error.field == "time_limit" and "expected number, got the text 'soon'" in error.message
        )

    def test_unknown_check_form_lists_the_forms(self):
        error = self.reject("check: {did: open_valve}", "check: {didd: open_valve}")
        assert "expected one of the forms: did, never, order" in error.message

    def test_duplicate_keys_are_refused(self):
        error = self.reject(
            "  open_valve:\n", "  open_valve:\n    label: {zh: a, en: b}\n  open_valve:\n"
        )
        assert "duplicate key 'open_valve'" in error.message

    def test_yaml_syntax_error_has_a_line(self):
        error = self.reject("version: 1", "version: [1")
        assert "YAML syntax error" in error.message and error.line is not None

    def test_derived_variable_cannot_be_assigned(self):
        text = self.BASE.replace(
            "dynamics:", 'derived:\n  empty: {type: bool, expr: "level <= 0"}\ndynamics:'
        )
        load_scenario_text(text, "x.yaml")  # declaring it is fine
        text = text.replace("effects: {valve: open}", "effects: {valve: open, empty: true}")
        with pytest.raises(ScenarioError, match="'empty' is derived and cannot be assigned"):
            load_scenario_text(text, "x.yaml")

    def test_where_condition_may_use_action_arguments(self):
        text = self.BASE.replace(
            "effects: {valve: open}",
            "args: {speed: {type: real, range: [0, 10]}}\n    effects: {valve: open}",
        ).replace("check: {did: open_valve}", 'check: {did: open_valve, where: "speed > 20"}')
        with pytest.raises(ScenarioError, match="can never be true"):
            load_scenario_text(text, "x.yaml")

    def test_condition_on_time_beyond_the_limit_is_unsatisfiable(self):
        error = self.reject("check: {did: open_valve}", 'check: {ever: "t > 100"}')
        assert "can never be true" in error.message and error.field == "rubric.lines[0].check.ever"


class TestPublishedSchema:
    def test_schema_is_valid_json_with_the_top_level_sections(self):
        schema = scenario_schema()
        assert {"state", "actions", "controls", "rubric", "dynamics", "events", "alarms"} <= set(
            schema["properties"]
        )
        json.dumps(schema)


class TestCandidateManifest:
    @pytest.mark.parametrize("scenario_id", sorted(BUILTIN))
    def test_manifest_reveals_no_rubric_and_no_hidden_variable(self, scenario_id):
        program = load_scenario(builtin_path(scenario_id))
        manifest = program.candidate_manifest()
        text = json.dumps(manifest, ensure_ascii=False)
        hidden = [v.name for v in program.variables if v.hidden]
        assert not any(f'"{name}"' in text for name in hidden)
        assert "rubric" not in manifest and "points" not in text
        for line in program.rubric.lines + program.rubric.deductions + program.rubric.vetoes:
            assert f'"{line.id}"' not in text
            assert line.text.en not in text or line.text.en == "Collision"  # also a lamp label
        assert {c["id"] for c in manifest["controls"]} == {c.id for c in program.controls}
        assert "finish" in manifest["actions"]
