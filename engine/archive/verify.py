"""Offline verification of an exported evidence archive: the file alone, no database.

Checks, and names what fails: the manifest against ``manifest.sha256``; every listed
file's presence, size and SHA-256; files present but not listed; the audit entries'
hashes recomputed by the rule of ``engine/audit.py``; and the chain links spanning
them (contiguous ids, each prev_hash equal to the previous hash).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime

from engine import audit
from engine.archive.bundle import FORMAT, MANIFEST, MANIFEST_DIGEST


@dataclass(frozen=True)
class Problem:
    kind: str  # tampered / missing / extra / manifest / audit / format
    path: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}: {self.detail}"


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    files_checked: int = 0
    audit_entries: int = 0
    chain_links: int = 0
    manifest_sha256: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, path: str, detail: str) -> None:
        self.problems.append(Problem(kind, path, detail))


def verify_archive(data: bytes) -> Report:
    report = Report()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        report.add("format", "-", "not a ZIP archive")
        return report
    with archive:
        contents = _read_all(archive, report)
    manifest = _manifest(contents, report)
    if manifest is None:
        return report
    _files(manifest, contents, report)
    _audit(contents, manifest, report)
    return report


def _read_all(archive: zipfile.ZipFile, report: Report) -> dict[str, bytes]:
    contents: dict[str, bytes] = {}
    for info in archive.infolist():
        if info.filename in contents:
            report.add("extra", info.filename, "appears twice in the ZIP")
            continue
        try:
            contents[info.filename] = archive.read(info)
        except (zipfile.BadZipFile, ValueError) as exc:  # a damaged member fails its CRC check
            report.add("tampered", info.filename, f"cannot be read: {exc}")
    return contents


def _manifest(contents: dict[str, bytes], report: Report) -> dict | None:
    if MANIFEST not in contents:
        report.add("missing", MANIFEST, "the archive has no manifest")
        return None
    digest = hashlib.sha256(contents[MANIFEST]).hexdigest()
    report.manifest_sha256 = digest
    recorded = contents.get(MANIFEST_DIGEST, b"").decode("utf-8", "replace").split()
    if MANIFEST_DIGEST not in contents:
        report.add("missing", MANIFEST_DIGEST, "the manifest's digest file is missing")
    elif not recorded or recorded[0] != digest:
        report.add("tampered", MANIFEST, f"its SHA-256 {digest} differs from the one in {MANIFEST_DIGEST}")
    try:
        manifest = json.loads(contents[MANIFEST])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        report.add("manifest", MANIFEST, f"not valid JSON ({exc})")
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(
            manifest.get("files"), list):
        report.add("manifest", MANIFEST, f"not a {FORMAT} manifest")
        return None
    return manifest


def _files(manifest: dict, contents: dict[str, bytes], report: Report) -> None:
    listed = set()
    for entry in manifest["files"]:
        path = str(entry.get("path"))
        listed.add(path)
        report.files_checked += 1
        if path not in contents:
            report.add("missing", path, "listed in the manifest but not in the archive")
            continue
        data = contents[path]
        if len(data) != entry.get("size"):
            report.add("tampered", path, f"size {len(data)} bytes, the manifest says {entry.get('size')}")
        elif hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            report.add("tampered", path, "SHA-256 differs from the manifest")
    for path in sorted(set(contents) - listed - {MANIFEST, MANIFEST_DIGEST}):
        report.add("extra", path, "in the archive but not listed in the manifest")


ENTRIES, CHAIN = "audit/entries.json", "audit/chain.json"


def _audit(contents: dict[str, bytes], manifest: dict, report: Report) -> None:
    try:
        entries = json.loads(contents[ENTRIES]) if ENTRIES in contents else []
        links = json.loads(contents[CHAIN]) if CHAIN in contents else []
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        report.add("audit", ENTRIES, f"not valid JSON ({exc})")
        return
    expected = manifest.get("audit", {}).get("entries")
    if expected is not None and expected != len(entries):
        report.add("audit", ENTRIES, f"{len(entries)} entries, the manifest says {expected}")
    report.audit_entries, report.chain_links = len(entries), len(links)
    by_id = _check_links(links, report)
    for entry in entries:
        _check_entry(entry, by_id, report)


def _check_links(links: list, report: Report) -> dict[int, tuple[str, str]]:
    by_id: dict[int, tuple[str, str]] = {}
    previous: tuple[int, str] | None = None
    for link in links:
        if not (isinstance(link, list) and len(link) == 3):
            report.add("audit", CHAIN, f"malformed link {link!r}")
            return by_id
        entry_id, prev_hash, digest = link
        if previous is not None:
            if entry_id != previous[0] + 1:
                report.add("audit", CHAIN, f"entries {previous[0] + 1} to {entry_id - 1} are missing from the chain")
            elif prev_hash != previous[1]:
                report.add("audit", CHAIN, f"broken link: entry {entry_id} does not point to entry {previous[0]}")
        by_id[entry_id] = (prev_hash, digest)
        previous = (entry_id, digest)
    return by_id


def _check_entry(entry: dict, by_id: dict[int, tuple[str, str]], report: Report) -> None:
    entry_id = entry.get("id")
    try:
        digest = audit.entry_hash(entry["prev_hash"], datetime.fromisoformat(entry["at"]), entry["actor"],
                                  entry["action"], entry["entity_type"], entry["entity_id"], entry["data"])
    except (KeyError, TypeError, ValueError) as exc:
        report.add("audit", ENTRIES, f"entry {entry_id} is malformed ({exc})")
        return
    if digest != entry.get("hash"):
        report.add("audit", ENTRIES, f"entry {entry_id} ({entry.get('action')}) content does not match its hash")
    link = by_id.get(entry_id)
    if link is None:
        report.add("audit", CHAIN, f"entry {entry_id} is not on the chain segment")
    elif link != (entry.get("prev_hash"), entry.get("hash")):
        report.add("audit", CHAIN, f"entry {entry_id}'s hashes differ from the chain's link at that id")
