"""Cases through the real interfaces: an event names its case, a case shows its stage history, reports and
tasks, and a case no unit owns waits in 待派遣 until the dispatcher routes it (API and the queue page)."""
from __future__ import annotations

from tests.helpers import bearer, csrf_from, event, user_token

SPOT = {"lat": 35.0240, "lon": 110.9950}  # inside DC-01


def _post(client, token: str, payload: dict) -> int:
    answer = client.post("/api/v1/events", json=payload, headers=bearer(token))
    assert answer.status_code == 202, answer.get_json()
    return answer.get_json()["id"]


def test_an_event_names_its_case_and_the_case_its_reports_stages_and_tasks(client, patrol_token, drain):
    ids = [_post(client, patrol_token, event("06029", "DC-01", hour=12, location=SPOT)) for _ in range(2)]
    drain()
    admin = user_token(client, "admin")
    first, second = (client.get(f"/api/v1/events/{i}", headers=bearer(admin)).get_json() for i in ids)
    assert first["case"]["id"] == second["case"]["id"]
    assert first["case"]["stage"] == "dispatched" and first["case"]["report_count"] == 2
    assert second["tasks"] == [] and second["points"] == 0  # the linked report made nothing new
    case = client.get(f"/api/v1/cases/{first['case']['id']}", headers={**bearer(admin), "Accept-Language": "zh-CN"})
    body = case.get_json()
    assert case.status_code == 200 and body["stage_name"] == "已派遣" and body["report_count"] == 2
    assert body["category"]["code"] == "06029" and body["lead_unit"]["code"] == "JD-DC"
    assert [r["id"] for r in body["reports"]] == ids and {t["event"] for t in body["tasks"]} == {ids[0]}
    assert [s["to"] for s in body["stages"]] == ["reported", "filed", "dispatched"]
    # a field unit sees a case of its tasks and the reports linked to it, but not another sub-district's
    dongcheng = user_token(client, "dongcheng")
    assert client.get(f"/api/v1/events/{ids[1]}", headers=bearer(dongcheng)).get_json()["case"]["id"] == body["id"]
    assert client.get(f"/api/v1/events/{ids[1]}", headers=bearer(user_token(client, "xicheng"))).status_code == 404
    assert client.get(f"/api/v1/cases/{body['id']}", headers=bearer(user_token(client, "dongcheng"))).status_code == 200
    assert client.get(f"/api/v1/cases/{body['id']}", headers=bearer(user_token(client, "xicheng"))).status_code == 404


def test_a_case_nobody_owns_waits_in_the_dispatchers_queue_and_is_routed(app, client, patrol_token, drain, login):
    event_id = _post(client, patrol_token, event("07008", "DC-01", hour=10))  # 公益性宣传品缺损: no lead
    drain()
    dispatcher = user_token(client, "dispatcher")
    case_id = client.get(f"/api/v1/events/{event_id}", headers=bearer(dispatcher)).get_json()["case"]["id"]
    shown = client.get(f"/api/v1/cases/{case_id}", headers={**bearer(dispatcher), "Accept-Language": "zh-CN"})
    assert shown.get_json()["stage"] == "awaiting_dispatch" and shown.get_json()["stage_name"] == "待派遣"
    assert shown.get_json()["tasks"] == []

    app.config["WTF_CSRF_ENABLED"] = True
    login(client, "dispatcher")
    home = client.get("/?lang=zh-CN").get_data(as_text=True)
    assert "待派遣案件" in home and 'id="cases-waiting"' in home
    queue = client.get("/dispatch?lang=zh-CN").get_data(as_text=True)
    assert f'id="case-{case_id}"' in queue and "公益性宣传品缺损" in queue and "待派遣" in queue

    refused = client.post(f"/api/v1/cases/{case_id}/route", json={"unit": "NOPE"},
                          headers={**bearer(dispatcher), "Accept-Language": "zh-CN"})
    assert refused.status_code == 422 and "没有该单位" in str(refused.get_json())
    field = client.post(f"/api/v1/cases/{case_id}/route", json={"unit": "JD-DC"},
                        headers=bearer(user_token(client, "dongcheng")))
    assert field.status_code == 403

    routed = client.post(f"/dispatch/cases/{case_id}/route?lang=zh-CN",
                         data={"unit": "JD-DC", "csrf_token": csrf_from(queue)})
    assert routed.status_code == 302
    after = client.get(f"/api/v1/cases/{case_id}", headers=bearer(dispatcher)).get_json()
    assert after["stage"] == "dispatched" and after["lead_unit"]["code"] == "JD-DC"
    [task] = after["tasks"]
    assert (task["unit"]["code"], task["rule"], task["limit"]["value"]) == ("JD-DC", "routine", 5.0)
    assert [s["to"] for s in after["stages"]] == ["reported", "filed", "awaiting_dispatch", "dispatched"]
    assert f'id="case-{case_id}"' not in client.get("/dispatch").get_data(as_text=True)
    again = client.post(f"/api/v1/cases/{case_id}/route", json={"unit": "JD-DC"}, headers=bearer(dispatcher))
    assert again.status_code == 422  # routed once: it no longer waits


