"""Every interface string is translated, and the language switch works."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.conftest import csrf_from

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
METHODS = [("engine/**.py", "python"), ("itembank/**.py", "python"), ("web/**.py", "python"),
           ("web/templates/**.html", "jinja2")]


def source_msgids() -> set[str]:
    found: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), METHODS, keywords=KEYWORDS, options_map={"web/templates/**.html": {
                "extensions": "jinja2.ext.i18n"}}):
        found.add(message[0] if isinstance(message, tuple) else message)
    return {m for m in found if m}


def catalog(locale: str):
    with open(ROOT / "web" / "translations" / locale / "LC_MESSAGES" / "messages.po", encoding="utf-8") as handle:
        return read_po(handle, locale=locale)


class TestCatalogs:
    def test_every_msgid_has_a_chinese_translation(self):
        zh = catalog("zh_CN")
        missing = sorted(m for m in source_msgids()
                         if not (zh.get(m) and all(s for s in ([zh.get(m).string] if isinstance(zh.get(m).string, str)
                                                               else zh.get(m).string))))
        assert missing == [], f"untranslated in zh_CN (run `make i18n-extract` and translate): {missing}"

    def test_translations_keep_every_placeholder(self):
        import re

        placeholder = re.compile(r"%\((\w+)\)s")
        for message in catalog("zh_CN"):
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            wanted = set(placeholder.findall(ids[-1]))
            for text in strings:
                assert set(placeholder.findall(text)) <= wanted | {"num"}, message.id
                assert wanted - {"num"} <= set(placeholder.findall(text)), message.id


class TestLanguageSwitch:
    def test_default_is_chinese_and_english_is_one_click_away(self, client):
        page = client.get("/login")
        assert 'lang="zh-CN"' in page.text and "登录" in page.text
        switched = client.post("/locale", data={"locale": "en", "next": "/login",
                                                "csrf_token": csrf_from(page.text)})
        assert switched.status_code == 303 and switched.headers["location"] == "/login"
        english = client.get("/login")
        assert 'lang="en"' in english.text and "Sign in" in english.text and "登录" not in english.text
        back = client.post("/locale", data={"locale": "zh_CN", "next": "/login",
                                            "csrf_token": csrf_from(english.text)})
        assert back.status_code == 303 and "登录" in client.get("/login").text

    def test_unknown_locale_is_refused(self, client):
        page = client.get("/login")
        response = client.post("/locale", data={"locale": "xx", "csrf_token": csrf_from(page.text)})
        assert response.status_code == 422 and "unsupported locale" in response.text


class TestTranslatedErrors:
    def test_domain_errors_reach_the_candidate_in_their_language(self, client, demo):
        import html
        import re

        from tests.conftest import Visitor

        visitor = Visitor(client, locale="zh_CN").login("candidate")
        page = visitor.get("/candidate").text
        sitting_id = int(re.search(r"/candidate/sessions/(\d+)/start", page).group(1))
        visitor.post(f"/candidate/sessions/{sitting_id}/start")
        refused = visitor.post(f"/candidate/sessions/{sitting_id}/items/1/answer", {"answer": "Z", "seq": "1"},
                               htmx=True)
        assert refused.status_code == 422 and "本题没有选项 'Z'" in html.unescape(refused.text)
        client.cookies.set("skillcert_locale", "en")
        again = visitor.post(f"/candidate/sessions/{sitting_id}/items/1/answer", {"answer": "Z", "seq": "2"},
                             htmx=True)
        assert "option 'Z' does not exist for this question" in html.unescape(again.text)
