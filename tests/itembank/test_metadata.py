"""Item metadata: source (per version), tags and enemy sets (per item) — validated, filtered,
audited, carried through XLSX/CSV and QTI packages unchanged, and enemy sets usable by
form assembly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from engine.assembly import AssemblyOptions, assemble_forms
from engine.cat.blueprint import Blueprint
from itembank import service
from itembank.errors import ItemValidationError
from itembank.interchange import bank, package, xlsx
from itembank.irt.models import ItemBank, ItemParams
from itembank.models import AppraisalNode, Item, ItemStatus, NodeKind

OCCUPATION = "6-31-01-03"


class Recorder:
    def __init__(self) -> None:
        self.entries: list[tuple] = []

    def __call__(self, action, entity_type, entity_id, data):
        self.entries.append((action, entity_type, entity_id, data))


def _point(db: Session) -> AppraisalNode:
    return db.exec(select(AppraisalNode).where(AppraisalNode.kind == NodeKind.point)
                   .order_by(AppraisalNode.code)).first()


def _make(db: Session, stem: str, record=None, **metadata) -> Item:
    point = _point(db)
    draft = service.ItemDraft(occupation_id=point.occupation_id, level=point.level.value, item_type="single",
                              appraisal_point_id=point.id, stem=stem,
                              options=[{"id": x, "text": f"选项{x}"} for x in "ABCD"], key=["A"], **metadata)
    return service.create_item(db, draft, "examiner", record or Recorder())


class TestLabels:
    def test_labels_are_split_trimmed_and_deduplicated_in_order(self):
        assert service.labels("安全, 计算；安全|识图\n 接地 ，") == ["安全", "计算", "识图", "接地"]
        assert service.labels(["甲", " 乙 ", "甲", ""]) == ["甲", "乙"]

    def test_create_stores_source_on_the_version_and_labels_on_the_item(self, db, demo):
        record = Recorder()
        item = _make(db, "新题：接地电阻", record, source="  2023 年 题库  修订 ", tags=["接地", "计算"],
                     enemy_sets=["E-接地"])
        db.commit()
        assert service.current_version(db, item).source == "2023 年 题库 修订"
        assert service.item_labels(db, [item.id]) == {item.id: (["接地", "计算"], ["E-接地"])}
        assert record.entries[-1][0] == "item.created"
        assert record.entries[-1][3]["tags"] == ["接地", "计算"] and record.entries[-1][3]["enemy_sets"] == ["E-接地"]

    @pytest.mark.parametrize("field, metadata", [
        ("source", {"source": "出" * 301}),
        ("tags", {"tags": [f"t{n}" for n in range(21)]}),
        ("enemy_sets", {"enemy_sets": ["长" * 61]}),
    ])
    def test_bad_metadata_is_refused_naming_the_field_and_nothing_is_written(self, db, demo, field, metadata):
        before = len(db.exec(select(Item)).all())
        with pytest.raises(ItemValidationError) as caught:
            _make(db, "不会保存的题", **metadata)
        assert list(caught.value.errors) == [field]
        db.rollback()
        assert len(db.exec(select(Item)).all()) == before

    def test_set_labels_needs_no_new_version_or_review_and_is_audited(self, db, demo):
        item = db.exec(select(Item).where(Item.status == ItemStatus.active).order_by(Item.id)).first()
        version = item.current_version
        record = Recorder()
        service.set_labels(db, item.id, ["安全"], ["E1", "E2"], "reviewer", record)
        db.commit()
        db.refresh(item)
        assert (item.current_version, item.status) == (version, ItemStatus.active)
        assert service.item_labels(db, [item.id])[item.id] == (["安全"], ["E1", "E2"])
        (action, _kind, entity, data), = record.entries
        assert (action, entity, data["enemy_sets"], data["previous_enemy_sets"]) == (
            "item.labels_changed", item.id, ["E1", "E2"], [])
        service.set_labels(db, item.id, ["安全"], ["E2", "E1"], "reviewer", record)  # same set: no entry
        assert len(record.entries) == 1

    def test_source_is_versioned_and_shows_in_the_diff(self, db, demo):
        from itembank.diff import version_diff

        item = _make(db, "出处会改的题", source="旧教材")
        version = service.current_version(db, item)
        draft = service.ItemDraft(occupation_id=item.occupation_id, level=item.level.value, item_type="single",
                                  appraisal_point_id=item.appraisal_point_id, stem=version.stem,
                                  options=version.options, key=version.key, source="新教材 第 3 章")
        new = service.edit_item(db, item.id, draft, "examiner", Recorder())
        db.commit()
        changes = {c.field: (c.old, c.new) for c in version_diff(version, new)}
        assert changes == {"source": ("旧教材", "新教材 第 3 章")}


class TestFiltersAndEnemyGroups:
    def test_list_filters_by_tag_enemy_set_and_source(self, db, demo):
        a = _make(db, "甲题", source="命题会 2024", tags=["安全"], enemy_sets=["E1"])
        b = _make(db, "乙题", source="教材", tags=["安全", "计算"], enemy_sets=["E1", "E2"])
        c = _make(db, "丙题", tags=["计算"], enemy_sets=["E2"])
        db.commit()

        def ids(**flt):
            return [item.id for item, _v, _p in service.list_items(db, service.ItemFilter(**flt)).rows]

        assert ids(tag="安全") == [a.id, b.id]
        assert ids(tag="计算") == [b.id, c.id]
        assert ids(enemy_set="E2") == [b.id, c.id]
        assert ids(source="2024") == [a.id]
        assert ids(tag="安全", enemy_set="E2") == [b.id]
        assert service.enemy_partners(db, b.id) == [a.id, c.id]
        assert service.tag_names(db) == ["安全", "计算"] and service.enemy_set_names(db) == ["E1", "E2"]

    def test_enemy_groups_among_chosen_items(self, db, demo):
        a = _make(db, "一", enemy_sets=["E1"])
        b = _make(db, "二", enemy_sets=["E1", "E2"])
        c = _make(db, "三", enemy_sets=["E2"])
        d = _make(db, "四", enemy_sets=["E3"])
        db.commit()
        assert service.enemy_groups(db, [a.id, b.id, c.id, d.id]) == [[a.id, b.id], [b.id, c.id]]
        # a set with only one chosen member constrains nothing
        assert service.enemy_groups(db, [a.id, c.id, d.id]) == []
        assert service.enemy_groups(db, []) == []

    def test_assembly_honours_the_enemy_groups(self, db, demo):
        """The two most informative items are enemies: a form without the groups takes both,
        a form with them takes exactly one."""
        made = [_make(db, f"装配题{n}", enemy_sets=["同源"] if n < 2 else []) for n in range(6)]
        db.commit()
        ids = [str(item.id) for item in made]
        slopes = [2.5, 2.4, 1.0, 0.9, 0.8, 0.7]
        params = ItemBank.from_items([ItemParams(id=i, model="2pl", a=s, d=(0.0,)) for i, s in zip(ids, slopes,
                                                                                                  strict=True)])
        groups = [[str(x) for x in group] for group in service.enemy_groups(db, [item.id for item in made])]
        free = assemble_forms(params, Blueprint(length=3), AssemblyOptions(n_forms=1))
        bound = assemble_forms(params, Blueprint(length=3, enemies=tuple(tuple(g) for g in groups)),
                               AssemblyOptions(n_forms=1))
        assert {ids[0], ids[1]} <= set(free.forms[0])
        assert len({ids[0], ids[1]} & set(bound.forms[0])) == 1


class TestInterchange:
    def _labelled(self, db):
        items = [_make(db, "导出甲", source="命题会 2024（第二批）", tags=["安全", "接地"], enemy_sets=["E-地"]),
                 _make(db, "导出乙", source="", tags=[], enemy_sets=["E-地", "E-电"])]
        db.commit()
        return items

    @staticmethod
    def _metadata(parsed) -> tuple:
        return (parsed.source, parsed.tags, parsed.enemy_sets)

    def test_qti_package_carries_metadata_and_reimports_it_identically(self, db, demo):
        made = self._labelled(db)
        rows = [row for row in bank.bank_items(db, OCCUPATION) if row[0].id in {i.id for i in made}]
        data = package.write_package([package.Exported(p.identifier, p) for _i, _v, p in rows], "admin",
                                     datetime(2026, 1, 1, tzinfo=UTC))
        read = package.read_package(data)
        assert [self._metadata(p) for p in read.items] == [self._metadata(p) for _i, _v, p in rows]
        assert self._metadata(read.items[0]) == ("命题会 2024（第二批）", ["安全", "接地"], ["E-地"])
        report = bank.import_items(db, read, "examiner", Recorder())
        db.commit()
        assert report.ok
        copies = bank.bank_items(db, OCCUPATION)
        by_id = {i.id: p for i, _v, p in copies}
        assert [self._metadata(by_id[n]) for n in report.created] == [self._metadata(p) for _i, _v, p in rows]
        # the copies form their own enemy pair through the shared set names
        assert service.enemy_groups(db, report.created) == [sorted(report.created)]

    @pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
    def test_sheet_export_has_chinese_headers_and_reimports_metadata(self, db, demo, suffix):
        made = self._labelled(db)
        rows = [p for i, _v, p in bank.bank_items(db, OCCUPATION) if i.id in {m.id for m in made}]
        data = xlsx.write_sheet(rows, suffix)
        header = xlsx.read_rows(data, suffix)[0]
        assert header[-3:] == ["出处", "标签", "敌对组"]
        read = xlsx.read_sheet(data, suffix)
        assert read.problems == []
        assert [self._metadata(p) for p in read.items] == [self._metadata(p) for p in rows]

    def test_english_aliases_and_separators_read(self):
        data = ("id,occupation,level,point,type,stem,option_A,option_B,key,source,tags,enemy_sets\n"
                f"Q1,{OCCUPATION},4,A-B-001,single,题干,甲,乙,A,教材 第1章,安全；计算,E1|E2\n").encode()
        (item,) = xlsx.read_sheet(data, ".csv").items
        assert (item.source, item.tags, item.enemy_sets) == ("教材 第1章", ["安全", "计算"], ["E1", "E2"])

    def test_a_bad_metadata_cell_rejects_the_file_naming_row_and_column(self, db, demo):
        data = ("id,occupation,level,point,type,stem,option_A,option_B,option_C,option_D,key,tags\n"
                f"Q1,{OCCUPATION},4,A-B-001,single,题干一,甲,乙,丙,丁,A,安全\n"
                f"Q2,{OCCUPATION},4,A-B-001,single,题干二,甲,乙,丙,丁,A,{'长' * 61}\n").encode()
        before = len(db.exec(select(Item)).all())
        report = bank.import_items(db, xlsx.read_sheet(data, ".csv"), "examiner", Recorder(),
                                   column_of=xlsx.FIELD_COLUMNS)
        assert [str(line) for line in report.lines] == [
            "rejected Q2: 标签 (tags): a name is longer than 60 characters"]
        assert len(db.exec(select(Item)).all()) == before
