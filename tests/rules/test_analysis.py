"""List analysis on hand-made decision-table rows: overlaps and rows that can never match."""
from datetime import date

from rules.analysis import analyse

TODAY = date(2026, 11, 22)


def row(key, categories, conditions=(), **extra):
    return {"key": key, "categories": list(categories), "conditions": list(conditions), "enabled": True, **extra}


def kinds(result):
    return [f.kind for f in result.findings]


def test_a_row_covered_by_an_earlier_row_with_the_same_conditions_overlaps():
    rows = [row("r1", ["06011", "06029"]), row("r2", ["06029"])]
    first, second = analyse(rows, TODAY)
    assert kinds(first) == []
    assert kinds(second) == ["overlap"]
    assert second.findings[0].other == 0
    assert "r1" in second.findings[0].en and "r1" in second.findings[0].zh


def test_sharing_some_categories_is_a_partial_overlap_naming_them():
    _, second = analyse([row("r1", ["06011", "06029"]), row("r2", ["06029", "09006"])], TODAY)
    assert kinds(second) == ["partial_overlap"]
    assert "06029" in second.findings[0].en and "09006" not in second.findings[0].en


def test_different_conditions_or_a_disabled_earlier_row_do_not_overlap():
    night = [{"fact": "local_hour", "op": "between", "value": [0, 6]}]
    rows = [row("r1", ["06011"], night), row("r2", ["06011"]),
            row("r3", ["09006"], enabled=False), row("r4", ["09006"])]
    results = analyse(rows, TODAY)
    assert kinds(results[1]) == [] and kinds(results[3]) == []
    assert kinds(results[2]) == ["never_matches"]


def test_rows_that_can_never_match_say_why_in_both_languages():
    rows = [row("empty", []),
            row("expired", ["06011"], effective_to="2026-11-21"),
            row("reversed", ["06011"], effective_from="2026-12-01", effective_to="2026-11-30"),
            row("hours", ["06011"], [{"fact": "local_hour", "op": "between", "value": [22, 6]}]),
            row("both", ["06011"], [{"fact": "local_hour", "op": "gte", "value": 22},
                                    {"fact": "local_hour", "op": "lt", "value": 6}]),
            row("flag", ["06011"], [{"fact": "in_inspection_window", "op": "eq", "value": True},
                                    {"fact": "in_inspection_window", "op": "eq", "value": False}])]
    results = analyse(rows, TODAY)
    assert all(kinds(r) == ["never_matches"] for r in results), [kinds(r) for r in results]
    assert "no category" in results[0].findings[0].en and "类别" in results[0].findings[0].zh
    assert "2026-11-21" in results[1].findings[0].zh
    assert "after" in results[2].findings[0].en
    assert "local hour" in results[3].findings[0].en and "矛盾" in results[3].findings[0].zh


def test_a_row_valid_until_today_and_a_real_night_range_still_match():
    night = [{"fact": "local_hour", "op": "not_between", "value": [6, 21]}]
    results = analyse([row("r1", ["06011"], night, effective_from="2026-01-01", effective_to="2026-11-22")], TODAY)
    assert kinds(results[0]) == []


def test_a_never_matching_row_hides_nothing_after_it():
    _, second = analyse([row("r1", ["06011"], effective_to="2025-01-01"), row("r2", ["06011"])], TODAY)
    assert kinds(second) == []


def test_findings_serialise_in_the_users_language():
    _, second = analyse([row("r1", ["06011"]), row("r2", ["06011"])], TODAY)
    assert second.findings[0].as_dict("zh_Hans_CN")["message"] == "所有类别已被第 r1 行覆盖"
    assert second.findings[0].as_dict("en")["kind"] == "overlap"


def test_a_row_outside_its_effective_window_expands_disabled():
    from rules.lists import expand_row
    base = {"key": "r1", "title": {"zh": "甲", "en": "A"}, "categories": ["06011"], "template": "t", "enabled": True}
    window = {**base, "effective_from": "2026-11-01", "effective_to": "2026-11-22"}
    assert expand_row("zero_tolerance", window, TODAY)["enabled"] is True
    assert expand_row("zero_tolerance", window, date(2026, 11, 23))["enabled"] is False
    assert expand_row("zero_tolerance", window, date(2026, 10, 31))["enabled"] is False
    assert expand_row("zero_tolerance", base, date(2030, 1, 1))["enabled"] is True


def test_malformed_rows_are_left_to_validation_not_a_crash():
    rows = [{"key": "A", "categories": ["06029"], "conditions": [1, "x", None]},
            {"key": "B", "categories": "06029", "conditions": {"fact": "local_hour"}}]
    found = analyse(rows, date(2026, 12, 1))
    assert [r.key for r in found] == ["A", "B"]
    assert [f.kind for f in found[1].findings] == ["never_matches"]  # no category it can read
