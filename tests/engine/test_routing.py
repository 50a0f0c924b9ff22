"""Routing by the duty lists (DESIGN 12): the lead and cooperating units of a matter in a grid, more specific rows
beating group rows and area rows beating area-less ones, two leads as a conflict, matters nobody leads as gaps;
and the demo's duty lists, loaded from the seed, routing its matters without a conflict."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.cases.duties import duty_items
from engine.cases.routing import check_duty, conflicts, gaps, route
from engine.core.models import (
    Category,
    DutyItem,
    FilingCondition,
    Grid,
    ListItem,
    RuleList,
    Unit,
)
from tests.helpers import statements, unique


def _unit(session, code: str) -> Unit:
    return session.scalar(select(Unit).where(Unit.code == code))


def _grid(session, code: str) -> Grid:
    return session.scalar(select(Grid).where(Grid.code == code))


def _category(session, code: str) -> Category:
    return session.scalar(select(Category).where(Category.code == code))


def _route(session, matter: Category | str, grid: str | None):
    matter = _category(session, matter) if isinstance(matter, str) else matter
    routing = route(session, matter.id, _grid(session, grid).id if grid else None)
    return (routing.lead.code if routing.lead else None, [u.code for u in routing.cooperating],
            [u.code for u in routing.conflict])


def _department(session, name: str, parent: Unit | None = None) -> Unit:
    unit = Unit(code=unique("D")[:20], name_zh=f"{name}局", name_en=f"{name} bureau", type="department", parent=parent)
    session.add(unit)
    session.flush()
    return unit


def _matters(session, *names: str, conditions: bool = True) -> tuple[Category, list[Category]]:
    """A new group with one matter per name, each with a filing condition unless told otherwise."""
    group = Category(code=unique("G")[:16], name_zh="测试类", name_en="Test group", kind="matter")
    session.add(group)
    matters = []
    for name in names:
        matter = Category(code=unique("M")[:16], name_zh=name, name_en=f"Matter {name}", parent=group, kind="matter")
        if conditions:
            matter.conditions = [FilingCondition(code="default", name_zh="发现即立案", name_en="On sight",
                                                 limit_value=1, limit_unit="working_days")]
        session.add(matter)
        matters.append(matter)
    session.flush()
    return group, matters


def _row(session, unit: Unit, category: Category, role: str | None = "lead", area: list[str] | None = None,
         text: str = "负责测试事项的查处") -> DutyItem:
    row = DutyItem(unit=unit, category=category, role=role, area=area, text_zh=text, text_en="Test duty",
                   position=len(unit.duty_items))
    session.add(row)
    session.flush()
    return row


# --- the demo's duty lists --------------------------------------------------------------------------------

def test_the_sub_district_leads_shop_front_trade_in_its_own_grids(session):
    assert _route(session, "09005", "DC-01") == ("JD-DC", [], [])
    assert _route(session, "09005", "XC-03") == ("JD-XC", [], [])
    assert _route(session, "09005", "NC-04") == ("JD-NC", [], [])
    assert _route(session, "09006", "DC-02")[0] == "JD-DC"  # 占道经营 is duty ③, the sub-district's


def test_departments_cooperate_where_the_seed_says_配合(session):
    assert _route(session, "L0002", "DC-02") == ("JD-DC", ["LYJ"], [])  # 林业局 配合 镇街 on 乱牧滥牧
    assert _route(session, "L0001", "NC-01") == ("JD-NC", ["JTJ"], [])  # 交通运输局 on 物流配货
    assert _route(session, "06011", "XC-01") == ("JD-XC", ["HWZX"], [])  # the bureau's sanitation clears the waste


def test_departments_lead_district_wide_and_the_squads_lead_nothing(session):
    assert _route(session, "09012", "DC-01") == ("GAFJ", [], [])  # 消防通道: the police, in every grid
    assert _route(session, "09012", "NC-03") == ("GAFJ", [], [])
    assert _route(session, "06010", "XC-02") == ("HWZX", [], [])  # exposed garbage: the sanitation centre
    squads = session.scalars(select(DutyItem).join(Unit).where(Unit.code.in_(["ZD-DC", "ZD-XC", "ZD-NC"]))).all()
    assert squads == []


def test_outside_every_grid_only_units_answering_district_wide_match(session):
    assert _route(session, "09012", None) == ("GAFJ", [], [])
    assert _route(session, "09005", None) == (None, [], [])  # the sub-districts answer for their grids only


def test_the_demo_duty_lists_have_no_conflict(session):
    assert conflicts(session) == []


def test_the_demo_leaves_these_matters_to_nobody(session):
    assert [c.code for c in gaps(session)] == ["07008", "10002"]  # 公益性宣传品缺损, 架空线缆脱落: no seed duty names them


def test_the_three_sub_districts_share_the_seed_list_one_row_per_matter_after_its_text(session):
    lists = {code: [(d.text_zh, d.category.code if d.category else None, d.role)
                    for d in _unit(session, code).duty_items] for code in ("JD-DC", "JD-XC", "JD-NC")}
    assert lists["JD-DC"] == lists["JD-XC"] == lists["JD-NC"]
    rows = lists["JD-DC"]
    assert rows[0][0].startswith("①负责辖区内\"六个零容忍\"违法违规行为的查处")  # seed 001's ten, nothing before
    duties = [t for t, _, _ in rows if t[0] in "①②③④⑤⑥⑦⑧⑨⑩"]
    assert [t[0] for t in duties] == list("①②③④⑤⑥⑦⑧⑨⑩") and all(t.endswith("。") for t in duties)
    assert not any("日常巡查和问题处置" in t for t, _, _ in rows)  # the invented general line is gone
    third = next(i for i, (t, _, _) in enumerate(rows) if t.startswith("③"))
    assert rows[third][1:] == (None, None)  # the sentence itself routes nothing
    assert rows[third + 1] == ("店外经营", "09005", "lead")
    assert rows[third + 2] == ("占道经营", "09006", "lead")
    assert rows[-1] == ("⑩承办区城管委交办的其他事项。", None, None)


# --- rows and ranks --------------------------------------------------------------------------------------

def test_a_row_naming_the_matter_beats_a_group_row(session):
    group, (named, other) = _matters(session, "甲", "乙")
    broad, narrow = _department(session, "综合"), _department(session, "专门")
    _row(session, broad, group)
    _row(session, narrow, named)
    assert _route(session, named, "DC-01") == (narrow.code, [], [])
    assert _route(session, other, "DC-01") == (broad.code, [], [])


def test_a_row_with_an_area_beats_one_without_and_covers_only_its_grids(session):
    _, (matter,) = _matters(session, "甲")
    everywhere, local = _department(session, "全区"), _department(session, "片区")
    _row(session, everywhere, matter)
    _row(session, local, matter, area=["DC-01", "XC-02"])
    assert _route(session, matter, "DC-01") == (local.code, [], [])
    assert _route(session, matter, "XC-02") == (local.code, [], [])
    assert _route(session, matter, "DC-02") == (everywhere.code, [], [])
    assert _route(session, matter, None) == (everywhere.code, [], [])  # an area never reaches outside the grids


def test_naming_the_matter_ranks_above_having_an_area(session):
    group, (matter,) = _matters(session, "甲")
    named, grouped = _department(session, "点名"), _department(session, "片区")
    _row(session, named, matter)
    _row(session, grouped, group, area=["DC-01"])
    assert _route(session, matter, "DC-01") == (named.code, [], [])


def test_a_unit_answers_for_the_grids_below_it_and_a_squad_for_its_sub_districts(session):
    _, (matter, other) = _matters(session, "甲", "乙")
    _row(session, _unit(session, "ZD-DC"), matter)
    assert _route(session, matter, "DC-03") == ("ZD-DC", [], [])
    assert _route(session, matter, "XC-01") == (None, [], [])
    top = _department(session, "上级")
    _unit(session, "JD-NC").parent = top
    session.flush()
    _row(session, top, other)
    assert _route(session, other, "NC-02") == (top.code, [], [])
    assert _route(session, other, "DC-02") == (None, [], [])  # a unit with grids below it answers for those only


def test_cooperating_units_come_with_the_lead_and_are_never_the_lead_itself(session):
    group, (matter,) = _matters(session, "甲")
    lead, helper = _department(session, "主办"), _department(session, "协办")
    _row(session, lead, matter)
    _row(session, helper, matter, role="cooperate")
    _row(session, lead, group, role="cooperate")
    _row(session, _unit(session, "JD-DC"), matter, role="cooperate")
    assert _route(session, matter, "DC-01") == (lead.code, sorted([helper.code, "JD-DC"]), [])
    assert _route(session, matter, "XC-01") == (lead.code, [helper.code], [])  # JD-DC answers for its own grids
    _row(session, _unit(session, "JD-XC"), matter, role=None)
    assert _route(session, matter, "XC-01") == (lead.code, [helper.code], [])  # a row without a role routes nothing


# --- conflicts and gaps ----------------------------------------------------------------------------------

def test_two_units_leading_one_matter_in_one_area_are_a_conflict_and_nobody_leads(session):
    _, (matter,) = _matters(session, "甲")
    first, second = _department(session, "甲"), _department(session, "乙")
    _row(session, first, matter, area=["DC-01"])
    _row(session, second, matter, area=["DC-01", "DC-02"])
    assert _route(session, matter, "DC-01") == (None, [], sorted([first.code, second.code]))
    assert _route(session, matter, "DC-02") == (second.code, [], [])
    found = [c for c in conflicts(session) if c.category.id == matter.id]
    assert [([u.code for u in c.units], [g.code for g in c.grids], c.everywhere) for c in found] == [
        (sorted([first.code, second.code]), ["DC-01"], False)]


def test_a_department_leading_a_sub_district_matter_conflicts_with_each_sub_district_in_its_grids(session):
    rival = _department(session, "越位")
    _row(session, rival, _category(session, "09005"))
    assert _route(session, "09005", "XC-01") == (None, [], sorted(["JD-XC", rival.code]))
    found = [([u.code for u in c.units], [g.code for g in c.grids]) for c in conflicts(session)]
    assert found == [(sorted(["JD-BC", rival.code]), ["BC-01"]),
                     (sorted(["JD-CG", rival.code]), ["CG-01"]),
                     (sorted(["JD-DC", rival.code]), ["DC-01", "DC-02", "DC-03", "DC-04"]),
                     (sorted(["JD-HD", rival.code]), ["HD-01"]),
                     (sorted(["JD-KF", rival.code]), ["KF-01"]),
                     (sorted(["JD-NC", rival.code]), ["NC-01", "NC-02", "NC-03", "NC-04"]),
                     (sorted(["JD-XC", rival.code]), ["XC-01", "XC-02", "XC-03", "XC-04"]),
                     (sorted(["JD-XH", rival.code]), ["XH-01"])]
    assert _route(session, "09005", None) == (rival.code, [], [])  # outside the grids only the department answers


def test_a_conflict_between_group_rows_is_named_once_on_the_group(session):
    group, (matter, other) = _matters(session, "甲", "乙")
    first, second = _department(session, "甲"), _department(session, "乙")
    _row(session, first, group)
    _row(session, second, group)
    _row(session, first, matter)  # settled for this matter by naming it
    found = [(c.category.code, c.everywhere) for c in conflicts(session)]
    assert found == [(group.code, True)]
    assert _route(session, matter, "DC-01") == (first.code, [], [])
    assert _route(session, other, "DC-01") == (None, [], sorted([first.code, second.code]))


def test_a_matter_nobody_leads_is_a_gap_until_a_unit_leads_it(session):
    group, (matter, quiet) = _matters(session, "甲", "乙")
    bare = Category(code=unique("M")[:16], name_zh="无条件", name_en="No condition", parent=group, kind="matter")
    part = Category(code=unique("C")[:16], name_zh="部件", name_en="A component", parent=group, kind="component",
                    conditions=[FilingCondition(code="default", name_zh="破损", name_en="Broken", limit_value=1,
                                                limit_unit="working_days")])
    session.add_all([bare, part])
    session.flush()
    mine = {matter.code, quiet.code, bare.code, part.code}
    assert {c.code for c in gaps(session)} & mine == {matter.code, quiet.code}  # conditions make a catalogue matter
    helper = _department(session, "协办")
    _row(session, helper, matter, role="cooperate")
    assert {c.code for c in gaps(session)} & mine == {matter.code, quiet.code}  # cooperating is not leading
    _row(session, helper, matter)
    assert {c.code for c in gaps(session)} & mine == {quiet.code}
    _row(session, _department(session, "总揽"), group)
    assert {c.code for c in gaps(session)} & mine == set()  # a group row leads every matter under it


def test_a_matter_a_list_names_is_a_gap_even_without_conditions(session):
    _, (matter,) = _matters(session, "甲", conditions=False)
    assert matter.code not in {c.code for c in gaps(session)}
    rule_list = session.scalar(select(RuleList).order_by(RuleList.id))
    session.add(ListItem(rule_list=rule_list, position=99, key=unique("K")[:32], title_zh="测试", title_en="Test",
                         categories=[matter.code], template_code="t"))
    session.flush()
    assert matter.code in {c.code for c in gaps(session)}


def test_routing_reads_a_few_statements_however_many_rows(session):
    _, matters = _matters(session, *"甲乙丙丁戊己庚辛")
    for matter in matters:
        for _ in range(3):
            _row(session, _department(session, "多"), matter, role="cooperate")
    session.expire_all()
    grid, matter = _grid(session, "DC-01"), session.get(Category, matters[0].id)  # held: in the identity map
    with statements(session.connection()) as seen:
        routing = route(session, matter.id, grid.id)
    assert len(routing.cooperating) == 3 and len(seen) <= 3, seen  # the group, the rows, the units
    with statements(session.connection()) as seen:
        conflicts(session)
    assert len(seen) <= 3, seen
    with statements(session.connection()) as seen:
        gaps(session)
    assert len(seen) <= 2, seen


# --- duty lists as written -------------------------------------------------------------------------------

def test_a_written_duty_becomes_its_text_then_one_row_per_matter_and_an_unknown_code_is_named(session):
    known = {c: _category(session, c) for c in ("09005", "09006")}
    rows, problems = duty_items([
        {"zh": "③负责店外经营、占道经营、乱写乱画的查处。", "en": "③ Shop fronts, road trade, graffiti.", "role": "lead",
         "matters": [{"category": "09005", "zh": "店外经营", "en": "Shop fronts"},
                     {"category": "09006", "role": "cooperate"}, {"category": "X9999", "zh": "乱写乱画"}]},
        {"zh": "负责店外经营", "en": "Shop fronts", "category": "09005", "role": "lead", "area": ["DC-01"]},
        {"zh": "⑩承办交办的其他事项。", "en": "⑩ Other matters handed over."},
        {"zh": "负责未知事项", "en": "Unknown", "category": "X9998", "role": "lead"}], known)
    assert [(r.position, r.text_zh, r.category.code if r.category else None, r.role, r.area) for r in rows] == [
        (0, "③负责店外经营、占道经营、乱写乱画的查处。", None, None, None),
        (1, "店外经营", "09005", "lead", None),
        (2, "占道经营", "09006", "cooperate", None),  # no text of its own: the matter's name
        (3, "负责店外经营", "09005", "lead", ["DC-01"]),
        (4, "⑩承办交办的其他事项。", None, None, None),
        (5, "负责未知事项", None, None, None)]  # the text stays; only its routing is left out
    assert [(p.where, "X999" in p.en and "not in the catalogue" in p.en) for p in problems] == [
        ("duties.1.category", True), ("duties.4.category", True)]


@pytest.mark.parametrize("category, role, area, fields", [
    ("09005", "lead", ["DC-01"], []),
    (None, None, None, []),
    (None, "lead", None, ["category"]),
    ("09005", "manage", None, ["role"]),
    ("09005", "cooperate", ["DC-01", "ZZ-99"], ["area"]),
])
def test_a_routing_row_names_its_matter_a_known_role_and_existing_grids(session, category, role, area, fields):
    codes = set(session.scalars(select(Grid.code)))
    found = check_duty(_category(session, category) if category else None, role, area, codes)
    assert [p.where for p in found] == fields
    assert all(p.zh and p.en for p in found)
