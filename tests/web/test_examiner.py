"""Examiner pages through HTTP: the item list with filters, creating and editing items."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, func, select

from engine.models import AuditEntry
from itembank.models import AppraisalNode, Item, ItemVersion, NodeKind


def _count(db_engine, model, *where) -> int:
    with Session(db_engine) as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _one(db_engine, model, *where):
    with Session(db_engine) as session:
        return session.exec(select(model).where(*where)).one()


def _points(db_engine) -> list[AppraisalNode]:
    with Session(db_engine) as session:
        return list(session.exec(select(AppraisalNode).where(AppraisalNode.kind == NodeKind.point)
                                 .order_by(AppraisalNode.id)).all())


def _single_choice_form(point_id: int, **changes) -> dict:
    form = {"item_type": "single", "appraisal_point_id": str(point_id), "status": "draft",
            "stem": "兆欧表测量绝缘电阻前应先做什么？", "option_A": "开路试验和短路试验", "option_B": "只做开路试验",
            "option_C": "只做短路试验", "option_D": "不需要试验", "key": ["A"], "difficulty": "0.7",
            "explanation": "先验表。"}
    form.update(changes)
    return form


@pytest.fixture(autouse=True)
def _english(client):
    """Assertions read English text; the default locale's catalog is filled elsewhere."""
    client.cookies.set("skillcert_locale", "en")

@pytest.fixture
def examiner(visitor, demo):
    return visitor.login("examiner")


class TestItemList:
    def test_lists_demo_items_with_keys_and_pages(self, examiner):
        page = examiner.get("/examiner/items")
        assert page.status_code == 200
        assert 'data-testid="item-count">60 items' in page.text
        assert page.text.count('data-testid="item-row"') == 25
        assert re.search(r'class="key-cell">[A-F](, [A-F])*</td>', page.text), "examiners see the keys"
        last = examiner.get("/examiner/items?page=3")
        assert last.text.count('data-testid="item-row"') == 10
        beyond = examiner.get("/examiner/items?page=99")
        assert beyond.text.count('data-testid="item-row"') == 10 and "page 3 of 3" in beyond.text

    def test_filters_by_type_and_text(self, examiner, db_engine):
        page = examiner.get("/examiner/items", params={"type": "truefalse"})
        expected = _count(db_engine, Item, Item.item_type == "truefalse")
        assert 0 < expected < 60
        assert page.text.count('data-testid="item-row"') == min(expected, 25)
        version = _one(db_engine, ItemVersion, ItemVersion.item_id == 1)
        fragment = version.stem[:6]
        found = examiner.get("/examiner/items", params={"q": fragment})
        assert 'data-item-id="1"' in found.text
        assert examiner.get("/examiner/items", params={"q": "不存在的题干文字xyz"}).text.count(
            'data-testid="item-row"') == 0

    def test_filters_by_appraisal_point_and_status(self, examiner, db_engine):
        point = _points(db_engine)[0]
        page = examiner.get("/examiner/items", params={"point": point.id, "status": "active"})
        expected = _count(db_engine, Item, Item.appraisal_point_id == point.id)
        assert page.text.count('data-testid="item-row"') == expected
        assert examiner.get("/examiner/items", params={"status": "retired"}).text.count(
            'data-testid="item-row"') == 0

    def test_unknown_filter_values_mean_any(self, examiner):
        page = examiner.get("/examiner/items", params={"level": "level99", "type": "essay", "occupation": "x"})
        assert page.status_code == 200 and 'data-testid="item-count">60 items' in page.text

    def test_htmx_request_gets_only_the_table(self, examiner):
        full = examiner.get("/examiner/items", params={"type": "multiple"})
        fragment = examiner.get("/examiner/items", params={"type": "multiple"}, headers={"HX-Request": "true"})
        assert "<html" in full.text and "<html" not in fragment.text
        assert 'role="search"' not in fragment.text
        assert fragment.text.count('data-testid="item-row"') == full.text.count('data-testid="item-row"') > 0

    def test_paging_links_keep_the_filters(self, examiner):
        page = examiner.get("/examiner/items", params={"status": "active"})
        assert 'href="/examiner/items?status=active&amp;page=2"' in page.text


