import json

import numpy as np
import pytest

from itembank.irt.errors import ModelError
from itembank.irt.estimation import CalibrationOptions, calibrate
from itembank.irt.params_io import read_params, result_to_dict, write_params
from itembank.irt.simulate import random_bank, simulate_responses


class TestParamsJson:
    def test_round_trip_keeps_parameters_categories_and_population(self, tmp_path, rng):
        bank = random_bank(6, "grm", rng, n_categories=3)
        data = simulate_responses(bank, rng.normal(size=800), rng)
        res = calibrate(data, "grm", CalibrationOptions(se=True))
        path = tmp_path / "p.json"
        write_params(result_to_dict(res), path)
        back, pop = read_params(path)
        grid = np.linspace(-3, 3, 7)
        assert np.allclose(back.category_probabilities(grid), res.bank.category_probabilities(grid))
        assert back.categories == res.bank.categories and pop == res.population
        assert json.loads(path.read_text())["items"][0]["se"]["b"]

    @pytest.mark.parametrize("doc,needle", [
        ({"items": []}, "non-empty"),
        ({"items": [{"id": "x", "model": "2pl", "a": 1.0}]}, "item x"),
        ({"items": [{"id": "x", "model": "9pl", "a": 1.0, "d": [0.0]}]}, "9pl"),
    ])
    def test_malformed_documents_name_the_problem(self, tmp_path, doc, needle):
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(doc))
        with pytest.raises(ModelError, match=needle):
            read_params(path)
