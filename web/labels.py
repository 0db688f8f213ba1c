"""Words the templates translate from data (roles, statuses, kinds).

Listing them with ``N_`` lets ``make i18n-extract`` find msgids that only appear as
values at run time, such as ``_(user.role.value)``.
"""

from __future__ import annotations


def N_(message: str) -> str:
    return message


DYNAMIC_MESSAGES = (
    N_("candidate"), N_("examiner"), N_("supervisor"), N_("admin"),
    N_("scheduled"), N_("in_progress"), N_("submitted"),
    N_("draft"), N_("active"), N_("retired"),
    N_("single"), N_("multiple"), N_("truefalse"),
    N_("enterprise"), N_("social_org"), N_("school"),
    N_("module"), N_("element"), N_("point"),
)

# Proctoring: supervisor commands, incident categories, integrity events, timeline and anomaly kinds
# (templates show them as _(code.replace("_", " "))).
PROCTORING_MESSAGES = (
    N_("warn"), N_("pause"), N_("resume"), N_("update"),
    N_("terminate"), N_("flag"), N_("unauthorized material"), N_("communication"),
    N_("impersonation"), N_("device misuse"), N_("disruption"), N_("other"),
    N_("page hidden"), N_("page shown"), N_("window blurred"), N_("window focused"),
    N_("fullscreen exited"), N_("copy attempted"), N_("paste attempted"), N_("context menu opened"),
    N_("went offline"), N_("came online"), N_("second tab opened"), N_("disconnected"),
    N_("second connection opened"), N_("warned"), N_("resumed"), N_("time extended"),
    N_("terminated"), N_("incident flagged"), N_("command delivered"), N_("command applied"),
    N_("rapid answering"), N_("disconnections"), N_("focus loss"), N_("second connection"),
)