class TestCreateItem:
    def test_create_redirects_and_writes_item_and_version_1(self, examiner, db_engine):
        point = _points(db_engine)[0]
        before = _count(db_engine, Item)
        response = examiner.post("/examiner/items", _single_choice_form(point.id))
        assert response.status_code == 303, response.text
        item_id = int(re.fullmatch(r"/examiner/items/(\d+)\?saved=1", response.headers["location"]).group(1))
        assert _count(db_engine, Item) == before + 1
        item = _one(db_engine, Item, Item.id == item_id)
        assert (item.occupation_id, item.level, item.created_by) == (point.occupation_id, point.level, "examiner")
        version = _one(db_engine, ItemVersion, ItemVersion.item_id == item_id)
        assert version.version_no == 1 and version.key == ["A"] and version.difficulty == 0.7
        assert [o["id"] for o in version.options] == ["A", "B", "C", "D"]
        assert _count(db_engine, AuditEntry, AuditEntry.action == "item.created",
                      AuditEntry.entity_id == str(item_id)) == 1
        shown = examiner.get(response.headers["location"])
        assert 'data-testid="saved-notice"' in shown.text and "兆欧表测量绝缘电阻前" in shown.text

    def test_true_false_item_uses_its_own_key(self, examiner, db_engine):
        point = _points(db_engine)[1]
        form = _single_choice_form(point.id, item_type="truefalse", key=[], tf_key="F",
                                   stem="电流互感器二次侧可以开路运行。")
        response = examiner.post("/examiner/items", form)
        assert response.status_code == 303, response.text
        item_id = int(response.headers["location"].split("/")[-1].split("?")[0])
        version = _one(db_engine, ItemVersion, ItemVersion.item_id == item_id)
        assert version.key == ["F"] and [o["id"] for o in version.options] == ["T", "F"]

    def test_invalid_item_is_422_with_messages_beside_fields_and_nothing_written(self, examiner, db_engine):
        point = _points(db_engine)[0]
        counts = (_count(db_engine, Item), _count(db_engine, ItemVersion), _count(db_engine, AuditEntry))
        form = _single_choice_form(point.id, stem="   ", option_D="", key=["A", "B"], difficulty="hard")
        response = examiner.post("/examiner/items", form)
        assert response.status_code == 422
        for field in ("stem", "options", "key", "difficulty"):
            assert f'data-field-error="{field}"' in response.text, field
        assert "the stem is required" in response.text
        assert "give at least four options" in response.text
        assert "enter a number such as 0.65" in response.text
        # the entered values come back
        assert 'value="开路试验和短路试验"' in response.text and 'value="hard"' in response.text
        assert re.search(r'value="B" id="f-key-B" checked', response.text)
        assert (_count(db_engine, Item), _count(db_engine, ItemVersion), _count(db_engine, AuditEntry)) == counts

    def test_missing_appraisal_point_is_shown_at_the_point_field(self, examiner, db_engine):
        before = _count(db_engine, Item)
        response = examiner.post("/examiner/items", _single_choice_form(0, appraisal_point_id=""))
        assert response.status_code == 422
        assert 'data-field-error="appraisal_point_id"' in response.text
        assert _count(db_engine, Item) == before

    def test_new_item_form_has_a_label_for_every_input(self, examiner):
        page = examiner.get("/examiner/items/new").text
        ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page)
        assert ids, "the form has inputs"
        for input_id in ids:
            assert f'for="{input_id}"' in page, input_id


