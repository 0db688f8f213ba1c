"""``simulate-cat`` and ``assemble`` through a Typer app of their own."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from itembank.irt.params_io import bank_to_dict, write_params
from web.cli_cat import register

from .banks import bank_2pl, blueprint_for


@pytest.fixture(scope="module")
def app():
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cat")
    bank = bank_2pl(200, seed=41)
    write_params(bank_to_dict(bank), root / "params.json")
    bp = blueprint_for(bank, length=20)
    doc = {"length": 20, "items": bp.item_attributes, "constraints": bp.constraints,
           "enemies": [list(s) for s in bp.enemies]}
    (root / "blueprint.json").write_text(json.dumps(doc))
    return root


def run(app, *args):
    return CliRunner().invoke(app, [str(a) for a in args])


class TestSimulateCat:
    def test_report_has_the_contract_fields(self, app, files):
        out = files / "report.json"
        res = run(app, "simulate-cat", "--bank", files / "params.json", "--blueprint",
                  files / "blueprint.json", "--examinees", 30, "--min-length", 20,
                  "--max-length", 20, "--exposure", "randomesque:3", "--cut", 0.0,
                  "--seed", 5, "--out", out)
        assert res.exit_code == 0, res.output
        report = json.loads(out.read_text())
        assert report["blueprint_violations"] == 0
        for key in ("bias", "rmse", "length", "by_theta", "exposure", "mean_overlap",
                    "classification", "seconds_per_item_step"):
            assert key in report
        assert report["length"]["mean"] == 20

    def test_same_seed_same_report(self, app, files):
        reports = []
        for name in ("a.json", "b.json"):
            res = run(app, "simulate-cat", "--bank", files / "params.json", "--examinees", 200,
                      "--min-length", 5, "--max-length", 25, "--se-stop", 0.35, "--theta",
                      "uniform", "--seed", 9, "--out", files / name)
            assert res.exit_code == 0, res.output
            reports.append(json.loads((files / name).read_text()))
        assert reports[0]["rmse"] == reports[1]["rmse"]
        assert reports[0]["length"]["mean"] < 25

    def test_sympson_hetter_and_theta_file(self, app, files):
        thetas = files / "theta.csv"
        thetas.write_text("theta\n" + "\n".join(str(x) for x in
                                                np.random.default_rng(1).normal(size=300)))
        res = run(app, "simulate-cat", "--bank", files / "params.json", "--theta", thetas,
                  "--min-length", 10, "--max-length", 10, "--exposure", "sympson-hetter:0.3",
                  "--seed", 2, "--out", files / "sh.json")
        assert res.exit_code == 0, res.output
        report = json.loads((files / "sh.json").read_text())
        assert report["n_examinees"] == 300
        assert report["sympson_hetter"]["calibration_max_rates"][0] > 0.3

    @pytest.mark.parametrize("args, needle", [
        (("--exposure", "sometimes"), "exposure"),
        (("--selection", "best"), "selection"),
        (("--theta", "nowhere.csv"), "--theta"),
        (("--classification", "sprt"), "cut"),
    ])
    def test_bad_options_exit_2_with_a_message(self, app, files, args, needle):
        res = run(app, "simulate-cat", "--bank", files / "params.json", "--examinees", 10,
                  "--out", files / "x.json", *args)
        assert res.exit_code == 2
        assert needle in res.output

    def test_malformed_params_exit_2(self, app, files):
        bad = files / "bad.json"
        bad.write_text("{")
        res = run(app, "simulate-cat", "--bank", bad, "--out", files / "x.json")
        assert res.exit_code == 2 and "error:" in res.output


class TestAssemble:
    def test_forms_are_written(self, app, files):
        out = files / "forms.json"
        res = run(app, "assemble", "--bank", files / "params.json", "--blueprint",
                  files / "blueprint.json", "--forms", 2, "--out", out)
        assert res.exit_code == 0, res.output
        doc = json.loads(out.read_text())
        assert len(doc["forms"]) == 2 and all(len(f["items"]) == 20 for f in doc["forms"])
        assert not set(doc["forms"][0]["items"]) & set(doc["forms"][1]["items"])
        quality = doc["forms"][0]["decision_quality"]
        assert 0.8 < quality["rudner_consistency"] < quality["rudner_accuracy"] < 1.0

    def test_infeasible_blueprint_names_the_group(self, app, files):
        doc = json.loads((files / "blueprint.json").read_text())
        doc["information"] = [{"theta": 0.0, "min": 500.0}]
        path = files / "impossible.json"
        path.write_text(json.dumps(doc))
        res = run(app, "assemble", "--bank", files / "params.json", "--blueprint", path,
                  "--forms", 2, "--out", files / "f.json")
        assert res.exit_code == 2
        assert "information@0" in res.output and "short by" in res.output


def test_sprt_classification_options_reach_the_engine(app, files):
    reports = {}
    for alpha in ("0.2", "0.01"):
        out = files / f"sprt{alpha}.json"
        res = run(app, "simulate-cat", "--bank", files / "params.json", "--examinees", 400,
                  "--min-length", 3, "--max-length", 40, "--cut", 0.5, "--classification",
                  "sprt", "--alpha", alpha, "--beta", alpha, "--seed", 3, "--out", out)
        assert res.exit_code == 0, res.output
        reports[alpha] = json.loads(out.read_text())
    # stricter error rates need longer tests and decide better
    assert reports["0.01"]["length"]["mean"] > reports["0.2"]["length"]["mean"]
    assert (reports["0.01"]["classification"]["correct"]
            > reports["0.2"]["classification"]["correct"])
