"""The geography import page and the grids' 15-digit code through HTTP with CSRF on: a bad feature is named in a
table by its number and field and nothing is stored; a Shapefile with no .prj is refused next to the coordinate
system field; only administrators reach the page; the grid form and GET /api/v1/grids carry the 15-digit code."""
from __future__ import annotations

import io
from html import unescape

import pytest
from sqlalchemy import func, select

from engine.core.models import Grid, Zone
from tests.engine.test_geo_import import BOWTIE, feature, geojson, gk_grid
from tests.helpers import bearer, csrf_from, user_token

PAGE = "/admin/geo-import/"


@pytest.fixture()
def admin(app, client, login):
    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    return client


def upload(client, target: str, name: str, raw: bytes, lang: str = "en", **fields) -> str:
    url = f"{PAGE}?lang={lang}"
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    answer = client.post(url, data={"target": target, "crs": "", "campaign": "", "file": (io.BytesIO(raw), name),
                                    "csrf_token": csrf_from(page.get_data(as_text=True)), **fields},
                         content_type="multipart/form-data")
    assert answer.status_code == 200
    return unescape(answer.get_data(as_text=True))


def zones(session) -> int:
    return session.scalar(select(func.count()).select_from(Zone))


def test_a_self_intersecting_zone_is_named_by_feature_and_nothing_is_stored(admin, session):
    before = zones(session)
    raw = geojson(feature({"类型": "居住区", "名称": "上传的小区"}),
                  feature({"kind": "residential", "name": "交叉的小区"}, coordinates=BOWTIE))
    for lang, message in (("en", "the polygon crosses itself"), ("zh", "多边形边线自相交")):
        html = upload(admin, "zones", "zones.geojson", raw, lang)
        table = html[html.find('id="geo-bad-features"'):]
        assert message in table and "<td>2</td>" in table, table[:1500]
        assert zones(session) == before  # feature 1 was good, and was not stored either
    assert "Nothing was stored: 1 bad features." in upload(admin, "zones", "zones.geojson", raw)

    done = upload(admin, "zones", "zones.geojson", geojson(feature({"类型": "居住区", "名称": "上传的小区"})))
    assert "Created: 1, updated: 0, unchanged: 0." in done and zones(session) == before + 1


def test_a_shapefile_with_no_prj_is_refused_next_to_the_coordinate_system(admin, session, tmp_path):
    grids = session.scalar(select(func.count()).select_from(Grid))
    html = upload(admin, "grids", "grids.zip", gk_grid(tmp_path, None))
    at = html.find('name="crs"')
    assert at > 0 and "the Shapefile has no .prj, so its projection is unknown" in html[at:at + 1500]
    assert session.scalar(select(func.count()).select_from(Grid)) == grids

    declared = upload(admin, "grids", "grids.zip", gk_grid(tmp_path, None), crs="EPSG:4546")
    assert "Created: 1" in declared
    assert session.scalar(select(Grid).where(Grid.code == "T-GK1")).grid_code == "140802001002003"


def test_a_file_of_another_kind_is_refused_next_to_the_file(admin):
    html = upload(admin, "grids", "grids.kml", b"<kml/>")
    at = html.find('name="file"')
    assert "Upload a .geojson, a .zip holding a Shapefile, or a .csv or .xlsx file." in html[at:at + 1000]


def test_the_holders_template_names_the_columns_in_chinese(admin):
    template = admin.get(f"{PAGE}holders-template.csv")
    assert template.status_code == 200 and template.mimetype == "text/csv"
    assert template.get_data(as_text=True).startswith("\ufeff编号,名称,地址,网格,联系方式,纬度,经度")


def test_only_administrators_reach_the_page(app, client, login):
    assert login(client, "auditor").status_code == 302
    assert client.get(PAGE).status_code == 403


def test_the_grid_form_checks_the_15_digit_code_and_the_api_shows_it(admin, session, client):
    grid = session.scalar(select(Grid).where(Grid.code == "DC-02"))
    url = f"/admin/grid/edit/?id={grid.id}&lang=en"
    form = {"code": grid.code, "name_zh": grid.name_zh, "name_en": grid.name_en, "unit": str(grid.unit_id),
            "responsible": str(grid.responsible_id) if grid.responsible_id else "__None",
            "collector": str(grid.collector_id) if grid.collector_id else "__None"}
    page = admin.get(url).get_data(as_text=True)
    refused = admin.post(url, data={**form, "grid_code": "1408020010020", "csrf_token": csrf_from(page)})
    html = unescape(refused.get_data(as_text=True))
    at = html.find('name="grid_code"')
    assert refused.status_code == 200 and "15 digits (6 division + 3 street" in html[at:at + 1500]

    saved = admin.post(url, data={**form, "grid_code": "140802001002002", "csrf_token": csrf_from(page)})
    assert saved.status_code == 302
    assert "140802001002002" in admin.get("/admin/grid/?lang=en").get_data(as_text=True)
    token = user_token(client, "dispatcher")
    grids = {g["code"]: g for g in client.get("/api/v1/grids", headers=bearer(token)).get_json()["grids"]}
    assert grids["DC-02"]["grid_code"] == "140802001002002" and grids["DC-01"]["grid_code"] is None
