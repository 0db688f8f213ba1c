"""Read QTI 2.1/2.2/3.0 assessment items and write QTI 3.0 ones.

Both generations are read through one normalized tree: namespaces are dropped and the
QTI 3 kebab-case names (``qti-choice-interaction``, ``response-identifier``) become the
QTI 2 camelCase ones (``choiceInteraction``, ``responseIdentifier``). Supported:
choice, text-entry and extended-text interactions with the match_correct and
map_response templates (and items without response processing, scored against their
correct response). Anything else is reported as unsupported, naming the interaction.

XML is parsed with expat and any DOCTYPE is refused, so no entity can expand or reach
outside the file; body markup goes through ``itembank.sanitize``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from itembank.errors import InterchangeError
from itembank.interchange.model import ImportLine, ParsedItem
from itembank.sanitize import clean_html, plain_text

QTI3_NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
SUPPORTED = {"choiceInteraction", "textEntryInteraction", "extendedTextInteraction"}
TEMPLATES = {"match_correct", "map_response"}
BLANK = "____"  # where an inline text-entry box stood in the body


class _Refused(Exception):
    pass


def parse_xml(data: bytes) -> ET.Element:
    """Parse, refusing DOCTYPEs (entity expansion, external entities) outright: a first
    expat pass only looks for a DOCTYPE, the second builds the tree."""
    guard = expat.ParserCreate()

    def refuse(*_args: Any) -> None:
        raise _Refused("DOCTYPE declarations are not accepted")

    guard.StartDoctypeDeclHandler = refuse
    guard.EntityDeclHandler = refuse
    try:
        guard.Parse(data, True)
        root = ET.fromstring(data)
    except (_Refused, expat.ExpatError, ET.ParseError) as exc:
        raise InterchangeError(f"not well-formed XML: {exc}") from None
    _normalize(root)
    return root


def _camel(name: str) -> str:
    head, *rest = name.split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _normalize(element: ET.Element) -> None:
    for node in element.iter():
        if not isinstance(node.tag, str):
            continue
        tag = node.tag.rsplit("}", 1)[-1]
        node.tag = _camel(tag[4:]) if tag.startswith("qti-") else tag
        for name in list(node.attrib):
            local = name.rsplit("}", 1)[-1]
            value = node.attrib.pop(name)
            if "}" in name and local != "lang":
                continue  # xsi:schemaLocation and other foreign attributes
            node.attrib[_camel(local)] = value


@dataclass
class _Declaration:
    cardinality: str = "single"
    base_type: str = "identifier"
    correct: list[str] = field(default_factory=list)
    mapping: dict[str, float] = field(default_factory=dict)
    case_sensitive: bool = True
    bounds: dict[str, float] = field(default_factory=dict)


def _declarations(root: ET.Element) -> dict[str, _Declaration]:
    found = {}
    for node in root.findall("responseDeclaration"):
        decl = _Declaration(cardinality=node.get("cardinality", "single"), base_type=node.get("baseType", ""))
        decl.correct = [(v.text or "").strip() for v in node.findall("correctResponse/value")]
        mapping = node.find("mapping")
        if mapping is not None:
            for entry in mapping.findall("mapEntry"):
                decl.mapping[entry.get("mapKey", "")] = float(entry.get("mappedValue", "0"))
                if entry.get("caseSensitive", "true") == "false":
                    decl.case_sensitive = False
            for attr, name in (("defaultValue", "default"), ("lowerBound", "lower"), ("upperBound", "upper")):
                if mapping.get(attr) is not None:
                    decl.bounds[name] = float(mapping.get(attr))
        found[node.get("identifier", "")] = decl
    return found


def _template(root: ET.Element) -> str | None:
    """``match_correct``/``map_response``, ``None`` without processing, ``custom`` otherwise."""
    processing = root.find("responseProcessing")
    if processing is None:
        return None
    template = processing.get("template") or processing.get("templateLocation") or ""
    if not template:
        return "custom" if len(processing) else None
    name = template.rstrip("/").rsplit("/", 1)[-1].removesuffix(".xml")
    return name if name in TEMPLATES else f"template {name}"


ImageResolver = Callable[[str], "str | None"]


def read_item(data: bytes, fallback_id: str = "item", resolve_image: ImageResolver | None = None
              ) -> ParsedItem | ImportLine:
    """One item, or the reason it cannot be one. ``resolve_image`` maps an image ``src``
    (relative to the item) to our image store's URL; images it cannot place are dropped."""
    try:
        root = parse_xml(data)
    except InterchangeError as exc:
        return ImportLine(fallback_id, "rejected", str(exc))
    for image in root.iter("img"):
        stored = resolve_image(image.get("src", "")) if resolve_image else None
        if stored:
            image.set("src", stored)
        else:
            image.attrib.pop("src", None)
    identifier = root.get("identifier") or fallback_id
    if root.tag != "assessmentItem":
        return ImportLine(identifier, "rejected", f"not a QTI assessment item (root element {root.tag})")
    body = root.find("itemBody")
    if body is None:
        return ImportLine(identifier, "rejected", "the item has no body")
    interactions = [n for n in body.iter() if isinstance(n.tag, str) and n.tag.endswith("Interaction")]
    others = sorted({n.tag for n in interactions} - SUPPORTED)
    if others:
        return ImportLine(identifier, "unsupported", ", ".join(others))
    if len(interactions) != 1:
        detail = "several interactions in one item" if interactions else "the item has no interaction"
        return ImportLine(identifier, "unsupported" if interactions else "rejected", detail)
    template = _template(root)
    if template not in (None, *TEMPLATES):
        return ImportLine(identifier, "unsupported", f"response processing: {template}")
    scorer_notes = _remove_scorer_rubrics(body)
    interaction = interactions[0]
    decl = _declarations(root).get(interaction.get("responseIdentifier", ""), _Declaration())
    try:
        item = _build(identifier, root, body, interaction, decl, template)
    except ValueError as exc:
        return ImportLine(identifier, "rejected", str(exc))
    item.title = root.get("title", "")
    item.explanation = scorer_notes
    return item


