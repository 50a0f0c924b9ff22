"""The permits register in the admin and the API, through HTTP with CSRF on: a bad permit gets its error next to
the field in the reader's language and nothing is written; an import with an unknown column or a bad row stores
nothing and names each; GET /api/v1/permits answers GeoJSON filtered by kind, time and box, to users only."""
from __future__ import annotations

import io
import json
import re
from html import unescape

import pytest
from sqlalchemy import func, select

from engine.core.models import Permit, PermitKind, Unit
from engine.space.permits import PERMIT_INDEX, save_permit_kind
from tests.helpers import bearer, csrf_from, user_token


@pytest.fixture(autouse=True)
def fresh_index():
    PERMIT_INDEX.clear()
    yield
    PERMIT_INDEX.clear()


@pytest.fixture()
def admin(app, client, login):
    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    return client


def _post(client, form_url: str, data: dict, lang: str = "en"):
    url = f"{form_url}{'&' if '?' in form_url else '?'}lang={lang}"
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(url, data={**data, "csrf_token": csrf_from(page.get_data(as_text=True))})


def _near(html: str, anchor: str, message: str, window: int = 1500) -> bool:
    """The message is shown right after the field named `anchor`, not only in a banner."""
    at = html.find(f'name="{anchor}"')
    if at >= 0 and html.rfind("<select", 0, at) > html.rfind(">", 0, at):
        at = html.find("</select>", at)
    return at >= 0 and message in unescape(html[at:at + window])


def _permit(session, number: str, **changes) -> dict:
    cgw = session.scalar(select(Unit.id).where(Unit.code == "CGW"))
    return {"number": number, "kind": "temporary_market", "holder_name": "锦园早市", "holder_contact": "",
            "holder": "__None", "lat": "35.0253", "lon": "111.0055", "radius_m": "60", "polygon": "",
            "site_lat": "", "site_lon": "", "site_radius_m": "", "site_polygon": "",
            "starts_at": "2026-10-01 06:00", "ends_at": "2026-10-31 22:00", "status": "valid",
            "approved_by": str(cgw), "filed_on": "2026-09-25", "filing_reference": "城管委备〔2026〕9号", **changes}


def _count(session, number: str) -> int:
    return session.scalar(select(func.count()).select_from(Permit).where(Permit.number == number))


def test_a_period_ending_before_it_starts_is_refused_next_to_the_field_and_nothing_is_stored(admin, session):
    for lang, message in (("en", "the period ends before it starts"), ("zh", "有效期结束时间早于开始时间")):
        refused = _post(admin, "/admin/permit/new/", _permit(session, "T-P-1", ends_at="2026-09-01 22:00"), lang)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 200
        assert _near(html, "ends_at", message), html[html.find('name="ends_at"'):][:1500]
        assert _count(session, "T-P-1") == 0

    created = _post(admin, "/admin/permit/new/", _permit(session, "T-P-1"))
    assert created.status_code == 302, created.get_data(as_text=True)[-2000:]
    permit = session.scalar(select(Permit).where(Permit.number == "T-P-1"))
    assert permit.place == {"type": "Point", "coordinates": [111.0055, 35.0253]} and permit.radius_m == 60
    assert permit.starts_at.isoformat() == "2026-09-30T22:00:00+00:00"  # 06:00 in Shanghai, stored in UTC
    listing = admin.get("/admin/permit/?search=T-P-1&lang=zh").get_data(as_text=True)
    assert "临时市场（固定摊点、早夜市）" in listing and "2026-10-01 06:00" in listing  # names and local time
    assert "有效" in listing and "城乡综合管理委员会" in listing
    edit = admin.get(f"/admin/permit/edit/?id={permit.id}&lang=en").get_data(as_text=True)
    assert 'value="2026-10-01 06:00:00"' in edit and 'value="35.0253"' in edit  # local time back in the form


