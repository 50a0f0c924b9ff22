"""The demo's units as seed 001 names them: the departments and mass organisations of its duty lists (政府部门9个，
群团部门3个, and the city-management duties of 财政、发改、安监、民政、卫计、法院、检察院) carry their duties in the seed's
words, route nothing the seed does not route to them, and show on their unit page; 城管委 is the committee that
assesses, not a department that is ranked."""
from __future__ import annotations

import re

from sqlalchemy import select

from engine.assessment.ranking import config_for, unit_groups
from engine.core.models import Campaign, Grid, Unit

PERMITS = "负责对没有《建设工程规划许可证》、《建设工程施工许可证》等手续的建筑物内从事经营活动的监察,并不予发放行业许可"
#: Name -> the first duty the seed gives it, verbatim.
SEED_UNITS = {
    "教育局": "主要负责各中小学校、未成年人心理健康辅导站、青少年课外活动中心各项工作符合创城标准",
    "文体局": "主要负责网吧、影剧院、歌舞厅等娱乐场所符合创城标准",
    "商贸旅游局": "主要负责星级酒店、旅行社各项工作符合创城标准",
    "财政局": PERMITS,
    "发展和改革委员会": PERMITS,
    "安全生产监督管理局": PERMITS,
    "民政局": PERMITS,
    "卫生和计划生育局": PERMITS,
    "人民法院": "负责依法受理、审理城乡综合管理执法案件",
    "人民检察院": "负责依法公诉城乡综合管理案件",
    "总工会": "主要负责开展行业规范、职业规则、团体章程等规范守则教育实践活动",
    "团区委": "主要负责运用入团入队仪式等礼仪制度传播主流价值",
    "妇联": "主要负责开展传承好家风好家训活动",
}


def test_the_seeds_departments_carry_their_duties_and_route_nothing(app, client, login, session, demo):
    units = {u.name_zh: u for u in session.scalars(select(Unit).where(Unit.name_zh.in_(SEED_UNITS)))}
    assert set(units) == set(SEED_UNITS)
    for name, first in SEED_UNITS.items():
        unit = units[name]
        assert unit.type == "department" and unit.duty_items[0].text_zh == first, name
        assert all(d.text_en and d.role is None and d.category_id is None for d in unit.duty_items), name
        assert session.scalar(select(Grid.id).where(Grid.unit_id == unit.id)) is None, name
    assert any("统筹安排城乡综合管理经费预算" in d.text_zh for d in units["财政局"].duty_items)
    assert [d.text_zh for d in units["妇联"].duty_items][1:] == ["深化文明家庭创建活动", "牵头做好家长学校工作"]

    assert login(client, "admin").status_code == 302
    page = client.get(f"/admin/unit/details/?id={units['人民法院'].id}&lang=zh").get_data(as_text=True)
    assert "人民法院" in page and "负责依法受理、审理城乡综合管理执法案件" in page
    english = client.get(f"/admin/unit/details/?id={units['妇联'].id}&lang=en").get_data(as_text=True)
    assert "Women&#39;s Federation" in english or "Women's Federation" in english


def test_the_committee_is_shown_as_the_committee_and_ranked_with_no_one(app, client, login, session, demo):
    campaign = session.scalar(select(Campaign).where(Campaign.code == demo["campaign"]))
    committee = session.scalar(select(Unit).where(Unit.code == "CGW"))
    assert committee.id not in unit_groups(session, config_for(session, campaign)[1])
    assert login(client, "admin").status_code == 302
    page = client.get(f"/admin/unit/details/?id={committee.id}&lang=zh").get_data(as_text=True)
    assert re.search(r"<td>\s*委员会\s*</td>", page) and "制定全区城乡综合管理与执法考评办法" in page  # its type
