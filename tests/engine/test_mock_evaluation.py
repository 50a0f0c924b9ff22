"""Mock and official evaluation (issue 17 point 3) over generated points and checklists: a round's score rates
equal the test's own hand counts per point, type, unit and round, and the trend follows the rounds; a failed item
becomes a mock_evaluation case for the point's unit that costs it the points missed; a score above the item's
maximum and an import naming a missing point are refused in both languages with nothing written; an imported
official deduction is attributed to the point's unit and person and moves the unit down the ranking."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from engine.assessment.indicators import for_period, period_containing
from engine.assessment.ranking import ranking
from engine.authoring.campaigns import campaign_for
from engine.core import clock
from engine.core.models import (Case, Event, EvaluationRound, EvaluationScore, InspectionPoint, OfficialDeduction,
                                Person, Task, Unit)
from engine.core.tables import read_table
from engine.readiness import mock, official
from engine.readiness.checklists import items_for, save_item
from engine.readiness.daily import Answer
from engine.space.points import save_point
from engine.supervision.inspection import Photo
from rules.problems import InputError
from tests.helpers import jpeg, user

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
LATER = datetime(2026, 11, 20, 11, 0, tzinfo=SHANGHAI)  # the indicators count what happened before it
UNITS = (("JD-DC", "DC-002", "DC-01"), ("JD-XC", "XC-002", "XC-02"), ("JD-NC", "NC-002", "NC-03"))
TYPES = ("back_street", "main_road")


def generated(session, n: int = 9) -> list[InspectionPoint]:
    """Checklists of three items (maximum 2, 3, 4) for two types, and n points spread over three units."""
    for kind in TYPES:
        for i in range(3):
            save_item(session, {"type": kind, "code": f"MK-{kind[:2].upper()}-{i}", "text": f"模拟测评检查项 {i}",
                                "max_score": 2 + i, "frequency": "round", "category_code": "06036",
                                "position": 100 + i}, replace=True)
    points = []
    for i in range(n):
        unit, person, grid = UNITS[i % 3]
        points.append(save_point(session, {
            "code": f"MK-{i:02d}", "name": f"生成点位 {i}", "type": TYPES[i % 2], "unit": unit, "person": person,
            "grid": grid, "place": {"type": "Point", "coordinates": [111.0 + i / 1000, 35.02]}}))
    return points


def answers_for(session, point: InspectionPoint, salt: int) -> list[Answer]:
    """Every item of the point's checklist scored by a fixed rule: some full, some short, some zero."""
    return [Answer(item.code, None, (salt + j) % (int(item.max_score) + 1), f"第 {j} 项")
            for j, item in enumerate(items_for(session, point.type_id))]


def counts(session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(m))
                 for m in (EvaluationRound, EvaluationScore, OfficialDeduction, Event, Case))


