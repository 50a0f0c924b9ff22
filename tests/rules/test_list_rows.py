"""Decision-table rows between the list editor's widgets and list rows: the demo pack's rows survive the round
trip unchanged, an hour range across midnight writes not_between, and each problem names its row and field."""
from __future__ import annotations

from datetime import date

import pytest

from rules.document import Catalog
from rules.lists import expand_row
from rules.list_rows import blank_row, check_rows, from_editor, to_editor
from rules.packs import load_pack

CATALOG = Catalog(categories={"06029", "09006", "08001"}, units={"ZD-DC"}, unit_types={"squad", "subdistrict"},
                  templates={"zt-clearance"}, timelines={"zt-ladder"})


def editor_row(**changes) -> dict:
    row = blank_row("ZT9")
    row.update(title_zh="夜间烧烤", title_en="Barbecue at night", categories=["06029"], template="zt-clearance")
    row.update(changes)
    return row


def test_the_demo_lists_survive_the_round_trip_through_the_widgets():
    pack = load_pack("demo")
    for spec in pack["lists"]:
        for stored in spec["rows"]:
            row, _, problems = from_editor(0, to_editor(stored))
            assert problems == []
            assert row["conditions"] == stored.get("conditions", [])
            assert (row["categories"], row["assign"], row["template"], row["timeline"], row["points"]) == (
                stored["categories"], stored["assign"], stored["template"], stored.get("timeline"), stored["points"])


@pytest.mark.parametrize("start, end, condition", [
    (22, 5, {"fact": "local_hour", "op": "not_between", "value": [6, 21]}),
    (8, 17, {"fact": "local_hour", "op": "between", "value": [8, 17]}),
    (0, 5, {"fact": "local_hour", "op": "between", "value": [0, 5]}),
    (20, 0, {"fact": "local_hour", "op": "not_between", "value": [1, 19]})])
def test_an_hour_range_becomes_a_local_hour_condition_and_reads_back(start, end, condition):
    row, sources, problems = from_editor(0, editor_row(hour_from=start, hour_to=end))
    assert problems == [] and row["conditions"] == [condition] and sources == ["hours"]
    back = to_editor(row)
    assert (back["hour_from"], back["hour_to"], back["conditions"]) == (start, end, [])


def test_each_widget_writes_its_fact_and_unknown_conditions_are_kept():
    kept = {"fact": "repeats_7d", "op": "gte", "value": 2}
    row, sources, problems = from_editor(0, editor_row(
        weekend="yes", inspection="no", source_types=["camera"], zone_kind="grid", zone_values=["DC-01"],
        conditions=[kept], assign_kind="unit_type", assign_value="squad", limit_value="2", limit_unit="urgent_hours",
        points="1.5", effective_from="2026-12-01"))
    assert problems == []
    assert row["conditions"] == [{"fact": "is_weekend", "op": "eq", "value": True},
                                 {"fact": "in_inspection_window", "op": "eq", "value": False},
                                 {"fact": "source_type", "op": "in", "value": ["camera"]},
                                 {"fact": "grid", "op": "in", "value": ["DC-01"]}, kept]
    assert sources == ["weekend", "inspection", "source_types", "zone", "conditions"]
    assert (row["assign"], row["limit"], row["points"], row["effective_from"]) == (
        "unit_type:squad", {"value": 2, "unit": "urgent_hours"}, 1.5, "2026-12-01")
    assert to_editor(row)["conditions"] == [kept]


def test_problems_name_row_and_field_in_both_languages():
    rows = [editor_row(),
            editor_row(key="ZT9"),
            editor_row(key="ZT10", categories=["06029", "ZZ1"], timeline="nope", hour_from=3),
            editor_row(key="bad key", title_en="", limit_value=0, limit_unit="urgent_hours",
                       effective_from="2026-12-02", effective_to="2026-12-01"),
            editor_row(key="ZT12", conditions=[{"fact": "local_hour", "op": "between", "value": [22, 6]}],
                       assign_kind="unit", assign_value="")]
    _, problems = check_rows("zero_tolerance", rows, CATALOG, date(2026, 12, 1))
    found = {(p.row, p.where): p for p in problems}
    assert set(found) == {(1, "key"), (2, "categories"), (2, "timeline"), (2, "hours"), (3, "key"),
                          (3, "limit"), (3, "effective_to"), (4, "conditions"), (4, "assign")}  # English optional
    assert found[(1, "key")].as_dict("en")["message"] == "the key ZT9 is already used by row 1"
    assert found[(1, "key")].as_dict("zh")["message"] == "键 ZT9 已被第 1 行使用"
    assert "ZZ1" in found[(2, "categories")].en and "未知的问题类别" in found[(2, "categories")].zh
    assert "未知的时限流程" in found[(2, "timeline")].zh


def test_an_empty_key_is_the_lists_next_and_an_empty_english_title_is_the_chinese_one():
    rows, problems = check_rows("strict_management", [editor_row(key="SM7"), editor_row(key="", title_en=""),
                                                      editor_row(key=" ", categories=["09006"])], CATALOG)
    assert problems == [] and [r["key"] for r in rows] == ["SM7", "SM8", "SM9"]
    assert rows[1]["title"]["en"] == "" and expand_row("strict_management", rows[1])["title"]["en"] == rows[1]["title"]["zh"]


def test_valid_rows_have_no_problems():
    rows, problems = check_rows("strict_management", [editor_row(key="SM1"), editor_row(key="SM2", categories=["09006"])],
                                CATALOG)
    assert problems == [] and [r["key"] for r in rows] == ["SM1", "SM2"]


@pytest.mark.parametrize("value", ["inf", "nan", "1e9", "367"])
def test_a_row_limit_the_calendar_cannot_count_is_refused_at_the_limit(value):
    _, problems = check_rows("zero_tolerance", [editor_row(limit_value=value, limit_unit="urgent_days")], CATALOG,
                             date(2026, 12, 1))
    assert [(p.row, p.where) for p in problems] == [(0, "limit")]
    assert problems[0].en and problems[0].zh.startswith("时限")