def test_the_api_routes_a_waiting_case_too(client, patrol_token, drain):
    event_id = _post(client, patrol_token, event("10002", "XC-02", hour=10))  # 架空线缆脱落: no lead either
    drain()
    dispatcher = user_token(client, "shift_leader")
    case_id = client.get(f"/api/v1/events/{event_id}", headers=bearer(dispatcher)).get_json()["case"]["id"]
    routed = client.post(f"/api/v1/cases/{case_id}/route", json={"unit": "JD-XC", "comment": "供电线路由街道协调"},
                         headers=bearer(dispatcher))
    body = routed.get_json()
    assert routed.status_code == 200 and body["stage"] == "dispatched" and body["task"] == body["tasks"][0]["id"]
    assert body["stages"][-1]["comment"] == "供电线路由街道协调"


def test_the_task_page_lists_the_linked_reports(client, patrol_token, drain, login):
    ids = [_post(client, patrol_token, event("06029", "DC-01", hour=12, location={"lat": 35.0250, "lon": 110.9960},
                                             address=f"测试路{i}号")) for i in range(3)]
    drain()
    admin = user_token(client, "admin")
    task = client.get(f"/api/v1/events/{ids[0]}", headers=bearer(admin)).get_json()["tasks"][0]
    login(client, "admin")
    page = client.get(f"/tasks/{task['id']}?lang=zh-CN").get_data(as_text=True)
    assert 'id="case-reports"' in page and "本问题共 3 次上报" in page
    assert all(f"测试路{i}号" in page for i in range(3))


def test_the_dispatcher_links_and_unlinks_reports_by_hand(client, patrol_token, drain):
    # two reports of one barbecue without a place: counted per grid, never linked automatically
    first, second = (_post(client, patrol_token, event("06029", "NC-03", hour=12)) for _ in range(2))
    other_matter = _post(client, patrol_token, event("07008", "NC-03", hour=12))
    drain()
    dispatcher = user_token(client, "dispatcher")
    case_of = {i: client.get(f"/api/v1/events/{i}", headers=bearer(dispatcher)).get_json()["case"]["id"]
               for i in (first, second, other_matter)}
    assert case_of[first] != case_of[second]
    zh = {**bearer(dispatcher), "Accept-Language": "zh-CN"}

    wrong = client.post(f"/api/v1/cases/{case_of[first]}/reports", json={"event": other_matter}, headers=zh)
    assert wrong.status_code == 422 and "只能关联同一事项的案件" in str(wrong.get_json())
    busy = client.post(f"/api/v1/cases/{case_of[first]}/reports", json={"event": second}, headers=zh)
    assert busy.status_code == 422 and "请先作废" in str(busy.get_json())  # its own routine/ZT tasks are live
    unlinked_refused = client.delete(f"/api/v1/cases/{case_of[first]}/reports/{first}", headers=zh)
    assert unlinked_refused.status_code == 422 and "不能移出" in str(unlinked_refused.get_json())

    # the report of the unowned matter waits in 待派遣 without tasks: link it to another such case by hand
    third = _post(client, patrol_token, event("07008", "NC-03", hour=13))
    drain()
    third_case = client.get(f"/api/v1/events/{third}", headers=bearer(dispatcher)).get_json()["case"]["id"]
    linked = client.post(f"/api/v1/cases/{case_of[other_matter]}/reports", json={"event": third,
                                                                                 "comment": "同一处宣传栏"},
                         headers=zh)
    body = linked.get_json()
    assert linked.status_code == 200 and body["report_count"] == 2
    assert sorted(r["id"] for r in body["reports"]) == [other_matter, third]
    assert body["stages"][-1]["comment"].endswith("同一处宣传栏")
    assert client.get(f"/api/v1/cases/{third_case}", headers=zh).get_json()["stage"] == "void"

    out = client.delete(f"/api/v1/cases/{case_of[other_matter]}/reports/{third}", headers=zh)
    new = out.get_json()
    assert out.status_code == 200 and new["stage"] == "awaiting_dispatch" and [r["id"] for r in new["reports"]] == [third]
    assert client.get(f"/api/v1/cases/{case_of[other_matter]}", headers=zh).get_json()["report_count"] == 1
    field = client.post(f"/api/v1/cases/{case_of[other_matter]}/reports", json={"event": third},
                        headers=bearer(user_token(client, "dongcheng")))
    assert field.status_code == 403
