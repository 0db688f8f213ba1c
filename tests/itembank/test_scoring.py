"""Item scoring rules (pure): choice modes, text entry normalization, rubric points."""

from __future__ import annotations

import pytest

from itembank.scoring import ResponseError, ScoringRule, TextMatching, score

OPTIONS = [{"id": x, "text": x} for x in "ABCDE"]


def rule(item_type: str, key, scoring=None, options=OPTIONS) -> ScoringRule:
    return ScoringRule.of(item_type, key, options, scoring)


class TestChoice:
    def test_single_choice_is_right_or_wrong(self):
        assert score(rule("single", ["B"]), ["B"]).points == 1.0
        assert score(rule("single", ["B"]), "B").correct
        assert score(rule("single", ["B"]), ["C"]).points == 0.0
        assert score(rule("single", ["B"]), []).points == 0.0

    def test_single_choice_refuses_two_options_and_unknown_ones(self):
        with pytest.raises(ResponseError, match="one option"):
            score(rule("single", ["B"]), ["B", "C"])
        with pytest.raises(ResponseError, match="unknown option"):
            score(rule("single", ["B"]), ["Z"])
        with pytest.raises(ResponseError):
            score(rule("single", ["B"]), {"B": 1})

    def test_multiple_all_or_nothing(self):
        r = rule("multiple", ["A", "C", "D"])
        assert score(r, ["D", "C", "A"]).points == 1.0
        assert score(r, ["A", "C"]).points == 0.0
        assert score(r, ["A", "B", "C", "D"]).points == 0.0

    def test_multiple_partial_credit_share_of_key_unless_a_wrong_option(self):
        r = rule("multiple", ["A", "C", "D", "E"], {"mode": "partial"})
        assert score(r, ["A", "C"]).points == 0.5
        assert score(r, ["A", "C", "D", "E"]).points == 1.0
        assert score(r, ["A", "B"]).points == 0.0, "a wrong option earns nothing"
        assert not score(r, ["A"]).correct

    def test_map_response_sums_and_clamps(self):
        r = rule("multiple", ["A", "B"], {"mode": "map", "mapping": {"A": 1, "B": 1, "C": -2}, "lower": 0,
                                          "upper": 2})
        assert r.max_points == 2.0
        assert score(r, ["A", "B"]).points == 2.0
        assert score(r, ["A", "C"]).points == 0.0, "clamped at the lower bound"
        assert score(r, ["A", "D"]).points == 1.0, "unmapped options take the default 0"


class TestTextEntry:
    def test_full_width_case_and_spaces_are_folded_by_default(self):
        r = rule("text", ["YJV22-0.6/1kV", "交联聚乙烯电缆"], options=[])
        assert score(r, "ＹＪＶ２２－０．６／１ｋＶ").points == 1.0
        assert score(r, " yjv22-0.6/1kv ").points == 1.0
        assert score(r, "交联 聚乙烯 电缆").points == 1.0
        assert score(r, "交联聚乙烯").points == 0.0
        assert score(r, "").points == 0.0

    def test_strict_matching_when_asked(self):
        r = rule("text", ["kV"], {"case_sensitive": True, "ignore_width": False, "ignore_whitespace": False},
                 options=[])
        assert score(r, "kV").points == 1.0
        assert score(r, "KV").points == 0.0
        assert score(r, "ｋＶ").points == 0.0
        assert score(r, " kV ").points == 1.0, "outer spaces never count"

    def test_mapping_gives_points_per_answer(self):
        r = rule("text", [], {"mapping": {"380": 2, "220": 1}}, options=[])
        assert r.max_points == 2.0
        assert score(r, "３８０").points == 2.0 and score(r, "220").points == 1.0 and score(r, "110").points == 0

    def test_normalization_is_nfkc(self):
        assert TextMatching().normalize("Ａ，ｂ") == "a,b"
        assert TextMatching().normalize("Ａ　Ｂ") == "ab"

    def test_text_response_must_be_a_string(self):
        with pytest.raises(ResponseError):
            score(rule("text", ["x"], options=[]), 3)


class TestExtended:
    def test_rater_awards_whole_points_within_the_maximum(self):
        r = rule("extended", [], {"max_points": 4}, options=[])
        assert score(r, {"points": 3}).points == 3.0 and score(r, 4).correct
        for bad in (5, -1, 2.5, True, None, {"points": "3"}):
            with pytest.raises(ResponseError):
                score(r, bad)

    def test_bare_text_needs_a_rater(self):
        result = score(rule("extended", [], {"max_points": 4}, options=[]), "答：先断电，再验电。")
        assert result.needs_rater and result.points == 0.0 and not result.correct
