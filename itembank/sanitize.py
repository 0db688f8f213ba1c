"""Rich item text (stems, options, rubric notes) cleaned by nh3, the Rust ``ammonia`` sanitizer.

Only formatting, lists, tables, MathML for formulas and images from our own image store
survive; scripts, styles, event handlers, foreign URLs and everything else are dropped.
Never extend this with regular expressions: add tags or attributes to the allow-lists.
"""

from __future__ import annotations

import nh3

IMAGE_PREFIX = "/examiner/images/"

TEXT_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "s", "sub", "sup", "span", "div", "ul", "ol", "li",
             "table", "thead", "tbody", "tr", "th", "td", "caption", "code", "pre", "blockquote", "img"}
MATHML_TAGS = {"math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac",
               "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd", "mfenced",
               "semantics", "annotation"}
ATTRIBUTES = {"img": {"src", "alt", "width", "height"}, "td": {"colspan", "rowspan"},
              "th": {"colspan", "rowspan", "scope"}, "math": {"display"}, "mo": {"stretchy"},
              "mfrac": {"linethickness"}, "annotation": {"encoding"}}
# Whole subtrees that must never leak their text into the item either.
DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "textarea",
                     "select", "head", "title"}


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    # Images only from our content-addressed store: no tracking pixels, no data: URLs.
    if tag == "img" and attribute == "src" and not value.startswith(IMAGE_PREFIX):
        return None
    return value


def clean_html(text: str) -> str:
    """Sanitized HTML; plain text passes through with ``<``/``&`` escaped."""
    return nh3.clean(text, tags=TEXT_TAGS | MATHML_TAGS, clean_content_tags=DROP_WITH_CONTENT,
                     attributes=ATTRIBUTES, attribute_filter=_attribute_filter, url_schemes=set(),
                     link_rel=None, strip_comments=True).strip()


def plain_text(html: str) -> str:
    """The text of sanitized HTML with every tag removed (for lists, search and diffs)."""
    return nh3.clean(html, tags=set(), clean_content_tags=DROP_WITH_CONTENT).strip()
