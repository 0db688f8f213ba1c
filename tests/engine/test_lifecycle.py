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

    def test_a_submitted_session_accepts_nothing(self):
        for command in Command:
            with pytest.raises(IllegalTransitionError):
                next_status(Status.submitted, command)
