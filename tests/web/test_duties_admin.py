"""The duty lists in the admin: a unit's duty rows take a dispatch role (主办/协办/不派遣) and an area of grids, with
errors next to the row's field; the review page names conflicts and gaps by unit and matter names, linking to the
unit forms; editors edit, auditors and assessors read."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.core.models import Category, DutyItem, FilingCondition, Unit
from tests.helpers import csrf_from, unique


@pytest.fixture()
def admin(app, client, login):
    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    return client


def _post(client, url: str, data: dict, lang: str = "en"):
    page = client.get(f"{url}&lang={lang}" if "?" in url else f"{url}?lang={lang}")
    assert page.status_code == 200, page.status_code
    return client.post(f"{url}&lang={lang}" if "?" in url else f"{url}?lang={lang}",
                       data={**data, "csrf_token": csrf_from(page.get_data(as_text=True))})


def _id(session, model, code: str) -> int:
    return session.scalar(select(model.id).where(model.code == code))


def _unit_form(session, code: str, rows: list[dict]) -> dict:
    data = {"code": code, "name_zh": "测试局", "name_en": "Test bureau", "type": "department", "parent": ""}
    for i, row in enumerate(rows):
        data.update({f"duty_items-{i}-{k}": v for k, v in row.items()})
    return data


def _conflicting_department(session, name_zh: str, name_en: str) -> Unit:
    """A department that also leads 店外经营 (09005) district-wide: it conflicts with each sub-district."""
    unit = Unit(code=unique("D")[:20], name_zh=name_zh, name_en=name_en, type="department")
    unit.duty_items = [DutyItem(position=0, category=session.scalar(select(Category).where(Category.code == "09005")),
                                role="lead", text_zh="负责店外经营的查处", text_en="Shop-front trade")]
    session.add(unit)
    session.commit()
    return unit


def test_a_duty_row_saves_its_role_and_area_and_the_unit_page_shows_them(admin, session):
    code = unique("U")[:20]
    matter = _id(session, Category, "09005")
    data = _unit_form(session, code, [
        {"position": "0", "category": str(matter), "role": "lead", "area": ["DC-01", "DC-02"],
         "text_zh": "负责店外经营的查处", "text_en": "Shop-front trade"},
        {"position": "1", "category": "", "role": "", "text_zh": "承办交办的其他事项", "text_en": "Other matters"}])
    assert _post(admin, "/admin/unit/new/", data).status_code == 302
    unit = session.scalar(select(Unit).where(Unit.code == code))
    assert [(d.text_zh, d.category_id, d.role, d.area) for d in unit.duty_items] == [
        ("负责店外经营的查处", matter, "lead", ["DC-01", "DC-02"]), ("承办交办的其他事项", None, None, None)]
    zh = admin.get(f"/admin/unit/details/?id={unit.id}&lang=zh").get_data(as_text=True)
    assert "主办" in zh and "东城街道第1网格" in zh and "店外经营" in zh
    form = admin.get(f"/admin/unit/edit/?id={unit.id}&lang=zh").get_data(as_text=True)
    assert re.search(r'<option[^>]*selected[^>]*value="DC-01"|<option[^>]*value="DC-01"[^>]*selected', form)


def test_a_lead_row_without_a_matter_is_refused_next_to_its_field_and_nothing_is_saved(admin, session):
    code = unique("U")[:20]
    data = _unit_form(session, code, [{"position": "0", "category": "", "role": "lead", "text_zh": "负责查处",
                                       "text_en": "Investigates"}])
    answer = _post(admin, "/admin/unit/new/", data, lang="zh")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    at = html.find("</select>", html.find('name="duty_items-0-category"'))
    assert at >= 0 and "主办或协办的职责须指定事项" in html[at:at + 600]  # right under the row's matter picker
    assert session.scalar(select(Unit).where(Unit.code == code)) is None


def test_an_empty_area_means_wherever_the_unit_answers(admin, session):
    code = unique("U")[:20]
    data = _unit_form(session, code, [{"position": "0", "category": str(_id(session, Category, "09005")),
                                       "role": "cooperate", "text_zh": "配合查处", "text_en": "Cooperates"}])
    assert _post(admin, "/admin/unit/new/", data).status_code == 302
    row = session.scalar(select(DutyItem).join(Unit).where(Unit.code == code))
    assert (row.role, row.area) == ("cooperate", None)
    details = admin.get(f"/admin/unit/details/?id={row.unit_id}&lang=en").get_data(as_text=True)
    assert "wherever the unit answers" in details


def test_the_review_page_names_a_conflict_by_unit_names_and_links_to_their_forms(admin, session):
    rival = _conflicting_department(session, "越位局", "Overreaching bureau")
    zh = admin.get("/admin/duties/?lang=zh").get_data(as_text=True)
    rows = re.findall(r'<tr class="duty-conflict">(.*?)</tr>', zh, re.DOTALL)
    assert len(rows) == 8  # one per sub-district (the demo has eight), each in its own grids
    dongcheng = next(r for r in rows if "东城街道办事处" in r)
    assert "店外经营" in dongcheng and "越位局" in dongcheng
    assert "东城街道第1网格" in dongcheng and "东城街道第4网格" in dongcheng and "西城" not in dongcheng
    assert f"/admin/unit/edit/?id={rival.id}" in dongcheng
    assert "09005" not in dongcheng and rival.code not in dongcheng  # names, not codes
    en = admin.get("/admin/duties/?lang=en").get_data(as_text=True)
    assert "Goods displayed outside the shop" in en and "Overreaching bureau" in en


def test_the_review_page_lists_the_gaps_by_name_and_drops_one_once_led(admin, session):
    group = session.scalar(select(Category).where(Category.code == "09"))
    matter = Category(code=unique("M")[:16], name_zh="测试空白事项", name_en="Test gap matter", parent=group,
                      kind="matter", conditions=[FilingCondition(code="default", name_zh="发现即立案",
                                                                 name_en="On sight", limit_value=1,
                                                                 limit_unit="working_days")])
    session.add(matter)
    session.commit()
    zh = admin.get("/admin/duties/?lang=zh").get_data(as_text=True)
    gaps = re.findall(r'<tr class="duty-gap">(.*?)</tr>', zh, re.DOTALL)
    assert any("测试空白事项" in g and "街面秩序类" in g for g in gaps)
    assert any("公益性宣传品缺损" in g for g in gaps)  # the demo's own gaps are listed too
    assert 'id="no-conflicts"' in zh  # the demo's lists have none
    unit = session.scalar(select(Unit).where(Unit.code == "JD-DC"))
    unit.duty_items.append(DutyItem(position=len(unit.duty_items), category=matter, role="lead", text_zh="负责测试",
                                    text_en="Test duty"))
    session.commit()
    zh = admin.get("/admin/duties/?lang=zh").get_data(as_text=True)
    assert "测试空白事项" not in zh


@pytest.mark.parametrize("role", ["auditor", "assessor"])
def test_readers_see_the_review_with_links_to_the_unit_pages_not_the_forms(app, client, login, session, role):
    rival = Unit(code=unique("D")[:20], name_zh="读者测试局", name_en="Reader test bureau", type="department")
    rival.duty_items = [DutyItem(position=0, category=session.scalar(select(Category).where(Category.code == "09005")),
                                 role="lead", text_zh="负责店外经营", text_en="Shop-front trade")]
    session.add(rival)
    session.commit()
    assert login(client, role).status_code == 302
    page = client.get("/admin/duties/?lang=zh").get_data(as_text=True)
    assert "读者测试局" in page and f"/admin/unit/details/?id={rival.id}" in page
    assert "/admin/unit/edit/" not in page
    assert client.get(f"/admin/unit/edit/?id={rival.id}").status_code == 403
