"""Zones through the real interfaces (issue 16, points 2 and 4): GET /api/v1/zones answers GeoJSON with each
feature's kind; the map page's save refuses a bad zone next to its field with nothing written and converts
a shape drawn on GCJ-02 tiles to WGS-84; a token created with `--crs gcj02` has its points converted."""
from __future__ import annotations

import dataclasses

from click.testing import CliRunner
from sqlalchemy import func, select

from engine.core.models import Event, Zone
from engine.space.datum import from_wgs84
from engine.space.geo import metres
from tests.helpers import bearer, csrf_from, event, user_token

BOWTIE = {"type": "Polygon", "coordinates": [[[111.0, 35.0], [111.01, 35.01], [111.01, 35.0], [111.0, 35.01],
                                              [111.0, 35.0]]]}
SQUARE = {"type": "Polygon", "coordinates": [[[111.021, 35.021], [111.023, 35.021], [111.023, 35.023],
                                              [111.021, 35.023], [111.021, 35.021]]]}


def test_the_zones_answer_as_geojson_with_their_kind(client):
    token = user_token(client, "dispatcher")
    answer = client.get("/api/v1/zones", headers=bearer(token))
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["type"] == "FeatureCollection"
    kinds = {f["properties"]["kind"] for f in body["features"]}
    assert kinds == {"restricted_business", "residential", "school_surroundings", "strict_street"}
    school = next(f for f in body["features"] if f["properties"]["kind"] == "school_surroundings")
    assert school["geometry"] == {"type": "Point", "coordinates": [111.005, 35.0252]}
    assert school["properties"]["buffer_metres"] == 200
    shifted = client.get("/api/v1/zones?crs=gcj02", headers=bearer(token)).get_json()
    moved = next(f for f in shifted["features"] if f["id"] == school["id"])["geometry"]["coordinates"]
    assert 300 < metres(35.0252, 111.005, moved[1], moved[0]) < 700
    assert client.get("/api/v1/zones?crs=mars", headers=bearer(token)).status_code == 422


def test_the_zones_are_for_signed_in_users_not_sources(client, intake_token):
    assert client.get("/api/v1/zones").status_code == 401
    assert client.get("/api/v1/zones", headers=bearer(intake_token)).status_code == 403


def _admin(app, login, username: str = "admin"):
    app.config["WTF_CSRF_ENABLED"] = True
    admin = app.test_client()
    login(admin, username)
    page = admin.get("/admin/zones/")
    assert page.status_code == 200
    return admin, {"X-CSRFToken": csrf_from(page.get_data(as_text=True))}


def test_the_map_refuses_a_self_intersecting_polygon_and_a_zone_without_kind_field_by_field(app, login, session):
    admin, csrf = _admin(app, login)
    before = session.scalar(select(func.count(Zone.id)))
    crossed = admin.post("/admin/zones/save?lang=en", json={"kind": "residential", "name": "交叉",
                                                            "geometry": BOWTIE}, headers=csrf)
    assert crossed.status_code == 422
    [problem] = crossed.get_json()["problems"]
    assert problem["field"] == "geometry" and "crosses itself" in problem["message"]
    nameless = admin.post("/admin/zones/save?lang=zh-CN", json={"kind": "", "name": "无类型", "geometry": SQUARE},
                          headers=csrf)
    assert nameless.get_json()["problems"] == [{"field": "kind", "message": "必填：请选择区域类型"}]
    assert session.scalar(select(func.count(Zone.id))) == before


def test_a_saved_zone_is_a_draft_until_published(app, login, client, session):
    admin, csrf = _admin(app, login)
    saved = admin.post("/admin/zones/save", json={"kind": "residential", "name": "草稿小区", "geometry": SQUARE},
                       headers=csrf)
    assert saved.status_code == 200, saved.get_json()
    zone_id = saved.get_json()["zone"]["id"]
    token = user_token(client, "dispatcher")
    published = {f["id"] for f in client.get("/api/v1/zones", headers=bearer(token)).get_json()["features"]}
    assert zone_id not in published
    every = {f["id"] for f in client.get("/api/v1/zones?all=1", headers=bearer(token)).get_json()["features"]}
    assert zone_id in every
    assert admin.post(f"/admin/zones/{zone_id}/publish", headers=csrf).status_code == 200
    published = {f["id"] for f in client.get("/api/v1/zones", headers=bearer(token)).get_json()["features"]}
    assert zone_id in published


