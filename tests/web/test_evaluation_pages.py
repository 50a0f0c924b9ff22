"""模拟测评 and the official deductions as users reach them (issue 17 point 3): a supervisor starts a round on the
form, an item scored above its maximum is refused next to the item in the reader's language with nothing written,
the scores then show as rates on the round page and through the API (readers only); an administrator's import of
the official deductions names a missing point by row and stores nothing, and a good one is attributed to the
point's unit and person and moves that unit down GET /api/v1/assessment/rankings."""
from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import func, select

from engine.core import clock
from engine.core.models import Case, EvaluationRound, EvaluationScore, OfficialDeduction
from engine.readiness.checklists import items_for
from tests.engine.test_mock_evaluation import generated
from tests.helpers import bearer, csrf_from, user_token

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
LATER = datetime(2026, 11, 20, 11, 0, tzinfo=SHANGHAI)


def written(session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(m))
                 for m in (EvaluationRound, EvaluationScore, OfficialDeduction, Case))


def post_form(client, page: str, action: str, data: dict, **extra):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(action, data={**data, "csrf_token": token}, **extra)


def test_a_round_is_started_scored_on_the_phone_page_and_read_as_rates(app, session, login, csrf_on):
    clock.set_clock(lambda: NOW)
    points = generated(session, 3)
    session.commit()
    supervisor = app.test_client()
    login(supervisor, "supervisor")
    refused = post_form(supervisor, "/evaluation", "/evaluation/rounds", {"name": "", "codes": "MK-00, MK-404"})
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "必填：1–200 个字符" in body and "没有这个在用点位：MK-404" in body
    started = post_form(supervisor, "/evaluation", "/evaluation/rounds", {"name": "第一轮模拟测评",
                                                                         "codes": "MK-00，MK-01"})
    assert started.status_code == 302
    row = session.scalar(select(EvaluationRound).where(EvaluationRound.name == "第一轮模拟测评"))
    assert row.point_ids == [points[0].id, points[1].id] and row.kind == "mock"
    items = items_for(session, points[0].type_id)
    page = f"/evaluation/rounds/{row.id}/points/MK-00"
    form = {f"passed-{i.code}": "yes" for i in items}
    too_high = {**form, f"score-{items[-1].code}": str(items[-1].max_score + 1)}
    before = written(session)
    answer = post_form(supervisor, page, page, too_high)
    assert answer.status_code == 422
    top = f"{items[-1].max_score:g}"
    html = answer.get_data(as_text=True)
    assert f'id="item-{items[-1].code}-errors"' in html and f"得分须在 0 至本项满分 {top} 之间" in html
    english = post_form(supervisor, page, page + "?lang=en", too_high)
    assert "a score from 0 to the item&#39;s maximum " + top in english.get_data(as_text=True)
    assert written(session) == before
    short = {**form, f"passed-{items[0].code}": "no", f"score-{items[0].code}": "1", f"note-{items[0].code}": "地面有烟头"}
    assert post_form(supervisor, page, page, short).status_code == 302
    assert written(session)[1] == before[1] + len(items) and written(session)[3] == before[3] + 1
    maximum = sum(i.max_score for i in items)
    expected = (maximum - items[0].max_score + 1) / maximum
    shown = supervisor.get(f"/evaluation/rounds/{row.id}?lang=zh_Hans_CN").get_data(as_text=True)
    assert f"{expected * 100:.1f}%" in shown and "东城街道" in shown
    auditor = app.test_client()
    rates = auditor.get(f"/api/v1/evaluation/rounds/{row.id}", headers=bearer(user_token(auditor, "auditor")))
    assert rates.status_code == 200
    data = rates.get_json()
    assert data["rate"]["rate"] == round(expected, 4) and data["scored_points"] == 1
    assert [(p["code"], p["failed"]) for p in data["by_point"]] == [("MK-00", 1)]
    listed = auditor.get("/api/v1/evaluation/rounds", headers=bearer(user_token(auditor, "assessor"))).get_json()
    assert any(r["id"] == row.id for r in listed["rounds"]) and listed["trend"][-1]["rate"] == round(expected, 4)
    for role in ("dispatcher", "dongcheng"):
        assert auditor.get("/api/v1/evaluation/rounds", headers=bearer(user_token(auditor, role))).status_code == 403
    unit = app.test_client()
    login(unit, "dongcheng")
    assert unit.get(page).status_code in (302, 403)


