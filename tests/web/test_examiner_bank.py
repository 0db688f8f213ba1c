"""Examiner bank pages: the quality dashboard from live sittings, item curves, image uploads."""

from __future__ import annotations

import re
import struct
import zlib

import pytest
from sqlmodel import Session, func, select

from itembank.models import CalibrationRun, ItemCalibration, ItemImage, ItemVersion


@pytest.fixture(autouse=True)
def _english(client):
    client.cookies.set("skillcert_locale", "en")


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def _images(db_engine) -> int:
    with Session(db_engine) as session:
        return session.exec(select(func.count()).select_from(ItemImage)).one()


class TestQualityDashboard:
    def test_live_sitting_counts_exposures_and_flags_link_to_items(self, visitor, demo, db_engine):
        visitor.login("candidate")
        sitting = re.search(r"/candidate/sessions/(\d+)/start", visitor.get("/candidate").text).group(1)
        visitor.post(f"/candidate/sessions/{sitting}/start")
        visitor.post(f"/candidate/sessions/{sitting}/submit")
        visitor.post("/logout")
        visitor.login("examiner")
        page = visitor.get("/examiner/quality")
        assert page.status_code == 200
        assert "sittings" in page.text and 'data-testid="quality-table"' in page.text
        flags = re.findall(r'data-flag="(\w+)" data-item-id="(\d+)"><a href="/examiner/items/(\d+)"', page.text)
        assert flags and all(item == link for _kind, item, link in flags)
        assert {"over_exposed", "never_used"} <= {kind for kind, _i, _l in flags}

    def test_unknown_filters_fall_back_and_candidates_are_refused(self, visitor, demo):
        visitor.login("examiner")
        assert visitor.get("/examiner/quality?occupation=x&level=<b>").status_code == 200
        visitor.post("/logout")
        visitor.login("candidate")
        assert visitor.get("/examiner/quality").status_code == 403


class TestItemCurves:
    def test_item_page_draws_curves_once_calibrated(self, visitor, demo, db_engine):
        visitor.login("examiner")
        assert 'data-testid="item-curves"' not in visitor.get("/examiner/items/1").text
        with Session(db_engine) as session:
            run = CalibrationRun(model="2pl", n_persons=500, n_items=1, created_by="test")
            session.add(run)
            session.flush()
            version = session.exec(select(ItemVersion).where(ItemVersion.item_id == 1)).first()
            session.add(ItemCalibration(calibration_run_id=run.id, item_version_id=version.id, model="2pl",
                                        a=1.3, d=[0.2]))
            session.commit()
        page = visitor.get("/examiner/items/1").text
        assert 'data-testid="item-curves"' in page and 'data-curve="information"' in page


