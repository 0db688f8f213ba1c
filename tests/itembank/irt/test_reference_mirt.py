"""Agreement with the PyPI package ``mirt`` 1.2.0 (numbers pinned in reference_mirt.json,
produced by make_reference.py; mirt is not needed to run these tests)."""

import json
from pathlib import Path

import numpy as np
import pytest

from itembank.irt.data import read_responses_csv
from itembank.irt.estimation import CalibrationOptions, calibrate
from itembank.irt.fit import s_x2
from itembank.irt.scoring import score_persons

from .conftest import DATA_DIR

REF = json.loads((Path(__file__).parent / "reference_mirt.json").read_text())
CASES = [("lsat7", "2pl"), ("lsat6", "2pl"), ("science", "grm")]
TOL = 0.01


@pytest.fixture(scope="module", params=CASES, ids=[f"{d}-{m}" for d, m in CASES])
def case(request):
    name, model = request.param
    data = read_responses_csv(DATA_DIR / f"{name}.csv")
    res = calibrate(data, model, CalibrationOptions(se=True, tol=1e-6))
    return data, res, REF[f"{name}_{model}"]


class TestAgreementWithMirt:
    def test_loglik(self, case):
        _, res, ref = case
        assert res.loglik == pytest.approx(ref["loglik"], abs=TOL)

    def test_slopes_and_difficulties(self, case):
        _, res, ref = case
        pars = ref["parameters"]
        assert np.allclose(res.bank.a, pars["discrimination"], atol=TOL)
        b_ref = np.array(pars.get("difficulty", pars.get("thresholds")), dtype=float)
        assert np.allclose(res.bank.b.reshape(b_ref.shape), b_ref, atol=TOL)

    def test_standard_errors(self, case):
        _, res, ref = case
        se_a = [s["a"] for s in res.se]
        assert np.allclose(se_a, ref["se"]["discrimination"], atol=TOL)
        if "difficulty" in ref["se"]:
            assert np.allclose([s["b"] for s in res.se], ref["se"]["difficulty"], atol=TOL)

    def test_eap_scores(self, case):
        data, res, ref = case
        scores = score_persons(data, res.bank, res.population)
        assert np.allclose(scores.theta[:10], ref["eap_first10"], atol=TOL)
        assert np.allclose(scores.se[:10], ref["eap_se_first10"], atol=TOL)

    def test_s_x2(self, case):
        data, res, ref = case
        fit = s_x2(data, res.bank, res.population)
        assert np.allclose(fit.s_x2, ref["itemfit"]["S_X2"], atol=TOL)
        assert np.array_equal(fit.df, np.array(ref["itemfit"]["df"], dtype=int))
