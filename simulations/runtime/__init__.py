"""Pure simulation core: state, actions, dynamics, events, trace and rubric scoring.

Imports only numpy and the standard library (and the expression compiler); no
database, no web.
"""

from simulations.runtime.engine import CandidateView, Simulation, SimulationBatch, replay
from simulations.runtime.program import Program
from simulations.runtime.scoring import ScoreSheet, score
from simulations.runtime.trace import LoggedAction, Trace, parse_action_log

__all__ = [
    "CandidateView",
    "LoggedAction",
    "Program",
    "ScoreSheet",
    "Simulation",
    "SimulationBatch",
    "Trace",
    "parse_action_log",
    "replay",
    "score",
]