def test_a_round_gives_score_rates_that_match_hand_counts_and_a_trend(session, tmp_path):
    clock.set_clock(lambda: NOW)
    generated(session)
    campaign = campaign_for(session, None)
    supervisor = user(session, "supervisor")
    first = mock.start_round(session, campaign, supervisor, "第一轮模拟测评", types=TYPES, count=6, seed=7)
    again = mock.sample(list(session.scalars(select(InspectionPoint).join(InspectionPoint.type).where(
        InspectionPoint.active.is_(True), InspectionPoint.type.has(code=TYPES[0]) |
        InspectionPoint.type.has(code=TYPES[1])))), 6, 7)
    assert first.point_ids == [p.id for p in again], "the same seed draws the same sample"
    assert len(first.point_ids) == 6 and first.starts_on.isoformat() == "2026-11-20"
    obtained, maximum = defaultdict(float), defaultdict(float)
    failed = []
    for salt, point in enumerate(mock.points_of(session, first)):
        for answer, item in zip(answers_for(session, point, salt), items_for(session, point.type_id)):
            for key in (("point", point.id), ("type", point.type.code), ("unit", point.unit_id), ("round",)):
                obtained[key] += answer.score
                maximum[key] += item.max_score
            if answer.score < item.max_score:
                failed.append((point, item, item.max_score - answer.score))
        mock.score_point(session, first, point, supervisor, answers_for(session, point, salt), tmp_path, 2 ** 20)
    rates = mock.rates(session, first)
    assert rates.round.rate == pytest.approx(obtained[("round",)] / maximum[("round",)])
    assert {p: t.rate for p, t in rates.points.items()} == pytest.approx(
        {k[1]: obtained[k] / maximum[k] for k in obtained if k[0] == "point"})
    assert {c: t.rate for c, t in rates.types.items()} == pytest.approx(
        {k[1]: obtained[k] / maximum[k] for k in obtained if k[0] == "type"})
    assert {u: t.rate for u, t in rates.units.items()} == pytest.approx(
        {k[1]: obtained[k] / maximum[k] for k in obtained if k[0] == "unit"})
    assert failed and rates.round.failed == len(failed)
    point, item, lost = failed[0]
    score = session.scalar(select(EvaluationScore).where(EvaluationScore.round_id == first.id,
                                                         EvaluationScore.point_id == point.id,
                                                         EvaluationScore.item_id == item.id))
    case = session.get(Case, score.case_id)
    [report] = case.reports
    assert case.lead_unit_id == point.unit_id and report.source_type == "mock_evaluation"
    assert report.points == lost and "模拟测评失分" in report.description
    [task, *departments] = session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.id)).all()
    assert task.unit_id == point.unit_id and [t.unit.code for t in departments] == ["CGJ"], \
        "the department in charge of back streets and main roads (城管局) cooperates on the finding"
    period = period_containing("month", NOW, campaign.timezone)
    indicators = for_period(session, campaign, period, LATER)
    for unit_id in {p.unit_id for p, _, _ in failed}:
        expected = sum(lost for p, _, lost in failed if p.unit_id == unit_id)
        assert float(indicators[unit_id].points_by["inspection"]) == pytest.approx(expected), \
            "a mock evaluation's failed items cost the unit the points missed"
    mock.close_round(session, first)
    second = mock.start_round(session, campaign, supervisor, "第二轮模拟测评",
                              codes=[p.code for p in mock.points_of(session, first)[:2]])
    for point in mock.points_of(session, second):
        full = [Answer(i.code, True) for i in items_for(session, point.type_id)]
        mock.score_point(session, second, point, user(session, "assessor"), full, tmp_path, 2 ** 20)
    trend = mock.trend(session, campaign)
    assert [(r.number, t.rate) for r, t in trend] == [(first.number, pytest.approx(rates.round.rate)),
                                                      (second.number, 1.0)]
    with pytest.raises(InputError) as closed:
        mock.score_point(session, first, point, supervisor, [], tmp_path, 2 ** 20)
    assert closed.value.by_field("zh")["round"] == ["本轮测评已结束"]


def test_a_score_above_the_items_maximum_is_refused_with_nothing_written(session, tmp_path):
    clock.set_clock(lambda: NOW)
    [point, *_] = generated(session, 3)
    campaign = campaign_for(session, None)
    row = mock.start_round(session, campaign, user(session, "assessor"), "抽查", codes=[point.code])
    before = counts(session)
    items = items_for(session, point.type_id)
    answers = [Answer(i.code, True) for i in items[:-1]] + [Answer(items[-1].code, None, items[-1].max_score + 1)]
    with pytest.raises(InputError) as err:
        mock.score_point(session, row, point, user(session, "assessor"), answers, tmp_path, 2 ** 20)
    top = f"{items[-1].max_score:g}"
    assert err.value.by_field("zh") == {f"item-{items[-1].code}": [f"得分须在 0 至本项满分 {top} 之间"]}
    assert err.value.by_field("en") == {f"item-{items[-1].code}": [f"a score from 0 to the item's maximum {top}"]}
    assert counts(session) == before
    with pytest.raises(InputError) as err:
        mock.score_point(session, row, point, user(session, "dc_point"), answers[:-1], tmp_path, 2 ** 20)
    assert "只有督查人员和考核人员可以进行模拟测评打分" in err.value.by_field("zh")["point"]
    with pytest.raises(InputError) as err:
        mock.start_round(session, campaign, None, "", codes=["MK-99"])
    assert set(err.value.by_field("en")) == {"name", "points"}
    assert counts(session) == before



def test_a_fourth_photo_and_a_file_that_is_no_photo_are_named_on_their_item_with_nothing_written(session, tmp_path):
    clock.set_clock(lambda: NOW)
    [point, *_] = generated(session, 3)
    row = mock.start_round(session, campaign_for(session, None), user(session, "assessor"), "抽查", codes=[point.code])
    before = counts(session)
    first, second, *rest = items_for(session, point.type_id)
    answers = [Answer(first.code, False, 0, "", [Photo(f"p{i}.jpg", jpeg(size=80)) for i in range(4)]),
               Answer(second.code, False, 0, "", [Photo("scan.jpg", b"not a photo")])] + [Answer(i.code, True)
                                                                                        for i in rest]
    with pytest.raises(InputError) as err:
        mock.score_point(session, row, point, user(session, "assessor"), answers, tmp_path, 2 ** 20)
    assert err.value.by_field("zh")[f"item-{first.code}"] == ["每项最多 3 张照片"]
    assert err.value.by_field("en")[f"item-{first.code}"] == ["at most 3 photos per item"]
    [zh] = err.value.by_field("zh")[f"item-{second.code}"]
    [en] = err.value.by_field("en")[f"item-{second.code}"]
    assert zh.startswith("scan.jpg：") and en.startswith("scan.jpg: ")
    assert counts(session) == before

