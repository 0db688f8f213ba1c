"""Live runs kept in memory (engine.practical.simulation.RUNS) equal a full replay of the
stored log bit for bit: advanced step by step at irregular request times, after a cache
miss, after a stale run is detected, and in the score sheet at the end (both databases
for the stored attempts)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlmodel import Session

from engine.practical import service
from engine.practical.simulation import RUNS, LiveRun, RunCache, state_at
from simulations.runtime import LoggedAction, Program, replay, score
from simulations.scenarios import builtin_path, load_builtin
from tests.engine.practical.helpers import ACTOR, model_ticket, started


@pytest.fixture(scope="module")
def cstr() -> Program:
    return load_builtin("chemical-cstr-control")


@pytest.fixture(scope="module")
def electrician() -> Program:
    return load_builtin("electrician-feeder-switching")


def cstr_log(rng: np.random.Generator, n: int = 40) -> list[LoggedAction]:
    """An operator fiddling with the faceplates at irregular, non-integer times."""
    choices = [
        ("set_LIC_mode", lambda: {"mode": str(rng.choice(["MAN", "AUTO"]))}),
        ("set_LIC_sp", lambda: {"value": float(rng.uniform(30, 70))}),
        ("set_TIC_sp", lambda: {"value": float(rng.uniform(50, 80))}),
        ("set_TIC_output", lambda: {"value": float(rng.uniform(10, 90))}),
        ("start_P102", dict),
        ("acknowledge", lambda: {"alarm": "P101_TRIP"}),
    ]
    times = np.sort(rng.uniform(0.0, 560.0, n))
    log = []
    for t in times:
        name, args = choices[int(rng.integers(len(choices)))]
        log.append(LoggedAction(float(t), name, args()))
    return log


def electrician_log() -> list[LoggedAction]:
    """The model ticket with its times jittered off the tick grid."""
    rng = np.random.default_rng(7)
    return [LoggedAction(e["t"] + float(rng.uniform(0.01, 0.99)), e["action"], e.get("args", {}))
            for e in model_ticket() if e["action"] != "finish"]


def hidden_values(run: LiveRun) -> dict:
    return run.simulation.values(include_hidden=True)


def incremental_views(cache: RunCache, key, program, log, rng):
    """Requests as a page makes them: pushes at irregular moments between actions, each
    action answered at its tick; returns every view and the elapsed time it was taken at."""
    seen = []
    for n, action in enumerate(log, start=1):
        previous = log[n - 2].t if n > 1 else 0.0
        for at in np.sort(rng.uniform(previous, action.t, 2)):
            if program.tick_of(float(at)) <= program.tick_of(action.t) - 1:  # a push before the action's tick
                seen.append((log[: n - 1], float(at), cache.view(key, program, log[: n - 1], float(at))))
        at = program.tick_of(action.t) * program.tick
        seen.append((log[:n], at, cache.view(key, program, log[:n], at)))
    return seen


@pytest.mark.parametrize("which", ["cstr", "electrician"])
def test_incremental_views_equal_full_replays(which, cstr, electrician):
    program = cstr if which == "cstr" else electrician
    log = cstr_log(np.random.default_rng(3)) if which == "cstr" else electrician_log()
    cache = RunCache(4)
    key = (1, "sha", 11)
    views = incremental_views(cache, key, program, log, np.random.default_rng(5))
    assert len(views) > len(log)
    for prefix, at, view in views[:: max(1, len(views) // 6)] + views[-1:]:
        assert view == state_at(program, prefix, 11, at)
    assert cache.stats.misses == 1 and cache.stats.rebuilds == 0 and cache.stats.hits == len(views) - 1
    kept = cache._runs[key].run
    fresh = LiveRun(program, 11)
    fresh.sync(log)
    fresh.advance_before(views[-1][1])  # the kept run stops short of the moment asked (look-ahead on a fork)
    assert kept.simulation.batch.tick_index == fresh.simulation.batch.tick_index
    assert hidden_values(kept) == hidden_values(fresh)  # hidden variables too, bit for bit
    assert np.array_equal(kept.simulation.batch.state, fresh.simulation.batch.state)
    trace = cache.trace_to_end(key, program, log)
    full = replay(program, log, 11)
    assert trace.fingerprint() == full.fingerprint()
    assert score(program, trace).to_json() == score(program, full).to_json()


def test_a_cleared_cache_gives_the_same_state(cstr):
    log = cstr_log(np.random.default_rng(9), 20)
    cache = RunCache(4)
    key = (2, "sha", 5)
    for action in log[:10]:
        cache.view(key, cstr, log[: log.index(action) + 1], cstr.tick_of(action.t))
    before = cache.view(key, cstr, log[:10], 400.0)
    cache.clear()  # another worker, a restart
    after = cache.view(key, cstr, log[:10], 400.0)
    assert after == before == state_at(cstr, log[:10], 5, 400.0)
    assert cache.stats.misses == 1 and cache.stats.hits == 0


def test_a_log_that_grew_elsewhere_behind_the_run_is_detected_and_rebuilt(cstr):
    cache = RunCache(4)
    key = (3, "sha", 8)
    log = [LoggedAction(12.3, "set_LIC_mode", {"mode": "AUTO"})]
    cache.view(key, cstr, log, 300.0)  # this worker's page pushed up to t = 300
    # meanwhile another worker stored an action at t = 250.4, which this run already passed
    grown = log + [LoggedAction(250.4, "set_TIC_sp", {"value": 75.0})]
    view = cache.view(key, cstr, grown, 300.0)
    assert cache.stats.rebuilds == 1
    assert view == state_at(cstr, grown, 8, 300.0)
    assert view.values["TIC_sp"] == 75.0


def test_a_rolled_back_action_is_detected_and_rebuilt(cstr):
    cache = RunCache(4)
    key = (4, "sha", 8)
    log = [LoggedAction(5.5, "set_LIC_mode", {"mode": "AUTO"})]
    cache.view(key, cstr, log + [LoggedAction(40.2, "set_LIC_sp", {"value": 70.0})], 41.0)
    # that write was rolled back; the same count of actions, a different one, is stored instead
    other = log + [LoggedAction(40.2, "set_LIC_sp", {"value": 35.0})]
    view = cache.view(key, cstr, other, 60.0)
    assert cache.stats.rebuilds == 1
    assert view == state_at(cstr, other, 8, 60.0) and view.values["LIC_sp"] == 35.0


def test_the_cache_is_bounded_least_recently_used_first(electrician):
    cache = RunCache(2)
    for attempt in (1, 2, 1, 3):
        cache.view((attempt, "sha", 1), electrician, [], 3.0)
    assert len(cache) == 2 and set(cache._runs) == {(1, "sha", 1), (3, "sha", 1)}


def test_an_action_after_the_end_is_named_as_replay_names_it(electrician):
    cache = RunCache(2)
    log = [LoggedAction(3.0, "finish", {}), LoggedAction(9.0, "finish", {})]
    from simulations.errors import ActionLogError

    with pytest.raises(ActionLogError, match="after the session ended"):
        cache.trace_to_end((5, "sha", 1), electrician, log)


# ---- stored attempts, both databases --------------------------------------------------------


@pytest.fixture
def session(db_engine, demo):
    RUNS.clear()
    with Session(db_engine, expire_on_commit=False) as session:
        yield session
    RUNS.clear()


def submit_all(session, attempt, start, log, *, clear_every: int = 0):
    receipts = []
    for n, entry in enumerate(log, start=1):
        if clear_every and n % clear_every == 0:
            RUNS.clear()
        receipts.append(service.submit_action(session, attempt, entry.action, entry.args, ACTOR,
                                              start + timedelta(seconds=entry.t)))
    return receipts


def test_stored_electrician_attempt_incremental_equals_replay(session):
    attempt, start = started(session)
    log = electrician_log()
    receipts = submit_all(session, attempt, start, log)
    program = service.program_of(service.version_of(session, attempt))
    stored = service.logged_actions(session, attempt.id)
    for n in (1, len(log) // 2, len(log)):
        r = receipts[n - 1]
        assert r.view == state_at(program, stored[:n], attempt.seed, program.tick_of(r.t) * program.tick)
    at = start + timedelta(seconds=log[-1].t + 7.3)
    assert service.live_view(session, attempt, at) == state_at(program, stored, attempt.seed,
                                                               service.elapsed(attempt, at))
    assert RUNS.stats.misses == 1 and RUNS.stats.rebuilds == 0
    service.submit_action(session, attempt, "finish", {}, ACTOR, at)
    session.commit()
    report = service.replay_attempt(session, attempt.id)
    assert report.matches and attempt.score == 100.0


def test_stored_cstr_attempt_same_sheet_with_and_without_the_cache(session, demo):
    """Two candidates, same seed and log: one served from the kept run, one cleared every third action."""
    version = service.upload_scenario(session, builtin_path("chemical-cstr-control").read_text("utf-8"),
                                      "chemical_cstr.yaml", ACTOR)
    log = cstr_log(np.random.default_rng(21), 12)
    sheets, views = [], []
    for username, clear_every in (("candidate", 0), ("candidate2", 3)):
        attempt, start = started(session, username)
        attempt.scenario_version_id, attempt.seed = version.id, 424242  # the CSTR, one seed for both
        session.add(attempt)
        session.flush()
        receipts = submit_all(session, attempt, start, log, clear_every=clear_every)
        views.append([r.view for r in receipts])
        service.finish(session, attempt, ACTOR, start + timedelta(seconds=600))
        session.commit()
        assert service.replay_attempt(session, attempt.id).matches
        sheets.append((attempt.score_sheet, attempt.fingerprint))
    assert views[0] == views[1]
    assert sheets[0] == sheets[1]
