"""QTI interchange against the real samples in ../shared/data/qti: every sample gets exactly
one outcome, supported ones score their correct and an incorrect response as their response
processing says and round-trip through a QTI 3.0 package unchanged; hostile markup is
neutralized; hostile XML and archives are refused."""

from __future__ import annotations

import io
import os
import zipfile
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from itembank.errors import InterchangeError
from itembank.interchange import package, qti
from itembank.interchange.model import ImportLine, ParsedItem
from itembank.scoring import ScoringRule, score

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "qti"
if not SAMPLES.is_dir():
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"the QTI samples are missing at {SAMPLES}; CI must run these tests")
    pytest.skip(f"QTI samples not found at {SAMPLES}", allow_module_level=True)

ITEM_FILES = sorted(p for p in SAMPLES.rglob("*.xml") if p.name not in ("imsmanifest.xml", "assessment.xml"))
SUPPORTED = ("choiceInteraction", "textEntryInteraction", "extendedTextInteraction")


def _read(path: Path) -> ParsedItem | ImportLine:
    return qti.read_item(path.read_bytes(), path.stem)


def _rule(item: ParsedItem) -> ScoringRule:
    return ScoringRule.of(item.item_type, item.key, item.options, item.scoring)


def _wrong(item: ParsedItem):
    if item.item_type == "text":
        return "definitely not the answer"
    others = [o["id"] for o in item.options if o["id"] not in item.key]
    return others[:1]


OUTCOMES = {path: _read(path) for path in ITEM_FILES}
IMPORTED = [path for path, result in OUTCOMES.items() if isinstance(result, ParsedItem)]
KEYED = [path for path in IMPORTED if OUTCOMES[path].item_type != "extended"]
NAMES = {"ids": lambda p: str(p.relative_to(SAMPLES))}


class _Attributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.found.extend((tag, name, value) for name, value in attrs)
        self.found.append((tag, "", None))


def test_the_samples_are_there_and_each_kind_imports():
    assert len(ITEM_FILES) > 150
    kinds = {OUTCOMES[path].item_type for path in IMPORTED}
    assert {"single", "multiple", "text", "extended"} <= kinds


@pytest.mark.parametrize("path", ITEM_FILES, **NAMES)
def test_every_sample_gets_one_outcome_with_a_reason(path):
    result = OUTCOMES[path]
    if isinstance(result, ImportLine):
        assert result.outcome in ("rejected", "unsupported") and result.detail
    else:
        assert result.item_type in ("single", "multiple", "truefalse", "text", "extended")


@pytest.mark.parametrize("path", KEYED, **NAMES)
def test_correct_scores_full_and_incorrect_scores_less(path):
    item = OUTCOMES[path]
    rule = _rule(item)
    correct = item.key[0] if item.item_type == "text" else item.key
    assert score(rule, correct).points == rule.max_points > 0
    assert score(rule, _wrong(item)).points < rule.max_points


@pytest.mark.parametrize("path", IMPORTED, **NAMES)
def test_round_trips_through_a_qti3_package(path):
    item = _read(path)
    data = package.write_package([package.Exported("x1", item)], "admin", datetime(2026, 1, 1, tzinfo=UTC))
    again = package.read_package(data)
    assert again.problems == []
    (back,) = again.items
    for field in ("item_type", "stem", "options", "key", "scoring", "explanation", "difficulty"):
        assert getattr(back, field) == getattr(item, field), field
    assert _rule(back) == _rule(item)


@pytest.mark.parametrize("path", IMPORTED, **NAMES)
def test_no_live_markup_survives(path):
    item = OUTCOMES[path]
    for text in [item.stem, *(o["text"] for o in item.options)]:
        parser = _Attributes()
        parser.feed(text)
        assert not [f for f in parser.found if f[0] in ("script", "style", "iframe", "object")]
        assert not [f for f in parser.found if f[1].startswith("on")]
        assert not [f for f in parser.found if f[1] == "src" and not (f[2] or "").startswith("/examiner/images/")]


class TestKnownSamples:
    def test_text_entry_map_response_is_case_sensitive(self):
        item = _read(SAMPLES / "qti2-ims-examples/2_1/text_entry.xml")
        rule = _rule(item)
        assert score(rule, "York").points == 1.0 and score(rule, "york").points == 0.5
        assert score(rule, "YORK").points == 0.0

    def test_map_response_identifier_sums_and_clamps(self):
        item = _read(SAMPLES / "qti3-conformance/Basic/I9b/map-response-identifier.xml")
        rule = _rule(item)
        assert score(rule, ["choice_a", "choice_b", "choice_c"]).points == 6.0
        assert score(rule, ["choice_a", "choice_f"]).points == 0.0

    def test_choice_multiple_map_from_qti2(self):
        item = _read(SAMPLES / "qti2-ims-examples/2_2/choice_multiple.xml")
        assert item.item_type == "multiple" and score(_rule(item), ["H", "O"]).points == 2.0
        assert score(_rule(item), ["H", "Cl"]).points == 0.0

    def test_unsupported_interactions_are_named(self):
        assert str(_read(SAMPLES / "qti2-ims-examples/2_1/hotspot.xml")) == "unsupported hotspot: hotspotInteraction"
        assert "orderInteraction" in str(_read(SAMPLES / "qti3-conformance/Advanced/Q10/order-interaction.xml"))

    def test_scorer_rubric_never_reaches_the_stem(self):
        item = _read(SAMPLES / "qti2-ims-examples/2_1/extended_text_rubric.xml")
        raw = (SAMPLES / "qti2-ims-examples/2_1/extended_text_rubric.xml").read_text()
        assert 'view="scorer"' in raw
        assert item.item_type == "extended" and item.explanation
        assert item.explanation[:20] not in item.stem


