"""The guided rule editor over HTTP: a rule in the shape the guided form writes saves to the draft (and only
the draft); a broken rule is refused with each problem's JSON path and message in the user's language and
nothing is stored; malformed JSON is named as such; read-only roles may look but not save."""
from __future__ import annotations

import html
import json
import os
import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from engine.authoring.drafts import draft_bundle
from engine.core.models import Campaign, ChangeLogEntry, Rule, RulesetVersion
from tests.helpers import csrf_from

CAMPAIGN = "chuangcheng-2026"


@pytest.fixture()
def admin(client, csrf_on, login):
    login(client, "admin")
    return client


@pytest.fixture()
def forget_saved_rules(factory):
    """For the tests that commit (a live server or a second connection): the rules they saved leave the draft."""
    yield
    with factory() as session:
        session.execute(delete(Rule).where(Rule.key.like("r-%")))
        session.commit()


def guided_doc(key: str, title_en: str = "Weekend night barbecue near schools") -> dict:
    """What the guided form serialises: top fields, origin, a nested group and one action of each kind."""
    return {
        "key": key, "title": {"zh": "周末夜间露天烧烤", "en": title_en}, "enabled": True,
        "origin": {"points": 2, "legal_basis": "《城市市容和环境卫生管理条例》第十四条", "list": "custom"},
        "when": {"all": [
            {"fact": "category", "op": "in", "value": ["06029", "09006"]},
            {"fact": "local_hour", "op": "not_between", "value": [6, 21]},
            {"any": [{"fact": "weekday", "op": "in", "value": [6, 7]},
                     {"fact": "is_weekend", "op": "eq", "value": True}]},
            {"not": {"any": [{"fact": "source_type", "op": "eq", "value": "camera"}]}},
        ]},
        "then": [
            {"do": "create_task", "template": "night-patrol", "assign": "unit_type:squad",
             "limit": {"value": 2, "unit": "urgent_hours"}, "timeline": "zt-ladder"},
            {"do": "notify", "channel": "inbox", "to": "tier:2"},
            {"do": "escalate", "tier": 2, "list_publicly": True, "deadline": {"value": 3, "unit": "working_days"},
             "authority": "区城管委"},
        ],
    }


def edit_url(key: str | None = None, lang: str = "zh") -> str:
    return f"/admin/rules/edit/?campaign={CAMPAIGN}&lang={lang}" + (f"&key={key}" if key else "")


def save(client, document, key: str | None = None, lang: str = "zh"):
    page = client.get(edit_url(key, lang))
    assert page.status_code == 200
    text = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False)
    body = page.get_data(as_text=True)
    return client.post(edit_url(key, lang), data={"document": text, "csrf_token": csrf_from(body),
                                                  "base": base_from(body)})


def base_from(page: str) -> str:
    """The stamp of the rule as the edit page showed it (empty for a new rule)."""
    field = re.search(r'<input[^>]*id="rule-base"[^>]*>', page).group(0)
    found = re.search(r'value="([^"]*)"', field)
    return found.group(1) if found else ""


def problems_in(response) -> dict[str, str]:
    """The problems the page hands to the editor script (path -> message), as rendered."""
    found = re.search(r'data-problems="([^"]*)"', response.get_data(as_text=True))
    return {p["path"]: p["message"] for p in json.loads(html.unescape(found.group(1)))}


def stored(session, key: str) -> Rule | None:
    session.expire_all()
    campaign = session.scalar(select(Campaign).where(Campaign.code == CAMPAIGN))
    return session.scalar(select(Rule).where(Rule.campaign_id == campaign.id, Rule.key == key))


