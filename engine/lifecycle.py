"""The candidate-session lifecycle as an explicit transition table.

Every (status, command) pair not in the table is illegal; tests walk all pairs.
"""

from __future__ import annotations

from enum import StrEnum

from engine.errors import N_, IllegalTransitionError
from engine.models import CandidateSessionStatus as Status


class Command(StrEnum):
    start = "start"
    answer = "answer"
    flag = "flag"
    navigate = "navigate"
    submit = "submit"
    expire = "expire"  # the server submits at the deadline


TRANSITIONS: dict[tuple[Status, Command], Status] = {
    (Status.scheduled, Command.start): Status.in_progress,
    (Status.in_progress, Command.answer): Status.in_progress,
    (Status.in_progress, Command.flag): Status.in_progress,
    (Status.in_progress, Command.navigate): Status.in_progress,
    (Status.in_progress, Command.submit): Status.submitted,
    (Status.in_progress, Command.expire): Status.submitted,
}


def next_status(status: Status, command: Command) -> Status:
    try:
        return TRANSITIONS[(status, command)]
    except KeyError:
        raise IllegalTransitionError(N_("cannot %(command)s a session that is %(status)s"),
                                     command=command.value, status=status.value) from None