def sheet(path: Path, rows: list[list]) -> Path:
    book = Workbook()
    book.active.append(["点位编号", "测评项目编号", "扣分", "说明", "测评日期"])
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def test_an_official_deduction_is_attributed_to_the_unit_and_person_and_moves_the_ranking(session, tmp_path):
    clock.set_clock(lambda: NOW)
    points = generated(session, 2)  # MK-00: 东城 back street, MK-01: 西城 main road
    campaign = campaign_for(session, None)
    row = mock.start_round(session, campaign, user(session, "supervisor"), "模拟", codes=[p.code for p in points])
    for point in points:  # one item short by one point at each: both units have a case and the same loss
        items = items_for(session, point.type_id)
        answers = [Answer(items[0].code, None, items[0].max_score - 1)] + [Answer(i.code, True) for i in items[1:]]
        mock.score_point(session, row, point, user(session, "supervisor"), answers, tmp_path, 2 ** 20)
    period = period_containing("month", NOW, campaign.timezone)
    units = {u.code: u.id for u in session.scalars(select(Unit))}
    before = {r.unit_id: r for r in ranking(session, campaign, period, LATER)}
    dc, xc = before[units["JD-DC"]], before[units["JD-XC"]]
    assert dc.score == xc.score and dc.rank == xc.rank
    item = items_for(session, points[1].type_id)[2]
    report = official.import_deductions(session, campaign, read_table(sheet(tmp_path / "official.xlsx", [
        ["MK-01", item.code, 3, "路面有垃圾", "2026-11-19"]])), user(session, "assessor"))
    assert report.created == 1 and not report.problems
    [deduction] = session.scalars(select(OfficialDeduction)).all()
    person = session.scalar(select(Person).where(Person.code == "XC-002"))
    assert deduction.unit_id == units["JD-XC"] and deduction.person_id == person.id and deduction.points == 3
    case = session.get(Case, deduction.case_id)
    assert case.lead_unit_id == units["JD-XC"] and case.reports[0].source_type == "official_evaluation"
    after = {r.unit_id: r for r in ranking(session, campaign, period, LATER)}
    assert after[units["JD-XC"]].score == pytest.approx(xc.score - 3)
    assert after[units["JD-XC"]].rank > after[units["JD-DC"]].rank, "the deduction puts 西城 below 东城"
    by_unit, by_person = official.by_responsible(session, campaign)
    assert [(u.code, total, n) for u, total, n in by_unit] == [("JD-XC", 3.0, 1), ("CGJ", 0.0, 1)], \
        "the department in charge of main roads (城管局) is named beside the point's unit, which carries the points"
    assert [(p.code, u.code, total) for p, u, total, _ in by_person] == [("XC-002", "JD-XC", 3.0)]


def test_an_import_naming_a_missing_point_or_a_foreign_item_writes_nothing(session, tmp_path):
    clock.set_clock(lambda: NOW)
    points = generated(session, 2)
    campaign = campaign_for(session, None)
    before = counts(session)
    good = items_for(session, points[0].type_id)[0].code
    foreign = items_for(session, points[1].type_id)[0].code
    report = official.import_deductions(session, campaign, read_table(sheet(tmp_path / "bad.xlsx", [
        ["MK-00", good, 1, "", "2026-11-19"],
        ["MK-404", good, 1, "", "2026-11-19"],
        ["MK-00", foreign, 1, "", "2026-11-19"],
        ["MK-00", good, 99, "", "2026-11-19"]])))
    assert report.created == 0
    assert [(p.row, p.where, p.zh) for p in report.problems] == [
        (3, "point", "没有这个点位：MK-404"), (4, "item", f"{foreign} 不是点位 MK-00 的测评内容"),
        (5, "points", "扣分须为大于 0 的数，且不超过本项满分 2")]
    assert report.problems[0].en == "no point 'MK-404'"
    assert counts(session) == before


def test_the_demo_rounds_rise_and_are_made_once(session, tmp_path):
    clock.set_clock(lambda: NOW)
    made = mock.demo_rounds(session, tmp_path)
    assert [r.status for r in made] == ["closed", "closed"]
    rates = [t.rate for _, t in mock.trend(session, campaign_for(session, None))]
    assert len(rates) == 2 and rates[0] < rates[1] == 1.0
    assert mock.demo_rounds(session, tmp_path) == []