def test_a_missing_place_and_an_unknown_kind_are_named_on_their_fields(admin, session):
    html = _post(admin, "/admin/permit/new/", _permit(session, "T-P-2", lat="", lon="", kind="fireworks"),
                 "zh").get_data(as_text=True)
    assert _near(html, "lat", "须给出地点：点位加半径、多边形，或门前三包责任单位")
    assert _near(html, "kind", "未知的审批种类「fireworks」")
    html = _post(admin, "/admin/permit/new/", _permit(session, "T-P-2", lat="north")).get_data(as_text=True)
    assert _near(html, "lat", "Enter a number.")
    bowtie = ('{"type": "Polygon", "coordinates": '
              '[[[111.0, 35.0], [111.01, 35.01], [111.01, 35.0], [111.0, 35.01], [111.0, 35.0]]]}')
    html = _post(admin, "/admin/permit/new/", _permit(session, "T-P-2", polygon=bowtie)).get_data(as_text=True)
    assert _near(html, "polygon", "the polygon crosses itself")
    assert _count(session, "T-P-2") == 0


def _unit(session, code: str) -> str:
    return str(session.scalar(select(Unit.id).where(Unit.code == code)))


def test_a_market_approved_by_the_bureau_is_refused_next_to_approved_by_in_both_languages(admin, session):
    """Seed 001: 未经区城管委审批…设立临时市场 — only the committee approves a temporary market."""
    wrong = _permit(session, "T-P-5", approved_by=_unit(session, "CGJ"))
    for lang, message in (("zh", "临时市场（固定摊点、早夜市）须由城乡综合管理委员会审批，城市管理综合执法局无权审批"),
                          ("en", "approved by Urban-Rural Management Committee alone, not by Urban Management Bureau")):
        html = _post(admin, "/admin/permit/new/", wrong, lang).get_data(as_text=True)
        assert _near(html, "approved_by", message), html[html.find('name="approved_by"'):][:1500]
    html = _post(admin, "/admin/permit/new/", {**wrong, "approved_by": _unit(session, "CGW"),
                                                "reviewed_by": _unit(session, "JD-XC")}, "zh").get_data(as_text=True)
    assert _near(html, "reviewed_by", "该种类由城市管理综合执法局审定，不是西城街道办事处")
    assert _count(session, "T-P-5") == 0


def test_the_bureaus_approval_without_its_filing_is_refused_next_to_the_filing_fields(admin, session):
    """Seed 001 duty ⑩: the bureau files each approval in writing with the committee's office (书面备案)."""
    unfiled = _permit(session, "T-P-6", kind="outdoor_ad", approved_by=_unit(session, "CGJ"), filed_on="",
                      filing_reference="")
    for lang, reference, day in (
            ("zh", "须填写备案文号：该种类的审批须上报区城管委办公室书面备案", "须填写向区城管委办公室书面备案的日期"),
            ("en", "the filing reference: this kind's approvals are filed in writing with the committee's office",
             "the day the approval was filed with the committee's office")):
        html = _post(admin, "/admin/permit/new/", unfiled, lang).get_data(as_text=True)
        assert _near(html, "filing_reference", reference), html[html.find('name="filing_reference"'):][:1500]
        assert _near(html, "filed_on", day)
    assert _count(session, "T-P-6") == 0
    filed = _post(admin, "/admin/permit/new/", {**unfiled, "filed_on": "2026-09-26", "filing_reference": "备12号"})
    assert filed.status_code == 302 and _count(session, "T-P-6") == 1


def test_the_demo_market_shows_who_declared_reviewed_and_approved_it(admin, session):
    permit = session.scalar(select(Permit).where(Permit.number == "CGW-2026-SC-001"))
    html = unescape(admin.get(f"/admin/permit/details/?id={permit.id}&lang=zh").get_data(as_text=True))
    for label, unit in (("申报单位", "东城街道办事处"), ("审定单位", "城市管理综合执法局"),
                        ("审批单位", "城乡综合管理委员会")):
        assert re.search(rf"{label}</b>\s*</td>\s*<td>\s*\S+ {unit}\s*</td>", html), html[html.find(label):][:300]


