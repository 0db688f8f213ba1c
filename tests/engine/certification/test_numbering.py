"""Certificate numbers: positions per domain.md, round trips, refusals."""

from __future__ import annotations

import pytest

from engine.certification.errors import InvalidCertificateNumberError
from engine.certification.numbering import NumberingScheme, compose, parse
from itembank.levels import Level

SCHEME = NumberingScheme()


def number(**overrides):
    fields = dict(kind="social_org", body_code="3701", province="37", site_serial="000001", year=2026,
                  level=Level.level4, serial=123)
    return compose(SCHEME, **{**fields, **overrides})


class TestCompose:
    def test_positions_follow_the_published_rule(self):
        text = str(number())
        assert len(text) == 22 and text == "S" + "3701" + "37" + "000001" + "26" + "4" + "000123"
        # positions as domain.md counts them: 1 letter, 2–5 body, 6–7 province, …
        digits = text[1:]
        assert (digits[0:4], digits[4:6], digits[6:12], digits[12:14], digits[14], digits[15:21]) == \
            ("3701", "37", "000001", "26", "4", "000123")

    def test_enterprise_bodies_are_lettered_y(self):
        assert str(number(kind="enterprise")).startswith("Y")

    def test_school_letter_is_configurable_and_required(self):
        with pytest.raises(InvalidCertificateNumberError, match="no certificate letter"):
            number(kind="school")
        assert str(number(kind="school", kind_letter="j")).startswith("J")
        scheme = NumberingScheme(kind_letters={"school": "X"})
        assert str(compose(scheme, kind="school", body_code="1234", province="37", site_serial="000002",
                           year=2027, level=Level.level1, serial=1)) == "X123437000002271000001"

    def test_principal_technician_has_two_letters_and_twenty_digits(self):
        text = str(number(level=Level.principal, kind="enterprise"))
        assert text[:2] == "YT" and len(text) == 22 and text[2:].isdigit() and len(text[2:]) == 20

    @pytest.mark.parametrize("level", [Level.apprentice, Level.chief, Level.special])
    def test_levels_without_a_rule_are_refused(self, level):
        with pytest.raises(InvalidCertificateNumberError, match="no certificate numbering rule"):
            number(level=level)

    @pytest.mark.parametrize("field, value", [("body_code", "370"), ("province", "3a"), ("site_serial", "1234567")])
    def test_malformed_fields_are_refused(self, field, value):
        with pytest.raises(InvalidCertificateNumberError, match=field):
            number(**{field: value})

    @pytest.mark.parametrize("serial", [0, 1_000_000])
    def test_serial_out_of_range(self, serial):
        with pytest.raises(InvalidCertificateNumberError, match="serial"):
            number(serial=serial)

    def test_prefix_is_everything_but_the_serial(self):
        assert number().prefix == "S3701370000012 64".replace(" ", "")


class TestParse:
    @pytest.mark.parametrize("level", [Level.level5, Level.level3, Level.level1, Level.principal])
    def test_round_trip(self, level):
        made = number(level=level, serial=999_999)
        assert parse(str(made)) == made

    def test_lower_case_input_is_accepted(self):
        assert parse("s37013700000126400012 3".replace(" ", "")).serial == 123

    @pytest.mark.parametrize("raw", ["", "S123", "S3701370000012640001234", "1370137000001264000123",
                                     "S370137000001260000123", "SZ37013700000126000123"])
    def test_non_numbers_are_refused(self, raw):
        with pytest.raises(InvalidCertificateNumberError, match="not a certificate number"):
            parse(raw)
