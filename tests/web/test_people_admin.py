"""The staff register, its import, streets and grids' people in the admin, through HTTP with CSRF on: each bad
entry gets its error next to the field (or its row) and nothing is half-written; a grid nobody answers for is
flagged; phone numbers are masked for readers."""
from __future__ import annotations

import io
import re
from html import unescape

import pytest
from sqlalchemy import func, select

from engine.core.models import Grid, Person, Street, Unit
from tests.helpers import csrf_from


@pytest.fixture()
def admin(app, client, login):
    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    return client


def _post(client, form_url: str, data: dict, lang: str = "en"):
    """Open the form (for its CSRF token), then post it as the browser would."""
    url = f"{form_url}{'&' if '?' in form_url else '?'}lang={lang}"
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(url, data={**data, "csrf_token": csrf_from(page.get_data(as_text=True))})


def _near(html: str, anchor: str, message: str, window: int = 1500) -> bool:
    """The message is shown right after the field named `anchor` (in its form group), not only in a banner."""
    at = html.find(f'name="{anchor}"')
    if at >= 0 and html.rfind("<select", 0, at) > html.rfind(">", 0, at):
        at = html.find("</select>", at)  # after a picker's options
    return at >= 0 and message in unescape(html[at:at + window])


def _unit(session, code: str) -> Unit:
    return session.scalar(select(Unit).where(Unit.code == code))


def _person(session, code: str) -> Person:
    return session.scalar(select(Person).where(Person.code == code))


def _staff(session, code: str, **changes) -> dict:
    return {"code": code, "name": "测试员", "position": "responsible", "unit": str(_unit(session, "ZD-XC").id),
            "phone": "13812345678", "user": "__None", "active": "y", **changes}


# --- staff ---------------------------------------------------------------------------------------------

def test_a_phone_registered_in_another_unit_is_refused_next_to_the_field_and_nothing_is_stored(admin, session):
    taken = _person(session, "ZDDC-002")  # 张伟 of the Dongcheng squad
    for lang, message in (("en", f"phone {taken.phone} is registered to 张伟 (ZDDC-002)"),
                          ("zh", "同一人不能属于两个单位")):
        refused = _post(admin, "/admin/person/new/", _staff(session, "T-100", phone=taken.phone), lang=lang)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 200
        assert _near(html, "unit", message), html[html.find('name="unit"'):][:1500]
        assert session.scalar(select(func.count()).select_from(Person).where(Person.code == "T-100")) == 0

    created = _post(admin, "/admin/person/new/", _staff(session, "T-100"))
    assert created.status_code == 302, created.get_data(as_text=True)[-2000:]
    person = _person(session, "T-100")
    assert (person.name, person.position, person.unit.code, person.phone, person.active) == (
        "测试员", "responsible", "ZD-XC", "13812345678", True)
    listing = admin.get("/admin/person/?search=T-100&lang=en").get_data(as_text=True)
    assert "Responsible officer" in listing and "Xicheng Sub-district Enforcement Squad" in listing  # names, not codes
    assert "13812345678" in listing  # an administrator calls people: the whole number


def test_a_staff_number_taken_and_an_empty_name_are_named_on_their_fields(admin, session):
    refused = _post(admin, "/admin/person/new/", _staff(session, "ZDDC-002", name="", phone="13812345679"))
    html = refused.get_data(as_text=True)
    assert _near(html, "code", "staff number ZDDC-002 is taken by 张伟")
    assert _near(html, "name", "a name of 1–64 characters")
    assert session.scalar(select(Person.phone).where(Person.code == "ZDDC-002")) == "13900000024"


def test_editing_a_person_moves_them_and_removes_the_linked_account(admin, session):
    person = _person(session, "ZDDC-002")
    assert person.user is not None  # the demo's zhangwei
    data = {"code": "ZDDC-002", "name": "张伟", "position": "squad_chief", "unit": str(_unit(session, "ZD-DC").id),
            "phone": person.phone, "user": "__None", "active": "y"}
    assert _post(admin, f"/admin/person/edit/?id={person.id}", data).status_code == 302
    session.expire_all()
    person = _person(session, "ZDDC-002")
    assert (person.position, person.user_id) == ("squad_chief", None)


