"""Previews of fixed forms for examiners."""

from __future__ import annotations

import numpy as np

from engine.assembly import AssemblyOptions, assemble_forms, preview_form
from tests.engine.cat.banks import bank_2pl, blueprint_for


class TestPreview:
    def test_assembled_form_has_full_coverage_and_a_peaked_information_curve(self):
        bank = bank_2pl(150, seed=12)
        bp = blueprint_for(bank, length=20)
        form = assemble_forms(bank, bp, AssemblyOptions(n_forms=1, cut_theta=0.5)).forms[0]
        prev = preview_form(bank, form, bp, cut_theta=0.5)
        assert prev.violations == []
        assert all(c["min"] <= c["count"] <= c["max"] for c in prev.coverage)
        peak = prev.theta[np.argmax(prev.information)]
        assert -1.0 < peak < 2.0
        np.testing.assert_allclose(prev.se, 1 / np.sqrt(prev.information))
        assert np.all(np.diff(prev.expected_percent) > 0)
        assert 0.5 < prev.rudner_consistency < prev.rudner_accuracy < 1.0

    def test_a_hand_picked_form_reports_what_it_breaks(self):
        bank = bank_2pl(150, seed=12)
        bp = blueprint_for(bank, length=20)
        prev = preview_form(bank, list(bank.ids[:20]), bp)
        assert "element=E1" not in prev.violations  # ids 0..19 hold four of each element
        assert any(v.startswith("enemies") for v in prev.violations)
        assert prev.rudner_accuracy is None