def deductions_file(rows: list[list]) -> io.BytesIO:
    book = Workbook()
    book.active.append(["点位编号", "测评项目编号", "扣分", "说明", "测评日期"])
    for row in rows:
        book.active.append(row)
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    return data


def ranks(client, token: str) -> dict[str, dict]:
    answer = client.get("/api/v1/assessment/rankings?period=2026-11", headers=bearer(token))
    assert answer.status_code == 200
    return {u["unit"]: u for u in answer.get_json()["units"]}


def test_an_official_import_is_attributed_and_moves_the_ranking_a_bad_one_writes_nothing(app, session, login,
                                                                                         csrf_on):
    clock.set_clock(lambda: NOW)
    points = generated(session, 2)  # MK-00: 东城, MK-01: 西城
    session.commit()
    supervisor = app.test_client()
    login(supervisor, "supervisor")
    post_form(supervisor, "/evaluation", "/evaluation/rounds", {"name": "模拟", "codes": "MK-00,MK-01"})
    row = session.scalar(select(EvaluationRound).where(EvaluationRound.name == "模拟"))
    for point in points:  # the first item one point short at each: both units have a case, the same loss
        items = items_for(session, point.type_id)
        page = f"/evaluation/rounds/{row.id}/points/{point.code}"
        form = {**{f"passed-{i.code}": "yes" for i in items}, f"score-{items[0].code}": str(items[0].max_score - 1)}
        assert post_form(supervisor, page, page, form).status_code == 302
    clock.set_clock(lambda: LATER)
    reader = app.test_client()
    token = user_token(reader, "assessor")
    before = ranks(reader, token)
    assert before["JD-XC"]["rank"] <= before["JD-DC"]["rank"]
    clock.set_clock(lambda: NOW)  # imported before the ranking is read again at LATER
    admin = app.test_client()
    login(admin, "admin")
    item = items_for(session, points[1].type_id)[2]
    counts = written(session)
    bad = post_form(admin, "/admin/deduction-import/", "/admin/deduction-import/?lang=zh_Hans_CN", {
        "file": (deductions_file([["MK-01", item.code, 3, "", "2026-11-19"], ["MK-404", item.code, 1, "", "2026-11-19"]]),
                 "official.xlsx")}, content_type="multipart/form-data")
    html = bad.get_data(as_text=True)
    assert "没有这个点位：MK-404" in html and 'id="deduction-bad-rows"' in html and "<td>3</td>" in html
    assert written(session) == counts
    good = post_form(admin, "/admin/deduction-import/", "/admin/deduction-import/", {
        "file": (deductions_file([["MK-01", item.code, 3, "路面有垃圾", "2026-11-19"]]), "official.xlsx")},
        content_type="multipart/form-data")
    assert 'id="deduction-import-counts"' in good.get_data(as_text=True)
    [deduction] = session.scalars(select(OfficialDeduction)).all()
    assert deduction.unit.code == "JD-XC" and deduction.person.code == "XC-002" and deduction.points == 3
    clock.set_clock(lambda: LATER)
    after = ranks(reader, token)
    assert after["JD-XC"]["score"] == before["JD-XC"]["score"] - 3
    assert after["JD-XC"]["rank"] > after["JD-DC"]["rank"], "the deduction puts 西城 below 东城"
    listed = supervisor.get("/evaluation/deductions").get_data(as_text=True)
    assert 'data-unit="JD-XC"' in listed and 'data-person="XC-002"' in listed


