"""Authoring the new item types and rich text through the service: validation, storage,
sanitizing (nh3) and scoring of the stored version."""

from __future__ import annotations

import pytest
from sqlmodel import select

from itembank import service
from itembank.errors import ItemValidationError
from itembank.models import AppraisalNode, NodeKind
from itembank.sanitize import clean_html
from itembank.scoring import ScoringRule, score


def _draft(db, **changes) -> service.ItemDraft:
    point = db.exec(select(AppraisalNode).where(AppraisalNode.kind == NodeKind.point)).first()
    values = dict(occupation_id=point.occupation_id, level=point.level.value, item_type="single",
                  appraisal_point_id=point.id, stem="题干", options=[{"id": x, "text": x * 2} for x in "ABCD"],
                  key=["A"])
    values.update(changes)
    return service.ItemDraft(**values)


def _stored(db, draft):
    item = service.create_item(db, draft, "examiner", lambda *a: None)
    return item, service.current_version(db, item)


class TestTextEntry:
    def test_accepted_answers_and_matching_are_stored_and_score(self, db, demo):
        item, version = _stored(db, _draft(db, item_type="text", stem="三相四线制中性线的颜色是____。",
                                           options=[], key=[" 淡蓝色 ", "浅蓝色", ""],
                                           scoring={"ignore_width": True}))
        assert version.key == ["淡蓝色", "浅蓝色"] and version.options == []
        assert version.scoring == {"case_sensitive": False, "ignore_width": True, "ignore_whitespace": True}
        rule = ScoringRule.of(item.item_type.value, version.key, version.options, version.scoring)
        assert score(rule, "浅 蓝色").correct and not score(rule, "蓝色").correct

    def test_no_accepted_answer_is_a_key_error(self, db, demo):
        with pytest.raises(ItemValidationError) as refused:
            service.validate(db, _draft(db, item_type="text", options=[], key=["  "]))
        assert set(refused.value.errors) == {"key"}


class TestExtended:
    def test_rubric_levels_within_zero_to_k(self, db, demo):
        _item, version = _stored(db, _draft(db, item_type="extended", options=[], key=[], scoring={
            "max_points": 3,
            "rubric": [{"points": 3, "description": "完整"}, {"points": 0, "description": "<b>无</b>"}]}))
        assert version.scoring == {"max_points": 3, "rubric": [{"points": 0, "description": "<b>无</b>"},
                                                               {"points": 3, "description": "完整"}]}

    @pytest.mark.parametrize("scoring", [None, {"max_points": 0}, {"max_points": 21}, {"max_points": "x"},
                                         {"max_points": 2, "rubric": [{"points": 3, "description": "x"}]}])
    def test_bad_rubric_is_a_scoring_error(self, db, demo, scoring):
        with pytest.raises(ItemValidationError) as refused:
            service.validate(db, _draft(db, item_type="extended", options=[], key=[], scoring=scoring))
        assert "scoring" in refused.value.errors


class TestChoiceScoring:
    def test_partial_credit_only_for_multiple_choice(self, db, demo):
        _item, version = _stored(db, _draft(db, item_type="multiple", key=["A", "B"], scoring={"mode": "partial"}))
        assert version.scoring == {"mode": "partial"}
        with pytest.raises(ItemValidationError) as refused:
            service.validate(db, _draft(db, scoring={"mode": "partial"}))
        assert "scoring" in refused.value.errors

    def test_all_or_nothing_stores_no_settings(self, db, demo):
        _item, version = _stored(db, _draft(db, item_type="multiple", key=["A", "B"], scoring={"mode": "all"}))
        assert version.scoring is None


class TestRichText:
    def test_stem_and_options_are_sanitized_when_saved(self, db, demo):
        _item, version = _stored(db, _draft(db, stem='<p onclick="x()">电阻<script>alert(1)</script>'
                                                     '<img src="https://tracker.example/p.gif">R=U/I</p>',
                                            options=[{"id": "A", "text": "<a href='javascript:alert(1)'>甲</a>"},
                                                     {"id": "B", "text": "乙"}, {"id": "C", "text": "丙"},
                                                     {"id": "D", "text": "<iframe src=x></iframe>丁"}]))
        assert version.stem == "<p>电阻<img>R=U/I</p>"
        assert [o["text"] for o in version.options] == ["甲", "乙", "丙", "丁"]

    def test_a_stem_that_is_only_markup_is_empty(self, db, demo):
        with pytest.raises(ItemValidationError) as refused:
            service.validate(db, _draft(db, stem="<script>alert(1)</script><p> </p>"))
        assert "stem" in refused.value.errors

    def test_formulas_and_our_images_survive(self):
        html = ('<p>功率 <math><mi>P</mi><mo>=</mo><msup><mi>I</mi><mn>2</mn></msup><mi>R</mi></math>'
                '<img src="/examiner/images/' + "a" * 64 + '" alt="电路图" onerror="x"></p>')
        assert clean_html(html) == html.replace(' onerror="x"', "")