def test_each_kinds_approver_is_set_in_the_admin_and_a_second_row_for_a_kind_is_refused(admin, session):
    listing = unescape(admin.get("/admin/permit_kinds/?lang=zh").get_data(as_text=True))
    assert "临时市场（固定摊点、早夜市）" in listing and "城乡综合管理委员会" in listing and "规划分局" in listing
    twice = {"kind": "outdoor_ad", "approver": _unit(session, "CGW"), "reviewer": "__None"}
    html = _post(admin, "/admin/permit_kinds/new/", twice, "zh").get_data(as_text=True)
    assert _near(html, "kind", "该种类已有设置，请在原记录中修改")
    recycling = {"kind": "recycling_site", "approver": _unit(session, "CGJ"), "reviewer": "__None",
                 "filing_required": "y"}
    assert _post(admin, "/admin/permit_kinds/new/", recycling).status_code == 302
    refused = _post(admin, "/admin/permit/new/", _permit(session, "T-P-7", kind="recycling_site",
                                                        approved_by=_unit(session, "CGW")))
    assert _near(refused.get_data(as_text=True), "approved_by", "approved by Urban Management Bureau alone")


HEADER = "审批编号,种类,持证人,纬度,经度,半径（米）,开始时间,结束时间,状态,审批单位,备案日期,备案文号\n"


def _upload(client, content: bytes, filename: str = "permits.csv", lang: str = "en"):
    url = f"/admin/permit-import/?lang={lang}"
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def test_an_import_with_an_unknown_column_is_refused_by_name_and_stores_nothing(admin, session):
    csv = ("审批编号,种类,持证人,纬度,经度,半径（米）,开始时间,结束时间,状态,审批单位,颜色\n"
           "IMP-P-1,临时市场,早市,35.0253,111.0055,60,2026-10-01 06:00,2026-10-31 22:00,有效,CGW,红\n").encode()
    html = _upload(admin, csv).get_data(as_text=True)
    assert _near(html, "file", "unknown columns: 颜色")
    assert _near(_upload(admin, csv, lang="zh").get_data(as_text=True), "file", "未知的列：颜色")
    assert _count(session, "IMP-P-1") == 0


def test_an_import_with_a_bad_row_names_each_row_and_stores_none(admin, session):
    good = "IMP-P-2,户外广告,万达广场,35.0335,111.0070,30,2026-10-01 08:00,2026-10-31 22:00,有效,城市管理综合执法局,2026-09-20,备9号\n"
    backwards = "IMP-P-3,临时市场,早市,35.0253,111.0055,60,2026-10-31 06:00,2026-10-01 22:00,有效,CGW,,\n"
    extra = "IMP-P-4,临时市场,早市,35.0253,111.0055,60,2026-10-01 06:00,2026-10-31 22:00,有效,CGW,,,多余\n"
    csv = (HEADER + good + backwards + extra).encode()
    html = unescape(_upload(admin, csv).get_data(as_text=True))
    bad = re.search(r'id="permit-bad-rows".*?</table>', html, re.DOTALL).group(0)
    assert re.search(r"<td>3</td>\s*<td>Valid until</td>\s*<td>the period ends before it starts", bad), bad
    assert re.search(r"<td>4</td>\s*<td>Row</td>\s*<td>values in columns without a header: 13", bad), bad
    assert "Nothing was stored: 2 bad rows." in html, bad
    assert session.scalar(select(func.count()).select_from(Permit).where(Permit.number.like("IMP-P-%"))) == 0

    stored = _upload(admin, (HEADER + good).encode("gb18030"))
    assert "Created: 1, updated: 0, unchanged: 0." in stored.get_data(as_text=True)
    permit = session.scalar(select(Permit).where(Permit.number == "IMP-P-2"))
    assert (permit.kind, permit.approved_by.code, permit.filing_reference) == ("outdoor_ad", "CGJ", "备9号")
    assert "Created: 0, updated: 0, unchanged: 1." in _upload(admin, (HEADER + good).encode()).get_data(as_text=True)


