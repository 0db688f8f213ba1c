"""What can happen during a proctored sitting, named in the past tense.

A sitting's proctoring record is an append-only stream of these facts: what the
candidate's page reported (evidence, never an automatic penalty), what the connection
did, what supervisors did, and whether each command reached the candidate's screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    # reported by the candidate's page
    page_hidden = "page_hidden"
    page_shown = "page_shown"
    window_blurred = "window_blurred"
    window_focused = "window_focused"
    fullscreen_exited = "fullscreen_exited"
    copy_attempted = "copy_attempted"
    paste_attempted = "paste_attempted"
    context_menu_opened = "context_menu_opened"
    went_offline = "went_offline"
    came_online = "came_online"
    second_tab_opened = "second_tab_opened"
    # observed by the server
    connected = "connected"
    disconnected = "disconnected"
    second_connection_opened = "second_connection_opened"
    # supervisor actions (each carries a reason)
    warned = "warned"
    paused = "paused"
    resumed = "resumed"
    time_extended = "time_extended"
    terminated = "terminated"
    incident_flagged = "incident_flagged"
    identity_checked = "identity_checked"  # identity verified at the room (ID document, photo match, notes)
    workstation_authorized = "workstation_authorized"  # failover: the sitting moves to another computer
    accommodation_changed = "accommodation_changed"  # extra time/breaks changed while sitting
    # the page that took the sitting over after a workstation failover
    workstation_switched = "workstation_switched"
    # the practical part: a task started, an operation recorded, a task scored (engine/practical)
    practical_progressed = "practical_progressed"
    # the way of a command to the candidate's screen
    command_delivered = "command_delivered"
    command_applied = "command_applied"


CLIENT_EVENTS = frozenset({
    EventKind.page_hidden, EventKind.page_shown, EventKind.window_blurred, EventKind.window_focused,
    EventKind.fullscreen_exited, EventKind.copy_attempted, EventKind.paste_attempted,
    EventKind.context_menu_opened, EventKind.went_offline, EventKind.came_online,
    EventKind.second_tab_opened,
})
CONNECTION_EVENTS = frozenset({EventKind.connected, EventKind.disconnected, EventKind.second_connection_opened,
                               EventKind.workstation_switched})
SUPERVISOR_ACTIONS = frozenset({EventKind.warned, EventKind.paused, EventKind.resumed, EventKind.time_extended,
                                EventKind.terminated, EventKind.incident_flagged, EventKind.identity_checked,
                                EventKind.workstation_authorized, EventKind.accommodation_changed})
ACKNOWLEDGEMENTS = frozenset({EventKind.command_delivered, EventKind.command_applied})
# Supervisor actions the candidate's page must show; an incident flag is not shown.
SHOWN_TO_CANDIDATE = frozenset({EventKind.warned, EventKind.paused, EventKind.resumed, EventKind.time_extended,
                                EventKind.terminated, EventKind.accommodation_changed})


@dataclass(frozen=True)
class ProctorEvent:
    """One fact in a sitting's proctoring stream (the pure core's view of a stored row)."""

    kind: EventKind
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)
