"""Resident ID validation (GB 11643-1999)."""

from datetime import date

import pytest

from engine.errors import InvalidResidentIdError
from engine.identity import check_character, parse_resident_id

VALID = ["11010519491231002X", "440524188001010014", "370101190102039973", "513101198201130014"]


class TestResidentId:
    @pytest.mark.parametrize("number", VALID)
    def test_published_vectors_are_valid(self, number):
        assert parse_resident_id(number).number == number

    def test_lower_case_x_is_accepted_and_stored_upper_case(self):
        assert parse_resident_id("11010519491231002x").number == "11010519491231002X"

    def test_sex_and_birth_date_come_from_the_number(self):
        parsed = parse_resident_id("11010519491231002X")
        assert parsed.birth_date == date(1949, 12, 31) and parsed.sex == "F"
        assert parse_resident_id("440524188001010014").sex == "M"

    @pytest.mark.parametrize("number", VALID)
    def test_every_wrong_check_character_is_refused(self, number):
        for wrong in "0123456789X":
            if wrong != number[17]:
                with pytest.raises(InvalidResidentIdError, match="check character"):
                    parse_resident_id(number[:17] + wrong)

    @pytest.mark.parametrize("number, problem", [
        ("1101051949123100", "18 characters"),
        ("11010519491231002Y", "17 digits"),
        ("1101A519491231002X", "17 digits"),
        ("110105194902300028", "not a real date"),
    ])
    def test_malformed_numbers_name_the_problem(self, number, problem):
        with pytest.raises(InvalidResidentIdError, match=problem):
            parse_resident_id(number)

    def test_birth_date_in_the_future_is_refused(self):
        first17 = "11010520990101001"
        with pytest.raises(InvalidResidentIdError, match="future"):
            parse_resident_id(first17 + check_character(first17), today=date(2026, 11, 24))

    def test_check_character_matches_weighted_sum(self):
        # 1*7+1*9+0*10+1*5+0*8+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0*8+0*4+2*2 = 189; 189 mod 11 = 2 → "X"
        assert check_character("11010519491231002") == "X"
