"""Psychometric core of the item bank: IRT models, calibration, scoring, fit, DIF, linking.

Pure numpy/scipy and the standard library; no database or web imports (an
import-linter contract enforces it). The adaptive engine (``engine/cat``) uses
:class:`ItemBank` and its probability/information kernels.
"""

from .classical import ClassicalStats, classical_stats, cronbach_alpha
from .data import ResponseData, as_responses, read_responses_csv
from .dif import DIFResult, mantel_haenszel
from .errors import (
    ConvergenceWarning,
    DataError,
    EstimationError,
    IRTError,
    ModelError,
    OptionsError,
)
from .estimation import (
    DEFAULT_3PL_PRIORS,
    CalibrationOptions,
    CalibrationResult,
    Prior,
    PriorSet,
    calibrate,
)
from .fit import ItemFitResult, PersonFitResult, lz_star, s_x2
from .linking import LinkingResult, link, transform_bank, transform_population
from .models import MODELS, ItemBank, ItemParams, Population
from .scoring import (
    ScoreResult,
    ScoringOptions,
    SumScoreTable,
    empirical_reliability,
    marginal_reliability,
    score_persons,
    sum_score_table,
)

__all__ = [
    "MODELS", "ItemBank", "ItemParams", "Population", "ResponseData", "as_responses",
    "read_responses_csv", "CalibrationOptions", "CalibrationResult", "Prior", "PriorSet",
    "DEFAULT_3PL_PRIORS", "calibrate", "ScoringOptions", "ScoreResult", "score_persons",
    "SumScoreTable", "sum_score_table", "marginal_reliability", "empirical_reliability",
    "ItemFitResult", "s_x2", "PersonFitResult", "lz_star", "DIFResult", "mantel_haenszel",
    "ClassicalStats", "classical_stats", "cronbach_alpha", "LinkingResult", "link",
    "transform_bank", "transform_population", "IRTError", "DataError", "ModelError",
    "OptionsError", "EstimationError", "ConvergenceWarning",
]