class TestHostile:
    @pytest.mark.parametrize("name", ["script_highjacking_1.xml", "script_highjacking_2.xml"])
    def test_hostile_samples_are_refused_and_their_body_neutralized(self, name):
        data = (SAMPLES / "hostile" / name).read_bytes()
        result = qti.read_item(data, name)
        assert isinstance(result, ImportLine) and result.outcome == "rejected"
        body = data.decode().replace("<itemBody", '<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" '
                                     'identifier="h"><responseDeclaration identifier="R" cardinality="single" '
                                     'baseType="identifier"><correctResponse><value>A</value></correctResponse>'
                                     '</responseDeclaration><itemBody', 1)
        body = body.replace('<?xml version="1.0" encoding="UTF-8"?>', "").replace(
            "</itemBody>", '<choiceInteraction responseIdentifier="R"><simpleChoice identifier="A">a</simpleChoice>'
            '<simpleChoice identifier="B">b</simpleChoice></choiceInteraction></itemBody></assessmentItem>')
        item = qti.read_item(body.encode(), name)
        assert isinstance(item, ParsedItem)
        assert "<script" not in item.stem  # the CDATA one is now inert text: &lt;script ...

    def test_event_handlers_and_javascript_urls_are_dropped(self):
        xml = ('<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="x">'
               '<qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="identifier">'
               '<qti-correct-response><qti-value>A</qti-value></qti-correct-response></qti-response-declaration>'
               '<qti-item-body><p onmouseover="steal()">题<a href="javascript:steal()">干</a>'
               '<img src="x" onerror="steal()"/><style>p{}</style></p>'
               '<qti-choice-interaction response-identifier="RESPONSE" max-choices="1">'
               '<qti-simple-choice identifier="A"><span onclick="x()">甲</span></qti-simple-choice>'
               '<qti-simple-choice identifier="B">乙<script>steal()</script></qti-simple-choice>'
               '</qti-choice-interaction></qti-item-body></qti-assessment-item>')
        item = qti.read_item(xml.encode())
        assert item.stem == "<p>题干<img></p>"
        assert [o["text"] for o in item.options] == ["<span>甲</span>", "乙"]

    def test_doctype_and_entities_are_refused(self):
        bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
                b'<assessmentItem identifier="x">&lol2;</assessmentItem>')
        result = qti.read_item(bomb, "bomb")
        assert isinstance(result, ImportLine) and "DOCTYPE" in result.detail
        external = b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>'
        assert "DOCTYPE" in qti.read_item(external, "ext").detail

    def test_package_paths_cannot_leave_the_package(self):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("imsmanifest.xml", '<manifest><resources><resource identifier="evil" '
                             'type="imsqti_item_xmlv3p0" href="../../etc/passwd"/></resources></manifest>')
        result = package.read_package(buffer.getvalue())
        assert [str(p) for p in result.problems] == ["rejected evil: missing file '../../etc/passwd'"]

    def test_not_a_zip_and_no_manifest_are_clear_errors(self):
        with pytest.raises(InterchangeError, match="not a zip"):
            package.read_package(b"PK but not really")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("item.xml", "<x/>")
        with pytest.raises(InterchangeError, match="imsmanifest.xml"):
            package.read_package(buffer.getvalue())


class TestConformancePackage:
    def test_t4_t7_package_reports_every_item(self):
        folder = SAMPLES / "qti3-conformance/Basic/T4-T7"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for file in folder.rglob("*"):
                if file.is_file():
                    archive.write(file, file.relative_to(folder).as_posix())
        result = package.read_package(buffer.getvalue())
        outcomes = {i.identifier: i.item_type for i in result.items}
        outcomes |= {p.identifier: p.outcome for p in result.problems}
        assert outcomes == {"t1-test-entry-item1": "single", "t1-test-entry-item2": "rejected",
                            "t1-test-entry-item3": "rejected", "t1-test-entry-item4": "extended"}


class TestPackagedImages:
    def _package(self) -> bytes:
        folder = SAMPLES / "qti3-conformance/Basic/A1"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("imsmanifest.xml", '<manifest><resources><resource identifier="a1" '
                             'type="imsqti_item_xmlv3p0" href="alternate-text-for-graphics.xml"/>'
                             '</resources></manifest>')
            archive.write(folder / "alternate-text-for-graphics.xml", "alternate-text-for-graphics.xml")
            archive.write(folder / "images/logo.jpeg", "images/logo.jpeg")
        return buffer.getvalue()

    def test_images_in_a_package_move_to_the_store_by_hash(self):
        import hashlib

        result = package.read_package(self._package())
        (item,) = result.items
        digest = hashlib.sha256((SAMPLES / "qti3-conformance/Basic/A1/images/logo.jpeg").read_bytes()).hexdigest()
        assert f'src="/examiner/images/{digest}"' in item.stem and 'alt="Here the alt text"' in item.stem
        assert set(result.images) == {digest}

    def test_a_lone_item_file_keeps_no_foreign_image_url(self):
        item = _read(SAMPLES / "qti3-conformance/Basic/A1/alternate-text-for-graphics.xml")
        assert "<img" in item.stem and "src=" not in item.stem

    def test_exported_images_travel_in_the_package_and_come_back(self):
        first = package.read_package(self._package())
        (item,) = first.items
        data = package.write_package([package.Exported("a1", item)], "admin", datetime(2026, 1, 1, tzinfo=UTC),
                                     image_bytes=first.images.get)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert [n for n in archive.namelist() if n.startswith("images/")] == [f"images/{d}" for d in first.images]
        again = package.read_package(data)
        assert again.items[0].stem == item.stem and again.images == first.images
