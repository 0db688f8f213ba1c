"""Supervisor commands, named after the LTI Proctoring vocabulary where it fits.

``pause``/``resume``/``update`` (extend time)/``terminate`` change the sitting;
``warn`` shows a message; ``flag`` records an incident (违纪) with a severity and a
reason code. Every command needs a reason a person wrote: it lands in the audit log and
the candidate's timeline. ``parse_command`` is the only way in, so an invalid command
never reaches the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from engine.errors import N_, InvalidInputError
from engine.proctoring.events import EventKind

E = TypeVar("E", bound=StrEnum)
MAX_REASON = 500
MAX_EXTENSION_MINUTES = 240


class CommandKind(StrEnum):
    warn = "warn"
    pause = "pause"
    resume = "resume"
    update = "update"  # LTI Proctoring's word for changing the time allowed
    terminate = "terminate"
    flag = "flag"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class IncidentCategory(StrEnum):
    """Reason codes for an incident (违纪) flag."""

    unauthorized_material = "unauthorized_material"
    communication = "communication"
    impersonation = "impersonation"
    device_misuse = "device_misuse"
    disruption = "disruption"
    other = "other"


EVENT_OF = {
    CommandKind.warn: EventKind.warned,
    CommandKind.pause: EventKind.paused,
    CommandKind.resume: EventKind.resumed,
    CommandKind.update: EventKind.time_extended,
    CommandKind.terminate: EventKind.terminated,
    CommandKind.flag: EventKind.incident_flagged,
}
ROOM_WIDE = frozenset({CommandKind.warn, CommandKind.pause, CommandKind.resume, CommandKind.update})


@dataclass(frozen=True)
class SupervisorCommand:
    kind: CommandKind
    reason: str
    minutes: int = 0  # update only
    severity: Severity | None = None  # flag only
    category: IncidentCategory | None = None  # flag only

    @property
    def event_kind(self) -> EventKind:
        return EVENT_OF[self.kind]

    def as_data(self) -> dict[str, object]:
        data: dict[str, object] = {"command": self.kind.value, "reason": self.reason}
        if self.kind == CommandKind.update:
            data["minutes"] = self.minutes
        if self.kind == CommandKind.flag:
            data["severity"] = self.severity.value if self.severity else None
            data["category"] = self.category.value if self.category else None
        return data


def parse_command(kind: str, reason: str, minutes: str | int | None = None, severity: str | None = None,
                  category: str | None = None) -> SupervisorCommand:
    """Validate a command from a form; raises InvalidInputError naming the field at fault."""
    command_kind = _member(CommandKind, kind, "kind", N_("unknown command '%(value)s'"))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInputError(N_("a reason is required for every supervisor action"), "reason")
    if len(reason) > MAX_REASON:
        raise InvalidInputError(N_("the reason is longer than %(limit)s characters"), "reason", limit=MAX_REASON)
    if command_kind == CommandKind.update:
        return SupervisorCommand(command_kind, reason, minutes=_minutes(minutes))
    if command_kind == CommandKind.flag:
        return SupervisorCommand(
            command_kind, reason,
            severity=_member(Severity, severity or "", "severity", N_("unknown severity '%(value)s'")),
            category=_member(IncidentCategory, category or "", "category", N_("unknown incident category '%(value)s'")))
    return SupervisorCommand(command_kind, reason)


def _member(enum: type[E], value: str, field: str, template: str) -> E:
    try:
        return enum(value)
    except ValueError:
        raise InvalidInputError(template, field, value=value) from None


def _minutes(value: str | int | None) -> int:
    try:
        minutes = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(N_("extra time must be a whole number of minutes"), "minutes") from None
    if not 1 <= minutes <= MAX_EXTENSION_MINUTES:
        raise InvalidInputError(N_("extra time must be between 1 and %(limit)s minutes"), "minutes",
                                limit=MAX_EXTENSION_MINUTES)
    return minutes