def test_an_import_names_a_market_from_the_bureau_and_stores_who_declared_and_reviewed_a_good_one(admin, session):
    header = "审批编号,种类,持证人,纬度,经度,半径（米）,开始时间,结束时间,审批单位,申报单位,审定单位\n"
    wrong = "IMP-P-8,临时市场,早市,35.0253,111.0055,60,2026-10-01 06:00,2026-10-31 22:00,CGJ,JD-DC,CGJ\n"
    html = unescape(_upload(admin, (header + wrong).encode(), lang="zh").get_data(as_text=True))
    assert re.search(r"<td>2</td>\s*<td>审批单位</td>\s*<td>临时市场（固定摊点、早夜市）须由城乡综合管理委员会审批", html)
    good = wrong.replace("CGJ,JD-DC", "CGW,JD-DC")
    assert "Created: 1" in _upload(admin, (header + good).encode()).get_data(as_text=True)
    permit = session.scalar(select(Permit).where(Permit.number == "IMP-P-8"))
    assert (permit.approved_by.code, permit.declared_by.code, permit.reviewed_by.code) == ("CGW", "JD-DC", "CGJ")


def test_readers_see_the_import_page_without_the_upload_and_cannot_post(app, login):
    client = app.test_client()
    assert login(client, "auditor").status_code == 302
    page = client.get("/admin/permit-import/")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' not in page.get_data(as_text=True)
    assert client.get("/admin/permit/").status_code == 200 and client.get("/admin/permit/new/").status_code == 403
    app.config["WTF_CSRF_ENABLED"] = False
    assert client.post("/admin/permit-import/", data={}).status_code == 403


def test_the_api_answers_geojson_filtered_by_kind_time_and_box(app, client, intake_token):
    token = user_token(client, "dispatcher")
    every = client.get("/api/v1/permits", headers=bearer(token)).get_json()
    assert every["type"] == "FeatureCollection"
    numbers = {f["properties"]["number"] for f in every["features"]}
    assert {"CGW-2026-SC-001", "CGJ-2026-ZT-007", "CGJ-2026-GG-009"} <= numbers

    waste = client.get("/api/v1/permits?kind=construction_waste", headers=bearer(token)).get_json()["features"]
    assert [f["properties"]["number"] for f in waste] == ["CGJ-2026-ZT-007"]
    assert waste[0]["geometry"]["type"] == "Polygon" and waste[0]["properties"]["site"]["type"] == "Point"
    assert waste[0]["properties"]["starts_at"] == "2026-03-01T00:00:00+08:00"  # the campaign's local time

    valid = client.get("/api/v1/permits?valid_at=2026-10-01T08:00:00%2B08:00", headers=bearer(token)).get_json()
    assert "CGJ-2026-GG-009" not in {f["properties"]["number"] for f in valid["features"]}  # revoked
    late = client.get("/api/v1/permits?valid_at=2027-01-15T08:00:00%2B08:00", headers=bearer(token)).get_json()
    assert "CGJ-2026-GG-014" not in {f["properties"]["number"] for f in late["features"]}  # ended 2026-12-31

    boxed = client.get("/api/v1/permits?bbox=111.02,35.02,111.03,35.03", headers=bearer(token)).get_json()
    assert {f["properties"]["number"] for f in boxed["features"]} == {"CGW-2026-SC-001"}

    bad = client.get("/api/v1/permits?kind=fireworks&bbox=1,2,3&valid_at=soon",
                     headers={**bearer(token), "Accept-Language": "en"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"kind", "bbox", "valid_at"}
    assert client.get("/api/v1/permits", headers=bearer(intake_token)).status_code == 403  # a source token
    assert client.get("/api/v1/permits").status_code == 401


def test_an_xlsx_import_reads_excel_times_and_numbers_and_a_frontage_holders_place(admin, session):
    from datetime import datetime

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["审批编号", "种类", "门前三包地址", "开始时间", "结束时间", "状态", "审批单位", "备案日期"])
    sheet.append(["XLSX-P-1", "废旧品回收站点", "东城区解放路12号", datetime(2026, 10, 1, 8, 0),
                  datetime(2026, 12, 31, 18, 0), "有效", "CGJ", datetime(2026, 9, 28)])
    data = io.BytesIO()
    book.save(data)
    html = _upload(admin, data.getvalue(), "permits.xlsx").get_data(as_text=True)
    assert "Created: 1, updated: 0, unchanged: 0." in html, unescape(html)[-3000:]
    permit = session.scalar(select(Permit).where(Permit.number == "XLSX-P-1"))
    assert (permit.kind, permit.holder_name, permit.holder.address) == ("recycling_site", "老王烧烤", "东城区解放路12号")
    assert permit.place == {"type": "Point", "coordinates": [110.995, 35.025]} and permit.radius_m == 30
    assert permit.starts_at.isoformat() == "2026-10-01T00:00:00+00:00" and str(permit.filed_on) == "2026-09-28"


