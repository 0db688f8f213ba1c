"""Computerized adaptive testing: a pure numpy/scipy core (no database, no web).

Roles (``typing.Protocol``) and their implementations:

* :class:`AbilityEstimator` — :class:`EAPEstimator` (default), :class:`MAPEstimator`,
  :class:`MLEstimator` (with fallback), :class:`WLEEstimator`
* :class:`ItemSelector` — :class:`MaxInfoSelector`, :class:`KLSelector`,
  :class:`AStratifiedSelector` (plus the engine's random start)
* :class:`ExposureControl` — :class:`NoExposureControl`, :class:`Randomesque`,
  :class:`SympsonHetter`; and the :class:`ExposureCeiling` filter
* :class:`StoppingRule` — :class:`SEThreshold`, :class:`ConfidenceInterval`,
  :class:`SPRT`, combined with length and time bounds by :class:`StoppingPolicy`

:class:`AdaptiveEngine` composes them with a :class:`Blueprint` (shadow test);
:class:`SessionRunner` runs one sitting as a fold over its responses;
:func:`simulate` runs many simulees in lockstep.
"""

from .bank import CATBank
from .blueprint import Blueprint, CompiledBlueprint
from .engine import AdaptiveEngine
from .errors import BlueprintError, CATError, CATOptionsError, IllegalResponseError
from .estimation import (
    AbilityEstimate,
    AbilityEstimator,
    EAPEstimator,
    MAPEstimator,
    MLEstimator,
    WLEEstimator,
    make_estimator,
)
from .exposure import (
    ExposureCeiling,
    ExposureControl,
    NoExposureControl,
    Randomesque,
    SympsonHetter,
    parse_exposure,
)
from .scores import ScoreScale, fixed_form_decision_quality, rudner_accuracy_consistency
from .selection import AStratifiedSelector, ItemSelector, KLSelector, MaxInfoSelector, make_selector
from .session import Response, SessionResult, SessionRunner, SessionState, Step, seen_within
from .settings import CATSettings
from .simulation import SimulationResult, calibrate_sympson_hetter, simulate, summarize
from .state import TrailState
from .stopping import SPRT, ConfidenceInterval, SEThreshold, StoppingPolicy, StoppingRule

__all__ = [
    "AStratifiedSelector", "AbilityEstimate", "AbilityEstimator", "AdaptiveEngine",
    "Blueprint", "BlueprintError", "CATBank", "CATError", "CATOptionsError", "CATSettings",
    "CompiledBlueprint", "ConfidenceInterval", "EAPEstimator", "ExposureCeiling",
    "ExposureControl", "IllegalResponseError", "ItemSelector", "KLSelector", "MAPEstimator",
    "MLEstimator", "MaxInfoSelector", "NoExposureControl", "Randomesque", "Response", "SPRT",
    "SEThreshold", "ScoreScale", "SessionResult", "SessionRunner", "SessionState",
    "SimulationResult", "Step", "StoppingPolicy", "StoppingRule", "SympsonHetter",
    "TrailState", "WLEEstimator", "calibrate_sympson_hetter", "fixed_form_decision_quality",
    "make_estimator", "make_selector", "parse_exposure", "rudner_accuracy_consistency",
    "seen_within", "simulate", "summarize",
]