def _remove_scorer_rubrics(body: ET.Element) -> str:
    """Rubric blocks for scorers or tutors are guidance, not stem: they never reach a
    candidate; their text is kept as the item's explanation."""
    notes = []
    for parent in list(body.iter()):
        for child in list(parent):
            if child.tag == "rubricBlock" and "candidate" not in child.get("view", "candidate").split():
                notes.append(plain_text(clean_html(_inner(child))))
                parent.remove(child)
    return "\n".join(note for note in notes if note)


def _build(identifier: str, root: ET.Element, body: ET.Element, interaction: ET.Element, decl: _Declaration,
           template: str | None) -> ParsedItem:
    mapped = template == "map_response" and bool(decl.mapping)
    if interaction.tag == "choiceInteraction":
        options = [{"id": c.get("identifier", ""), "text": clean_html(_inner(c))}
                   for c in interaction.findall("simpleChoice")]
        prompt = interaction.find("prompt")
        stem = _stem(body, interaction, inline=False, prefix=_inner(prompt) if prompt is not None else "")
        multiple = decl.cardinality == "multiple"
        scoring = {"mode": "map", "mapping": decl.mapping, **decl.bounds} if mapped else None
        if not decl.correct and not mapped:
            raise ValueError("no correct response or score map to score against")
        if not mapped and not multiple and len(decl.correct) != 1:
            raise ValueError("a single-cardinality choice needs exactly one correct response")
        kind = "multiple" if multiple else "single"
        if not multiple and [(o["id"], o["text"]) for o in options] == [("T", "正确"), ("F", "错误")]:
            kind = "truefalse"  # our own true/false items, exported as a two-option choice
        return ParsedItem(identifier, kind, stem, options, decl.correct, scoring)
    if interaction.tag == "textEntryInteraction":
        stem = _stem(body, interaction, inline=True)
        matching = {"case_sensitive": decl.case_sensitive, "ignore_width": False, "ignore_whitespace": False}
        if not decl.correct and not mapped:
            raise ValueError("no correct response or score map to score against")
        scoring = {**matching, "mode": "map", "mapping": decl.mapping, **decl.bounds} if mapped else matching
        return ParsedItem(identifier, "text", stem, [], decl.correct, scoring)
    stem = _stem(body, interaction, inline=False)
    prompt = interaction.find("prompt")
    if prompt is not None:
        stem = clean_html(stem + _inner(prompt))
    return ParsedItem(identifier, "extended", stem, [], [], {"max_points": _max_points(root), "rubric": []})


def _max_points(root: ET.Element) -> int:
    for outcome in root.findall("outcomeDeclaration"):
        if outcome.get("identifier") == "MAXSCORE":
            value = outcome.find("defaultValue/value")
            if value is not None and (value.text or "").strip().isdigit():
                return max(1, int(value.text.strip()))
        if outcome.get("identifier") == "SCORE" and (outcome.get("normalMaximum") or "").replace(".0", "").isdigit():
            return max(1, int(float(outcome.get("normalMaximum"))))
    return 1


def _inner(node: ET.Element) -> str:
    """A node's content as markup, without the node's own tag."""
    text = escape(node.text or "")
    return text + "".join(ET.tostring(child, encoding="unicode") for child in node)


