"""Scenarios from the command line and as XLSX: `scenarios run` exits non-zero on failure, an export
imports back to the same results, and a bad row is named by row and column with nothing stored."""
from __future__ import annotations

import json

from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.cli import main
from engine.authoring import scenario_files, scenarios
from engine.authoring.campaigns import campaign_for
from engine.core.models import Scenario
from tests.engine.test_scenarios import ZT4

QUIET = {**ZT4, "title": "白天占道经营：不派夜巡", "expected": {"not_fire": ["night-street-order"], "stage": "file"}}


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(Scenario))


def test_an_export_imports_back_to_the_same_results(session, demo, tmp_path):
    campaign = campaign_for(session, demo["campaign"])
    for data in (ZT4, QUIET, {**ZT4, "title": "带历史与地点事实", "history": {"repeats_7d": 2, "days_since_closed": 5},
                              "event": {**ZT4["event"], "facts": {"in_zone": ["strict_street"]}}},
                 {**ZT4, "title": "=HYPERLINK(\"http://x\")"}):  # kept as text in the file, read back as written
        scenarios.save(session, campaign, data)
    before = [(o.title, o.passed, o.actual) for o in scenarios.run(session, campaign, "active")]
    path = tmp_path / "scenarios.xlsx"
    path.write_bytes(scenario_files.export(session, campaign))
    headers = [c.value for c in next(load_workbook(path).active.iter_rows(max_row=1))]
    assert headers[:3] == ["标题", "标签", "问题类别"]
    titles = {c.value for c in load_workbook(path).active["A"]}
    assert "'=HYPERLINK(\"http://x\")" in titles and not any(str(t).startswith("=") for t in titles)
    stored = {s.title: scenarios.as_data(s) for s in scenarios.of_campaign(session, campaign)}
    for scenario in scenarios.of_campaign(session, campaign):
        session.delete(scenario)
    session.flush()
    assert scenario_files.import_file(session, campaign, path) == len(stored)
    assert {s.title: scenarios.as_data(s) for s in scenarios.of_campaign(session, campaign)} == stored
    assert [(o.title, o.passed, o.actual) for o in scenarios.run(session, campaign, "active")] == before


def test_a_bad_row_is_named_by_row_and_column_and_nothing_is_stored(session, demo, tmp_path):
    campaign = campaign_for(session, demo["campaign"])
    book = Workbook()
    sheet = book.active
    sheet.append(list(h[0] for h in scenario_files.COLUMNS.values()))
    good = scenario_files.row_of(scenarios.clean(ZT4, campaign, scenarios.Lookups.load(session, campaign)))
    sheet.append(good)
    late = list(good)
    late[0], late[6] = "时间写错", "5月12日 晚上"
    sheet.append(late)
    unknown = list(good)
    unknown[0], unknown[2], unknown[11] = "类别与单位不存在", "99999", "NO-UNIT | zero_tolerance"
    sheet.append(unknown)
    path = tmp_path / "bad.xlsx"
    book.save(path)
    before = _count(session)
    result = CliRunner().invoke(main, ["scenarios", "import", str(path), "--campaign", demo["campaign"]])
    assert result.exit_code != 0 and "nothing imported" in result.output
    assert "row 3 (第 3 行), 发生时间（当地）" in result.output and "当地时间格式" in result.output
    assert "row 4 (第 4 行), 问题类别: unknown category '99999'" in result.output
    assert "row 4 (第 4 行), 预期任务: unknown unit 'NO-UNIT'" in result.output
    assert _count(session) == before


def test_scenarios_run_prints_json_and_exits_non_zero_on_failure(session, demo):
    campaign = campaign_for(session, demo["campaign"])
    scenarios.save(session, campaign, ZT4)
    session.commit()
    ok = CliRunner().invoke(main, ["scenarios", "run", "--campaign", demo["campaign"], "--ruleset", "active",
                                   "--format", "json"])
    lines = [json.loads(line) for line in ok.output.splitlines() if line.startswith("{")]
    assert ok.exit_code == 0, ok.output
    assert {"title": ZT4["title"], "passed": True}.items() <= next(x for x in lines if x["title"] == ZT4["title"]).items()
    scenarios.save(session, campaign, {**ZT4, "title": "错的", "expected": {"fire": ["night-street-order"]}})
    session.commit()
    bad = CliRunner().invoke(main, ["scenarios", "run", "--campaign", demo["campaign"], "--ruleset", "active"])
    assert bad.exit_code == 1 and "FAIL 未通过  错的" in bad.output and "规则 night-street-order 应触发但未触发" in bad.output


def test_rules_publish_refuses_a_draft_that_fails_its_scenarios_in_both_languages(session, demo):
    from engine.core.models import ListItem, RuleList, RulesetVersion

    campaign = campaign_for(session, demo["campaign"])
    row = session.scalar(select(ListItem).join(RuleList).where(RuleList.campaign_id == campaign.id,
                                                               ListItem.key == "SM8"))
    row.assign = "unit_type:squad"
    session.commit()
    before = session.scalar(select(func.count()).select_from(RulesetVersion))
    refused = CliRunner().invoke(main, ["rules", "publish", "--campaign", demo["campaign"], "--comment", "SM8"])
    assert refused.exit_code != 0 and "scenarios fail on the draft" in refused.output
    assert "scenario: SM8 临街屠宰: an unexpected strict_management task for ZD-" in refused.output
    assert "预期之外的 strict_management 任务（来自 strict_management.sm8）" in refused.output
    assert session.scalar(select(func.count()).select_from(RulesetVersion)) == before
