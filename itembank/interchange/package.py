"""QTI content packages: a zip with ``imsmanifest.xml`` naming one resource per item.

Reading guards against hostile archives (too many or too large members, paths that climb
out of the package) and reads each item resource with ``qti.read_item``. Writing emits a
QTI 3.0 package whose manifest records who exported it, when, and each item's place in the
bank (occupation, level, appraisal point) in a ``urn:skillcert`` metadata extension, so the
package re-imports into the same place.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import posixpath
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from itembank.errors import InterchangeError
from itembank.images import MAX_IMAGE_BYTES, sniff
from itembank.interchange import qti, usage
from itembank.interchange.model import ImportLine, ParsedItem, ReadResult
from itembank.sanitize import IMAGE_PREFIX

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
        parameters = _usage_parameters(archive, members, manifest)
        for resource in manifest.iter("resource"):
            if not resource.get("type", "").startswith("imsqti_item_xml"):
                continue
            identifier = resource.get("identifier", "?")
            href = _safe_path(resource.get("href", ""))
            if href is None or href not in members:
                result.problems.append(ImportLine(identifier, "rejected", f"missing file {resource.get('href')!r}"))
                continue
            try:
                resolver = _image_resolver(archive, members, posixpath.dirname(href), result.images)
                parsed = qti.read_item(_member(archive, members, href), identifier, resolver)
            except InterchangeError as exc:
                parsed = ImportLine(identifier, "rejected", str(exc))
            if isinstance(parsed, ImportLine):
                result.problems.append(parsed)
                continue
            _apply_metadata(parsed, resource)
            parsed.parameters = parameters.get(parsed.identifier) or parameters.get(identifier)
            result.items.append(parsed)
        return result


def _usage_parameters(archive: zipfile.ZipFile, members: dict, manifest) -> dict[str, dict]:
    """IRT parameters from every usage-data resource of the package, by item identifier."""
    found: dict[str, dict] = {}
    for resource in manifest.iter("resource"):
        if "usagedata" not in resource.get("type", ""):
            continue
        href = _safe_path(resource.get("href", ""))
        if href is None or href not in members:
            raise InterchangeError(f"usage data file {resource.get('href')!r} is missing")
        found.update(usage.read_parameters(_member(archive, members, href)))
    return found


def _image_resolver(archive: zipfile.ZipFile, members: dict, folder: str, found: dict[str, bytes]):
    """Images the package carries go to the image store (by hash); anything else is dropped."""

    def resolve(src: str) -> str | None:
        name = _safe_path(posixpath.join(folder, src)) if src else None
        if name is None or name not in members:
            return None
        data = _member(archive, members, name)
        if len(data) > MAX_IMAGE_BYTES or sniff(data) is None:
            return None
        digest = hashlib.sha256(data).hexdigest()
        found[digest] = data
        return IMAGE_PREFIX + digest

    return resolve


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
            with contextlib.suppress(json.JSONDecodeError):  # else the item's own processing stands
                item.scoring = json.loads(scoring)
        try:
            item.difficulty = float(node.get("difficulty") or "nan")
        except ValueError:
            item.difficulty = None
        if item.difficulty != item.difficulty:  # NaN: none given
            item.difficulty = None
        item.source = (node.findtext("source") or "").strip()
        item.tags = [(t.text or "").strip() for t in node.iter("tag") if (t.text or "").strip()]
        item.enemy_sets = [(e.text or "").strip() for e in node.iter("enemySet") if (e.text or "").strip()]


@dataclass(frozen=True)
class Exported:
    """One item to export with its identifier in the package and its place in the bank."""

    identifier: str
    item: ParsedItem


def _image_hashes(text: str) -> list[str]:
    """The store hashes our sanitized markup refers to (``src="/examiner/images/<sha256>"``)."""
    found, start = [], 0
    while (at := text.find(IMAGE_PREFIX, start)) >= 0:
        digest = text[at + len(IMAGE_PREFIX): at + len(IMAGE_PREFIX) + 64]
        if len(digest) == 64 and all(ch in "0123456789abcdef" for ch in digest):
            found.append(digest)
        start = at + len(IMAGE_PREFIX)
    return found


def write_package(items: list[Exported], exported_by: str, exported_at: datetime,
                  image_bytes: Callable[[str], bytes | None] | None = None,
                  statistics: list[usage.ItemStatistics] | None = None) -> bytes:
    """A QTI 3.0 package; images from our store travel as ``images/<sha256>`` members."""
    buffer = io.BytesIO()
    resources = []
    written: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in items:
            href = f"items/{entry.identifier}.xml"
            document = qti.write_item(entry.item, entry.identifier)
            for digest in _image_hashes(document):
                data = image_bytes(digest) if image_bytes else None
                if data is None:
                    continue
                if digest not in written:
                    archive.writestr(f"images/{digest}", data)
                    written.add(digest)
                document = document.replace(f'"{IMAGE_PREFIX}{digest}"', f'"../images/{digest}"')
            archive.writestr(href, document)
            resources.append(_resource(entry, href))
        if statistics:
            archive.writestr("usagedata.xml", usage.write_usage(statistics, f"skillcert {exported_at.date()}"))
            resources.append('<resource identifier="usage-data" type="imsqti_usagedata_xmlv3p0" '
                             'href="usagedata.xml"><file href="usagedata.xml"/></resource>')
        archive.writestr("imsmanifest.xml", _manifest(resources, exported_by, exported_at, len(items)))
    return buffer.getvalue()


def _resource(entry: Exported, href: str) -> str:
    item = entry.item
    attrs = "".join(f" {name}={quoteattr(value)}" for name, value in (
        ("occupation", item.occupation_code), ("level", item.level), ("point", item.point_code),
        ("difficulty", None if item.difficulty is None else format(item.difficulty, "g"))) if value)
    explanation = f"<sc:explanation>{escape(item.explanation)}</sc:explanation>" if item.explanation else ""
    # Bank metadata: 出处, tags and enemy sets (enemy sets are names shared by the items
    # that must not be given together, so they re-link on import).
    explanation += f"<sc:source>{escape(item.source)}</sc:source>" if item.source else ""
    explanation += "".join(f"<sc:tag>{escape(tag)}</sc:tag>" for tag in item.tags)
    explanation += "".join(f"<sc:enemySet>{escape(name)}</sc:enemySet>" for name in item.enemy_sets)
    # Our exact scoring settings (text matching, partial credit, rubric) beside the standard
    # response processing, so that our own packages re-import unchanged.
    if item.scoring:
        settings = json.dumps(item.scoring, ensure_ascii=False, sort_keys=True)
        explanation += f"<sc:scoring>{escape(settings)}</sc:scoring>"
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