@pytest.mark.parametrize(("username", "shown", "hidden"), [("auditor", "139****0024", "13900000024"),
                                                           ("assessor", "139****0024", "13900000024"),
                                                           ("admin", "13900000024", "139****0024")])
def test_readers_see_phone_numbers_masked_and_an_administrator_sees_them_whole(app, login, session, username,
                                                                                shown, hidden):
    client = app.test_client()
    assert login(client, username).status_code == 302
    person = _person(session, "ZDDC-002")
    for url in ("/admin/person/?search=ZDDC-002&lang=en", f"/admin/person/details/?id={person.id}&lang=en"):
        html = client.get(url).get_data(as_text=True)
        assert "张伟" in html and shown in html and hidden not in html, url


def test_the_staff_list_filters_by_unit_and_position(admin, session):
    unit = _unit(session, "ZD-DC")
    by_unit = admin.get(f"/admin/person/?flt0_0={unit.id}&lang=en").get_data(as_text=True)
    assert "张伟" in by_unit and "邹静" not in by_unit
    by_position = admin.get("/admin/person/?flt0_1=collector&lang=en").get_data(as_text=True)
    assert "吴敏" in by_position and "张伟" not in by_position
    assert "西城街道执法中队" in admin.get("/admin/person/?lang=zh").get_data(as_text=True)  # the unit filter's options


# --- grids, streets, units --------------------------------------------------------------------------------

def _grid_form(grid: Grid, **changes) -> dict:
    return {"code": grid.code, "name_zh": grid.name_zh, "name_en": grid.name_en, "unit": str(grid.unit_id),
            "responsible": str(grid.responsible_id) if grid.responsible_id else "__None",
            "collector": str(grid.collector_id) if grid.collector_id else "__None", **changes}


def test_a_grid_given_a_responsible_person_of_another_unit_is_refused_on_the_field(admin, session):
    grid = session.scalar(select(Grid).where(Grid.code == "DC-01"))
    before = (grid.responsible_id, grid.collector_id)
    stranger = _person(session, "ZDXC-002")  # 邹静 of the Xicheng squad
    for lang, message in (("en", "邹静 belongs to Xicheng Sub-district Enforcement Squad, not to"),
                          ("zh", "邹静属于「西城街道执法中队」，不属于网格所属单位「东城街道办事处」")):
        refused = _post(admin, f"/admin/grid/edit/?id={grid.id}", _grid_form(grid, responsible=str(stranger.id)),
                        lang=lang)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 200
        assert _near(html, "responsible", message), html[html.find('name="responsible"'):][:1500]
    session.expire_all()
    assert (session.get(Grid, grid.id).responsible_id, session.get(Grid, grid.id).collector_id) == before

    colleague = _person(session, "ZDDC-003")  # the same squad, under the grid's sub-district: accepted
    assert _post(admin, f"/admin/grid/edit/?id={grid.id}", _grid_form(grid, responsible=str(colleague.id))
                 ).status_code == 302
    session.expire_all()
    assert session.get(Grid, grid.id).responsible_id == colleague.id


def test_a_new_grid_with_nobody_assigned_is_flagged_in_the_list_and_on_the_admin_home(admin, session):
    home = admin.get("/admin/?lang=en").get_data(as_text=True)
    assert 'id="grids-missing-people"' not in home  # the demo assigns every grid
    unit = _unit(session, "JD-DC")
    created = _post(admin, "/admin/grid/new/", {"code": "DC-99", "name_zh": "东城街道第99网格",
                                                "name_en": "Dongcheng grid 99", "unit": str(unit.id),
                                                "responsible": "__None", "collector": "__None"})
    assert created.status_code == 302, created.get_data(as_text=True)[-2000:]

    home = admin.get("/admin/?lang=en").get_data(as_text=True)
    alert = re.search(r'id="grids-missing-people".*?</div>', home, re.DOTALL).group(0)
    assert "1 grids have no responsible person or no collector" in alert and "DC-99" in alert
    flagged_url = re.search(r'href="([^"]*flt0_missing_people=1[^"]*)"', alert).group(1).replace("&amp;", "&")
    flagged = admin.get(flagged_url + "&lang=en").get_data(as_text=True)
    rows = re.findall(r'<td class="col-code">\s*(\S+)\s*</td>', flagged)
    assert rows == ["DC-99"], rows
    assert "No responsible person" in flagged and "No collector" in flagged

    everything = admin.get("/admin/grid/?lang=en").get_data(as_text=True)
    assert "DC-01" in everything and "张伟 · Responsible officer" in everything  # assigned grids name their people


