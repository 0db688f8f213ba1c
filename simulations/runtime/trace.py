"""The recorded trace of one simulation run: samples, actions, events and alarms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simulations.errors import ActionLogError

ENDED_BY_FINISH = "finish"
ENDED_BY_TIME_LIMIT = "time_limit"
MAX_LOGGED_ACTIONS = 5_000


@dataclass(frozen=True)
class LoggedAction:
    """One candidate action as submitted: time in seconds, action name, arguments."""

    t: float
    action: str
    args: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"t": self.t, "action": self.action, "args": dict(self.args)}


def parse_action_log(raw: Any) -> list[LoggedAction]:
    """Validate an ACTIONS.json document: a list of ``{"t", "action", "args"}``."""
    if not isinstance(raw, list):
        raise ActionLogError("the action list must be a JSON array of {t, action, args}")
    if len(raw) > MAX_LOGGED_ACTIONS:
        raise ActionLogError(
            f"the action list has {len(raw)} entries; at most {MAX_LOGGED_ACTIONS}"
        )
    actions: list[LoggedAction] = []
    last = 0.0
    for i, entry in enumerate(raw):
        where = f"entry {i}"
        if not isinstance(entry, dict):
            raise ActionLogError(f"{where}: expected an object with t, action and args")
        unknown = set(entry) - {"t", "action", "args"}
        if unknown:
            raise ActionLogError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        t, name, args = entry.get("t"), entry.get("action"), entry.get("args", {})
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not np.isfinite(t) or t < 0:
            raise ActionLogError(f"{where}: 't' must be a number of seconds >= 0")
        if t < last:
            raise ActionLogError(f"{where}: times must not decrease ({t} after {last})")
        if not isinstance(name, str) or not name:
            raise ActionLogError(f"{where}: 'action' must be an action name")
        if not isinstance(args, dict):
            raise ActionLogError(f"{where}: 'args' must be an object")
        actions.append(LoggedAction(float(t), name, args))
        last = float(t)
    return actions


@dataclass(frozen=True)
class ActionRecord:
    """An action as applied by the runtime.

    ``t`` is the tick time at which it took effect; ``pre_state`` is the state row just
    before it (rubric ``where`` conditions look at it); ``seq`` orders everything that
    happened in the run.
    """

    seq: int
    t: float
    requested_t: float
    action: str
    args: dict[str, Any]
    encoded_args: dict[str, float]
    accepted: bool
    reason: str
    pre_state: np.ndarray = field(repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "t": self.t,
            "action": self.action,
            "args": self.args,
            "accepted": self.accepted,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Occurrence:
    """An event that fired or an alarm that was raised, cleared or acknowledged."""

    seq: int
    t: float
    kind: str  # "event" | "alarm_raised" | "alarm_cleared" | "alarm_acknowledged"
    id: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "t": self.t, "kind": self.kind, "id": self.id}


@dataclass
class Trace:
    """Samples of every variable at each tick, and the discrete history of the run.

    ``times``: ``(n_samples,)``; ``states``: ``(n_samples, n_variables)``, columns in
    the order of ``names``.
    """

    scenario_id: str
    scenario_version: int
    seed: int | None
    names: tuple[str, ...]
    times: np.ndarray
    states: np.ndarray
    actions: list[ActionRecord]
    occurrences: list[Occurrence]
    end_time: float
    ended_by: str
    _by_action: dict[str, list[ActionRecord]] | None = field(default=None, repr=False)

    def accepted(self, action: str) -> list[ActionRecord]:
        """Accepted actions named ``action`` in order."""
        if self._by_action is None:
            index: dict[str, list[ActionRecord]] = {}
            for record in self.actions:
                if record.accepted:
                    index.setdefault(record.action, []).append(record)
            self._by_action = index
        return self._by_action.get(action, [])

    def occurrences_of(self, kind: str, ident: str) -> list[Occurrence]:
        return [o for o in self.occurrences if o.kind == kind and o.id == ident]

    def column(self, name: str) -> np.ndarray:
        return self.states[:, self.names.index(name)]

    def timeline(self) -> list[dict[str, Any]]:
        """Actions, events and alarms in the order they happened (for a replay view)."""
        items = [{"kind": "action", **r.as_dict()} for r in self.actions]
        items += [o.as_dict() for o in self.occurrences]
        return sorted(items, key=lambda item: item["seq"])

    def series(self, names: list[str] | tuple[str, ...]) -> dict[str, list[float]]:
        """Sampled values of ``names`` (plus ``t``) as plain lists, e.g. for a chart."""
        data = {"t": self.times.tolist()}
        for name in names:
            data[name] = self.column(name).tolist()
        return data

    def fingerprint(self) -> str:
        """A hash of everything recorded; equal fingerprints mean bit-identical runs."""
        import hashlib

        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.times).tobytes())
        digest.update(np.ascontiguousarray(self.states).tobytes())
        for record in self.actions:
            digest.update(repr(record.as_dict()).encode())
            digest.update(record.pre_state.tobytes())
        for occ in self.occurrences:
            digest.update(repr(occ.as_dict()).encode())
        digest.update(f"{self.end_time!r}{self.ended_by}".encode())
        return digest.hexdigest()
