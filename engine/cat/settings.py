"""Adaptive-test settings as one validated, JSON-friendly options object.

An exam definition stores a :class:`CATSettings` (``to_dict``/``from_dict``); the
service layer turns it into an :class:`~engine.cat.engine.AdaptiveEngine` with
:meth:`CATSettings.build`, passing the bank, the blueprint and the Sympson–Hetter
parameters calibrated for that bank version.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from .bank import CATBank
from .blueprint import Blueprint
from .engine import AdaptiveEngine
from .errors import CATOptionsError
from .estimation import ESTIMATORS, make_estimator
from .exposure import ExposureCeiling, SympsonHetter, parse_exposure
from .selection import SELECTORS, make_selector
from .stopping import SPRT, ConfidenceInterval, SEThreshold, StoppingPolicy

CLASSIFICATION = ("none", "sprt", "ci")


@dataclass(frozen=True)
class CATSettings:
    """Settings of an adaptive exam.

    Attributes
    ----------
    min_length, max_length : bounds on the number of scored items
    se_stop : stop once SE ≤ this (None: no SE rule)
    max_seconds : time limit of the adaptive part (None: none)
    estimator : ``eap``, ``map``, ``ml`` or ``wle``; prior_mean, prior_sd for EAP/MAP
    selection : ``mfi``, ``kl`` or ``astrat``
    random_start : first items drawn at random
    exposure : ``none``, ``randomesque:K`` or ``sympson-hetter:RMAX``
    exposure_ceiling : hard ceiling on exposure rates (None: none)
    cut_theta : the pass cut on θ (needed for classification and scores)
    classification : ``none``, ``sprt`` or ``ci``; alpha, beta, delta their error rates
        and SPRT indifference half-width
    n_pretest : unscored field-test items per sitting
    """

    min_length: int = 20
    max_length: int = 30
    se_stop: float | None = None
    max_seconds: float | None = None
    estimator: str = "eap"
    prior_mean: float = 0.0
    prior_sd: float = 1.0
    selection: str = "mfi"
    random_start: int = 0
    exposure: str = "randomesque:5"
    exposure_ceiling: float | None = None
    cut_theta: float | None = None
    classification: str = "none"
    alpha: float = 0.05
    beta: float = 0.05
    delta: float = 0.3
    n_pretest: int = 0

    def __post_init__(self) -> None:
        if self.estimator not in ESTIMATORS:
            raise CATOptionsError(f"unknown estimator {self.estimator!r}")
        if self.selection not in SELECTORS:
            raise CATOptionsError(f"unknown selection {self.selection!r}")
        if self.classification not in CLASSIFICATION:
            raise CATOptionsError(f"unknown classification {self.classification!r}")
        if self.classification != "none" and self.cut_theta is None:
            raise CATOptionsError("a classification rule needs cut_theta")
        if self.n_pretest < 0 or self.random_start < 0:
            raise CATOptionsError("n_pretest and random_start must be >= 0")
        parse_exposure(self.exposure, 1)
        self.stopping()  # validates lengths, SE, time and error rates

    @property
    def sympson_hetter_r_max(self) -> float | None:
        name, _, arg = self.exposure.partition(":")
        return float(arg or 0.2) if name == "sympson-hetter" else None

    def stopping(self) -> StoppingPolicy:
        rules = []
        if self.se_stop is not None:
            rules.append(SEThreshold(self.se_stop))
        if self.classification == "sprt":
            rules.append(SPRT(self.cut_theta, self.delta, self.alpha, self.beta))
        elif self.classification == "ci":
            rules.append(ConfidenceInterval(self.cut_theta, self.alpha))
        return StoppingPolicy(self.min_length, self.max_length, self.max_seconds, tuple(rules))

    def build(self, bank: CATBank, blueprint: Blueprint | None = None,
              sympson_hetter: np.ndarray | None = None,
              exposure_counts: np.ndarray | None = None, n_tests: int = 0) -> AdaptiveEngine:
        """The engine for ``bank``; Sympson–Hetter needs its calibrated parameters."""
        exposure = parse_exposure(self.exposure, bank.n_items)
        if isinstance(exposure, SympsonHetter):
            if sympson_hetter is None:
                raise CATOptionsError("Sympson–Hetter needs calibrated exposure parameters")
            exposure = SympsonHetter(np.asarray(sympson_hetter, dtype=float))
        ceiling = None
        if self.exposure_ceiling is not None:
            counts = np.zeros(bank.n_items) if exposure_counts is None else exposure_counts
            ceiling = ExposureCeiling(self.exposure_ceiling, counts, n_tests)
        compiled = blueprint.compile(bank.ids, self.max_length) if blueprint else None
        return AdaptiveEngine(bank, make_estimator(self.estimator, self.prior_mean, self.prior_sd),
                              make_selector(self.selection), exposure, self.stopping(),
                              compiled, ceiling, self.random_start)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict) -> CATSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise CATOptionsError(f"unknown adaptive settings: {', '.join(unknown)}")
        return cls(**doc)