def test_a_reader_sees_the_map_but_cannot_save(app, login):
    auditor, csrf = _admin(app, login, "auditor")
    page = auditor.get("/admin/zones/").get_data(as_text=True)
    assert 'id="zone-map"' in page and 'id="zone-form"' not in page
    assert auditor.post("/admin/zones/save", json={"kind": "residential"}, headers=csrf).status_code == 403


def test_a_shape_drawn_on_gcj02_tiles_is_stored_in_wgs84(settings, factory, login, session):
    from app import create_app

    gcj = dataclasses.replace(settings, web=dataclasses.replace(settings.web, map_tiles_crs="gcj02",
                                                                map_tiles="https://t{s}.example.cn/{z}/{x}/{y}.png"))
    app = create_app(gcj, {"TESTING": True})
    admin, csrf = _admin(app, login)
    page = admin.get("/admin/zones/")
    assert "https://*.example.cn" in page.headers["Content-Security-Policy"].split("img-src")[1].split(";")[0]
    lat, lon = from_wgs84(35.0226, 111.0235, "gcj02")
    saved = admin.post("/admin/zones/save", json={"kind": "school_surroundings", "name": "火星坐标学校",
                                                  "geometry": {"type": "Point", "coordinates": [lon, lat]}},
                       headers=csrf)
    assert saved.status_code == 200
    stored = session.get(Zone, saved.get_json()["zone"]["id"]).geometry["coordinates"]
    assert metres(stored[1], stored[0], 35.0226, 111.0235) < 1


def test_a_token_created_for_gcj02_has_its_points_converted(client, session, drain):
    from app.cli import main

    created = CliRunner().invoke(main, ["token", "create", "--source", "gaode-picker", "--source-type", "citizen",
                                        "--crs", "gcj02"])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert "gcj02" in CliRunner().invoke(main, ["token", "list"]).output
    lat, lon = from_wgs84(35.0360, 111.0150, "gcj02")  # inside 西城物流限制经营区, as a Gaode picker gives it
    answer = client.post("/api/v1/events", json=event("L0001", "XC-03", hour=11, location={"lat": lat, "lon": lon}),
                         headers=bearer(token))
    assert answer.status_code == 202, answer.get_json()
    drain()
    e = session.get(Event, answer.get_json()["id"])
    assert metres(e.lat, e.lon, 35.0360, 111.0150) < 1
    assert "zero_tolerance.zt6" in {f.rule_key for f in e.firings}
    refused = CliRunner().invoke(main, ["token", "create", "--source", "x", "--crs", "mars"])
    assert refused.exit_code != 0 and "mars" in refused.output


def test_an_import_declared_gcj02_has_its_points_converted(app, login, factory, session):
    import io
    import re

    from engine.core.models import ImportRun
    from engine.intake import imports
    from tests.helpers import local_time, unique

    admin, _csrf = _admin(app, login)
    lat, lon = from_wgs84(35.0360, 111.0150, "gcj02")
    source, ticket = unique("gaode-export"), unique("gd")
    text = f"工单编号,问题类别代码,受理时间,网格,纬度,经度\n{ticket},L0001,{local_time(11)},XC-03,{lat},{lon}\n"
    page = admin.get("/admin/import/").get_data(as_text=True)
    assert 'name="crs"' in page
    response = admin.post("/admin/import/", data={
        "csrf_token": csrf_from(page), "source": source, "source_type": "patrol", "timezone": "Asia/Shanghai",
        "crs": "gcj02", "file": (io.BytesIO(text.encode()), "gaode.csv")}, content_type="multipart/form-data")
    run_id = int(re.search(r"/import/(\d+)/", response.headers["Location"]).group(1))
    assert session.get(ImportRun, run_id).crs == "gcj02"
    assert imports.run(factory, run_id).created == 1
    e = session.scalar(select(Event).where(Event.source == source))
    assert metres(e.lat, e.lon, 35.0360, 111.0150) < 1


def test_the_map_shows_the_valid_permits_beside_grids_and_zones(app, login):
    client = app.test_client()
    login(client, "admin")
    page = client.get("/admin/zones/?lang=zh_Hans_CN").get_data(as_text=True)
    assert "审批/备案" in page
    assert "CGW-2026-SC-001" in page  # the demo's temporary market, valid
    assert "CGJ-2026-GG-009" not in page  # revoked: only valid permits are drawn
