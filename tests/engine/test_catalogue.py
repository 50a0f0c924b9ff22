"""The catalogue: the shipped GB/T 47678.5-2026 matters and components, the demo loading it, and a city's own
立案/处置/结案 standard imported from a file shaped like a real one (title rows, merged cells, numeric codes,
limits as officials write them), with bad rows named and a second import changing nothing."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from engine.authoring.catalogue import check_catalogue, import_catalogue, load_catalogue
from engine.core.models import Category, FilingCondition
from rules.limits import LIMIT_MAX, LIMIT_UNITS
from rules.packs import load_pack
from rules.problems import InputError
from tests.helpers import bearer, event

HEADER = ["大类代码", "大类名称", "小类代码", "小类名称", "处置单位", "主管部门", "立案条件", "结案条件", "处置时限"]
CLASSES = [(6, "市容环境类"), (7, "宣传广告类"), (8, "施工管理类"), (9, "街面秩序类")]
#: Limits as officials write them, and what they are in our units (小时 and 天 count working time).
PARSED = {"2小时": (2, "working_hours"), "4工作时": (4, "working_hours"), "2紧急工作时": (2, "urgent_hours"),
          "1紧急工作日": (1, "urgent_days"), "3天": (3, "working_days"), "15天": (15, "working_days"),
          "2工作日": (2, "working_days")}
SPELLINGS = list(PARSED)
FIRST_ROW = 4  # two title rows and the header above the data
#: Where the generated standard puts its faults: (class, subclass index, condition index) → what is wrong.
UNREADABLE_LIMIT = (7, 3, 2)
NO_CONDITION = (6, 10, 3)
REPEATED_CONDITION = (6, 11, 4)
NO_CODE = (9, 7, 4)  # the 4th row names a subclass but leaves its code empty


def _code(klass: int, index: int) -> int:
    """Codes as Excel stores them, numbers: 6029 is 06029. The first subclass of class 06 is the demo's barbecue."""
    return 6029 if (klass, index) == (6, 1) else klass * 1000 + 100 + index


