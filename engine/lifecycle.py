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
    # supervisor commands (engine/proctoring/commands.py names them after LTI Proctoring)
    pause = "pause"
    resume = "resume"
    extend = "extend"  # LTI "update": more time
    terminate = "terminate"  # forced submission
    warn = "warn"
    flag_incident = "flag_incident"


TRANSITIONS: dict[tuple[Status, Command], Status] = {
    (Status.scheduled, Command.start): Status.in_progress,
    (Status.in_progress, Command.answer): Status.in_progress,
    (Status.in_progress, Command.flag): Status.in_progress,
    (Status.in_progress, Command.navigate): Status.in_progress,
    (Status.in_progress, Command.submit): Status.submitted,
    (Status.in_progress, Command.expire): Status.submitted,
    # A paused sitting's clock stands still: it neither expires nor takes answers.
    (Status.in_progress, Command.pause): Status.paused,
    (Status.paused, Command.resume): Status.in_progress,
    (Status.in_progress, Command.extend): Status.in_progress,
    (Status.paused, Command.extend): Status.paused,
    (Status.in_progress, Command.terminate): Status.submitted,
    (Status.paused, Command.terminate): Status.submitted,
    (Status.in_progress, Command.warn): Status.in_progress,
    (Status.paused, Command.warn): Status.paused,
    # An incident may come to light after hand-in, so it can be recorded then too.
    (Status.in_progress, Command.flag_incident): Status.in_progress,
    (Status.paused, Command.flag_incident): Status.paused,
    (Status.submitted, Command.flag_incident): Status.submitted,
}


def next_status(status: Status, command: Command) -> Status:
    try:
        return TRANSITIONS[(status, command)]
    except KeyError:
        raise IllegalTransitionError(N_("cannot %(command)s a session that is %(status)s"),
                                     command=command.value, status=status.value) from None
