"""Every role's task pages as a city-management official expects them (issue 21, points 1, 5, 6): the checker
reads the unit's form by its labels with earlier fail reasons first; the dispatcher decides extensions with the
length asked, rejects with a reason the unit reads, and works a queue with search, filters, pages and bulk
decisions; on a phone the field unit finds the place, its photos captioned, its checklist kept, a required
choice unchosen and each problem named by its field."""
from __future__ import annotations

import html as markup
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.core import clock
from engine.core.models import Event, Task, TaskTemplate, TaskTransition
from engine.handling import request_queue
from engine.intake.events import accept_event
from tests.helpers import TASK_SOURCE, csrf_from, event, jpeg, upload_photo, user_token

#: The inbox page addresses one batch of new messages, oldest first: the backlog files before may leave is addressed
#: first (as the escalation poller keeps it in a running service), so a task's 新任务派发 message is in the batch.
pytestmark = pytest.mark.usefixtures("messages_caught_up")

ZH = {"Accept-Language": "zh-CN"}
ADDRESS = "东城区和平路12号"
STALL = {"fields": [
    {"name": "outcome", "type": "choice", "zh": "处置情况", "en": "Outcome", "required": True,
     "options": [{"value": "removed", "zh": "已取缔", "en": "Removed"}, {"value": "warned", "zh": "已警告", "en": "Warned"}]},
    {"name": "told", "type": "checkbox", "zh": "已告知当事人", "en": "Owner told"},
    {"name": "result", "type": "textarea", "zh": "处置结果", "en": "Result", "required": True},
    {"name": "scene", "type": "photo", "zh": "现场照片", "en": "Scene", "required": True}],
    "checklist": [{"zh": "清理占道物品", "en": "Clear the pavement"}, {"zh": "告知门前三包", "en": "Remind the frontage duty"}]}


def text(html: str, element_id: str) -> str:
    match = re.search(rf'<(\w+)[^>]*id="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"no #{element_id} on the page"
    return markup.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(2))).strip())


def placed_task(factory, drain, session, stall: bool = False, grid: str = "DC-02", unit: str = "JD-DC",
                address: str = ADDRESS, spot: int = 0) -> Task:
    """A fresh daytime task at a known address and point (`spot` apart, so never one case with another's
    report); with `stall`, on a template with a choice, a checkbox,
    a required photo and a checklist."""
    with factory() as s:
        event_id = accept_event(s, event("06029", grid, hour=14, address=address,
                                           **({"location": {"lat": 35.0243 + 0.0015 * spot, "lon": 111.0051}} if grid == "DC-02" else {})),
                                TASK_SOURCE)[0].id
        s.commit()
    drain()
    session.expire_all()
    task = next((t for t in session.get(Event, event_id).tasks if t.unit.code == unit), None)
    assert task is not None, "the daytime barbecue rule gives the grid's unit a task"
    if stall:
        template = TaskTemplate(code=f"stall-{task.id}", version=1, name_zh="摊点整治", name_en="Stall clearance",
                                **STALL)
        session.add(template)
        session.flush()
        task.template_id = template.id
        session.commit()
    return task


def version(session, task_id: int) -> int:
    session.expire_all()
    return session.get(Task, task_id).version


def act(client, session, task_id: int, action: str, **form):
    """One action through the task page's form, CSRF token included."""
    token = csrf_from(client.get(f"/tasks/{task_id}").get_data(as_text=True))
    return client.post(f"/tasks/{task_id}/act", headers=ZH, data={
        "action": action, "version": version(session, task_id), "csrf_token": token, **form})


def to_handling(client, login, session, task_id: int) -> None:
    login(client, "dongcheng")
    for action in ("sign", "start"):
        assert act(client, session, task_id, action).status_code == 302


