"""Theory scoring rules."""

import pytest

from engine.scoring import is_correct, tally, theory_score


class TestScoring:
    def test_single_choice(self):
        assert is_correct(["B"], ["B"]) and not is_correct(["B"], ["C"])

    def test_multiple_choice_is_all_or_nothing_and_order_free(self):
        assert is_correct(["A", "C"], ["C", "A"])
        assert not is_correct(["A", "C"], ["A"])
        assert not is_correct(["A", "C"], ["A", "C", "D"])

    def test_no_answer_is_wrong(self):
        assert not is_correct(["T"], [])

    def test_tally_weights_points(self):
        lines = [(["A"], ["A"], 1.0), (["A", "B"], ["A", "B"], 2.0), (["T"], ["F"], 0.5), (["C"], None, 1.0)]
        assert tally(lines) == (3.0, 4.5)

    @pytest.mark.parametrize("earned, possible, score", [(0, 20, 0.0), (20, 20, 100.0), (12, 20, 60.0),
                                                          (2, 3, 66.7), (1, 3, 33.3), (14.5, 22, 65.9)])
    def test_percentage_rounds_half_up_to_one_decimal(self, earned, possible, score):
        assert theory_score(earned, possible) == score

    def test_empty_form_is_an_error(self):
        with pytest.raises(ValueError):
            theory_score(0, 0)