def test_a_field_worker_without_an_area_is_named_on_the_admin_home_in_both_languages_and_listed(admin, session):
    """Seed 004 (每名队员都要有自己的责任区域): every demo field worker has one; a new grid worker has none yet."""
    assert 'id="staff-without-area"' not in admin.get("/admin/?lang=en").get_data(as_text=True)
    created = _post(admin, "/admin/person/new/", _staff(session, "XC-099", name="新网格员", position="grid_worker",
                                                        unit=str(_unit(session, "JD-XC").id)))
    assert created.status_code == 302, created.get_data(as_text=True)[-2000:]

    for lang, words in (("en", "1 field staff have no responsibility area (no grid, street or inspection point)"),
                        ("zh", "1 名一线人员没有责任区域（网格、道路或测评点位）")):
        home = admin.get(f"/admin/?lang={lang}").get_data(as_text=True)
        alert = unescape(re.search(r'id="staff-without-area".*?</div>', home, re.DOTALL).group(0))
        unit = "Xicheng Sub-district Office" if lang == "en" else "西城街道办事处"
        assert words in alert and f"新网格员 ({unit})" in alert and "XC-099" not in alert, alert
    listed_url = re.search(r'id="staff-without-area".*?href="([^"]*flt0_without_area=1[^"]*)"', home,
                           re.DOTALL).group(1).replace("&amp;", "&")
    listed = admin.get(listed_url + "&lang=en").get_data(as_text=True)
    assert "新网格员" in listed and "张伟" not in listed and "王建国" not in listed


def test_a_collector_who_is_not_a_collector_and_a_paired_leader_who_is_not_a_leader_are_refused(admin, session):
    grid = session.scalar(select(Grid).where(Grid.code == "DC-02"))
    squad_member = _person(session, "ZDDC-004")
    refused = _post(admin, f"/admin/grid/edit/?id={grid.id}", _grid_form(grid, collector=str(squad_member.id)))
    assert _near(refused.get_data(as_text=True), "collector", "Choose one of the listed entries.")  # collectors only
    session.expire_all()
    assert session.get(Grid, grid.id).collector.code == "CGJ-006"

    unit = _unit(session, "JD-DC")
    form = admin.get(f"/admin/unit/edit/?id={unit.id}&lang=en").get_data(as_text=True)
    assert 'name="liaison"' in form and "王建国 · Leader in charge" in form
    leader = _person(session, "CGJ-002")
    data = {"code": unit.code, "name_zh": unit.name_zh, "name_en": unit.name_en, "type": unit.type,
            "parent": "__None", "contact": unit.contact or "", "liaison": str(leader.id)}
    assert _post(admin, f"/admin/unit/edit/?id={unit.id}", data).status_code == 302
    session.expire_all()
    assert _unit(session, "JD-DC").liaison.code == "CGJ-002"
    assert "李明华" in admin.get("/admin/unit/?lang=en").get_data(as_text=True)


def test_a_street_takes_its_responsible_person_from_its_own_unit(admin, session):
    unit = _unit(session, "JD-DC")
    stranger, local = _person(session, "ZDNC-002"), _person(session, "ZDDC-005")
    data = {"code": "ST-DC-99", "name_zh": "测试路", "name_en": "Test Road", "unit": str(unit.id)}
    refused = _post(admin, "/admin/street/new/", {**data, "responsible": str(stranger.id)})
    assert _near(refused.get_data(as_text=True), "responsible", "葛亮 belongs to Nancheng")
    assert session.scalar(select(Street).where(Street.code == "ST-DC-99")) is None
    assert _post(admin, "/admin/street/new/", {**data, "responsible": str(local.id)}).status_code == 302
    assert session.scalar(select(Street).where(Street.code == "ST-DC-99")).responsible_id == local.id
    listing = admin.get("/admin/street/?lang=en").get_data(as_text=True)
    assert "测试路" in listing and "华杰" in listing