def _market_approved_by(session, code: str) -> None:
    """Seed 001 has 区城管委 approve temporary markets; setting another unit leaves the demo's market from the wrong one."""
    settings = session.scalar(select(PermitKind).where(PermitKind.kind == "temporary_market"))
    save_permit_kind(session, "temporary_market", session.scalar(select(Unit).where(Unit.code == code)),
                     settings.reviewer, settings.filing_required, settings)
    session.commit()


def test_the_api_marks_a_permit_from_the_wrong_approving_unit_as_not_counting_in_both_languages(
        app, client, session):
    _market_approved_by(session, "CGJ")
    token = user_token(client, "dispatcher")
    for lang, words in (("zh-CN", "不计入审批：临时市场（固定摊点、早夜市）须由城市管理综合执法局审批，本审批由"),
                        ("en", "Does not count as an approval: Temporary market (fixed stalls, morning and night "
                               "markets) is approved by Urban Management Bureau alone")):
        features = client.get("/api/v1/permits", headers={**bearer(token), "Accept-Language": lang}).get_json()
        shown = {f["properties"]["number"]: f["properties"] for f in features["features"]}
        market, waste = shown["CGW-2026-SC-001"], shown["CGJ-2026-ZT-007"]
        assert market["counts"] is False and market["not_counted_because"].startswith(words), market
        assert waste["counts"] is True and waste["not_counted_because"] is None


def test_the_zone_map_marks_a_permit_from_the_wrong_approving_unit(app, client, login, session):
    _market_approved_by(session, "CGJ")
    assert login(client, "admin").status_code == 302
    page = client.get("/admin/zones/?lang=zh-CN").get_data(as_text=True)
    layers = json.loads(unescape(re.search(r'data-layers="([^"]*)"', page).group(1)))
    [permits] = [layer for layer in layers["extra"] if layer["name"] == "审批/备案"]
    market = next(f["properties"] for f in permits["features"]["features"]
                  if f["properties"]["number"] == "CGW-2026-SC-001")
    assert market["counts"] is False and "不计入审批" in market["popup"][-1] and "有效期" in market["popup"][3]

@pytest.mark.parametrize("lang, message", [("zh", "必填：请选择审批种类"), ("en", "Required: choose the permit kind")])
def test_a_kind_left_blank_is_required_not_unknown(admin, session, lang, message):
    """The blank "—" choice read "unknown kind ''; one of temporary_market, …" and 未知的审批种类「」."""
    html = _post(admin, "/admin/permit/new/", _permit(session, "T-P-9", kind=""), lang).get_data(as_text=True)
    assert _near(html, "kind", message) and "unknown kind" not in html and "未知的审批种类" not in html
    assert _count(session, "T-P-9") == 0
    blank = {"kind": "", "approver": _unit(session, "CGW"), "reviewer": "__None"}
    html = _post(admin, "/admin/permit_kinds/new/", blank, lang).get_data(as_text=True)
    assert _near(html, "kind", message) and "unknown kind" not in html and "未知的审批种类" not in html