def test_an_official_deduction_costs_the_month_of_the_visit_not_of_the_import(session, tmp_path):
    imported = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)
    clock.set_clock(lambda: imported)
    points = generated(session, 2)
    campaign = campaign_for(session, None)
    item = items_for(session, points[1].type_id)[2]
    report = official.import_deductions(session, campaign, read_table(sheet(tmp_path / "official.xlsx", [
        ["MK-01", item.code, 3, "路面有垃圾", "2026-11-28"]])), user(session, "assessor"))
    assert report.created == 1
    later = imported.replace(hour=11)
    november = for_period(session, campaign, period_containing("month", datetime(2026, 11, 28, tzinfo=SHANGHAI),
                                                               campaign.timezone), later)
    december = for_period(session, campaign, period_containing("month", imported, campaign.timezone), later)
    unit_id = points[1].unit_id
    assert float(november[unit_id].points_by["inspection"]) == 3
    assert unit_id not in december or float(december[unit_id].points_by.get("inspection", 0)) == 0


def test_reopening_an_evaluation_case_does_not_charge_its_points_again(session, tmp_path):
    from engine.evaluation.hand_routing import dispatch_routine

    clock.set_clock(lambda: NOW)
    [point] = generated(session, 1)
    campaign = campaign_for(session, None)
    row = mock.start_round(session, campaign, user(session, "supervisor"), "模拟", codes=[point.code])
    items = items_for(session, point.type_id)
    answers = [Answer(items[0].code, None, items[0].max_score - 1)] + [Answer(i.code, True) for i in items[1:]]
    [score, *_] = mock.score_point(session, row, point, user(session, "supervisor"), answers, tmp_path, 2 ** 20)
    period = period_containing("month", NOW, campaign.timezone)
    assert float(for_period(session, campaign, period, LATER)[point.unit_id].points_by["inspection"]) == 1
    case = session.get(Case, score.case_id)
    dispatch_routine(session, case, point.unit, NOW, reopening=1)  # the new task reopen_case gives the unit
    session.flush()
    assert len(session.scalars(select(Task).where(Task.case_id == case.id, Task.unit_id == point.unit_id)).all()) == 2
    assert float(for_period(session, campaign, period, LATER)[point.unit_id].points_by["inspection"]) == 1


def test_a_nul_byte_in_an_item_code_or_the_round_name_is_refused_by_row_with_nothing_written(session, tmp_path):
    """PostgreSQL refuses a query or a row holding a NUL byte: refused first, it is a problem, not a 500."""
    clock.set_clock(lambda: NOW)
    points = generated(session, 1)
    campaign = campaign_for(session, None)
    good = items_for(session, points[0].type_id)[0].code
    before = counts(session)
    csv = tmp_path / "nul.csv"  # a worksheet cannot hold a NUL byte; a CSV file can
    csv.write_text("点位编号,测评项目编号,扣分,说明,测评日期\n"
                   f"MK-00,{good},1,,2026-11-19\nMK-00,MK\x00BA-0,1,,2026-11-19\n", encoding="utf-8")
    report = official.import_deductions(session, campaign, read_table(csv))
    assert [(p.row, p.where) for p in report.problems] == [(3, "item")]
    named = official.import_deductions(session, campaign, read_table(sheet(tmp_path / "named.xlsx", [
        ["MK-00", good, 1, "", "2026-11-19"]])), name="正式\x00测评")
    assert [p.where for p in named.problems] == ["name"] and named.created == 0
    assert counts(session) == before


def test_not_up_to_standard_at_full_marks_is_refused_and_lost_points_are_exact(session, tmp_path):
    """A failed item at full marks opened a case costing 0 points; 3 − 2.7 was charged as 0.30000000000000004."""
    clock.set_clock(lambda: NOW)
    [point] = generated(session, 1)
    campaign = campaign_for(session, None)
    supervisor = user(session, "supervisor")
    row = mock.start_round(session, campaign, supervisor, "模拟", codes=[point.code])
    items = items_for(session, point.type_id)  # maxima 2, 3, 4
    before = counts(session)
    with pytest.raises(InputError) as refused:
        mock.score_point(session, row, point, supervisor, [Answer(items[0].code, False, items[0].max_score)] +
                         [Answer(i.code, True) for i in items[1:]], tmp_path, 2 ** 20)
    assert refused.value.by_field("zh")[f"item-{items[0].code}"] == ["不达标的项须扣分：得分应低于本项满分 2"]
    assert counts(session) == before
    answers = [Answer(items[0].code, True), Answer(items[1].code, None, "2.7"), Answer(items[2].code, True)]
    scores = mock.score_point(session, row, point, supervisor, answers, tmp_path, 2 ** 20)
    [lost] = [s for s in scores if not s.passed]
    [report] = session.get(Case, lost.case_id).reports
    assert report.points == 0.3 and "失分 0.3 分" in report.description
