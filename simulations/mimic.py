"""Layout of the candidate's mimic diagram, generated from a scenario's controls.

Pure data for the SVG template (web/templates/practical/_mimic.svg.html): every control
``group`` becomes a box, drawn in one of three styles chosen from what it holds —

- ``single_line``: breakers and disconnectors (and what hangs off the same feeder) on a
  vertical line from the busbar down to the load, as on a single-line diagram;
- ``faceplate``: set-points, numeric inputs and mode selectors as a DCS faceplate with a
  bar for the process value;
- ``panel``: everything else as a grid of push-buttons and switches.

Nothing here knows a particular scenario, so a newly uploaded scenario gets a usable
mimic without code. Only the candidate manifest is read (no hidden variables, no rubric).
"""

from __future__ import annotations

from typing import Any

SWITCHGEAR = frozenset({"breaker", "disconnector"})
FACEPLATE = frozenset({"setpoint", "numeric_input", "selector"})
BOX_W = 260
GAP = 20
TITLE_H = 30
ROW_H = {"single_line": 74, "faceplate": 64, "panel": 64}
COLUMNS = 4


def _style(kinds: set[str]) -> str:
    if kinds & SWITCHGEAR:
        return "single_line"
    if kinds & FACEPLATE:
        return "faceplate"
    return "panel"


def layout(manifest: dict[str, Any]) -> dict[str, Any]:
    """Boxes and control positions for the SVG; coordinates in SVG user units."""
    variables = {v["name"]: v for v in manifest["variables"]}
    order: list[str] = []
    members: dict[str, list[dict[str, Any]]] = {}
    for control in manifest["controls"]:
        group = control.get("group") or control["kind"]
        if group not in members:
            order.append(group)
            members[group] = []
        members[group].append(control)
    boxes = []
    x = y = row_height = 0
    for index, group in enumerate(order):
        controls = members[group]
        style = _style({c["kind"] for c in controls})
        if index and index % COLUMNS == 0:
            x, y, row_height = 0, y + row_height + GAP, 0
        placed = []
        for n, control in enumerate(controls):
            cx, cy = _position(style, n)
            placed.append({**control, "x": cx, "y": cy, "primary": _primary(control, variables),
                           "shows": [variables[name] for name in control["shows"] if name in variables]})
        height = TITLE_H + ROW_H[style] * max(1, len(controls)) + (40 if style == "single_line" else 10)
        boxes.append({"id": group, "style": style, "x": x, "y": y, "w": BOX_W, "h": height, "controls": placed})
        row_height = max(row_height, height)
        x += BOX_W + GAP
    width = min(len(order), COLUMNS) * (BOX_W + GAP) - GAP if order else BOX_W
    return {"width": max(width, BOX_W), "height": y + row_height, "boxes": boxes}


def _position(style: str, n: int) -> tuple[int, int]:
    """Top-left of the n-th control inside its box."""
    return 12, TITLE_H + 20 * (style == "single_line") + ROW_H[style] * n


def _primary(control: dict[str, Any], variables: dict[str, dict[str, Any]]) -> str | None:
    """The shown variable that sets the symbol's state (a switch position, a flag)."""
    for name in control["shows"]:
        var = variables.get(name)
        if var is not None and var["type"] in ("enum", "bool"):
            return name
    return None
