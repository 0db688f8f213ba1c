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