class TestImages:
    def test_png_is_stored_by_hash_and_served_with_its_sniffed_type(self, visitor, demo, db_engine, settings):
        visitor.login("examiner")
        png = _png()
        response = visitor.post("/examiner/images", files={"image": ("photo.jpg", png, "image/jpeg")})
        assert response.status_code == 200, response.text
        url = re.search(r'src="(/examiner/images/[0-9a-f]{64})"', response.text).group(1)
        served = visitor.get(url)
        assert served.content == png and served.headers["content-type"] == "image/png"
        assert served.headers["x-content-type-options"] == "nosniff"
        again = visitor.post("/examiner/images", files={"image": ("copy.png", png, "image/png")})
        assert again.status_code == 200 and _images(db_engine) == 1
        assert (settings.data_dir / "item-images" / url[-64:][:2] / url[-64:]).read_bytes() == png

    @pytest.mark.parametrize("name,data", [
        ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("x.png", b"<html><script>alert(1)</script></html>"),
        ("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * (2 * 1024 * 1024)),
        ("empty.png", b""),
    ])
    def test_other_files_are_refused_and_nothing_is_stored(self, visitor, demo, db_engine, name, data):
        visitor.login("examiner")
        response = visitor.post("/examiner/images", files={"image": (name, data, "image/png")})
        assert response.status_code == 422 and 'data-field-error="image"' in response.text
        assert _images(db_engine) == 0

    def test_unknown_image_is_404_and_candidates_cannot_fetch(self, visitor, demo):
        visitor.login("examiner")
        assert visitor.get("/examiner/images/" + "0" * 64).status_code == 404
        assert visitor.get("/examiner/images/not-a-hash").status_code == 404
        visitor.post("/logout")
        visitor.login("candidate")
        assert visitor.get("/examiner/images/" + "0" * 64).status_code == 403


class TestWebExport:
    def test_admin_downloads_a_package_and_the_export_is_audited(self, visitor, demo, db_engine):
        import io
        import zipfile

        from engine.models import AuditEntry

        visitor.login("admin")
        assert 'data-testid="export-form"' in visitor.get("/examiner/items").text
        response = visitor.post("/examiner/export", {"format": "qti3", "occupation": "6-31-01-03", "level": "4"})
        assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            assert 'by="admin"' in archive.read("imsmanifest.xml").decode()
            assert len([n for n in archive.namelist() if n.startswith("items/")]) == 60
        with Session(db_engine) as session:
            entry = session.exec(select(AuditEntry).where(AuditEntry.action == "bank.exported")).one()
        assert entry.actor == "admin" and len(entry.data["items"]) == 60

    def test_examiners_do_not_see_or_reach_export(self, visitor, demo, db_engine):
        visitor.login("examiner")
        assert 'data-testid="export-form"' not in visitor.get("/examiner/items").text
        assert visitor.post("/examiner/export", {"format": "xlsx"}).status_code == 403

    def test_unknown_format_is_422(self, visitor, demo):
        visitor.login("admin")
        assert visitor.post("/examiner/export", {"format": "pdf"}).status_code == 422


class TestNewTypesInTheEditor:
    def _point(self, db_engine) -> str:
        from itembank.models import AppraisalNode, NodeKind

        with Session(db_engine) as session:
            return str(session.exec(select(AppraisalNode.id).where(AppraisalNode.kind == NodeKind.point)).first())

    def test_text_entry_item_with_accepted_answers(self, visitor, demo, db_engine):
        visitor.login("examiner")
        response = visitor.post("/examiner/items", {
            "item_type": "text", "appraisal_point_id": self._point(db_engine), "stem": "电流的单位是____。",
            "accepted": "安培\nＡ\n", "matching": ["ignore_width", "ignore_whitespace"]})
        assert response.status_code == 303, response.text
        item_id = int(response.headers["location"].split("/")[-1].split("?")[0])
        with Session(db_engine) as session:
            version = session.exec(select(ItemVersion).where(ItemVersion.item_id == item_id)).one()
        assert version.key == ["安培", "Ａ"]
        assert version.scoring["ignore_width"] and not version.scoring["case_sensitive"]
        page = visitor.get(f"/examiner/items/{item_id}").text
        assert "安培\nＡ</textarea>" in page

    def test_extended_item_with_rubric_and_a_bad_level_line(self, visitor, demo, db_engine):
        visitor.login("examiner")
        form = {"item_type": "extended", "appraisal_point_id": self._point(db_engine),
                "stem": "简述停电检修的安全步骤。",
                "max_points": "4", "rubric": "4: 停电、验电、接地、挂牌齐全\n2: 缺一步\n0: 未答"}
        assert visitor.post("/examiner/items", form).status_code == 303
        bad = visitor.post("/examiner/items", {**form, "rubric": "four: everything"})
        assert bad.status_code == 422 and 'data-field-error="scoring"' in bad.text

    def test_script_in_a_stem_is_removed_before_saving(self, visitor, demo, db_engine):
        visitor.login("examiner")
        response = visitor.post("/examiner/items", {
            "item_type": "single", "appraisal_point_id": self._point(db_engine),
            "stem": '<p>题干<script>alert(1)</script><img src="x" onerror="alert(2)"></p>',
            "option_A": "<b>甲</b>", "option_B": "乙", "option_C": "丙", "option_D": "丁", "key": "A"})
        item_id = int(response.headers["location"].split("/")[-1].split("?")[0])
        page = visitor.get(f"/examiner/items/{item_id}").text
        assert "<script>alert(1)" not in page and "onerror" not in page and "<b>甲</b>" in page