class TestEditItem:
    def test_edit_creates_version_2_and_leaves_version_1_unchanged(self, examiner, db_engine):
        v1 = _one(db_engine, ItemVersion, ItemVersion.item_id == 1, ItemVersion.version_no == 1)
        item = _one(db_engine, Item, Item.id == 1)
        page = examiner.get("/examiner/items/1")
        assert page.status_code == 200 and v1.stem in page.text
        form = {"item_type": item.item_type.value, "appraisal_point_id": str(item.appraisal_point_id),
                "status": "active", "stem": v1.stem + "（修订）", "difficulty": "0.5", "explanation": ""}
        for option in v1.options:
            form[f"option_{option['id']}"] = option["text"]
        if item.item_type.value == "truefalse":
            form["tf_key"] = v1.key[0]
        else:
            form["key"] = v1.key
        response = examiner.post("/examiner/items/1", form)
        assert response.status_code == 303, response.text
        assert _count(db_engine, ItemVersion, ItemVersion.item_id == 1) == 2
        assert _one(db_engine, Item, Item.id == 1).current_version == 2
        v2 = _one(db_engine, ItemVersion, ItemVersion.item_id == 1, ItemVersion.version_no == 2)
        assert v2.stem.endswith("（修订）") and v2.difficulty == 0.5 and v2.created_by == "examiner"
        again = _one(db_engine, ItemVersion, ItemVersion.id == v1.id)
        assert (again.stem, again.options, again.key, again.difficulty) == (v1.stem, v1.options, v1.key, v1.difficulty)
        history = examiner.get("/examiner/items/1").text
        assert 'data-version="2"' in history and 'data-version="1"' in history

    def test_editing_an_administered_version_makes_a_new_version(self, visitor, demo, db_engine):
        visitor.login("candidate")
        sitting = re.search(r"/candidate/sessions/(\d+)/start", visitor.get("/candidate").text).group(1)
        visitor.post(f"/candidate/sessions/{sitting}/start")
        administered = _one(db_engine, ItemVersion, ItemVersion.item_id == 1, ItemVersion.version_no == 1)
        assert administered.administered_at is not None
        visitor.post("/logout")
        visitor.login("examiner")
        item = _one(db_engine, Item, Item.id == 1)
        form = {"item_type": item.item_type.value, "appraisal_point_id": str(item.appraisal_point_id),
                "status": "active", "stem": "新题干", "key": administered.key, "tf_key": administered.key[0]}
        form.update({f"option_{o['id']}": o["text"] + "!" for o in administered.options})
        assert visitor.post("/examiner/items/1", form).status_code == 303
        frozen = _one(db_engine, ItemVersion, ItemVersion.id == administered.id)
        assert frozen.stem == administered.stem and frozen.options == administered.options
        assert "frozen" in visitor.get("/examiner/items/1").text

    def test_invalid_edit_is_422_and_writes_no_version(self, examiner, db_engine):
        item = _one(db_engine, Item, Item.id == 1)
        response = examiner.post("/examiner/items/1", {"item_type": item.item_type.value,
                                                       "appraisal_point_id": str(item.appraisal_point_id),
                                                       "difficulty": "hard", "stem": "x"})
        assert response.status_code == 422
        assert 'data-field-error="difficulty"' in response.text and 'data-field-error="key"' in response.text
        assert 'data-testid="version-history"' in response.text
        assert _count(db_engine, ItemVersion, ItemVersion.item_id == 1) == 1

    def test_type_change_is_refused(self, examiner, db_engine):
        item = _one(db_engine, Item, Item.id == 1)
        other = "multiple" if item.item_type.value != "multiple" else "single"
        response = examiner.post("/examiner/items/1", _single_choice_form(item.appraisal_point_id, item_type=other,
                                                                           key=["A", "B"]))
        assert response.status_code == 422 and 'data-field-error="item_type"' in response.text
        assert _count(db_engine, ItemVersion, ItemVersion.item_id == 1) == 1

    def test_unknown_item_is_404(self, examiner):
        assert examiner.get("/examiner/items/99999").status_code == 404
        assert examiner.post("/examiner/items/99999", {"stem": "x"}).status_code == 404

    def test_forged_csrf_token_is_403_and_writes_nothing(self, examiner, db_engine):
        point = _points(db_engine)[0]
        before = (_count(db_engine, Item), _count(db_engine, ItemVersion))
        examiner.csrf = "forged-" + examiner.csrf[7:]
        assert examiner.post("/examiner/items", _single_choice_form(point.id)).status_code == 403
        assert examiner.post("/examiner/items/1", _single_choice_form(point.id)).status_code == 403
        assert (_count(db_engine, Item), _count(db_engine, ItemVersion)) == before


class TestWhoSeesItems:
    def test_admin_may_author(self, visitor, demo):
        visitor.login("admin")
        assert visitor.get("/examiner/items").status_code == 200

    @pytest.mark.parametrize("username", ["candidate", "supervisor"])
    def test_others_are_refused(self, visitor, demo, username):
        visitor.login(username)
        assert visitor.get("/examiner/items").status_code == 403
        assert visitor.get("/examiner/items/1").status_code == 403


class TestConcurrentEdits:
    def test_an_edit_numbers_its_version_after_one_saved_meanwhile(self, demo, db_engine):
        """The editor's request read version 1; another save made version 2 before it wrote."""
        from itembank import service

        with Session(db_engine, expire_on_commit=False) as first, Session(db_engine) as second:
            stale = service.get_item(first, 1)
            version = service.current_version(first, stale)
            first.commit()  # end the read; the item stays in the identity map with version 1
            draft = service.ItemDraft(occupation_id=stale.occupation_id, level=stale.level,
                                      item_type=stale.item_type, appraisal_point_id=stale.appraisal_point_id,
                                      stem=version.stem, options=version.options, key=version.key,
                                      status=stale.status)
            service.edit_item(second, 1, draft, "reviewer", lambda *args: None)
            second.commit()
            saved = service.edit_item(first, 1, draft, "examiner", lambda *args: None)
            first.commit()
        assert saved.version_no == 3
        assert _count(db_engine, ItemVersion, ItemVersion.item_id == 1) == 3
