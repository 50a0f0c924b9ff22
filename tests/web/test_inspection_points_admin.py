"""The evaluation points register in the admin, through HTTP with CSRF on: a point drawn as a crossing polygon or
given to a person of another unit is refused next to the field in the reader's language with nothing written; a
good point is listed with its type's name and counts for the next report there; a type's departments are edited."""
from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from engine.core.models import InspectionPoint, InspectionPointType, Person, Unit
from tests.helpers import csrf_from


@pytest.fixture()
def admin(app, client, login):
    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    return client


def _post(client, url: str, data: dict, lang: str = "en"):
    url = f"{url}{'&' if '?' in url else '?'}lang={lang}"
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(url, data={**data, "csrf_token": csrf_from(page.get_data(as_text=True))})


def _near(html: str, anchor: str, message: str, window: int = 1500) -> bool:
    at = html.find(f'name="{anchor}"')
    if at >= 0 and html.rfind("<select", 0, at) > html.rfind(">", 0, at):
        at = html.find("</select>", at)
    return at >= 0 and message in unescape(html[at:at + window])


def _point(session, code: str, **changes) -> dict:
    unit = session.scalar(select(Unit.id).where(Unit.code == "JD-DC"))
    person = session.scalar(select(Person.id).where(Person.code == "DC-002"))
    return {"code": code, "name": "东城中心医院", "type": "hospital", "address": "东城区健康路1号", "lat": "35.0245",
            "lon": "111.0245", "place": "", "reach_metres": "80", "unit": str(unit), "person": str(person),
            "grid": "__None", "active": "y", **changes}


def _count(session, code: str) -> int:
    return session.scalar(select(func.count()).select_from(InspectionPoint).where(InspectionPoint.code == code))


def test_a_bad_point_is_refused_next_to_its_field_and_a_good_one_is_listed_by_name(admin, session):
    bowtie = '{"type": "Polygon", "coordinates": [[[111.0, 35.0], [111.01, 35.01], [111.01, 35.0], [111.0, 35.01], [111.0, 35.0]]]}'
    for lang, message in (("en", "the polygon crosses itself"), ("zh", "多边形边线自相交")):
        html = _post(admin, "/admin/inspection_points/new/", _point(session, "CP-W1", lat="", lon="", place=bowtie),
                     lang).get_data(as_text=True)
        assert _near(html, "place", message), html[html.find('name="place"'):][:1500]
    stranger = session.scalar(select(Person.id).where(Person.code == "XC-002"))
    html = _post(admin, "/admin/inspection_points/new/", _point(session, "CP-W1", person=str(stranger)),
                 "zh").get_data(as_text=True)
    assert _near(html, "person", "不属于东城街道办事处")
    html = _post(admin, "/admin/inspection_points/new/", _point(session, "CP-W1", type=""), "zh").get_data(as_text=True)
    assert _near(html, "type", "必填：请选择点位类型")
    assert _count(session, "CP-W1") == 0

    created = _post(admin, "/admin/inspection_points/new/", _point(session, "CP-W1"))
    assert created.status_code == 302, created.get_data(as_text=True)[-2000:]
    point = session.scalar(select(InspectionPoint).where(InspectionPoint.code == "CP-W1"))
    assert point.place == {"type": "Point", "coordinates": [111.0245, 35.0245]} and point.reach_metres == 80
    listing = admin.get("/admin/inspection_points/?search=CP-W1&lang=zh").get_data(as_text=True)
    assert "医院" in listing and "东城街道办事处" in listing and "hospital" not in re.sub(r"<[^>]+>", " ", listing)


def test_a_types_departments_are_edited_and_an_unknown_unit_is_refused(admin, session):
    kind = session.scalar(select(InspectionPointType).where(InspectionPointType.code == "hospital"))
    url = f"/admin/inspection_point_types/edit/?id={kind.id}"
    refused = _post(admin, url, {"departments": ["NOPE"], "duty": "医院", "source": ""}, "en")
    assert _near(refused.get_data(as_text=True), "departments", "No such unit: NOPE")
    saved = _post(admin, url, {"departments": ["GAFJ", "SCJGJ"], "duty": "医院周边秩序", "source": "测试"})
    assert saved.status_code == 302
    session.refresh(kind)
    assert kind.departments == ["GAFJ", "SCJGJ"]
    listing = admin.get("/admin/inspection_point_types/?lang=zh").get_data(as_text=True)
    assert "公安分局、市场监督管理局" in listing


def test_the_demo_types_name_the_demo_departments_their_duties_name(admin):
    listing = admin.get("/admin/inspection_point_types/?lang=zh").get_data(as_text=True)
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", listing)))
    for names in ("教育局、市场监督管理局", "卫生和计划生育局", "商贸旅游局、市场监督管理局", "公安分局、文体局"):
        assert names in text, f"the type list names {names}"
    assert "演示数据中无此单位" not in text, "every department a demo duty names is a demo unit"
