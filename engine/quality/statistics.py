"""Certificate statistics for the supervisors' dashboards: counts by occupation, level,
institution kind and month of issue, for certificates issued in a period."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from engine.certification.models import Certificate, CertificateStatus
from engine.models import Institution


@dataclass(frozen=True)
class CertificateStatistics:
    total: int
    revoked: int
    by_occupation: list[tuple[str, int]]
    by_level: list[tuple[str, int]]
    by_institution_kind: list[tuple[str, int]]
    by_month: list[tuple[str, int]]  # "YYYY-MM", every month of the period in order, zeros included


def _months(period) -> list[str]:
    last = period.end - timedelta(days=1)  # the period's end is exclusive
    months, year, month = [], period.start.year, period.start.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def certificate_statistics(db: Session, period) -> CertificateStatistics:
    rows = db.exec(select(Certificate, Institution.kind)
                   .join(Institution, col(Institution.id) == Certificate.institution_id)
                   .where(Certificate.issued_on >= period.start, Certificate.issued_on < period.end)).all()
    occupations, levels, kinds, months = Counter(), Counter(), Counter(), Counter()
    for certificate, kind in rows:
        occupations[certificate.occupation_name] += 1
        levels[str(certificate.level)] += 1
        kinds[str(kind)] += 1
        months[certificate.issued_on.strftime("%Y-%m")] += 1
    return CertificateStatistics(
        total=len(rows), revoked=sum(c.status == CertificateStatus.revoked for c, _ in rows),
        by_occupation=sorted(occupations.items(), key=lambda pair: (-pair[1], pair[0])),
        by_level=sorted(levels.items()), by_institution_kind=sorted(kinds.items()),
        by_month=[(month, months.get(month, 0)) for month in _months(period)])