def test_the_sign_in_locks_name_every_role_including_collector_and_shift_leader(app, login):
    security = app.test_client()  # sign-in locks are the security administrator's (三员分立)
    assert login(security, "security_admin").status_code == 302
    html = security.get("/admin/sign_in_lock/?lang=zh").get_data(as_text=True)
    assert "监督员" in html and "值班长" in html and "安全管理员" in html and "审计管理员" in html


# --- import --------------------------------------------------------------------------------------------

def _upload(client, content: bytes, filename: str = "staff.csv", lang: str = "en"):
    url = f"/admin/staff-import/?lang={lang}"
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def test_an_import_with_a_bad_row_names_it_and_stores_the_rest(admin, session):
    csv = ("工号,姓名,职务,单位,电话,账号\n"
           "IMP-001,李四,责任人,ZD-DC,13700000001,\n"
           "IMP-002,王五,队员,不存在的单位,13700000002,\n"
           "IMP-003,赵六,监督员,西城街道执法中队,13700000003,\n").encode()
    counts = ("Created: 2, updated: 0, unchanged: 0, bad rows: 1.", "Created: 0, updated: 0, unchanged: 2, bad rows: 1.")
    for (lang, reason), count in zip((("en", "unknown unit '不存在的单位'"), ("zh", "未知的单位「不存在的单位」")), counts):
        answer = _upload(admin, csv, lang=lang)
        html = answer.get_data(as_text=True)
        assert answer.status_code == 200
        bad = unescape(re.search(r'id="staff-bad-rows".*?</table>', html, re.DOTALL).group(0))
        assert re.search(r"<td>3</td>\s*<td>[^<]+</td>\s*<td>" + re.escape(reason), bad), bad
        if lang == "en":
            assert count in html  # the second, Chinese page says the same in Chinese once the catalog has it
    assert "Created: 0, updated: 0, unchanged: 2, bad rows: 1." in _upload(admin, csv).get_data(as_text=True)
    stored = {p.code: (p.name, p.position, p.unit.code) for p in
              session.scalars(select(Person).where(Person.code.like("IMP-%")))}
    assert stored == {"IMP-001": ("李四", "responsible", "ZD-DC"), "IMP-003": ("赵六", "collector", "ZD-XC")}


def test_the_first_import_counts_what_it_created(admin, session):
    csv = "工号,姓名,职务,单位,电话\nIMP-010,钱七,网格员,JD-DC,13700000010\n".encode("gb18030")
    html = _upload(admin, csv).get_data(as_text=True)
    assert "Created: 1, updated: 0, unchanged: 0, bad rows: 0." in html
    assert 'id="staff-bad-rows"' not in html
    assert _person(session, "IMP-010").position == "grid_worker"


def test_a_file_without_a_column_or_unreadable_is_refused_next_to_the_file_field_and_writes_nothing(admin, session):
    before = session.scalar(select(func.count()).select_from(Person))
    missing = "工号,姓名,职务,单位\nIMP-020,孙八,队员,ZD-DC\n".encode()
    html = _upload(admin, missing).get_data(as_text=True)
    assert _near(html, "file", "no column for phone")
    html = _upload(admin, missing, lang="zh").get_data(as_text=True)
    assert _near(html, "file", "缺少列：电话")
    assert _near(_upload(admin, b"not a workbook", "staff.xlsx").get_data(as_text=True), "file",
                 "not a readable XLSX workbook")
    assert _near(_upload(admin, b"a,b", "staff.txt").get_data(as_text=True), "file", "Upload a .csv or .xlsx file.")
    assert session.scalar(select(func.count()).select_from(Person)) == before


def test_the_template_csv_has_the_import_headers(admin):
    answer = admin.get("/admin/staff-import/template.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.get_data().decode("utf-8-sig").splitlines() == ["工号,姓名,职务,单位,电话,账号"]
    assert "attachment" in answer.headers["Content-Disposition"]


def test_readers_see_the_import_page_without_the_upload_and_cannot_post(app, login):
    client = app.test_client()
    assert login(client, "auditor").status_code == 302
    page = client.get("/admin/staff-import/")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' not in page.get_data(as_text=True)
    app.config["WTF_CSRF_ENABLED"] = False
    assert client.post("/admin/staff-import/", data={}).status_code == 403
