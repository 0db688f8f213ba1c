"""Item statistics in the QTI 3.0 Usage Data form (``imsqti_usagedata_v3p0``).

Each statistic is an ``ordinaryStatistic`` naming its item through ``targetObject``; the
names are ours, listed in ``GLOSSARY``: classical ``p-value`` and ``point-biserial`` with
their case counts, and the calibrated IRT parameters in slope–intercept form (``irt-model``,
``irt-a``, ``irt-d`` — intercepts separated by spaces — and ``irt-c``). Reading takes the
IRT parameters back, so parameters calibrated elsewhere can arrive with their items.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from itembank.errors import InterchangeError
from itembank.interchange import qti
from itembank.irt.models import MODELS

NAMESPACE = "http://www.imsglobal.org/xsd/imsqti_usagedata_v3p0"
GLOSSARY = "urn:skillcert:itembank:statistics"


@dataclass(frozen=True)
class ItemStatistics:
    identifier: str
    n: int | None = None
    p_value: float | None = None
    point_biserial: float | None = None
    model: str | None = None
    a: float | None = None
    d: tuple[float, ...] = ()
    c: float | None = None
    se_a: float | None = None


def _statistic(identifier: str, name: str, value: str, context: str, cases: int | None = None,
               std_error: float | None = None) -> str:
    extra = (f' caseCount="{cases}"' if cases is not None else "") + (
        f' stdError="{std_error:g}"' if std_error is not None else "")
    return (f"<ordinaryStatistic name={quoteattr(name)} glossary={quoteattr(GLOSSARY)} context={quoteattr(context)}"
            f"{extra}><targetObject identifier={quoteattr(identifier)}/><value>{escape(value)}</value>"
            "</ordinaryStatistic>")


def write_usage(statistics: list[ItemStatistics], context: str) -> str:
    parts = []
    for s in statistics:
        if s.p_value is not None:
            parts.append(_statistic(s.identifier, "p-value", f"{s.p_value:.6g}", context, s.n))
        if s.point_biserial is not None:
            parts.append(_statistic(s.identifier, "point-biserial", f"{s.point_biserial:.6g}", context, s.n))
        if s.model and s.a is not None and s.d:
            parts.append(_statistic(s.identifier, "irt-model", s.model, context))
            parts.append(_statistic(s.identifier, "irt-a", f"{s.a:.10g}", context, std_error=s.se_a))
            parts.append(_statistic(s.identifier, "irt-d", " ".join(f"{d:.10g}" for d in s.d), context))
            if s.c is not None:
                parts.append(_statistic(s.identifier, "irt-c", f"{s.c:.10g}", context))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<usageData xmlns="{NAMESPACE}" glossary="{GLOSSARY}">'
            f"{''.join(parts)}</usageData>\n")


def read_parameters(data: bytes) -> dict[str, dict]:
    """IRT parameters by item identifier: ``{"model", "a", "d": [...], "c"}``; statistics
    with other names (classical ones, other glossaries) are ignored."""
    root = qti.parse_xml(data)
    if root.tag != "usageData":
        raise InterchangeError(f"not a QTI usage data document (root element {root.tag})")
    found: dict[str, dict] = {}
    for node in root.iter("ordinaryStatistic"):
        name, target = node.get("name", ""), node.find("targetObject")
        if not name.startswith("irt-") or target is None:
            continue
        value = (node.findtext("value") or "").strip()
        entry = found.setdefault(target.get("identifier", ""), {})
        try:
            if name == "irt-model":
                entry["model"] = value
            elif name == "irt-d":
                entry["d"] = [float(v) for v in value.split()]
            elif name in ("irt-a", "irt-c"):
                entry[name[4:]] = float(value)
        except ValueError:
            raise InterchangeError(f"statistic {name} of {target.get('identifier')!r}: {value!r} is not a number") \
                from None
    complete = {k: v for k, v in found.items() if {"model", "a", "d"} <= set(v)}
    for identifier, entry in complete.items():
        if entry["model"] not in MODELS:
            raise InterchangeError(f"item {identifier!r}: unknown IRT model {entry['model']!r}")
    return complete