def test_a_guided_rule_saves_to_the_draft_only_and_a_change_bumps_its_version(admin, session):
    key = "r-ok"
    campaign = session.scalar(select(Campaign).where(Campaign.code == CAMPAIGN))
    published = campaign.published_version_id
    versions = session.scalar(select(func.count()).select_from(RulesetVersion))
    since = session.scalar(select(func.max(ChangeLogEntry.id))) or 0  # a deleted rule's id may come back

    response = save(admin, guided_doc(key))
    assert response.status_code == 302, problems_in(response)
    assert f"key={key}" in response.headers["Location"]
    rule = stored(session, key)
    assert rule.version == 1 and rule.enabled is True and rule.updated_at is not None
    assert "enabled" not in rule.document and rule.document["then"][0]["timeline"] == "zt-ladder"
    bundle = {d["key"]: d for d in draft_bundle(session, campaign)}
    assert bundle[key]["when"] == guided_doc(key)["when"] and bundle[key]["version"] == 1
    session.refresh(campaign)
    assert campaign.published_version_id == published  # the draft only: publishing is the versions page's
    assert session.scalar(select(func.count()).select_from(RulesetVersion)) == versions
    logged = session.scalars(select(ChangeLogEntry).where(ChangeLogEntry.id > since, ChangeLogEntry.object_type == "Rule",
                                                          ChangeLogEntry.object_id == str(rule.id))).all()
    assert [(e.action, e.username) for e in logged] == [("insert", "admin")]

    assert save(admin, guided_doc(key), key).status_code == 302
    assert stored(session, key).version == 1  # the same document: no new version
    assert save(admin, {**guided_doc(key, "Night barbecue at weekends"), "enabled": False}, key).status_code == 302
    rule = stored(session, key)
    assert (rule.version, rule.enabled, rule.document["title"]["en"]) == (2, False, "Night barbecue at weekends")

    page = admin.get(f"/admin/rules/?campaign={CAMPAIGN}&lang=en").get_data(as_text=True)
    assert f'data-key="{key}"' in page and "Night barbecue at weekends" in page
    row = re.search(rf'<tr data-key="{re.escape(key)}">.*?</tr>', page, re.S).group(0)
    assert "draft differs" not in row and "off" in row  # disabled and never published
    demo = re.search(r'<tr data-key="rebound-alert">.*?</tr>', page, re.S).group(0)
    assert "version 1" in demo and "draft differs" not in demo  # in force as saved
    editor = admin.get(edit_url(key, "en")).get_data(as_text=True)
    assert 'id="save"' in editor and 'id="toggle-json"' in editor and "rule-editor.js" in editor