def standard_workbook() -> tuple[bytes, dict]:
    """A 400-row standard with merged class, subclass and handler cells, and what a correct reading finds."""
    book = Workbook()
    sheet = book.active
    sheet.title = "事件"
    sheet.append(["某市城市综合管理服务立案、处置和结案标准（事件）"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    sheet.append(["", "", "", "", "", "", "", "", "2026年版"])
    sheet.append(HEADER)
    expected: dict = {"rows": {}, "bad": {}}
    row = FIRST_ROW
    for klass, class_name in CLASSES:
        class_top = row
        for index in range(1, 26):
            code = _code(klass, index)
            name = "露天烧烤" if code == 6029 else f"测试小类{code}"
            top = row
            for cond in range(1, 5):
                text = "露天烧烤或提供场地" if code == 6029 and cond == 1 else f"条件{cond}·{code}"
                if (klass, index, cond) == REPEATED_CONDITION:
                    text = f"条件1·{code}"
                if (klass, index, cond) == NO_CONDITION:
                    text = None
                limit = "尽快处理" if (klass, index, cond) == UNREADABLE_LIMIT else SPELLINGS[row % len(SPELLINGS)]
                if code == 6029 and cond == 1:
                    limit = "2紧急工作时"  # as the demo's barbecue has it
                closing = "已制止，烧烤设施已清理" if code == 6029 and cond == 1 else f"已整改{cond}"
                values = [klass, class_name, code, name, f"处置单位{code}", "城市管理局", text, closing, limit]
                if (klass, index, cond) == NO_CODE:
                    values[2], values[3] = None, "无代码的小类"
                sheet.append(values)
                fault = {UNREADABLE_LIMIT: "limit", NO_CONDITION: "condition", REPEATED_CONDITION: "condition",
                         NO_CODE: "code"}.get((klass, index, cond))
                if fault:
                    expected["bad"][row] = fault
                else:
                    expected["rows"][row] = (f"{code:05d}", text, limit)
                row += 1
            last = row - 1 - ((klass, index) == NO_CODE[:2])  # the row without a code is outside the merge
            for column in (3, 5) if klass == 8 else (3, 4, 5):  # class 08 repeats its names, merges its codes
                sheet.merge_cells(start_row=top, start_column=column, end_row=last, end_column=column)
        for column in (1, 2):
            sheet.merge_cells(start_row=class_top, start_column=column, end_row=row - 1, end_column=column)
    assert row - FIRST_ROW == 400
    data = io.BytesIO()
    book.save(data)
    return data.getvalue(), expected


@pytest.fixture()
def standard(tmp_path) -> tuple[Path, dict]:
    content, expected = standard_workbook()
    path = tmp_path / "某市立案处置结案标准.xlsx"
    path.write_bytes(content)
    return path, expected


def _snapshot(session) -> dict:
    session.expire_all()
    categories = session.scalars(select(Category).options(selectinload(Category.conditions),
                                                          selectinload(Category.parent)))
    return {c.code: (c.name_zh, c.parent.code if c.parent else None, c.kind, c.source, c.standard_ref,
                     c.default_condition, sorted((f.code, f.name_zh, f.limit_value, f.limit_unit, f.closing_zh,
                                                  f.handler, f.source) for f in c.conditions))
            for c in categories}


def test_a_400_row_standard_is_imported_row_by_row_and_its_bad_rows_named(session, standard):
    path, expected = standard
    before = _snapshot(session)
    report = import_catalogue(session, path)
    assert report.source == "某市立案处置结案标准.xlsx" and report.sheets == ["事件"]
    assert {(p.row, p.problem.where) for p in report.problems} == set(expected["bad"].items())
    assert report.bad_rows == sorted(("事件", r) for r in expected["bad"])
    unreadable = next(p.problem for p in report.problems if p.problem.where == "limit")
    assert "尽快处理" in unreadable.zh and "无法识别的处置时限" in unreadable.zh and "unreadable limit" in unreadable.en
    no_code = next(p for p in report.problems if p.problem.where == "code")
    assert no_code.problem.zh == "缺少小类代码"

    # 100 subclasses: the demo's barbecue existed, 99 are new; every good row is one filing condition.
    assert (report.categories_created, report.categories_updated) == (99, 1)
    assert (report.conditions_created, report.conditions_updated, report.conditions_unchanged) == (395, 1, 0)
    after = _snapshot(session)
    new = set(after) - set(before)
    assert len(new) == 99 and all(len(code) == 5 and code.isdigit() for code in new)  # 6101 → 06101
    assert sum(len(after[c][6]) for c in new) + len(after["06029"][6]) - len(before["06029"][6]) == 395

    # Merged cells: the class over 100 rows, the subclass and its handler over its 4 rows.
    session.expire_all()
    stored = {(f.category.code, f.name_zh): f for f in session.scalars(
        select(FilingCondition).options(selectinload(FilingCondition.category).selectinload(Category.parent)))}
    for row, (code, text, limit) in expected["rows"].items():
        condition = stored[(code, text)]
        assert condition.category.parent.code == code[:2] and condition.handler == f"处置单位{int(code)}", row
        assert condition.source == path.name
    last_of_class_9 = stored[("09125", "条件4·9125")]
    assert last_of_class_9.category.name_zh == "测试小类9125" and last_of_class_9.category.kind == "matter"
    assert last_of_class_9.category.source == path.name

    # Limits as officials write them, in our units.
    for code, text, limit in expected["rows"].values():
        assert (stored[(code, text)].limit_value, stored[(code, text)].limit_unit) == PARSED[limit], (code, text)

    # The demo lists' barbecue keeps its code, name, condition and limit; the standard adds its own conditions.
    barbecue = session.scalar(select(Category).where(Category.code == "06029"))
    default = next(c for c in barbecue.conditions if c.code == "default")
    assert (barbecue.name_zh, barbecue.default_condition, barbecue.source) == ("露天烧烤", "default", "GB/T 47678.5-2026")
    assert (default.name_zh, default.limit_value, default.limit_unit) == ("露天烧烤或提供场地", 2, "urgent_hours")
    assert default.handler == "处置单位6029"
    assert sorted(c.code for c in barbecue.conditions if c.code != "default") == ["1", "2", "3"]


def test_importing_the_same_standard_again_changes_nothing(session, standard):
    path, _ = standard
    import_catalogue(session, path)
    once = _snapshot(session)
    again = import_catalogue(session, path)
    assert (again.categories_created, again.categories_updated, again.categories_unchanged) == (0, 0, 100)
    assert (again.conditions_created, again.conditions_updated, again.conditions_unchanged) == (0, 0, 396)
    assert _snapshot(session) == once


def test_an_older_2_plus_2_standard_in_csv_is_mapped_onto_the_national_codes(session, tmp_path):
    """Yuncheng's shape: a title row, codes as text per class ("01" + "01"), blank cells continuing the subclass
    above, GB18030 text. A class the national scheme knows is mapped; an unknown old class stays local."""
    csv = ("运城市城市综合管理服务立案、处置和结案标准（部件）,,,,,,,\n"
           "大类代码,大类名称,小类代码,小类名称,立案条件,处置时限,结案条件,责任主体\n"
           "01,公用设施,01,上水井盖,缺失、移位、开裂，存在安全隐患的,2紧急工作时,恢复,节约用水中心\n"
           ",,,,破损超过25c㎡,4工作时,更换或修复,\n"
           ",,,,弹跳产生声响，翻盖明显影响安全,2工作日,更换或修复,\n"
           ",,37,路灯,倾斜、倒地、折断,1工作日,更换、修复或拆除,市政公用服务中心\n"
           ",,,,单盏不亮,两个工作日,更换或修复,\n"
           "05,房屋土地,02,危房,墙体开裂,1紧急工作日,已加固,房管中心\n")
    path = tmp_path / "部件标准.csv"
    path.write_bytes(csv.encode("gb18030"))
    report = import_catalogue(session, path)
    assert report.problems == [] and report.mapped == 6
    session.expire_all()
    cover = session.scalar(select(Category).where(Category.code == "01001"))
    assert (cover.name_zh, cover.standard_ref, cover.kind) == ("供水井盖", "0101", "component")  # the national name stays
    added = {c.name_zh: (c.limit_value, c.limit_unit, c.handler) for c in cover.conditions if c.source == path.name}
    assert added == {"缺失、移位、开裂，存在安全隐患的": (2, "urgent_hours", "节约用水中心"),
                     "破损超过25c㎡": (4, "working_hours", "节约用水中心"),
                     "弹跳产生声响，翻盖明显影响安全": (2, "working_days", "节约用水中心")}
    lamp = session.scalar(select(Category).where(Category.code == "01037"))
    assert lamp.standard_ref == "0137"
    assert {c.name_zh: (c.limit_value, c.limit_unit) for c in lamp.conditions if c.source == path.name} == {
        "倾斜、倒地、折断": (1, "working_days"), "单盏不亮": (2, "working_days")}
    local = session.scalar(select(Category).where(Category.code == "LC0502"))
    assert (local.name_zh, local.parent.code, local.parent.name_zh, local.kind, local.standard_ref) == (
        "危房", "LC05", "房屋土地", "component", "0502")


def test_a_file_without_a_header_row_is_refused_and_writes_nothing(session, tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("名称,说明\n井盖,缺失\n", encoding="utf-8")
    before = _snapshot(session)
    with pytest.raises(InputError) as refused:
        import_catalogue(session, path)
    assert "小类代码" in refused.value.problems[0].zh and refused.value.problems[0].where == "file"
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    with pytest.raises(InputError):
        import_catalogue(session, broken)
    assert _snapshot(session) == before


# --- the shipped catalogue ------------------------------------------------------------------------------

def test_the_shipped_catalogue_loads_cleanly():
    catalogue = load_catalogue()
    entries = catalogue["categories"]
    assert check_catalogue(catalogue) == []
    codes = [e["code"] for e in entries]
    assert len(codes) == len(set(codes))
    assert all(e.get("parent") in set(codes) for e in entries if e.get("parent"))
    for entry in entries:
        assert entry["zh"] and entry["en"] and entry["zh"] != entry["en"], entry["code"]
        for condition in entry.get("conditions", []):
            assert condition["limit"]["unit"] in LIMIT_UNITS
            assert 0 < condition["limit"]["value"] <= LIMIT_MAX[condition["limit"]["unit"]]
            assert condition["closing_zh"] and condition["closing_en"] and condition["source"]
    national = [e for e in entries if e["source"] == "GB/T 47678.5-2026" and e.get("parent")]
    assert sum(e["kind"] == "component" for e in national) == 153
    assert sum(e["kind"] == "matter" for e in national) == 97  # 06: 51, 07: 7, 08: 16, 09: 21, 10: 2
    local = [e for e in entries if e["source"] == "local" and e.get("parent")]
    assert local and all(e["code"].startswith("L") and e["parent"] == "LX" and e["duty"] for e in local)
    named = {e["code"]: e["zh"] for e in entries}
    assert (named["08003"], named["06045"], named["06004"]) == ("无证掘路", "非法占绿毁绿", "建筑物外立面污损")
    with_conditions = [e for e in entries if e.get("conditions")]
    assert len([e for e in with_conditions if e["kind"] == "matter"]) >= 45


def test_every_demo_category_is_in_the_catalogue_with_the_same_conditions_and_limits():
    catalogue = {e["code"]: e for e in load_catalogue()["categories"]}
    for spec in load_pack("demo")["categories"]:
        entry = catalogue[spec["code"]]
        assert entry.get("parent") == spec.get("parent") and entry.get("default_condition") == spec.get(
            "default_condition"), spec["code"]
        shipped = {c["code"]: (c["zh"], c["en"], c["limit"]) for c in entry.get("conditions", [])}
        for condition in spec.get("conditions", []):
            assert shipped[condition["code"]] == (condition["zh"], condition["en"], condition["limit"]), spec["code"]


def test_the_demo_loads_the_catalogue(session):
    stored = _snapshot(session)
    assert len([c for c in stored.values() if c[2] == "component" and c[1]]) >= 153
    for code in ("08003", "06045", "06004", "01001", "L0001", "L0005"):
        assert stored[code][6], code  # fileable: at least one filing condition
    assert stored["06045"][0] == "非法占绿毁绿" and stored["06045"][3] == "GB/T 47678.5-2026"
    assert stored["L0003"][1:4] == ("LX", "matter", "local")


@pytest.mark.parametrize("code", ["08003", "06045", "06004"])
def test_the_seed_duties_other_matters_are_accepted_at_intake(client, intake_token, code):
    response = client.post("/api/v1/events", json=event(code), headers=bearer(intake_token))
    assert response.status_code == 202, response.get_json()


def test_an_unknown_category_is_still_refused(client, intake_token):
    response = client.post("/api/v1/events", json=event("99998"), headers={**bearer(intake_token),
                                                                             "Accept-Language": "zh-CN"})
    assert response.status_code == 422
    assert any(e["field"] == "category" and "未知的问题类别" in e["message"] for e in response.get_json()["errors"])


def test_public_service_ads_with_wording_errors_or_soiled_or_hidden_can_be_filed_as_such(client, intake_token):
    """Seed 003: 公益广告错字、缺字、歧义、断句和褪色、污损、遮挡: each has a filing condition of 07008 with its limit."""
    for condition in ("wording", "soiled_or_hidden"):
        response = client.post("/api/v1/events", json=event("07008", filing_condition=condition),
                               headers=bearer(intake_token))
        assert response.status_code == 202, (condition, response.get_json())
    categories = client.get("/api/v1/categories", headers=bearer(intake_token)).get_json()["categories"]
    ads = next(c for c in categories if c["code"] == "07008")
    assert {f["name"]["zh"]: f["limit"] for f in ads["filing_conditions"]} == {
        "褪色、破损或设置未达创城标准": {"value": 5.0, "unit": "working_days"},
        "错字、缺字、歧义、断句": {"value": 3.0, "unit": "working_days"},
        "污损、遮挡": {"value": 1.0, "unit": "working_days"}}
    assert all(f["name"]["en"] for f in ads["filing_conditions"])
