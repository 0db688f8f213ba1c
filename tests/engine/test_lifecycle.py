"""The candidate-session transition table: every (status, command) pair."""

import itertools

import pytest

from engine.errors import IllegalTransitionError
from engine.lifecycle import TRANSITIONS, Command, next_status
from engine.models import CandidateSessionStatus as Status

EXPECTED = {
    (Status.scheduled, Command.start): Status.in_progress,
    (Status.in_progress, Command.answer): Status.in_progress,
    (Status.in_progress, Command.flag): Status.in_progress,
    (Status.in_progress, Command.navigate): Status.in_progress,
    (Status.in_progress, Command.submit): Status.submitted,
    (Status.in_progress, Command.expire): Status.submitted,
    (Status.in_progress, Command.pause): Status.paused,
    (Status.paused, Command.resume): Status.in_progress,
    (Status.in_progress, Command.extend): Status.in_progress,
    (Status.paused, Command.extend): Status.paused,
    (Status.in_progress, Command.terminate): Status.submitted,
    (Status.paused, Command.terminate): Status.submitted,
    (Status.in_progress, Command.warn): Status.in_progress,
    (Status.paused, Command.warn): Status.paused,
    (Status.in_progress, Command.flag_incident): Status.in_progress,
    (Status.paused, Command.flag_incident): Status.paused,
    (Status.submitted, Command.flag_incident): Status.submitted,
}


class TestTransitions:
    @pytest.mark.parametrize("status, command", list(itertools.product(Status, Command)))
    def test_every_pair(self, status, command):
        if (status, command) in EXPECTED:
            assert next_status(status, command) == EXPECTED[(status, command)]
        else:
            with pytest.raises(IllegalTransitionError, match=f"cannot {command.value}"):
                next_status(status, command)

    def test_table_is_exactly_the_documented_one(self):
        assert TRANSITIONS == EXPECTED

    def test_a_submitted_session_accepts_nothing_but_an_incident_record(self):
        for command in set(Command) - {Command.flag_incident}:
            with pytest.raises(IllegalTransitionError):
                next_status(Status.submitted, command)

    def test_a_paused_session_takes_no_answers_and_does_not_expire(self):
        for command in (Command.answer, Command.flag, Command.navigate, Command.submit, Command.expire):
            with pytest.raises(IllegalTransitionError):
                next_status(Status.paused, command)
