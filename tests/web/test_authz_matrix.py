"""Every role against every route: the app's URL map is enumerated and each rule is requested as
each role; access must match the policy table below. A route missing from the table fails by name,
so whoever adds a route must decide who may reach it.

"Denied" means the guard refused: 401, 403, or a redirect to the login page. Anything else is
"reached" (including 404 for an object that does not exist or is outside a field unit's scope, and
400/415/422 for an empty body): the role got past the guard. A 5xx is always a failure. Each rule is
requested once per role with GET, or with its first other method and an empty body (access in this
app never depends on the method). CSRF is off for the run so that the guard, not the CSRF check,
answers a POST.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from engine.accounts.users import issue_user_token
from engine.core.models import Event, Task, Unit, User
from tests.helpers import bearer, event
from web.common.extensions import db

ANONYMOUS, INTAKE = "anonymous", "intake"
FIELD_UNIT, DISPATCHER, CHECKER, SUPERVISOR = "field_unit", "dispatcher", "checker", "supervisor"
ASSESSOR, AUDITOR, ADMIN = "assessor", "auditor", "admin"
COLLECTOR, SHIFT_LEADER = "collector", "shift_leader"  # 监督员 (checks on site), 值班长 (the dispatcher's rights)
#: 三员分立: the system administrator (ADMIN) configures, the security administrator manages accounts, the audit
#: administrator reads the security audit log; none reaches the others' pages, and the two new ones no business page.
SECURITY_ADMIN, AUDIT_ADMIN = "security_admin", "audit_admin"
ROLES = (ANONYMOUS, FIELD_UNIT, DISPATCHER, CHECKER, SUPERVISOR, ASSESSOR, AUDITOR, ADMIN, COLLECTOR, SHIFT_LEADER,
         SECURITY_ADMIN, AUDIT_ADMIN, INTAKE)
#: The demo account that plays each role (the field unit is the Dongcheng sub-district office).
ACCOUNTS = {FIELD_UNIT: "dongcheng", DISPATCHER: "dispatcher", CHECKER: "checker", SUPERVISOR: "supervisor",
            ASSESSOR: "assessor", AUDITOR: "auditor", ADMIN: "admin", COLLECTOR: "collector",
            SHIFT_LEADER: "shift_leader", SECURITY_ADMIN: "security_admin", AUDIT_ADMIN: "audit_admin"}

EVERYONE = frozenset(ROLES)
STAFF = frozenset({DISPATCHER, CHECKER, SUPERVISOR, ASSESSOR, AUDITOR, ADMIN, COLLECTOR, SHIFT_LEADER})
USERS = STAFF | {FIELD_UNIT}
SIGNED_IN = USERS | {SECURITY_ADMIN, AUDIT_ADMIN}  # sign out, change one's password, the home page (which sends
# the separated administrators on to the admin)
ACCOUNT_MANAGERS = frozenset({SECURITY_ADMIN})  # admin.ACCOUNT_MANAGERS: accounts, tokens, sign-in waits
SECURITY_AUDITORS = frozenset({AUDIT_ADMIN})  # admin.SECURITY_AUDITORS: the security audit log
REPORTER_PHONE = frozenset({DISPATCHER, SHIFT_LEADER, COLLECTOR})  # engine.intake.reporter.REPORTER_PHONE_ROLES
SUPERVISORS = frozenset({SUPERVISOR, ADMIN})
ADMINS = frozenset({ADMIN})
RECORD_READERS = frozenset({ADMIN, AUDITOR})
ASSESSMENT_READERS = frozenset({ASSESSOR, AUDITOR, ADMIN})
NOBODY: frozenset[str] = frozenset()
PLAN_READERS = frozenset({ADMIN, SUPERVISOR, ASSESSOR, AUDITOR, DISPATCHER, FIELD_UNIT})
#: 指挥平台: every unit's numbers, so the bureau's staff who dispatch, lead shifts, supervise, assess or audit;
#: a field unit reads its own tasks on /tasks.
WATCHERS = frozenset({ADMIN, DISPATCHER, SHIFT_LEADER, SUPERVISOR, AUDITOR, ASSESSOR})

ADMIN_READERS = frozenset({ADMIN, AUDITOR, ASSESSOR})  # admin.READERS: every admin page, read-only but for admins
#: Flask-Admin model views (admin.ReadableModelView) by endpoint: every reader lists and opens records;
#: the views that change data (admin.EDITING_VIEWS) answer 403 to all but admins (POLICY below).
MODEL_VIEWS = ("campaign", "category", "unit", "grid", "holiday", "calendaryear", "recipient", "failed_delivery",
               "assessmentconfig", "assessment_points", "sanctionrule", "sanctiondue",
               "event", "task", "firing", "rulesetversion",
               "frontageholder", "supervisiontier", "timeline", "person", "street", "intakepolicy", "permit",
               "permit_kinds",
               "inspectionplan", "inspection_points", "inspection_point_types", "plan_items", "checklist_items")
EDITING_VIEWS = ("create_view", "edit_view", "delete_view", "action_view", "ajax_update", "ajax_lookup")
#: The security administrator's model views: only they list them, and only they change them.
ACCESS_VIEWS = ("account", "token", "sign_in_lock")
#: Flask-Admin views by endpoint: who passes is_accessible.
ADMIN_VIEWS = {
    **{view: ADMIN_READERS for view in MODEL_VIEWS},
    **{view: ACCOUNT_MANAGERS for view in ACCESS_VIEWS},
    "security_audit": SECURITY_AUDITORS,  # read-only, with a CSV export; nobody edits it (EDITING_VIEWS below)
    "deduction_import": ADMIN_READERS,  # readers see the form and the template; importing (POST) calls require_editor()
    "checklist_import": ADMIN_READERS,  # readers see the form and the template; importing (POST) calls require_editor()
    "permit_import": ADMIN_READERS,  # readers see the form and the template; importing (POST) calls require_editor()
    "staff_import": ADMIN_READERS,  # readers see the form and the template; importing (POST) calls require_editor()
    "roster": ADMIN_READERS,  # readers see the week; saving a pattern or a shift (POST) calls require_editor()
    "catalogue_import": ADMIN_READERS,  # readers see the page; uploading (POST) calls require_editor()
    "holiday_notice": ADMIN_READERS,  # readers see the page and the warning; importing (POST) calls require_editor()
    "import": ADMIN_READERS,  # readers see the runs and reports; uploading, mapping and cancelling are POSTs for admins
    "templates_editor": ADMIN_READERS,  # read-only form and preview; saving calls require_editor()
    "simulator": frozenset({ADMIN, AUDITOR, ASSESSOR}),  # simulating has no side effects
    "scenarios": ADMIN_READERS,  # reading and checking; saving calls require_editor()
    "replay": frozenset({ADMIN, AUDITOR, ASSESSOR}),  # replaying writes nothing; readers may start one too
    "lists": ADMIN_READERS,  # the list tables read-only; analyse and save call require_editor()
    "rules_editor": ADMIN_READERS,  # reading and live checks; saving calls require_editor()
    "versions": frozenset({ADMIN, AUDITOR, ASSESSOR}),  # reading; publish and rollback call require_editor()
    "firing_history": ADMIN_READERS,
    "change_history": ADMIN_READERS,
    "duties": ADMIN_READERS,  # the duty lists' conflicts and gaps: read-only, linking to the unit forms
    "geo_import": ADMINS,  # importing grids, zones and holders changes master data: administrators only
    "zones": ADMIN_READERS,  # the zone map read-only; saving, publishing, withdrawing, deleting call require_editor()
}

#: Endpoint -> the roles that get past its guard. Keys ending in ".*" cover a whole blueprint.
POLICY: dict[str, frozenset[str]] = {
    "static": EVERYONE,
    "admin.static": EVERYONE,  # Flask-Admin's CSS and JavaScript
    "admin.index": ADMIN_READERS | ACCOUNT_MANAGERS | SECURITY_AUDITORS,  # the separated go on to their own view
    "healthz": EVERYONE,
    "favicon": EVERYONE,  # the browser asks for it before anyone signs in
    "readyz": EVERYONE,
    "metrics.metrics": NOBODY,  # only the metrics token or an allowed address (tests/web/test_observability.py)
    "pages.login": EVERYONE,
    "pages.logout": SIGNED_IN,
    "pages.change_password": SIGNED_IN,  # one's own password (the form every page leads to after a reset)
    "pages.home": SIGNED_IN,
    "pages.tasks": USERS,
    "pages.task": USERS,
    "pages.assign": frozenset({FIELD_UNIT, ADMIN}),
    "pages.arrival": frozenset({FIELD_UNIT}),  # then engine.handling.arrival.may_arrive: only the task's own unit  # then engine.handling.assignment.may_assign decides per task
    "pages.send_back": frozenset({FIELD_UNIT}),  # 退单 is the unit's alone (engine.handling.tasks.RIGHTS)
    "supervision.board": SUPERVISORS,
    "supervision.act": SUPERVISORS,
    "supervision.reply": frozenset({FIELD_UNIT, ADMIN}),
    "inspection.index": SUPERVISORS,  # 三级督查: the inspector's phone pages (then own rounds only)
    "inspection.start": SUPERVISORS,
    "inspection.round_page": SUPERVISORS,
    "inspection.finding": SUPERVISORS,
    "inspection.end": SUPERVISORS,
    "inspection.photo": SUPERVISORS,
    "inspection.coverage_page": frozenset({SUPERVISOR, ASSESSOR, AUDITOR, ADMIN}),
    "inspection_points_api.list_points": ADMIN_READERS,  # the register with today's readiness (user tokens)
    # 每日自查: then only the point's person checks it, a field unit sees its own points (engine/readiness/daily.py)
    "readiness.index": frozenset({FIELD_UNIT, SUPERVISOR, ASSESSOR, AUDITOR, ADMIN}),
    "readiness.check_page": frozenset({FIELD_UNIT, SUPERVISOR, ASSESSOR, AUDITOR, ADMIN}),
    "readiness.check": frozenset({FIELD_UNIT, SUPERVISOR, ASSESSOR, AUDITOR, ADMIN}),
    "readiness.board_page": frozenset({FIELD_UNIT, SUPERVISOR, ASSESSOR, AUDITOR, ADMIN}),
    # 模拟测评: readers see rounds and rates; starting and closing for scorers and admins; scoring (a form with
    # CSRF) then for supervisors and assessors only (engine.readiness.mock.may_score)
    "evaluation.index": frozenset({SUPERVISOR, ASSESSOR, AUDITOR, ADMIN}),
    "evaluation.start": frozenset({SUPERVISOR, ASSESSOR, ADMIN}),
    "evaluation.round_page": frozenset({SUPERVISOR, ASSESSOR, AUDITOR, ADMIN}),
    "evaluation.close": frozenset({SUPERVISOR, ASSESSOR, ADMIN}),
    "evaluation.score_page": frozenset({SUPERVISOR, ASSESSOR, AUDITOR, ADMIN}),
    "evaluation.score": frozenset({SUPERVISOR, ASSESSOR, AUDITOR, ADMIN}),
    "evaluation.deductions_page": frozenset({SUPERVISOR, ASSESSOR, AUDITOR, ADMIN}),
    "evaluation_api.list_rounds": frozenset({SUPERVISOR, ASSESSOR, AUDITOR, ADMIN}),
    "evaluation_api.round_rates": frozenset({SUPERVISOR, ASSESSOR, AUDITOR, ADMIN}),
    "command.page": WATCHERS,  # the command centre's map and board
    "command.page_state": WATCHERS,  # the JSON the page polls (session)
    "command.areas_csv": WATCHERS,  # the list of responsibility areas (责任区域清单) as CSV
    "command_api.api_state": WATCHERS,  # the same JSON for other systems (user tokens)
    "inspection_api.list_plans": SUPERVISORS,
    "inspection_api.post_round": SUPERVISORS,
    "inspection_api.get_round": SUPERVISORS,
    "inspection_api.post_track": SUPERVISORS,
    "inspection_api.post_finding": SUPERVISORS,
    "inspection_api.post_end": SUPERVISORS,
    "inspection_api.get_coverage": frozenset({SUPERVISOR, ASSESSOR, AUDITOR, ADMIN}),
    "api.create_token": EVERYONE,
    "api.list_categories": USERS | {INTAKE},
    "api.list_units": USERS | {INTAKE},
    "api.list_grids": USERS | {INTAKE},
    "zones_api.list_zones": USERS,  # zones as GeoJSON: signed-in users' tokens, not sources
    "leaflet.asset": EVERYONE,  # Leaflet's files from the xstatic-leaflet package, for the zone map
    "api.post_event": frozenset({INTAKE}),
    "api.post_events_batch": frozenset({INTAKE}),
    "api.get_event": USERS | {INTAKE},
    "api.list_tasks": USERS,
    "api.get_task": USERS,
    "api.post_transition": USERS,
    "people_api.list_staff": USERS,  # people are for signed-in users, never for a source token
    "people_api.roster": USERS,
    "permits_api.list_permits": USERS,  # the register is for signed-in users, never for a source token
    "plan.index": PLAN_READERS,  # 创建任务分解表: a field unit or a squad inspector then sees its own units' items only
    "plan.progress": PLAN_READERS,  # then engine.readiness.plan.may_report: the item's own units (or an admin)
    "plan.photo": PLAN_READERS,
    "plan.report": frozenset({ADMIN, SUPERVISOR, ASSESSOR, AUDITOR}),  # the 推进会 report
    "plan_api.list_items": PLAN_READERS,
    "plan_api.report_progress": PLAN_READERS,
    "plan_api.report_json": frozenset({ADMIN, SUPERVISOR, ASSESSOR, AUDITOR}),
    #: 门前三包: holders for administrators, supervisors, the assessment office and the sub-districts (their own);
    #: a notice (告知书) from the task's unit (engine.handling.holder_notice.may_notify decides per task)
    "holders.index": frozenset({ADMIN, SUPERVISOR, ASSESSOR, AUDITOR, FIELD_UNIT}),
    "holders.detail": frozenset({ADMIN, SUPERVISOR, ASSESSOR, AUDITOR, FIELD_UNIT}),
    "holders_api.list_holders": frozenset({ADMIN, SUPERVISOR, ASSESSOR, AUDITOR, FIELD_UNIT}),
    "holders_api.get_holder": frozenset({ADMIN, SUPERVISOR, ASSESSOR, AUDITOR, FIELD_UNIT}),
    "holders_api.post_notice": frozenset({FIELD_UNIT, ADMIN}),
    "pages.holder_notice": frozenset({FIELD_UNIT, ADMIN}),
    "people_api.assign_task": frozenset({FIELD_UNIT, ADMIN}),
    "inbox.page": USERS,  # 消息: everyone signed in reads their own messages (engine.delivery.inbox scopes them)
    "inbox.read": USERS,
    "inbox.read_all": USERS,
    "inbox_api.api_list": USERS,
    "inbox_api.api_read": USERS,
    "people_api.task_arrival": frozenset({FIELD_UNIT}),
    "supervision_api.api_board": SUPERVISORS,
    "supervision_api.api_act": SUPERVISORS,
    "supervision_api.api_list": USERS,
    "supervision_api.api_reply": frozenset({FIELD_UNIT, ADMIN}),
    "openapi.openapi_json": EVERYONE,  # the API's description and its browsable UI hold no data
    "openapi.docs_page": EVERYONE,
    "openapi.docs_assets": EVERYONE,
    "workflow.act": USERS,  # engine.handling.tasks then checks the role's rights per action (tests/web/test_transitions.py)
    "workflow.photos": frozenset({FIELD_UNIT, ADMIN}),
    "workflow.photo": USERS,
    "workflow.check_queue": frozenset({CHECKER, COLLECTOR, ADMIN}),
    "requests.queue": frozenset({DISPATCHER, SHIFT_LEADER, ADMIN}),
    "requests.decide": frozenset({DISPATCHER, SHIFT_LEADER, ADMIN}),  # bulk 批准/驳回 of the ticked requests
    "handover.new": frozenset({DISPATCHER, SHIFT_LEADER, ADMIN}),  # 交办 page
    "workflow.route_case_form": frozenset({DISPATCHER, SHIFT_LEADER, ADMIN}),
    "cases_api.get_case": USERS | {INTAKE},  # then scoped: a field unit its tasks' cases, a source its reports'
    "cases_api.post_route": frozenset({DISPATCHER, SHIFT_LEADER, ADMIN}),
    "cases_api.post_link": frozenset({DISPATCHER, SHIFT_LEADER, ADMIN}),
    "cases_api.delete_link": frozenset({DISPATCHER, SHIFT_LEADER, ADMIN}),
    "cases_api.post_handover": frozenset({DISPATCHER, SHIFT_LEADER, ADMIN}),  # 交办
    "cases_api.post_verify": frozenset({COLLECTOR, SHIFT_LEADER, ADMIN}),  # 核实; then the case's collector only
    "cases_api.post_file": frozenset({SHIFT_LEADER, ADMIN}),  # 立案
    "cases_api.post_refuse": frozenset({SHIFT_LEADER, ADMIN}),  # 不予立案
    "cases_api.post_close": frozenset({SHIFT_LEADER, ADMIN}),  # 结案
    "case_pages.queue": frozenset({COLLECTOR, DISPATCHER, SHIFT_LEADER, ADMIN}),  # 待核实, 待立案, 待结案, 待回访
    "case_pages.case_page": STAFF,
    "case_pages.photo": STAFF,
    "case_pages.reveal_reporter_phone": REPORTER_PHONE,  # 显示号码: each view in the security audit log
    "cases_api.reveal_reporter_phone": REPORTER_PHONE,
    "case_pages.verify_form": frozenset({COLLECTOR, SHIFT_LEADER, ADMIN}),
    "case_pages.file_form": frozenset({SHIFT_LEADER, ADMIN}),
    "case_pages.refuse_form": frozenset({SHIFT_LEADER, ADMIN}),
    "case_pages.close_form": frozenset({SHIFT_LEADER, ADMIN}),
    "cases_api.post_revisit": frozenset({DISPATCHER, SHIFT_LEADER, ADMIN, INTAKE}),  # 回访; a source its reports'
    "cases_api.post_reopen": frozenset({DISPATCHER, SHIFT_LEADER, ADMIN}),
    "case_pages.revisit_form": frozenset({DISPATCHER, SHIFT_LEADER, ADMIN}),
    "case_pages.reopen_form": frozenset({DISPATCHER, SHIFT_LEADER, ADMIN}),
    "simulate_api.simulate": frozenset({ADMIN, AUDITOR, ASSESSOR}),
    "scenarios_api.run": RECORD_READERS,
    "evidence_api.upload": frozenset({FIELD_UNIT, ADMIN}),  # the unit doing the work (its own tasks only)
    "evidence_api.list_for_task": USERS,
    "evidence_api.fetch": USERS,
    "attachments_api.upload": frozenset({DISPATCHER, SHIFT_LEADER, ADMIN}),  # a case's attachments (交办 materials)
    "attachments_api.list_for_case": USERS,  # then scoped: a field unit the cases of its tasks
    "attachments_api.fetch": USERS,
    "attachments.download": USERS,  # the link on the task and case pages, scoped like the API
    "open311.list_services": EVERYONE,  # GeoReport reads are public, as its clients expect
    "open311.service_definition": EVERYONE,
    "open311.list_requests": EVERYONE,
    "open311.get_request": EVERYONE,
    "open311.create_request": frozenset({INTAKE}),  # api_key (or a bearer header) = an intake token
    "assessment.index": ASSESSMENT_READERS,  # rankings and bulletins: the assessment office, auditors, admins
    "assessment.bulletin": ASSESSMENT_READERS,
    "bulletin_issues.issues_page": USERS,  # a published 周通报 is addressed to every unit: any signed-in user reads it
    "bulletin_issues.issue_pdf": USERS,
    "bulletin_issues.correct": frozenset({ASSESSOR, ADMIN}),  # a correction is a new issue, by the assessment office
    "bulletin_issues_api.api_issues": USERS,
    "bulletin_issues_api.api_issue": USERS,
    "assessment_api.rankings": ASSESSMENT_READERS,  # issue 17's contract: administrators, auditors and assessors
    "assessment_api.list_records": ASSESSMENT_READERS,
    "assessment_api.get_record": ASSESSMENT_READERS,
    "assessment_api.post_record": frozenset({ASSESSOR, ADMIN}),  # the assessment office records what was done
    "sanction_records.index": ASSESSMENT_READERS,
    "sanction_records.edit": ASSESSMENT_READERS,  # auditors read the record; a POST by them is refused in the view
    "sanction_records.new": frozenset({ASSESSOR, ADMIN}),
    "appraisal.appraisal_file": ASSESSMENT_READERS,
    "posts.current": ASSESSMENT_READERS,  # 岗位考核: the command centre's people per post, page and CSV
    "posts.page": ASSESSMENT_READERS,
    "rq_dashboard.*": ADMINS,
    "lists.analyse": ADMINS, "lists.save": ADMINS, "lists.create": ADMINS,  # POST only: require_editor() refuses readers
    "zones.save": ADMINS, "zones.publish": ADMINS, "zones.withdraw": ADMINS,  # POST only: require_editor()
    "zones.delete": ADMINS,
    "import.cancel": ADMINS,  # POST only
    "versions.rollback": ADMINS,  # POST only: readers see the versions page, require_editor() refuses them here
    "scenarios.delete": ADMINS,  # POST only: require_editor()
    "versions.override": ADMINS, "versions.confirm_override": ADMINS,  # POST only: require_editor()
    **{f"{view}.*": roles for view, roles in ADMIN_VIEWS.items()},
    **{f"{view}.{name}": ADMINS for view in MODEL_VIEWS for name in EDITING_VIEWS},
    **{f"{view}.{name}": ACCOUNT_MANAGERS for view in ACCESS_VIEWS for name in EDITING_VIEWS},
    **{f"security_audit.{name}": NOBODY for name in EDITING_VIEWS},
}

#: Values for the URL parameters (task_id and event_id are filled with a Dongcheng task below).
PARAMETERS = {"instance_number": "0", "job_id": "matrix-job", "queue_name": "matrix-queue",
              "registry_name": "queued", "per_page": "10", "order": "asc", "page": "1", "export_type": "csv",
              "filename": "matrix-no-such-file.css", "supervision_id": "999999999",
              "fmt": "json", "code": "06029", "request_id": "999999999", "run_id": "999999999", "evidence_id": "999999999", "attachment_id": "999999999",
              "name": "2026-11", "firing_id": "999999999", "list_id": "999999999", "zone_id": "999999999",
              "campaign_id": "1", "number": "999999999", "issue_id": "999999999", "message_id": "999999999",
              "round_id": "999999999", "finding_id": "999999999", "item_id": "999999999", "holder_id": "999999999",
              "label": "2026-11", "record_id": "999999999", "override_id": "999999999", "scenario_id": "999999999"}  # versions: campaign 1 is the demo; no such version number


def policy_for(endpoint: str) -> frozenset[str] | None:
    if endpoint in POLICY:
        return POLICY[endpoint]
    return POLICY.get(endpoint.split(".")[0] + ".*")


def method_for(rule) -> str:
    methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
    return "GET" if "GET" in methods else methods[0]


def path_for(rule, values: dict[str, str]) -> str:
    missing = [name for name in rule.arguments if name not in values]
    assert not missing, f"{rule.rule}: add a value for {missing} to PARAMETERS in {__file__}"
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values[m.group(1)], rule.rule)


@dataclass
class Caller:
    role: str
    user_id: int | None = None
    token: str | None = None


@pytest.fixture(scope="module")
def callers(factory, intake_token) -> dict[str, Caller]:
    found = {ANONYMOUS: Caller(ANONYMOUS), INTAKE: Caller(INTAKE, token=intake_token)}
    with factory() as session:
        for role, username in ACCOUNTS.items():
            user = session.scalar(select(User).where(User.username == username))
            assert user is not None and user.role == role, f"demo account {username} should be a {role}"
            found[role] = Caller(role, user.id, issue_user_token(session, user)[0])
        session.commit()
    return found


@pytest.fixture(scope="module")
def tasks(factory, app, intake_token, drain) -> dict[str, int]:
    """A task of the field unit's own unit and one of another unit (outdoor barbecue at 23:00)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.250.0.1"
    ids = {}
    for grid in ("DC-01", "XC-01"):
        response = client.post("/api/v1/events", json=event(grid=grid), headers=bearer(intake_token))
        assert response.status_code == 202, response.get_json()
        ids[grid] = response.get_json()["id"]
    drain()
    with factory() as session:
        found = {}
        for grid, event_id in ids.items():
            code = "JD-DC" if grid == "DC-01" else "JD-XC"
            found[grid] = session.scalar(select(Task.id).join(Unit, Task.unit_id == Unit.id)
                                         .where(Task.event_id == event_id, Unit.code == code))
            assert found[grid], f"no task for {code} from event {event_id}"
        own_case = session.scalar(select(Event.case_id).where(Event.id == ids["DC-01"]))
    return {"own_task": found["DC-01"], "own_event": ids["DC-01"], "other_task": found["XC-01"],
            "other_event": ids["XC-01"], "own_case": own_case}


