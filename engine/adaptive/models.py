"""Adaptive theory exams: settings per exam definition, and each sitting's design and trail.

A sitting's ``design`` freezes everything the adaptive engine needs (calibrated
parameters of the operational bank, blueprint, settings, Sympson–Hetter parameters,
pretest pool, items blocked by the retake window) and ``exposure`` the exposure ledger
as it stood at the start, so replaying the stored steps with the sitting's seed
reproduces every estimate and every served item even after the bank has moved on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from itembank.timeutil import utcnow


class AdaptiveExamSettings(SQLModel, table=True):
    """How an adaptive exam definition runs (``engine.cat.CATSettings`` plus the blueprint choices)."""

    id: int | None = Field(default=None, primary_key=True)
    exam_definition_id: int = Field(foreign_key="examdefinition.id", unique=True)
    settings: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # CATSettings.to_dict()
    blueprint_level: str = Field(default="module", max_length=16)  # appraisal level the weights bound
    type_bounds: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    enemies: list[list[int]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    retake_window_days: int = 365
    # Sympson–Hetter parameters by item id, calibrated by simulation when the settings are saved.
    sympson_hetter: dict[str, float] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_by: str = Field(max_length=80)
    updated_at: datetime = Field(default_factory=utcnow)


class AdaptiveSitting(SQLModel, table=True):
    """One candidate's adaptive sitting: seed, frozen design, exposure snapshot, outcome."""

    id: int | None = Field(default=None, primary_key=True)
    candidate_session_id: int = Field(foreign_key="candidatesession.id", unique=True)
    seed: int = Field(sa_type=BigInteger)
    design: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    exposure: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    finished: bool = False
    theta: float | None = None
    se: float | None = None
    n_scored: int = 0
    n_pretest: int = 0
    cut_theta: float | None = None
    confidence: float | None = None
    created_at: datetime = Field(default_factory=utcnow)


class AdaptiveStep(SQLModel, table=True):
    """One served item: selected at (theta_before, se_before); after the answer, its score and the new estimate."""

    __table_args__ = (UniqueConstraint("adaptive_sitting_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    adaptive_sitting_id: int = Field(foreign_key="adaptivesitting.id", index=True)
    position: int
    item_id: int = Field(foreign_key="item.id", index=True)
    item_version_id: int = Field(foreign_key="itemversion.id")
    pretest: bool = False
    theta_before: float
    se_before: float
    served_at: datetime = Field(default_factory=utcnow)
    score: int | None = None  # category the response fell in; None until answered
    seconds: float = 0.0
    theta: float | None = None
    se: float | None = None
    answered_at: datetime | None = None
