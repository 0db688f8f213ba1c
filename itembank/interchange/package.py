"""QTI content packages: a zip with ``imsmanifest.xml`` naming one resource per item.

Reading guards against hostile archives (too many or too large members, paths that climb
out of the package) and reads each item resource with ``qti.read_item``. Writing emits a
QTI 3.0 package whose manifest records who exported it, when, and each item's place in the
bank (occupation, level, appraisal point) in a ``urn:skillcert`` metadata extension, so the
package re-imports into the same place.
"""

from __future__ import annotations

import io
import json
import posixpath
import zipfile
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from itembank.errors import InterchangeError
from itembank.interchange import qti
from itembank.interchange.model import ImportLine, ParsedItem, ReadResult

MAX_MEMBERS = 20000
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_MEMBER_BYTES = 5 * 1024 * 1024
SKILLCERT_NS = "urn:skillcert:itembank"


def read_package(data: bytes) -> ReadResult:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InterchangeError(f"not a zip file: {exc}") from None
    with archive:
        members = {info.filename: info for info in archive.infolist()}
        if len(members) > MAX_MEMBERS or sum(i.file_size for i in members.values()) > MAX_TOTAL_BYTES:
            raise InterchangeError("the package is too large")
        if "imsmanifest.xml" not in members:
            raise InterchangeError("the package has no imsmanifest.xml at its root")
        manifest = qti.parse_xml(_member(archive, members, "imsmanifest.xml"))
        result = ReadResult()
        for resource in manifest.iter("resource"):
            if not resource.get("type", "").startswith("imsqti_item_xml"):
                continue
            identifier = resource.get("identifier", "?")
            href = _safe_path(resource.get("href", ""))
            if href is None or href not in members:
                result.problems.append(ImportLine(identifier, "rejected", f"missing file {resource.get('href')!r}"))
                continue
            try:
                parsed = qti.read_item(_member(archive, members, href), identifier)
            except InterchangeError as exc:
                parsed = ImportLine(identifier, "rejected", str(exc))
            if isinstance(parsed, ImportLine):
                result.problems.append(parsed)
                continue
            _apply_metadata(parsed, resource)
            result.items.append(parsed)
        return result


def _member(archive: zipfile.ZipFile, members: dict, name: str) -> bytes:
    if members[name].file_size > MAX_MEMBER_BYTES:
        raise InterchangeError(f"{name} is too large")
    with archive.open(members[name]) as handle:
        data = handle.read(MAX_MEMBER_BYTES + 1)
    if len(data) > MAX_MEMBER_BYTES:
        raise InterchangeError(f"{name} is too large")
    return data


def _safe_path(href: str) -> str | None:
    """The member name for ``href``, or None when it leaves the package."""
    if not href or href.startswith("/") or "\\" in href or ":" in href:
        return None
    normalized = posixpath.normpath(href)
    return None if normalized.startswith("..") else normalized


def _apply_metadata(item: ParsedItem, resource) -> None:
    for node in resource.iter("bankItem"):
        item.occupation_code = node.get("occupation") or None
        item.level = node.get("level") or None
        item.point_code = node.get("point") or None
        item.explanation = (node.findtext("explanation") or "").strip()
        scoring = node.findtext("scoring")
        if scoring:
            try:
                item.scoring = json.loads(scoring)
            except json.JSONDecodeError:
                pass  # the standard response processing read from the item stands
        try:
            item.difficulty = float(node.get("difficulty") or "nan")
        except ValueError:
            item.difficulty = None
        if item.difficulty != item.difficulty:  # NaN: none given
            item.difficulty = None


@dataclass(frozen=True)
class Exported:
    """One item to export with its identifier in the package and its place in the bank."""

    identifier: str
    item: ParsedItem


def write_package(items: list[Exported], exported_by: str, exported_at: datetime) -> bytes:
    buffer = io.BytesIO()
    resources = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in items:
            href = f"items/{entry.identifier}.xml"
            archive.writestr(href, qti.write_item(entry.item, entry.identifier))
            resources.append(_resource(entry, href))
        archive.writestr("imsmanifest.xml", _manifest(resources, exported_by, exported_at, len(items)))
    return buffer.getvalue()


def _resource(entry: Exported, href: str) -> str:
    item = entry.item
    attrs = "".join(f" {name}={quoteattr(value)}" for name, value in (
        ("occupation", item.occupation_code), ("level", item.level), ("point", item.point_code),
        ("difficulty", None if item.difficulty is None else format(item.difficulty, "g"))) if value)
    explanation = f"<sc:explanation>{escape(item.explanation)}</sc:explanation>" if item.explanation else ""
    # Our exact scoring settings (text matching, partial credit, rubric) beside the standard
    # response processing, so that our own packages re-import unchanged.
    if item.scoring:
        explanation += f"<sc:scoring>{escape(json.dumps(item.scoring, ensure_ascii=False, sort_keys=True))}</sc:scoring>"
    return (f'<resource identifier={quoteattr(entry.identifier)} type="imsqti_item_xmlv3p0" href={quoteattr(href)}>'
            f"<metadata><sc:bankItem{attrs}>{explanation}</sc:bankItem></metadata>"
            f"<file href={quoteattr(href)}/></resource>")


def _manifest(resources: list[str], exported_by: str, exported_at: datetime, count: int) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<manifest xmlns="http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1" '
            f'xmlns:sc="{SKILLCERT_NS}" identifier="skillcert-export">'
            "<metadata><schema>QTI Package</schema><schemaversion>3.0.0</schemaversion>"
            f"<sc:export by={quoteattr(exported_by)} at={quoteattr(exported_at.isoformat())} items=\"{count}\"/>"
            f"</metadata><organizations/><resources>{''.join(resources)}</resources></manifest>\n")
