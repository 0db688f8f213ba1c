"""Live proctoring: events, supervisor commands, pause/extension arithmetic, anomaly rules.

``events``, ``commands``, ``timing`` and ``anomalies`` are the pure rule core (standard
library only, no database); ``service`` stores events and applies commands to sittings.
"""