def _stem(body: ET.Element, interaction: ET.Element, inline: bool, prefix: str = "") -> str:
    """The body without the interaction; an inline text box becomes a visible blank,
    unless it is the body's last block (where our export puts it)."""
    parents = {child: parent for parent in body.iter() for child in parent}
    parent = parents[interaction]
    index = list(parent).index(interaction)
    at_end = parent is body and index == len(parent) - 1 and not (interaction.tail or "").strip()
    replacement = BLANK if inline and not at_end else ""
    tail = replacement + (interaction.tail or "")
    if index == 0:
        parent.text = (parent.text or "") + tail
    else:
        previous = parent[index - 1]
        previous.tail = (previous.tail or "") + tail
    parent.remove(interaction)
    return clean_html(prefix + _inner(body))


# ---- export -------------------------------------------------------------------------


def _xml_fragment(html: str) -> str:
    """Sanitized HTML as well-formed XML (void elements closed), for the item body."""
    html = clean_html(html)
    for tag in ("br", "img"):
        html = re.sub(rf"<{tag}(\s[^>]*)?(?<!/)>", lambda m: m.group(0)[:-1] + "/>", html)
    return html


def write_item(item: ParsedItem, identifier: str) -> str:
    """A QTI 3.0 assessment item for ``item`` (text entry inline where the stem has a blank)."""
    response = _response_declaration(item)
    body = _body(item)
    outcomes = '<qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float"/>'
    processing = ""
    if item.item_type == "extended":
        max_points = (item.scoring or {}).get("max_points", 1)
        outcomes += ('<qti-outcome-declaration identifier="MAXSCORE" cardinality="single" base-type="float">'
                     f"<qti-default-value><qti-value>{max_points}</qti-value></qti-default-value>"
                     "</qti-outcome-declaration>")
    else:
        mapped = (item.scoring or {}).get("mode") in ("map", "partial")
        name = "map_response" if mapped else "match_correct"
        processing = (f'<qti-response-processing template="https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/'
                      f'{name}.xml"/>')
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<qti-assessment-item xmlns="{QTI3_NS}" '
            f'identifier={quoteattr(identifier)} title={quoteattr(item.title or identifier)} adaptive="false" '
            f'time-dependent="false">{response}{outcomes}<qti-item-body>{body}</qti-item-body>{processing}'
            "</qti-assessment-item>\n")


def _partial_as_map(item: ParsedItem) -> dict:
    """Partial credit in standard terms: each key option 1/n, any other option -1, clamped
    to [0, 1] — one wrong option takes the sum to 0 or below, so it earns nothing."""
    share = 1 / len(item.key)
    mapping = {o["id"]: (share if o["id"] in item.key else -1.0) for o in item.options}
    return {"mode": "map", "mapping": mapping, "default": 0.0, "lower": 0.0, "upper": 1.0}


def _response_declaration(item: ParsedItem) -> str:
    scoring = item.scoring or {}
    if scoring.get("mode") == "partial":
        scoring = _partial_as_map(item)
    if item.item_type == "extended":
        return '<qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="string"/>'
    cardinality = "multiple" if item.item_type == "multiple" else "single"
    base_type = "string" if item.item_type == "text" else "identifier"
    correct = "".join(f"<qti-value>{escape(k)}</qti-value>" for k in item.key)
    correct = f"<qti-correct-response>{correct}</qti-correct-response>" if correct else ""
    mapping = ""
    if scoring.get("mode") == "map":
        bounds = "".join(f" {attr}={quoteattr(format(scoring[name], 'g'))}" for attr, name in
                         (("default-value", "default"), ("lower-bound", "lower"), ("upper-bound", "upper"))
                         if scoring.get(name) is not None)
        sensitive = "" if item.item_type != "text" else \
            f' case-sensitive="{"true" if scoring.get("case_sensitive", True) else "false"}"'
        entries = "".join(f"<qti-map-entry map-key={quoteattr(k)} mapped-value={quoteattr(format(v, 'g'))}"
                          f"{sensitive}/>" for k, v in scoring["mapping"].items())
        mapping = f"<qti-mapping{bounds}>{entries}</qti-mapping>"
    return (f'<qti-response-declaration identifier="RESPONSE" cardinality="{cardinality}" '
            f'base-type="{base_type}">{correct}{mapping}</qti-response-declaration>')


def _body(item: ParsedItem) -> str:
    stem = _xml_fragment(item.stem)
    if item.item_type in ("single", "multiple", "truefalse"):
        max_choices = 0 if item.item_type == "multiple" else 1
        choices = "".join(f"<qti-simple-choice identifier={quoteattr(o['id'])}>{_xml_fragment(o['text'])}"
                          "</qti-simple-choice>" for o in item.options)
        return (f'{stem}<qti-choice-interaction response-identifier="RESPONSE" max-choices="{max_choices}">'
                f"{choices}</qti-choice-interaction>")
    if item.item_type == "text":
        box = '<qti-text-entry-interaction response-identifier="RESPONSE"/>'
        return stem.replace(BLANK, box, 1) if BLANK in stem else stem + box
    return stem + '<qti-extended-text-interaction response-identifier="RESPONSE"/>'


def plain_title(stem: str) -> str:
    return plain_text(stem)[:60]