def test_the_checker_reads_the_form_by_its_labels_and_earlier_fail_reasons_first(
        app, client, login, factory, drain, session):
    task = placed_task(factory, drain, session, stall=True)
    unit = user_token(client, "dongcheng")
    to_handling(client, login, session, task.id)
    assert upload_photo(client, unit, task.id, field="scene", stage="before").status_code == 201
    assert upload_photo(client, unit, task.id, field="scene", stage="after").status_code == 201
    assert act(client, session, task.id, "submit", outcome="removed", told="y", result="摊点已清走",
               checklist=["1"], comment="已处置").status_code == 302
    login(client, "checker")
    assert act(client, session, task.id, "fail_check", comment="现场仍有烤炉").status_code == 302
    login(client, "dongcheng")
    returned = client.get(f"/tasks/{task.id}", headers=ZH).get_data(as_text=True)
    assert "现场仍有烤炉" in text(returned, "fail-reasons")  # the unit reads why, above its form
    assert returned.index('id="fail-reasons"') < returned.index('id="action-start"')
    assert act(client, session, task.id, "start").status_code == 302
    again = client.get(f"/tasks/{task.id}", headers=ZH).get_data(as_text=True)
    assert re.search(r'name="checklist" value="1" checked', again)  # its ticks come back
    assert not re.search(r'name="checklist" value="0" checked', again)
    assert act(client, session, task.id, "submit", outcome="warned", result="烤炉已没收", checklist=["0", "1"]
               ).status_code == 302

    login(client, "checker")
    page = client.get(f"/tasks/{task.id}", headers=ZH).get_data(as_text=True)
    reasons = text(page, "fail-reasons")
    assert "现场仍有烤炉" in reasons and "checker" in reasons and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", reasons)
    assert page.index('id="fail-reasons"') < page.index('id="submission"') < page.index('id="history"')
    assert text(page, "answer-outcome") == "处置情况 已警告"  # the choice by its label, not "warned"
    assert text(page, "answer-told") == "已告知当事人 否"
    assert text(page, "answer-result") == "处置结果 烤炉已没收"
    assert "☑ 清理占道物品" in text(page, "answer-checklist") and "☑ 告知门前三包" in text(page, "answer-checklist")
    scene = re.search(r'<tr id="answer-scene">.*?</tr>', page, re.S).group(0)
    assert scene.count("<img") == 2 and "处置前" in scene and "处置后" in scene
    session.expire_all()
    assert session.get(Task, task.id).transitions[-1].data["checklist"] == [0, 1]


def test_a_required_choice_starts_unchosen_and_a_missing_one_is_named_next_to_its_field(
        app, client, login, factory, drain, session):
    task = placed_task(factory, drain, session, stall=True)
    to_handling(client, login, session, task.id)
    page = client.get(f"/tasks/{task.id}", headers=ZH).get_data(as_text=True)
    select_html = re.search(r'<select[^>]*name="outcome".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option[^>]*selected[^>]*value="([^"]*)"|<option[^>]*value="([^"]*)"[^>]*selected', select_html) \
        in ([("", "")], [])  # nothing but the empty prompt may be selected
    assert "请选择" in select_html
    stage = re.search(r'<select name="stage" required>.*?</select>', page, re.S).group(0)  # 处置前 or 处置后: asked
    assert "selected" not in stage and "处置前" in stage and "处置后" in stage
    bare = client.post(f"/tasks/{task.id}/photos", headers=ZH, follow_redirects=True, content_type="multipart/form-data",
                       data={"field": "scene", "stage": "", "csrf_token": csrf_from(page),
                             "photo": (io.BytesIO(jpeg()), "site.jpg")}).get_data(as_text=True)
    assert re.search(r'class="flash flash-danger" role="alert">拍摄时机：', bare), re.findall(r'class="flash[^<]*', bare)
    refused = act(client, session, task.id, "submit", result="清理完毕")
    assert refused.status_code == 422
    shown = refused.get_data(as_text=True)
    assert "处置情况" in text(shown, "outcome-errors") and 'aria-invalid="true"' in shown
    assert session.get(Task, task.id).status == "handling"


def test_extension_length_is_asked_approved_as_changed_and_sets_the_deadline(
        app, client, login, factory, drain, session):
    task = placed_task(factory, drain, session)
    to_handling(client, login, session, task.id)
    assert act(client, session, task.id, "request_extension", limit_value="3", limit_unit="urgent_hours",
               comment="摊主拒不配合，需联合执法").status_code == 302
    login(client, "dispatcher")
    page = client.get(f"/tasks/{task.id}", headers=ZH).get_data(as_text=True)
    form = re.search(r'<form[^>]*id="action-approve_extension".*?</form>', page, re.S).group(0)
    assert "3 小时（连续计时）" in form and 'name="limit_value" inputmode="decimal" required value="3"' in form
    queue = client.get("/dispatch", headers=ZH).get_data(as_text=True)
    row = text(queue, f"request-{task.id}")
    assert "摊主拒不配合，需联合执法" in row and "3 小时（连续计时）" in row and "延期" in row

    zero = act(client, session, task.id, "approve_extension", limit_value="0", limit_unit="urgent_hours")
    assert zero.status_code == 422 and "大于 0" in text(zero.get_data(as_text=True), "limit_value-errors-approve_extension")
    before = session.get(Task, task.id).deadline_at
    assert act(client, session, task.id, "approve_extension", limit_value="5", limit_unit="urgent_hours").status_code == 302
    session.expire_all()
    after = session.get(Task, task.id)
    assert after.deadline_at - before == timedelta(hours=5) and after.status == "handling"
    assert after.transitions[-1].data["limit_value"] == 5


