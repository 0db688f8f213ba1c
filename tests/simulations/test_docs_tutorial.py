"""The tutorial in docs/scenarios.md validates and behaves as the text says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from simulations.runtime import parse_action_log, replay, score
from simulations.scenario import load_scenario_text

DOC = (Path(__file__).resolve().parents[2] / "docs" / "scenarios.md").read_text("utf-8")


@pytest.fixture(scope="module")
def tutorial():
    text = re.findall(r"```yaml\n(.*?)```", DOC, re.DOTALL)[0]
    script = json.loads(re.findall(r"```json\n(.*?)```", DOC, re.DOTALL)[0])
    return load_scenario_text(text, "tank_fill.yaml"), script


class TestTutorial:
    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_the_script_scores_100_for_any_seed(self, tutorial, seed):
        program, script = tutorial
        sheet = score(program, replay(program, parse_action_log(script), seed))
        assert sheet.total == 100.0

    def test_starting_the_pump_first_is_vetoed(self, tutorial):
        program, script = tutorial
        swapped = [dict(script[1], t=5), dict(script[0], t=10), script[2]]
        sheet = score(program, replay(program, parse_action_log(swapped), 0))
        assert sheet.triggered_vetoes == ["V1"]

    def test_starting_late_misses_the_band(self, tutorial):
        program, script = tutorial
        late = [script[0], dict(script[1], t=120), script[2]]
        sheet = score(program, replay(program, parse_action_log(late), 0))
        assert {line.id: line.holds for line in sheet.lines}["L2"] is False