@pytest.fixture(scope="module")
def dashboard_jobs(settings):
    """Puts back, before each request, what the queue dashboard's routes act on: a queue of its own that
    no worker listens to, holding one job, and a failed job "matrix-job" to show, requeue or delete."""
    from rq import Queue
    from rq.job import Job

    from workers.queues import connection

    queue = Queue("matrix-queue", connection=connection(settings))

    def restore() -> None:
        queue.enqueue_call("builtins.print", job_id="matrix-waiting")
        failed = Job.create("builtins.print", id="matrix-job", connection=queue.connection, origin=queue.name)
        failed.save()
        queue.remove(failed)
        queue.failed_job_registry.add(failed, ttl=600)

    yield restore
    restore()  # so that the job exists to be removed, whatever the test did last
    queue.failed_job_registry.remove("matrix-job", delete_job=True)
    queue.delete(delete_jobs=True)


@pytest.fixture(scope="module")
def drain(factory, settings):
    from engine.evaluation import pipeline

    limits = settings.pipeline
    return lambda: pipeline.drain(factory, limits.batch_size, limits.lease_seconds, limits.max_attempts)


def request_as(app, caller: Caller, method: str, path: str, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if caller.user_id is not None:
        with app.app_context():  # the session names the account's current generation (a logout moves it on)
            session_id = db.session.get(User, caller.user_id).get_id()
        with client.session_transaction() as flask_session:
            flask_session["_user_id"] = session_id
            flask_session["_fresh"] = True
    headers = bearer(caller.token) if caller.token else {}
    response = client.open(path, method=method, headers=headers)
    if response.status_code in (301, 308):  # the router's canonical URL, before any guard: follow it
        response = client.open(response.headers["Location"], method=method, headers=headers)
    response.get_data()  # a streamed body (the CSV export) runs to its end inside this test's transaction
    response.close()
    return response


def verdict(response) -> str:
    if response.status_code >= 500:
        return f"error {response.status_code}"
    if response.status_code in (401, 403):
        return "denied"
    location = response.headers.get("Location", "")
    if response.status_code in (302, 303) and "/login?next=" in location:  # logging out also ends at /login
        return "denied"
    return "reached"


def test_every_route_is_classified(app):
    unclassified = sorted({f"{rule.endpoint}  ({rule.rule})" for rule in app.url_map.iter_rules()
                           if policy_for(rule.endpoint) is None})
    assert not unclassified, ("routes missing from POLICY in tests/web/test_authz_matrix.py; decide who may reach "
                              "them:\n  " + "\n  ".join(unclassified))


def test_each_role_reaches_exactly_what_the_policy_allows(app, callers, tasks, dashboard_jobs):
    values = {**PARAMETERS, "task_id": str(tasks["own_task"]), "event_id": str(tasks["own_event"]),
              "case_id": str(tasks["own_case"])}
    csrf = app.config.get("WTF_CSRF_ENABLED", True)
    app.config["WTF_CSRF_ENABLED"] = False
    wrong = []
    try:
        for number, rule in enumerate(sorted(app.url_map.iter_rules(), key=lambda r: r.rule)):
            allowed = policy_for(rule.endpoint)
            if allowed is None:
                continue  # reported by test_every_route_is_classified
            method, path = method_for(rule), path_for(rule, values)
            for index, role in enumerate(ROLES):
                address = f"10.251.{number % 250}.{index + 1}"  # own rate-limit bucket per request
                if rule.endpoint.startswith("rq_dashboard."):
                    dashboard_jobs()
                response = request_as(app, callers[role], method, path, address)
                expected = "reached" if role in allowed else "denied"
                got = verdict(response)
                if got != expected:
                    wrong.append(f"{role:<11} {method:<5} {path}  [{rule.endpoint}]: expected {expected}, "
                                 f"got {got} ({response.status_code})")
    finally:
        app.config["WTF_CSRF_ENABLED"] = csrf
    assert not wrong, "access differs from the policy:\n  " + "\n  ".join(wrong)


def test_a_field_unit_sees_its_own_tasks_only(app, callers, tasks):
    field = callers[FIELD_UNIT]
    for path in (f"/tasks/{tasks['other_task']}", f"/api/v1/tasks/{tasks['other_task']}"):
        assert request_as(app, field, "GET", path, "10.252.0.1").status_code == 404
    for path in (f"/tasks/{tasks['own_task']}", f"/api/v1/tasks/{tasks['own_task']}"):
        assert request_as(app, field, "GET", path, "10.252.0.1").status_code == 200
    def listed(event_id: int) -> set[int]:
        body = request_as(app, field, "GET", f"/api/v1/tasks?event={event_id}", "10.252.0.1").get_json()
        return {t["id"] for t in body["tasks"]}

    assert tasks["own_task"] in listed(tasks["own_event"])
    assert listed(tasks["other_event"]) == set()
    assert request_as(app, field, "GET", f"/api/v1/events/{tasks['other_event']}", "10.252.0.1").status_code == 404
