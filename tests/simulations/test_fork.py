"""Simulation.fork: a look-ahead copy evolves exactly like the original and leaves it untouched."""

from __future__ import annotations

import numpy as np

from simulations.runtime import Simulation, replay
from simulations.runtime.trace import LoggedAction


def test_a_fork_evolves_bit_for_bit_like_the_original_and_leaves_it_alone(cstr):
    log = [LoggedAction(20.0, "set_LIC_mode", {"mode": "AUTO"}), LoggedAction(130.5, "set_TIC_sp", {"value": 70.0})]
    simulation = Simulation.from_seed(cstr, 4)
    simulation.act(log[0].action, log[0].args, log[0].t)
    simulation.advance(100.0)
    before = simulation.batch.state.copy()
    ahead = simulation.fork()
    ahead.act(log[1].action, log[1].args, log[1].t)  # only the fork gets the second action
    ahead.advance(200.0)
    assert np.array_equal(simulation.batch.state, before) and simulation.time == 100.0
    assert len(simulation.batch.sessions[0].actions) == 1 and len(ahead.batch.sessions[0].actions) == 2
    full = replay(cstr, log, 4)
    assert ahead.run_to_end().fingerprint() == full.fingerprint()
    # the original, given the same action later, still reaches the same end
    simulation.act(log[1].action, log[1].args, log[1].t)
    assert simulation.run_to_end().fingerprint() == full.fingerprint()
