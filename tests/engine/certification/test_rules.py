"""Result rules over the ladder: required parts, pass marks, vetoes, rules from data."""

from __future__ import annotations

import pytest

from engine.certification.eligibility import Applicant, Condition, check, conditions_from_data
from engine.certification.rules import DEFAULT_RULES, Part, PartScore, decide, rules_from_data
from engine.errors import InvalidInputError
from itembank.levels import Level


def scores(**parts: float | tuple[float, bool]) -> dict[Part, PartScore]:
    result = {}
    for name, value in parts.items():
        score, veto = value if isinstance(value, tuple) else (value, False)
        result[Part(name)] = PartScore(Part(name), score, veto)
    return result


class TestDefaultLadder:
    @pytest.mark.parametrize("level", [Level.level5, Level.level4, Level.level3])
    def test_lower_levels_need_theory_and_practical_only(self, level):
        rule = DEFAULT_RULES[level]
        assert rule.required == (Part.theory, Part.practical)
        assert decide(rule, scores(theory=60, practical=60)).passed

    @pytest.mark.parametrize("level", [Level.level2, Level.level1])
    def test_technician_levels_also_need_the_comprehensive_review(self, level):
        rule = DEFAULT_RULES[level]
        outcome = decide(rule, scores(theory=90, practical=90))
        assert not outcome.passed
        assert [(s.part, s.code) for s in outcome.shortfalls] == [(Part.review, "missing")]
        assert decide(rule, scores(theory=90, practical=90, review=60)).passed

    def test_special_skill_unit_is_practical_only(self):
        assert decide(DEFAULT_RULES[Level.special], scores(practical=75)).passed

    def test_every_level_of_the_ladder_has_a_rule(self):
        assert set(DEFAULT_RULES) == set(Level)


class TestDecide:
    def test_just_below_the_mark_fails_and_names_score_and_mark(self):
        outcome = decide(DEFAULT_RULES[Level.level4], scores(theory=59.9, practical=80))
        assert not outcome.passed
        (shortfall,) = outcome.shortfalls
        assert shortfall.code == "below" and shortfall.params == {"part": "theory", "score": 59.9, "mark": 60.0}

    def test_a_veto_fails_the_part_whatever_its_score(self):
        outcome = decide(DEFAULT_RULES[Level.level4], scores(theory=95, practical=(98, True)))
        assert [(s.part, s.code) for s in outcome.shortfalls] == [(Part.practical, "veto")]

    def test_every_shortfall_is_reported(self):
        outcome = decide(DEFAULT_RULES[Level.level2], scores(theory=10, practical=(70, True)))
        assert [s.code for s in outcome.shortfalls] == ["below", "veto", "missing"]

    def test_parts_the_level_does_not_require_are_ignored(self):
        assert decide(DEFAULT_RULES[Level.level4], scores(theory=60, practical=60, review=0)).passed

    @pytest.mark.parametrize("bad", [-0.1, 100.5])
    def test_scores_outside_0_to_100_are_refused(self, bad):
        with pytest.raises(InvalidInputError, match="between 0 and 100"):
            PartScore(Part.theory, bad)


class TestRulesFromData:
    def test_a_level_can_change_its_marks_and_parts(self):
        rules = rules_from_data({"level3": {"theory": 70, "practical": 60, "review": 60}})
        assert rules[Level.level3].required == (Part.theory, Part.practical, Part.review)
        assert not decide(rules[Level.level3], scores(theory=65, practical=60, review=60)).passed
        assert rules[Level.level4] == DEFAULT_RULES[Level.level4]

    @pytest.mark.parametrize("data", [{"level9": {"theory": 60}}, {"level3": {"oral": 60}},
                                      {"level3": {"theory": 0}}, {"level3": {}}])
    def test_malformed_rules_are_refused(self, data):
        with pytest.raises(InvalidInputError):
            rules_from_data(data)


class TestEligibility:
    def test_level4_by_prior_certificate_and_years(self):
        assert check(Level.level4, Applicant(years_in_occupation=4, prior_level=Level.level5)).eligible
        assert not check(Level.level4, Applicant(years_in_occupation=3.5, prior_level=Level.level5)).eligible

    def test_level4_by_six_years_or_school_diploma(self):
        assert check(Level.level4, Applicant(years_in_occupation=6)).met == Condition(years=6)
        assert check(Level.level4, Applicant(school_graduate=True)).met == Condition(school_graduate=True)

    def test_a_higher_certificate_counts_for_a_lower_requirement(self):
        assert check(Level.level3, Applicant(years_in_occupation=5, prior_level=Level.level2)).eligible

    def test_ineligible_gives_the_reason(self):
        verdict = check(Level.level2, Applicant(years_in_occupation=10, prior_level=Level.level4))
        assert not verdict.eligible
        assert verdict.params["needs"] == "a level3 certificate and 4 years in the occupation"

    def test_conditions_from_data_replace_the_defaults(self):
        relaxed = conditions_from_data([{"prior_level": "level5", "years": 2}])
        assert check(Level.level4, Applicant(years_in_occupation=2, prior_level=Level.level5), relaxed).eligible
        assert [c.as_data() for c in relaxed] == [{"prior_level": "level5", "years": 2.0}]

    @pytest.mark.parametrize("data", [[{"years": -1}], [{"prior_level": "level7"}], [{"age": 18}]])
    def test_malformed_conditions_are_refused(self, data):
        with pytest.raises(InvalidInputError, match="malformed"):
            conditions_from_data(data)
