"""The generated mimic: every control placed once, styles chosen from what a group holds,
nothing hidden leaks into it, and boxes never overlap."""

from __future__ import annotations

import pytest

from simulations.mimic import layout
from simulations.scenarios import load_builtin

SCENARIOS = ["electrician-feeder-switching", "chemical-cstr-control", "cnc-lathe-startup"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_control_is_placed_once_and_boxes_do_not_overlap(scenario):
    program = load_builtin(scenario)
    drawn = layout(program.candidate_manifest())
    placed = [c["id"] for box in drawn["boxes"] for c in box["controls"]]
    assert sorted(placed) == sorted(c.id for c in program.controls)
    boxes = drawn["boxes"]
    for i, a in enumerate(boxes):
        assert a["x"] + a["w"] <= drawn["width"] and a["y"] + a["h"] <= drawn["height"]
        for b in boxes[i + 1:]:
            apart = a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"] or a["y"] + a["h"] <= b["y"] \
                or b["y"] + b["h"] <= a["y"]
            assert apart, (a["id"], b["id"])


def test_styles_follow_the_controls():
    electrician = {b["id"]: b["style"] for b in layout(load_builtin(SCENARIOS[0]).candidate_manifest())["boxes"]}
    assert electrician["single_line"] == "single_line" and electrician["tools"] == "panel"
    cstr = {b["id"]: b["style"] for b in layout(load_builtin(SCENARIOS[1]).candidate_manifest())["boxes"]}
    assert cstr["LIC-101"] == "faceplate" and cstr["TIC-101"] == "faceplate" and cstr["safety"] == "panel"


def test_switch_symbols_follow_a_visible_state_variable_and_hidden_ones_never_appear():
    program = load_builtin(SCENARIOS[2])
    hidden = {v.name for v in program.variables if v.hidden}
    assert hidden  # the CNC scenario hides the true tool offsets
    drawn = layout(program.candidate_manifest())
    shown = {v["name"] for box in drawn["boxes"] for c in box["controls"] for v in c["shows"]}
    primaries = {c["id"]: c["primary"] for box in drawn["boxes"] for c in box["controls"]}
    assert not shown & hidden
    assert primaries["guard_door"] == "door"
