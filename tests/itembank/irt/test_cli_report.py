import csv
import io
import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from itembank.irt.estimation import calibrate
from itembank.irt.report import calibration_report, curves
from web.cli_irt import register

from .conftest import DATA_DIR

LSAT7 = str(DATA_DIR / "lsat7.csv")


@pytest.fixture(scope="module")
def app():
    app = typer.Typer()
    register(app)
    return app


def _run(app, *args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def params(app, tmp_path_factory):
    out = tmp_path_factory.mktemp("p") / "params.json"
    res = _run(app, "calibrate", LSAT7, "--model", "2pl", "--se", "--out", out)
    assert res.exit_code == 0, res.output
    return out


class TestCalibrateCommand:
    def test_params_json_contract(self, params):
        doc = json.loads(params.read_text())
        assert doc["model"] == "2pl" and doc["n_persons"] == 1000 and doc["n_items"] == 5
        assert doc["converged"] is True and doc["cycles"] > 0
        assert doc["loglik"] == pytest.approx(-2658.805, abs=0.01)
        assert set(doc["population"]) == {"mean", "sd"}
        item = doc["items"][0]
        assert isinstance(item["d"], list) and len(item["d"]) == 1
        assert item["b"] == pytest.approx(-item["d"][0] / item["a"])
        assert item["se"]["a"] > 0

    def test_report_is_written_with_svg(self, app, tmp_path):
        rep = tmp_path / "r.html"
        res = _run(app, "calibrate", LSAT7, "--out", tmp_path / "p.json", "--report", rep)
        assert res.exit_code == 0
        text = rep.read_text()
        assert text.count("<svg") >= 11 and "item5" in text

    def test_fixed_anchors_keep_their_values(self, app, params, tmp_path):
        doc = json.loads(params.read_text())
        anchors = tmp_path / "anchors.json"
        anchors.write_text(json.dumps({"items": doc["items"][:2]}))
        out = tmp_path / "p.json"
        assert _run(app, "calibrate", LSAT7, "--fixed", anchors, "--out", out).exit_code == 0
        new = json.loads(out.read_text())
        assert new["items"][0]["a"] == doc["items"][0]["a"]
        assert new["items"][0]["estimated"] is False and new["items"][3]["estimated"] is True

    def test_model_map_and_prior(self, app, tmp_path):
        models = json.dumps({f"item{j}": ("3pl" if j == 1 else "2pl") for j in range(1, 6)})
        out = tmp_path / "p.json"
        res = _run(app, "calibrate", LSAT7, "--model", models, "--prior", "c=beta(5,17)",
                   "--out", out)
        assert res.exit_code == 0, res.output
        doc = json.loads(out.read_text())
        assert doc["model"] == "mixed" and doc["items"][0]["c"] > 0 and doc["items"][1]["c"] == 0


class TestMalformedInput:
    @pytest.mark.parametrize("body,needle", [
        ("a,b\n1,0\n0,x\n0,1\n", "row 2, column 'b'"),
        ("a,b\n1,0\n0\n", "row 2"),
        ("a,b\n1,0\n1,1\n1,0\n", "column 'a'"),
        ("a,b\n1,\n0,\n1,\n", "column 'b'"),
    ])
    def test_exit_code_2_naming_row_or_column(self, app, tmp_path, body, needle):
        path = tmp_path / "bad.csv"
        path.write_text(body)
        res = _run(app, "calibrate", path, "--out", tmp_path / "p.json")
        assert res.exit_code == 2
        assert needle in res.output and "error:" in res.output

    def test_unknown_model(self, app, tmp_path):
        res = _run(app, "calibrate", LSAT7, "--model", "5pl", "--out", tmp_path / "p.json")
        assert res.exit_code == 2 and "5pl" in res.output


class TestScoreItemfitDifLink:
    @pytest.mark.parametrize("method", ["eap", "map", "ml", "wle"])
    def test_scores_csv(self, app, params, tmp_path, method):
        out = tmp_path / "s.csv"
        assert _run(app, "score", LSAT7, "--params", params, "--method", method,
                    "--out", out).exit_code == 0
        rows = list(csv.DictReader(out.open()))
        assert list(rows[0]) == ["person_id", "theta", "se"] and len(rows) == 1000
        if method == "ml":
            assert rows[0]["theta"] == "-inf"

    def test_eapsum_table(self, app, params):
        res = _run(app, "score", LSAT7, "--params", params, "--method", "eapsum")
        rows = list(csv.DictReader(io.StringIO(res.output)))
        assert [r["sum"] for r in rows] == ["0", "1", "2", "3", "4", "5"]
        assert float(rows[0]["theta"]) < float(rows[-1]["theta"])

    def test_itemfit_to_stdout(self, app, params):
        res = _run(app, "itemfit", LSAT7, "--params", params)
        rows = list(csv.DictReader(io.StringIO(res.output)))
        assert list(rows[0]) == ["item", "s_x2", "df", "p"] and len(rows) == 5

    def test_dif_by_group_column(self, app, tmp_path, rng):
        lines = (DATA_DIR / "lsat7.csv").read_text().splitlines()
        body = [lines[0] + ",sex"] + [f"{ln},{'F' if k % 2 else 'M'}"
                                      for k, ln in enumerate(lines[1:])]
        path = tmp_path / "g.csv"
        path.write_text("\n".join(body) + "\n")
        res = _run(app, "dif", path, "--group", "sex")
        assert res.exit_code == 0, res.output
        rows = list(csv.DictReader(io.StringIO(res.output)))
        assert len(rows) == 5 and rows[0]["ets"] in {"A", "B", "C"}

    def test_link_identity(self, app, params):
        res = _run(app, "link", params, params, "--method", "stocking-lord")
        doc = json.loads(res.output)
        assert doc["A"] == pytest.approx(1.0, abs=1e-6) and doc["B"] == pytest.approx(0, abs=1e-6)

    def test_bad_params_json(self, app, tmp_path):
        bad = tmp_path / "bad.json"
        bad.write_text("{not json")
        res = _run(app, "score", LSAT7, "--params", bad)
        assert res.exit_code == 2 and "JSON" in res.output


class TestReportCurves:
    def test_curves_are_data(self, lsat7):
        res = calibrate(lsat7, "2pl")
        cv = curves(res.bank)
        assert cv.icc.shape == (81, 5) and np.all(np.diff(cv.icc, axis=0) > 0)
        assert np.allclose(cv.se, 1 / np.sqrt(cv.test_information))
        html = calibration_report(res, title="<LSAT7>")
        assert "&lt;LSAT7&gt;" in html and "<polyline" in html