def test_a_rejection_needs_a_reason_next_to_its_field_and_the_unit_reads_it(
        app, client, login, factory, drain, session):
    task = placed_task(factory, drain, session)
    to_handling(client, login, session, task.id)
    assert act(client, session, task.id, "request_void", comment="重复上报").status_code == 302
    login(client, "dispatcher")
    bare = act(client, session, task.id, "reject_void", comment="")
    assert bare.status_code == 422
    assert "须填写理由" in text(bare.get_data(as_text=True), "comment-errors-reject_void")
    assert session.get(Task, task.id).status == "void_requested"
    assert act(client, session, task.id, "reject_void", comment="非重复，请继续处置").status_code == 302
    login(client, "dongcheng")
    page = client.get(f"/tasks/{task.id}", headers=ZH).get_data(as_text=True)
    assert "非重复，请继续处置" in text(page, "rejections") and "驳回作废" in text(page, "rejections")
    assert page.index('id="rejections"') < page.index('id="history"')


def test_the_queue_searches_filters_pages_and_decides_in_bulk(
        app, client, login, factory, drain, session, monkeypatch):
    void = placed_task(factory, drain, session, grid="XC-01", unit="JD-XC", address="西城区文化街北口")
    extend = placed_task(factory, drain, session)
    park = placed_task(factory, drain, session, address=ADDRESS + "东侧", spot=1)
    tomorrow = (clock.now() + timedelta(days=2)).date().isoformat()
    for task, who, action, form in ((extend, "dongcheng", "request_extension", {}),
                                    (park, "dongcheng", "request_park", {"until": tomorrow}),
                                    (void, "xicheng", "request_void", {})):
        login(client, who)
        for step in ("sign", "start"):
            assert act(client, session, task.id, step).status_code == 302
        assert act(client, session, task.id, action, comment="等待审批", **form).status_code == 302

    login(client, "dispatcher")
    ids = lambda html: {int(i) for i in re.findall(r'id="request-(\d+)"', html)}  # noqa: E731
    mine = {extend.id, park.id, void.id}
    by_number = ids(client.get(f"/dispatch?q={park.id}").get_data(as_text=True))
    # by its number; an address holding those digits (和平路12号 for task 12) matches too, 文化街北口 never
    assert park.id in by_number and void.id not in by_number
    assert mine & ids(client.get("/dispatch?kind=park").get_data(as_text=True)) == {park.id}
    assert mine & ids(client.get(f"/dispatch?unit={void.unit_id}").get_data(as_text=True)) == {void.id}
    assert mine & ids(client.get("/dispatch?q=西城").get_data(as_text=True)) == {void.id}  # by the unit's name
    assert not mine & ids(client.get("/dispatch?age=24").get_data(as_text=True))  # asked just now
    bad = client.get("/dispatch?kind=holiday&lang=zh-CN").get_data(as_text=True)
    assert "没有这种申请" in bad
    monkeypatch.setattr(request_queue, "PAGE_SIZE", 2)
    first, second = (client.get(f"/dispatch?page={n}").get_data(as_text=True) for n in (1, 2))
    assert len(ids(first)) == 2 and 'id="request-pages"' in first and 'rel="next"' in first
    assert mine <= ids(first) | ids(second) and not ids(first) & ids(second)
    assert len(ids(client.get("/dispatch?q=和平路").get_data(as_text=True))) == 2  # both on Heping Road

    queue = client.get("/dispatch?q=和平路").get_data(as_text=True)
    picked = [f"{t.id}:{version(session, t.id)}" for t in (extend, park)]
    assert client.post("/dispatch/decide", data={"task": picked, "decision": "reject"}).status_code == 400  # no CSRF
    bare = client.post("/dispatch/decide?lang=zh-CN", data={"task": picked, "decision": "reject", "comment": " ",
                                                            "csrf_token": csrf_from(queue)})
    assert bare.status_code == 422 and "须填写理由" in text(bare.get_data(as_text=True), "bulk-comment-errors")
    refused_page = client.post("/dispatch/decide?lang=zh-CN", data={
        "task": picked, "decision": "reject", "comment": " ", "csrf_token": csrf_from(queue),
        "back": "/dispatch?q=和平路"}).get_data(as_text=True)
    assert 'name="back" value="/dispatch?q=和平路"' in refused_page  # the refused page keeps the queue's filters
    assert re.search(r'id="request-filters" action="/dispatch"', refused_page)  # filtering from it reads the queue
    done = client.post("/dispatch/decide?lang=zh-CN", data={
        "task": picked, "decision": "reject", "comment": "材料不全", "csrf_token": csrf_from(queue),
        "back": "/dispatch?q=和平路"}, follow_redirects=True).get_data(as_text=True)
    assert re.search(r'class="flash flash-success" role="status">已处理 2 项申请', done)
    session.expire_all()
    assert (session.get(Task, extend.id).status, session.get(Task, park.id).status) == ("handling", "handling")
    rejections = session.scalars(select(TaskTransition.comment).where(TaskTransition.task_id.in_([extend.id, park.id]),
                                                                      TaskTransition.action.like("reject_%"))).all()
    assert rejections == ["材料不全", "材料不全"]
    stale = client.post("/dispatch/decide?lang=zh-CN", data={"task": [picked[0]], "decision": "approve",
                                                             "csrf_token": csrf_from(queue)}, follow_redirects=True)
    assert re.search(r'class="flash flash-danger" role="alert">任务 \d+：', stale.get_data(as_text=True))
    login(client, "checker")
    assert client.post("/dispatch/decide", data={"task": [f"{void.id}:1"], "decision": "approve",
                                                 "csrf_token": csrf_from(queue)}).status_code in (400, 403)


