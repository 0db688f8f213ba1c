"""Item bank tables: occupations, the appraisal-element tree, items and their versions.

An item is a stable identity; its content lives in numbered versions. A version that
has been administered to a candidate is frozen: editing the item creates a new version.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint, event, inspect
from sqlmodel import Field, SQLModel

from itembank.columns import enum_type
from itembank.errors import FrozenVersionError
from itembank.levels import Importance, Level
from itembank.timeutil import utcnow


class ItemType(StrEnum):
    single = "single"  # 单项选择题
    multiple = "multiple"  # 多项选择题
    truefalse = "truefalse"  # 判断题
    text = "text"  # 填空题: typed answers compared with the accepted answers
    extended = "extended"  # 简答/论述题: scored 0..k points against a rubric


CHOICE_TYPES = frozenset({ItemType.single, ItemType.multiple, ItemType.truefalse})


class ItemStatus(StrEnum):
    """Where an item stands in review; ``itembank.workflow`` holds the transitions."""

    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    active = "active"
    retired = "retired"


class NodeKind(StrEnum):
    module = "module"
    element = "element"
    point = "point"


class Occupation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=32)
    name: str = Field(max_length=120)
    name_en: str = Field(default="", max_length=200)


class SpecialSkillUnit(SQLModel, table=True):
    """A narrow 专项职业能力 unit certified without levels."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=32)
    name: str = Field(max_length=200)
    occupation_id: int | None = Field(default=None, foreign_key="occupation.id")


class AppraisalNode(SQLModel, table=True):
    """One node of the appraisal-element breakdown (module → element → point)."""

    __table_args__ = (UniqueConstraint("occupation_id", "level", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    occupation_id: int = Field(foreign_key="occupation.id", index=True)
    level: Level = Field(sa_type=enum_type(Level))
    parent_id: int | None = Field(default=None, foreign_key="appraisalnode.id")
    kind: NodeKind = Field(sa_type=enum_type(NodeKind))
    code: str = Field(max_length=40)
    name: str = Field(max_length=200)
    name_en: str = Field(default="", max_length=300)
    weight: float | None = None
    importance: Importance | None = Field(default=None, sa_type=enum_type(Importance))


class Item(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    occupation_id: int = Field(foreign_key="occupation.id", index=True)
    level: Level = Field(index=True, sa_type=enum_type(Level))
    item_type: ItemType = Field(sa_type=enum_type(ItemType))
    appraisal_point_id: int = Field(foreign_key="appraisalnode.id", index=True)
    status: ItemStatus = Field(default=ItemStatus.draft, index=True, sa_type=enum_type(ItemStatus))
    current_version: int = 1
    created_by: str = Field(max_length=80)
    created_at: datetime = Field(default_factory=utcnow)


class ItemVersion(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("item_id", "version_no"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    version_no: int
    stem: str
    options: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    key: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # How responses are scored beyond the key (see ``itembank.scoring.ScoringRule``):
    # multiple-choice mode, accepted text answers and their matching options, rubric levels.
    scoring: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    difficulty: float | None = None
    explanation: str = ""
    source: str = Field(default="", max_length=300)  # 出处: where this version's content comes from
    created_by: str = Field(max_length=80)
    created_at: datetime = Field(default_factory=utcnow)
    administered_at: datetime | None = None


@event.listens_for(ItemVersion, "before_update")
def _refuse_edit_of_administered_version(_mapper, _connection, target: ItemVersion) -> None:
    # Last line of defence behind the service: a version a candidate has seen is evidence.
    state = inspect(target)
    history = state.attrs.administered_at.history
    previously_administered = (history.unchanged or history.deleted or [None])[0]
    if previously_administered is None:
        return
    changed = sorted(attr.key for attr in state.attrs if attr.history.has_changes())
    if changed:
        raise FrozenVersionError(f"item version {target.id} was administered and is frozen; cannot change {changed}")


class CalibrationRun(SQLModel, table=True):
    """One IRT calibration whose parameters were stored on item versions."""

    id: int | None = Field(default=None, primary_key=True)
    model: str = Field(max_length=16)
    n_persons: int
    n_items: int
    loglik: float | None = None
    converged: bool = True
    cycles: int | None = None
    population_mean: float = 0.0
    population_sd: float = 1.0
    source: str = Field(default="", max_length=300)
    created_by: str = Field(max_length=80)
    created_at: datetime = Field(default_factory=utcnow)


class ItemCalibration(SQLModel, table=True):
    """Calibrated parameters of one item version from one run (slope–intercept form)."""

    __table_args__ = (UniqueConstraint("calibration_run_id", "item_version_id"),)

    id: int | None = Field(default=None, primary_key=True)
    calibration_run_id: int = Field(foreign_key="calibrationrun.id", index=True)
    item_version_id: int = Field(foreign_key="itemversion.id", index=True)
    model: str = Field(max_length=16)
    a: float
    d: list[float] = Field(sa_column=Column(JSON, nullable=False))
    c: float | None = None
    se: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class ItemReview(SQLModel, table=True):
    """One workflow transition of an item: who moved it, from where to where, and why."""

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    version_no: int
    command: str = Field(max_length=24)
    from_status: ItemStatus = Field(sa_type=enum_type(ItemStatus))
    to_status: ItemStatus = Field(sa_type=enum_type(ItemStatus))
    actor: str = Field(max_length=80)
    comment: str = Field(default="", max_length=2000)
    at: datetime = Field(default_factory=utcnow)


class ItemImage(SQLModel, table=True):
    """An uploaded image, stored once under the data dir by the SHA-256 of its bytes."""

    sha256: str = Field(primary_key=True, max_length=64)
    media_type: str = Field(max_length=40)
    size: int
    uploaded_by: str = Field(max_length=80)
    uploaded_at: datetime = Field(default_factory=utcnow)


class ItemTag(SQLModel, table=True):
    """A free label on an item (not on a version: tags classify, they are not content)."""

    item_id: int = Field(foreign_key="item.id", primary_key=True)
    tag: str = Field(primary_key=True, max_length=60, index=True)


class ItemEnemy(SQLModel, table=True):
    """Membership of a named enemy set: items of one set never sit on the same form or
    in the same adaptive test (they cue or duplicate each other)."""

    item_id: int = Field(foreign_key="item.id", primary_key=True)
    enemy_set: str = Field(primary_key=True, max_length=60, index=True)
