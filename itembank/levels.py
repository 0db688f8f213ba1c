"""The vocational skill level ladder (新八级工) and appraisal importance marks."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """Eight steps, lowest first; ``special`` marks a special-skill unit (no level)."""

    apprentice = "apprentice"  # 学徒工
    level5 = "level5"  # 五级/初级工
    level4 = "level4"  # 四级/中级工
    level3 = "level3"  # 三级/高级工
    level2 = "level2"  # 二级/技师
    level1 = "level1"  # 一级/高级技师
    principal = "principal"  # 特级技师
    chief = "chief"  # 首席技师
    special = "special"  # 专项职业能力 (special skill unit)


LEVEL_NAMES_ZH = {
    Level.apprentice: "学徒工",
    Level.level5: "五级/初级工",
    Level.level4: "四级/中级工",
    Level.level3: "三级/高级工",
    Level.level2: "二级/技师",
    Level.level1: "一级/高级技师",
    Level.principal: "特级技师",
    Level.chief: "首席技师",
    Level.special: "专项职业能力",
}

LEVEL_NAMES_EN = {
    Level.apprentice: "Apprentice",
    Level.level5: "Level 5 / Junior worker",
    Level.level4: "Level 4 / Intermediate worker",
    Level.level3: "Level 3 / Senior worker",
    Level.level2: "Level 2 / Technician",
    Level.level1: "Level 1 / Senior technician",
    Level.principal: "Principal technician",
    Level.chief: "Chief technician",
    Level.special: "Special skill unit",
}

LADDER: tuple[Level, ...] = tuple(level for level in Level if level is not Level.special)


class Importance(StrEnum):
    """Importance of an appraisal point: X core, Y general, Z auxiliary."""

    X = "X"
    Y = "Y"
    Z = "Z"