def test_the_cli_imports_the_official_deductions_all_or_nothing(app, session, settings, tmp_path):
    from click.testing import CliRunner

    from app.cli import main

    clock.set_clock(lambda: NOW)
    points = generated(session, 2)
    session.commit()
    item = items_for(session, points[0].type_id)[0]
    bad, good = tmp_path / "bad.xlsx", tmp_path / "good.xlsx"
    bad.write_bytes(deductions_file([["MK-00", item.code, 1, "", "2026-11-19"],
                                     ["MK-404", item.code, 1, "", "2026-11-19"]]).getvalue())
    good.write_bytes(deductions_file([["MK-00", item.code, 1, "果皮纸屑", "2026-11-19"]]).getvalue())
    counts = written(session)
    refused = CliRunner().invoke(main, ["evaluation", "import", str(bad)])
    assert refused.exit_code == 1
    assert "row 3 / 第 3 行: point: no point 'MK-404' / 没有这个点位：MK-404" in refused.output
    assert written(session) == counts
    result = CliRunner().invoke(main, ["evaluation", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "1 deductions imported" in result.output
    [deduction] = session.scalars(select(OfficialDeduction)).all()
    assert deduction.unit.code == "JD-DC" and deduction.person.code == "DC-002" and deduction.note == "果皮纸屑"


def test_a_seed_too_large_or_a_nul_in_the_points_is_refused_next_to_its_field(app, session, login, csrf_on):
    """99999999999999999999 overflowed the seed's column, and a NUL byte in a code or type failed PostgreSQL's
    query: both were a 500."""
    clock.set_clock(lambda: NOW)
    generated(session, 2)
    session.commit()
    supervisor = app.test_client()
    login(supervisor, "supervisor")
    before = written(session)
    big = post_form(supervisor, "/evaluation", "/evaluation/rounds?lang=zh_Hans_CN",
                    {"name": "抽样", "types": "back_street", "count": "1", "seed": "99999999999999999999"})
    assert big.status_code == 422
    assert 'id="seed-errors"' in big.get_data(as_text=True) and "须为 0 至 2147483647 之间的整数" in big.get_data(
        as_text=True)
    nul_code = post_form(supervisor, "/evaluation", "/evaluation/rounds", {"name": "点名", "codes": "MK-00,MK\x0001"})
    # a NUL byte is refused by the request guard (web/common/wellformed.py) before the view, naming the field
    assert nul_code.status_code == 422 and "codes" in nul_code.get_data(as_text=True)
    nul_type = post_form(supervisor, "/evaluation", "/evaluation/rounds", {"name": "抽样", "types": "main\x00road"})
    assert nul_type.status_code == 422 and "types" in nul_type.get_data(as_text=True)
    assert written(session) == before


def test_the_round_page_names_who_ran_it_by_the_persons_name(app, session, login):
    """An account name such as supervisor means little to a reader; the person it belongs to has a name."""
    from engine.core.models import Person, Unit
    from engine.readiness import mock
    from engine.authoring.campaigns import campaign_for
    from tests.helpers import user

    clock.set_clock(lambda: NOW)
    points = generated(session, 1)
    runner = user(session, "supervisor")
    person = session.scalar(select(Person).where(Person.user_id == runner.id))
    if person is None:
        unit = session.scalar(select(Unit).order_by(Unit.id).limit(1))
        person = Person(code="EV-RUN-1", name="督查员甲", position="responsible", unit_id=unit.id, phone="13900000991",
                        user_id=runner.id)
        session.add(person)
    row = mock.start_round(session, campaign_for(session, None), runner, "点名测评", codes=[points[0].code])
    session.commit()
    reader = app.test_client()
    login(reader, "assessor")
    head = reader.get(f"/evaluation/rounds/{row.id}").get_data(as_text=True)
    head = head[head.index('id="round-head"'):][:600]
    assert person.name in head and "supervisor" not in head
