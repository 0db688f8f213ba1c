"""Calibrated parameters stored on item versions with their run."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from engine import delivery
from engine.models import AuditEntry, CandidateSession, SessionItem
from itembank.calibrations import latest_parameters, store_calibration
from itembank.errors import ItemValidationError
from itembank.models import CalibrationRun, Item, ItemCalibration, ItemVersion
from web import cli


def _doc(item_ids, a=1.2) -> dict:
    return {"model": "2pl", "loglik": -1234.5, "n_persons": 800, "n_items": len(item_ids), "converged": True,
            "cycles": 41, "population": {"mean": 0.0, "sd": 1.0},
            "items": [{"id": f"item-{i}", "model": "2pl", "a": a, "d": [0.3], "b": -0.25, "c": None,
                       "se": {"a": 0.08, "d": [0.05]}} for i in item_ids]}


def _sink(calls):
    return lambda *args: calls.append(args)


class TestStoreCalibration:
    def test_parameters_land_on_the_administered_version(self, db, demo, clock):
        sitting = db.exec(select(CandidateSession)).first()
        delivery.start(db, sitting, "candidate", clock())
        line = db.exec(select(SessionItem).where(SessionItem.candidate_session_id == sitting.id)).first()
        administered = db.get(ItemVersion, line.item_version_id)
        other = db.exec(select(Item).order_by(Item.id.desc())).first()
        calls = []
        run = store_calibration(db, _doc([administered.item_id, other.id]), "psychometrician", _sink(calls))
        db.commit()
        stored = latest_parameters(db, [administered.id])
        assert stored[administered.id].a == 1.2 and stored[administered.id].d == [0.3]
        assert run.loglik == -1234.5 and run.n_items == 2 and calls[0][0] == "calibration.stored"

    def test_a_later_run_supersedes_an_earlier_one(self, db, demo):
        item = db.exec(select(Item)).first()
        store_calibration(db, _doc([item.id], a=1.0), "p", _sink([]))
        store_calibration(db, _doc([item.id], a=1.7), "p", _sink([]))
        version = db.exec(select(ItemVersion).where(ItemVersion.item_id == item.id)).one()
        assert latest_parameters(db, [version.id])[version.id].a == 1.7

    @pytest.mark.parametrize("mutate, problem", [
        (lambda d: d["items"].append({"id": "item-99999", "model": "2pl", "a": 1, "d": [0]}), "not in the bank"),
        (lambda d: d["items"][0].update(model="4pl"), "unknown model"),
        (lambda d: d["items"][0].update(d=[]), "non-empty list"),
        (lambda d: d["items"][0].update(id="Q7"), "not a bank item id"),
        (lambda d: d.update(items=[]), "lists no items"),
    ])
    def test_bad_files_are_refused_whole(self, db, demo, mutate, problem):
        item = db.exec(select(Item)).first()
        doc = _doc([item.id])
        mutate(doc)
        with pytest.raises(ItemValidationError, match=problem):
            store_calibration(db, doc, "p", _sink([]))
        db.rollback()
        assert db.exec(select(CalibrationRun)).all() == [] and db.exec(select(ItemCalibration)).all() == []


class TestImportParamsCommand:
    def test_stores_and_audits(self, db_engine, demo, tmp_path, monkeypatch):
        monkeypatch.setattr(cli, "make_engine", lambda _url: db_engine)
        with Session(db_engine) as session:
            ids = [i.id for i in session.exec(select(Item).limit(3)).all()]
        path = tmp_path / "PARAMS.json"
        path.write_text(json.dumps(_doc(ids)))
        result = CliRunner().invoke(cli.app, ["bank", "import-params", str(path)])
        assert result.exit_code == 0 and "3 items" in result.output
        with Session(db_engine) as session:
            assert len(session.exec(select(ItemCalibration)).all()) == 3
            assert session.exec(select(AuditEntry).where(AuditEntry.action == "calibration.stored")).one()

    def test_unknown_item_exits_2_and_writes_nothing(self, db_engine, demo, tmp_path, monkeypatch):
        monkeypatch.setattr(cli, "make_engine", lambda _url: db_engine)
        path = tmp_path / "PARAMS.json"
        path.write_text(json.dumps(_doc([424242])))
        result = CliRunner().invoke(cli.app, ["bank", "import-params", str(path)])
        assert result.exit_code == 2 and "items[0]" in result.output and "not in the bank" in result.output
        with Session(db_engine) as session:
            assert session.exec(select(CalibrationRun)).all() == []