def test_the_list_and_the_task_show_the_address_with_map_links_and_captioned_photos(
        app, client, login, factory, drain, session):
    task = placed_task(factory, drain, session)
    to_handling(client, login, session, task.id)
    unit = user_token(client, "dongcheng")
    assert upload_photo(client, unit, task.id, stage="before").status_code == 201
    assert upload_photo(client, unit, task.id, stage="after").status_code == 201
    listed = client.get(f"/tasks?q={task.id}&mine=0", headers=ZH).get_data(as_text=True)
    assert ADDRESS in listed and 'href="geo:35.024300,111.005100?q=35.024300,111.005100(' in listed
    messages = client.get("/inbox", headers=ZH).get_data(as_text=True)  # 新任务派发 names the place too
    assert ADDRESS in messages and 'href="geo:35.024300,111.005100?q=' in messages
    page = client.get(f"/tasks/{task.id}", headers=ZH).get_data(as_text=True)
    place = re.search(r'<p[^>]*id="task-address".*?</p>', page, re.S).group(0)
    assert ADDRESS in place and "geo:35.024300,111.005100" in place
    amap = re.search(r'id="map-amap"', place) and re.search(r'https://uri\.amap\.com/marker\?position=([\d.]+)%2C([\d.]+)',
                                                             place)
    lon, lat = float(amap.group(1)), float(amap.group(2))
    assert 0.001 < abs(lon - 111.0051) + abs(lat - 35.0243) < 0.02  # shifted into GCJ-02 for Gaode
    captions = re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", page)
    assert captions == ["处置前", "处置后"]
    english = client.get(f"/tasks/{task.id}?lang=en").get_data(as_text=True)
    assert re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", english) == ["before handling", "after handling"]


def test_a_wrong_date_is_named_by_its_label_not_its_data_path(app, client, login, factory, drain, session):
    task = placed_task(factory, drain, session)
    to_handling(client, login, session, task.id)
    refused = act(client, session, task.id, "request_park", until="2001-01-01", comment="等待施工")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "挂账至" in text(page, "until-errors-request_park") and "data." not in page
    assert re.search(r'class="flash flash-danger" role="alert">挂账至：', page)
    assert 'value="2001-01-01"' in page and "等待施工" in page  # what was typed stays