BROKEN = {"when": {"all": [
    {"fact": "colour", "op": "eq", "value": "red"},
    {"fact": "grid", "op": "gt", "value": 3},
    {"fact": "local_hour", "op": "eq", "value": "late"},
    {"all": []},
]}, "then": [{"do": "create_task", "template": "no-such-template", "assign": "grid_unit"}]}
EXPECTED = {
    "zh": {"when.all[0].fact": "未知的事实", "when.all[1].op": "数值比较", "when.all[2].value": "类型是 int",
           "when.all[3].all": "非空", "then[0].template": "未知的任务模板"},
    "en": {"when.all[0].fact": "unknown fact", "when.all[1].op": "compares numbers",
           "when.all[2].value": "is a int", "when.all[3].all": "non-empty",
           "then[0].template": "unknown task template"},
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_broken_rule_is_refused_with_each_path_in_the_users_language(admin, session, lang):
    key = "r-broken"
    before = session.scalar(select(func.count()).select_from(Rule))
    response = save(admin, {**guided_doc(key), **BROKEN}, lang=lang)
    assert response.status_code == 200
    found = problems_in(response)
    for path, words in EXPECTED[lang].items():
        assert path in found, (path, found)
        assert words in found[path], (path, found[path])
    page = response.get_data(as_text=True)
    assert ("未保存" if lang == "zh" else "Nothing was saved") in page
    assert 'data-path="when.all[0].fact"' in page  # listed by path at the top as well
    assert stored(session, key) is None
    assert session.scalar(select(func.count()).select_from(Rule)) == before


def test_an_empty_condition_list_and_an_unknown_unit_type_are_refused(admin, session):
    key = "r-empty"
    doc = {**guided_doc(key), "when": {"all": []}}
    doc["then"] = [{"do": "create_task", "template": "night-patrol", "assign": "unit_type:navy"}]
    found = problems_in(save(admin, doc, lang="en"))
    assert "non-empty" in found["when.all"] and "unknown unit type" in found["then[0].assign"]
    assert stored(session, key) is None


def test_an_invalid_edit_leaves_the_saved_rule_as_it_was(admin, session):
    key = "r-keep"
    assert save(admin, guided_doc(key)).status_code == 302
    broken = guided_doc(key, "Changed")
    broken["when"]["all"][1] = {"fact": "local_hour", "op": "between", "value": [22, 6]}
    found = problems_in(save(admin, broken, key, lang="en"))
    assert "low ≤ high" in found["when.all[1].value"]
    rule = stored(session, key)
    assert (rule.version, rule.document["title"]["en"]) == (1, "Weekend night barbecue near schools")


def test_malformed_json_is_named_and_kept_for_fixing(admin, session):
    key = "r-json"
    text = '{"key": "%s", "title": {"zh": "坏", "en": "Bad"},\n "when": {"all": [}' % key
    for lang, words in (("zh", "JSON 格式错误：第 2 行"), ("en", "the JSON is malformed at line 2")):
        response = save(admin, text, lang=lang)
        found = problems_in(response)
        assert words in found["(json)"], found
        raw = re.search(r'data-raw="([^"]*)"', response.get_data(as_text=True)).group(1)
        assert html.unescape(raw) == text  # kept as typed, so the JSON view opens on it
    assert stored(session, key) is None
    assert "object" in problems_in(save(admin, "[1, 2]", lang="en"))["(document)"]


def test_a_copy_starts_as_a_new_switched_off_rule(admin, session):
    page = admin.get(f"/admin/rules/edit/?campaign={CAMPAIGN}&copy=repeat-hotspot").get_data(as_text=True)
    doc = json.loads(html.unescape(re.search(r'data-doc="([^"]*)"', page).group(1)))
    assert doc["key"] == "repeat-hotspot-copy" and doc["enabled"] is False and 'data-existing="false"' in page
    assert doc["when"] == stored(session, "repeat-hotspot").document["when"]
    key = "r-copy"
    response = admin.post(f"/admin/rules/edit/?campaign={CAMPAIGN}&copy=repeat-hotspot",
                          data={"document": json.dumps({**doc, "key": key}), "csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert (stored(session, key).enabled, stored(session, "repeat-hotspot").enabled) == (False, True)


def test_keys_are_unique_in_the_draft_and_fixed_once_saved(admin, session):
    found = problems_in(save(admin, guided_doc("night-street-order"), lang="en"))
    assert "already has a rule" in found["key"]
    found = problems_in(save(admin, guided_doc("zero_tolerance.zt1"), lang="en"))  # a list row's rule key
    assert "a list row of this campaign already has the key" in found["key"]
    found = problems_in(save(admin, {**guided_doc("strict_management.sm1"), "enabled": False}, lang="en"))
    assert "a list row" in found["key"]  # switched off, it would still clash the day it is switched on
    assert stored(session, "zero_tolerance.zt1") is None
    key = "r-fixed"
    assert save(admin, guided_doc(key)).status_code == 302
    found = problems_in(save(admin, guided_doc(key + "-renamed"), key, lang="zh"))
    assert "不能更改" in found["key"]
    assert stored(session, key + "-renamed") is None


def test_what_durable_rules_refuses_is_not_stored(admin, session, monkeypatch):
    from engine.durable import compile_check

    seen = []
    monkeypatch.setattr(compile_check, "check",
                        lambda compiled: seen.append(compiled) or [compile_check.refusal("bad partition p9")])
    key = "r-compile"
    found = problems_in(save(admin, guided_doc(key), lang="en"))
    assert "durable_rules refused the ruleset: bad partition p9" in found["(compile)"]
    assert any(key in partition for c in seen for partition in c["partitions"].values())  # the whole draft, with it
    assert stored(session, key) is None


def test_the_live_check_answers_paths_in_the_users_language(admin):
    page = admin.get(edit_url(lang="en")).get_data(as_text=True)
    headers = {"X-CSRFToken": csrf_from(page)}
    doc = {**guided_doc("r-live"), "when": {"any": [{"fact": "weekday", "op": "exists", "value": True}]}}
    answer = admin.post(f"/admin/rules/check?campaign={CAMPAIGN}&lang=en", json={"document": doc}, headers=headers)
    assert answer.status_code == 200
    assert [p["path"] for p in answer.get_json()["problems"]] == ["when.any[0].op"]
    answer = admin.post(f"/admin/rules/check?campaign={CAMPAIGN}&lang=zh", json={"document": guided_doc("ok-live")},
                        headers=headers)
    assert answer.get_json()["problems"] == []
    # a new rule taking a saved rule's key: said while typing, not only on save
    answer = admin.post(f"/admin/rules/check?campaign={CAMPAIGN}&lang=en",
                        json={"document": guided_doc("rebound-alert")}, headers=headers)
    assert [p["path"] for p in answer.get_json()["problems"]] == ["key"]
    answer = admin.post(f"/admin/rules/check?campaign={CAMPAIGN}&key=rebound-alert&lang=en",
                        json={"document": guided_doc("rebound-alert")}, headers=headers)
    assert answer.get_json()["problems"] == []  # valid, but the demo's rebound scenario would break (issue 20)
    assert "结案五天后再发：反弹提醒" in [w["title"] for w in answer.get_json()["scenarios"]]


def test_an_auditor_reads_but_cannot_save(client, session, csrf_on, login):
    login(client, "auditor")
    index = client.get(f"/admin/rules/?campaign={CAMPAIGN}")
    assert index.status_code == 200 and 'data-key="night-street-order"' in index.get_data(as_text=True)
    assert 'id="new-rule"' not in index.get_data(as_text=True)
    page = client.get(edit_url("night-street-order"))
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="read-only"' in body and 'id="save"' not in body
    assert 'data-editable="false"' in body
    key = "r-auditor"
    refused = client.post(edit_url(), data={"document": json.dumps(guided_doc(key)), "csrf_token": csrf_from(body)})
    assert refused.status_code == 403
    assert stored(session, key) is None


def test_a_field_unit_cannot_open_the_editor(client, csrf_on, login):
    login(client, "dongcheng")
    assert client.get(f"/admin/rules/?campaign={CAMPAIGN}").status_code == 403


def test_in_a_phone_browser_the_guided_form_builds_checks_and_saves_a_rule(live_server, browser, session,
                                                                          tmp_path, browser_login,
                                                                          forget_saved_rules):
    from playwright.sync_api import expect

    shots = Path(os.environ.get("CIVICRULES_ARTIFACTS") or tmp_path) / "rule-editor"
    shots.mkdir(parents=True, exist_ok=True)
    key = "r-browser"
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    browser_login(page, live_server)
    page.goto(f"{live_server}/admin/rules/edit/?campaign={CAMPAIGN}")
    assert not errors, errors
    page.fill("#rule-key", key)
    page.fill("#rule-title-zh", "夜间露天烧烤派夜巡")
    page.fill("#rule-title-en", "Night barbecue to the night squad")
    first = page.locator(".condition-row").first
    expect(first.locator("select[data-part=fact]")).to_have_value("category")
    first.locator("[data-part=value] input[value='06029']").check()
    page.click("#add-condition")
    hour = page.locator(".condition-row").last
    hour.locator("select[data-part=fact]").select_option("local_hour")
    expect(hour.locator("select[data-part=op] option")).to_have_count(10)  # the int operators, no 'exists'
    hour.locator("select[data-part=op]").select_option("not_between")
    hour.locator("[data-part=value-low]").select_option("6")
    hour.locator("[data-part=value-high]").select_option("21")
    page.click("#add-group")
    nested = page.locator(".condition-group .condition-group")
    nested.locator("select[data-part=fact]").select_option("is_weekend")
    expect(nested.locator("select[data-part=op] option")).to_have_count(2)
    nested.locator("select[data-part=value]").select_option("true")
    action = page.locator(".action-row").first
    expect(action.locator(".field-error[data-path='then[0].template']")).to_contain_text("必须指定任务模板")
    action.locator("select[data-part=template]").select_option("night-patrol")
    action.locator("select[data-part=assign-kind]").select_option("unit_type")
    action.locator("select[data-part=assign-target]").select_option("squad")
    page.select_option("#add-action-kind", "escalate")
    page.click("#add-action")
    expect(page.locator(".field-error")).to_have_count(0)
    expect(page.locator("#rule-summary")).to_contain_text("露天烧烤")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    page.screenshot(path=str(shots / "guided-390.png"), full_page=True)

    page.click("#toggle-json")
    document = json.loads(page.locator("#rule-json").input_value())
    assert document["when"]["all"][1] == {"fact": "local_hour", "op": "not_between", "value": [6, 21]}
    assert document["when"]["all"][2] == {"any": [{"fact": "is_weekend", "op": "eq", "value": True}]}
    document["when"]["all"][1]["value"] = [22, 6]  # reversed: the server must refuse it
    page.fill("#rule-json", json.dumps(document))
    page.click("#toggle-json")
    expect(page.locator("#guided")).to_be_visible()
    expect(page.locator(".condition-row").nth(1).locator("[data-part=value-low]")).to_have_value("22")
    page.click("#save")
    error = page.locator(".condition-row .field-error[data-path='when.all[1].value']")
    expect(error).to_contain_text("下限 ≤ 上限")
    page.screenshot(path=str(shots / "error-next-to-row-390.png"), full_page=True)
    assert stored(session, key) is None
    row = page.locator(".condition-row").nth(1)
    row.locator("[data-part=value-low]").select_option("6")
    row.locator("[data-part=value-high]").select_option("21")
    page.click("#save")
    expect(page.locator(".alert-success")).to_contain_text(key)
    rule = stored(session, key)
    assert rule is not None and rule.document["then"][0]["assign"] == "unit_type:squad"
    assert rule.document["then"][1]["do"] == "escalate"


def test_the_guided_form_writes_back_exactly_the_document_it_was_given(live_server, browser, client, session,
                                                                      csrf_on, login, browser_login,
                                                                      forget_saved_rules):
    """Every demo rule, and shapes the form must not lose (a bare condition, not, unknown action fields, a value
    no widget fits), come back unchanged from the form through the JSON view."""
    login(client, "admin")
    odd = {**guided_doc("r-odd"), "when": {"fact": "local_hour", "op": "gte", "value": 22}}
    odd["then"] = [{"do": "escalate", "tier": 3, "message": {"zh": "请速办", "en": "Urgent"}}]
    nested = {**guided_doc("r-nested"), "when": {"any": [
        {"not": {"fact": "grid", "op": "eq", "value": "DC-01"}},
        {"all": [{"fact": "filing_condition", "op": "exists", "value": False},
                 {"fact": "weekday", "op": "eq", "value": 7}, {"fact": "repeats_30d", "op": "in", "value": [3, 5]}]}]}}
    for doc in (odd, nested):
        assert save(client, doc).status_code == 302
    campaign = session.scalar(select(Campaign).where(Campaign.code == CAMPAIGN))
    keys = ["night-street-order", "repeat-hotspot", "rebound-alert", "inspection-window-alert",
            odd["key"], nested["key"]]
    rules = session.scalars(select(Rule).where(Rule.campaign_id == campaign.id, Rule.key.in_(keys))).all()
    assert len(rules) == 6

    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
    browser_login(page, live_server)
    for rule in rules:
        page.goto(f"{live_server}/admin/rules/edit/?campaign={CAMPAIGN}&key={rule.key}")
        page.click("#toggle-json")
        written = json.loads(page.locator("#rule-json").input_value())
        expected = {**rule.document, "enabled": rule.enabled}
        if rule.key == nested["key"]:  # a lone 'not' is written as 'none of these'
            expected["when"]["any"][0] = {"not": {"any": [{"fact": "grid", "op": "eq", "value": "DC-01"}]}}
        assert written == expected, rule.key


@pytest.mark.parametrize("lang, words", [("zh", "已有他人修改过"), ("en", "Someone else changed this rule")])
def test_a_save_based_on_a_rule_someone_else_has_changed_since_is_refused(admin, session, lang, words):
    key = "r-stale"
    assert save(admin, guided_doc(key)).status_code == 302
    opened = admin.get(edit_url(key, lang)).get_data(as_text=True)  # this editor opens the rule ...
    assert base_from(opened)
    assert save(admin, guided_doc(key, "Changed by the other editor"), key).status_code == 302  # ... another saves
    late = admin.post(edit_url(key, lang), data={"document": json.dumps(guided_doc(key, "Changed by the late editor")),
                                                 "csrf_token": csrf_from(opened), "base": base_from(opened)})
    assert late.status_code == 409 and words in problems_in(late)["(stale)"]
    rule = stored(session, key)
    assert (rule.version, rule.document["title"]["en"]) == (2, "Changed by the other editor")
    missing = admin.post(edit_url(key, lang), data={"document": json.dumps(guided_doc(key, "No base at all")),
                                                    "csrf_token": csrf_from(opened)})
    assert missing.status_code == 409 and "(stale)" in problems_in(missing)
    assert stored(session, key).document["title"]["en"] == "Changed by the other editor"
    reopened = save(admin, guided_doc(key, "Changed after reloading"), key, lang)  # reloading, then saving, works
    assert reopened.status_code == 302 and stored(session, key).version == 3


def test_a_new_rule_whose_key_was_saved_meanwhile_is_refused(admin, session):
    key = "r-race"
    opened = admin.get(edit_url(lang="en")).get_data(as_text=True)  # a new rule's page ...
    assert base_from(opened) == ""
    assert save(admin, guided_doc(key, "The first one")).status_code == 302  # ... while another saves that key
    late = admin.post(edit_url(lang="en"), data={"document": json.dumps(guided_doc(key, "The second one")),
                                                 "csrf_token": csrf_from(opened), "base": ""})
    assert late.status_code == 200 and "already has a rule" in problems_in(late)["key"]
    assert stored(session, key).document["title"]["en"] == "The first one"


@pytest.mark.commits  # the waiting save runs in a thread on a connection of its own
def test_a_save_waits_for_one_under_way_and_then_is_refused(admin, session, factory, forget_saved_rules):
    """Two saves based on the same version: the second waits for the first's lock, then sees its change."""
    if factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip("row locks need PostgreSQL (SQLite has none; it serialises writers itself)")
    key = "r-locked"
    assert save(admin, guided_doc(key)).status_code == 302
    opened = admin.get(edit_url(key, "en")).get_data(as_text=True)
    answers = []
    late = threading.Thread(target=lambda: answers.append(admin.post(edit_url(key, "en"), data={
        "document": json.dumps(guided_doc(key, "The late save")), "csrf_token": csrf_from(opened),
        "base": base_from(opened)})))
    with factory() as first:  # the first save, under way: it holds the rule's row until it commits
        rule = stored(first, key)
        first.scalar(select(Rule).where(Rule.id == rule.id).with_for_update())
        late.start()
        late.join(2)
        assert late.is_alive()  # waiting for the lock, not comparing a stamp that is about to change
        rule.document = {k: v for k, v in guided_doc(key, "The first save").items() if k != "enabled"}
        rule.version = 2
        first.commit()
    late.join(60)
    assert answers[0].status_code == 409 and "Someone else changed this rule" in problems_in(answers[0])["(stale)"]
    assert stored(session, key).document["title"]["en"] == "The first save"
