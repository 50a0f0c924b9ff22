"""Small helpers shared by the tests."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, TypeVar
from zoneinfo import ZoneInfo

from hypothesis import strategies as st
from sqlalchemy import event as sa_event, select

from engine.core import clock
from engine.core.models import Event, Task, TaskStep, User
from engine.handling import tasks
from engine.handling.ladder import PlannedStep
from engine.intake.events import IntakeSource, accept_event
from engine.supervision import escalation

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parent.parent
RUN_ID = uuid.uuid4().hex[:8]
#: Figures a test wants in the CI log (request counts, totals after a fault): printed after the run.
REPORT: list[str] = []
#: A page script that collects Content Security Policy violations in window.__csp.
WATCH = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));"""


def unique(prefix: str = "ev") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float, what: str = "the condition", every: float = 0.05) -> T:
    """Poll until `predicate` returns something truthy and return it; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(every)


def local_time(hour: int, days_ago: int = 1) -> str:
    """An ISO timestamp at a given Shanghai hour, `days_ago` days before the (injected) clock's today."""
    day = (clock.now() - timedelta(days=days_ago)).astimezone(SHANGHAI).date()
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=SHANGHAI).isoformat()


def steps_of(session, task_id: int) -> list:
    """A task's ladder as planned: its step rows, then the steps planned after the last row (pending, no id yet),
    so a test reads every step whether or not the poller has written it."""
    session.expire_all()
    rows = list(session.scalars(select(TaskStep).where(TaskStep.task_id == task_id).order_by(TaskStep.position)))
    planned = [PlannedStep.of(data) for row in rows[-1:] for data in row.later or []]
    return rows + [SimpleNamespace(**vars(p), id=None, status="pending", ran_at=None, task_status=None,
                                   later=None, task_id=task_id) for p in planned]


def steps_run(session, now: datetime | None = None) -> None:
    """Run every timeline step due by `now`, as the escalation worker polls: again at once while a batch ran steps
    (a batch takes the 200 oldest due steps, so the steps files before left due would keep a test's own back)."""
    while any(escalation.run_due(session, now=now).values()):
        pass


def event(category: str = "06029", grid: str = "DC-01", hour: int = 23, **extra) -> dict:
    body = {"source_event_id": unique(), "category": category, "grid": grid, "occurred_at": local_time(hour),
            "description": "测试事件"}
    body.update(extra)
    return body


#: The south-west corners of the demo's zones in three grids (rules/packs/demo.json), each about 500 m wide:
#: ZT6 needs a 限制经营区 (XC-03), SM7 a 居住区 (NC-02, DC-03).
DEMO_ZONE_CORNERS = {"XC-03": (35.0335, 111.0125), "NC-02": (35.0425, 111.0025), "DC-03": (35.0225, 111.0125)}


def zone_spot(grid: str, n: int = 0) -> dict[str, float]:
    """The n-th of sixteen spots inside the demo's zone in `grid`, each over 100 m from the others (so reports
    there are never linked into one case by place)."""
    lat, lon = DEMO_ZONE_CORNERS[grid]
    return {"lat": lat + 0.0005 + 0.0012 * (n // 4), "lon": lon + 0.0005 + 0.0012 * (n % 4)}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def reviewed_hash(page: str) -> str:
    """The draft hash the page showed: publishing sends it back, so only what was reviewed is published."""
    return re.search(r'name="reviewed" type="hidden" value="([0-9a-f]{64})"', page).group(1)


def jpeg(taken_at: datetime | None = None, gps: tuple[float, float] | None = None, size: int = 64) -> bytes:
    """A real JPEG made with Pillow, with EXIF time (camera local time) and GPS position if given."""
    import io

    from PIL import Image

    image = Image.new("RGB", (size, size), (200, 80, 40))
    exif = Image.Exif()
    if taken_at is not None:
        exif.get_ifd(0x8769)[0x9003] = taken_at.astimezone(SHANGHAI).strftime("%Y:%m:%d %H:%M:%S")
    if gps is not None:
        def dms(value: float) -> tuple[float, float, float]:
            value = abs(value)
            degrees, minutes = int(value), int((abs(value) - int(value)) * 60)
            return (float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4))
        exif.get_ifd(0x8825).update({1: "N" if gps[0] >= 0 else "S", 2: dms(gps[0]),
                                     3: "E" if gps[1] >= 0 else "W", 4: dms(gps[1])})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def upload_photo(client, token: str, task_id: int, data: bytes | None = None, field: str = "photos",
                 stage: str = "after", name: str = "photo.jpg", lang: str = "en"):
    import io

    return client.post(f"/api/v1/tasks/{task_id}/evidence", data={
        "field": field, "stage": stage, "file": (io.BytesIO(jpeg() if data is None else data), name)},
        headers={**bearer(token), "Accept-Language": lang}, content_type="multipart/form-data")


def user_token(client, username: str, password: str = "civicrules-demo") -> str:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(env: dict, *args: str, entry: str = "app.cli", **extra: str) -> subprocess.Popen:
    """`civicrules <args>` (or a test entry point's) in a process group of its own, with the test run's environment."""
    return subprocess.Popen([sys.executable, "-m", entry, *args], cwd=ROOT,
                            env={**os.environ, **env, "CIVICRULES_LEASE_SECONDS": "3", **extra},
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> float:
    """Stop a process started by `start`; a warm shutdown that outlasts a minute on a loaded machine is cut short.
    Returns the seconds it took, so a test can tell a process that ignored the signal and had to be killed."""
    began = time.monotonic()
    if proc.poll() is None:
        if sig == signal.SIGKILL:  # RQ's work-horse has a process group of its own: kill it first
            subprocess.run(["pkill", "-KILL", "-P", str(proc.pid)], check=False)
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        subprocess.run(["pkill", "-KILL", "-P", str(proc.pid)], check=False)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    return time.monotonic() - began


#: Where the engine-level task tests' events come from.
TASK_SOURCE = IntakeSource("task-tests", "patrol")


def new_task(factory, drain, session, grid: str = "DC-02", unit: str = "JD-DC") -> Task:
    """A fresh daytime barbecue task (2 urgent hours) for the grid's unit, status dispatched."""
    with factory() as s:
        event_id = accept_event(s, event("06029", grid, hour=14), TASK_SOURCE)[0].id
        s.commit()
    drain()
    session.expire_all()
    return next(t for t in session.get(Event, event_id).tasks if t.unit.code == unit)


def user(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


def act(session, task: Task, action: str, who: str | None, comment: str = "", data: dict | None = None):
    """One transition by a demo user at the task's current version, committed."""
    actor = user(session, who) if who else None
    row = tasks.apply(session, task, action, actor, comment, data, expected_version=task.version)
    session.commit()
    return row


#: What the zero-tolerance clearance template asks for on submit: its form, plus a photo (uploaded first).
RESULT = {"result": "已清理现场"}


def new_api_task(client, intake_token: str, drain, grid: str = "DC-02", unit: str = "JD-DC") -> dict:
    """A fresh daytime barbecue task for the grid's unit, as the API shows it to an administrator."""
    event_id = client.post("/api/v1/events", json=event("06029", grid, hour=14),
                           headers=bearer(intake_token)).get_json()["id"]
    drain()
    listed = client.get(f"/api/v1/tasks?event={event_id}",
                        headers=bearer(user_token(client, "admin"))).get_json()["tasks"]
    return next(t for t in listed if t["unit"]["code"] == unit)


def move(client, token: str, task_id: int, action: str, version, comment: str | None = None,
         data: dict | None = None, lang: str = "en"):
    """POST one transition through the API, whatever the answer."""
    body = {"action": action, "version": version}
    if comment is not None:
        body["comment"] = comment
    if data is not None:
        body["data"] = data
    return client.post(f"/api/v1/tasks/{task_id}/transitions", json=body,
                       headers={**bearer(token), "Accept-Language": lang})


def step(client, token: str, task: dict, action: str, comment: str | None = None, data: dict | None = None) -> dict:
    """A transition that must succeed; returns the task JSON (with its new version). A submission
    first uploads a photo and carries the template's form."""
    if action == "submit" and data is None:
        assert upload_photo(client, token, task["id"]).status_code == 201
        data = RESULT
    response = move(client, token, task["id"], action, task["version"], comment, data)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


#: A rule the demo pack does not have, firing on a 09014 event in grid NC-04.
PROBE_RULE = {"key": "hot-reload-probe", "title": {"zh": "热加载探针", "en": "Hot reload probe"},
              "when": {"all": [{"fact": "category", "op": "eq", "value": "09014"},
                               {"fact": "grid", "op": "eq", "value": "NC-04"}]},
              "then": [{"do": "notify", "to": "tier:1"}]}

#: Generated rules and events (hypothesis) draw their facts from these values.
CATEGORIES = ["06029", "06001", "09006", "08001"]
TEXT_FACTS = {"category": CATEGORIES, "grid": ["DC-01", "XC-02"], "source_type": ["hotline", "patrol", "camera"],
              "inspection_point": ["main_road", "school"], "frontage_holder": ["", "MQ-DC-001", "老王烧烤"]}
INT_FACTS = {"local_hour": (0, 23), "repeats_7d": (0, 5), "weekday": (1, 7), "frontage_holder_violations_90d": (0, 4)}
BOOL_FACTS = ["zero_tolerance", "is_weekend"]
SET_FACTS = {"in_zone": ["restricted_business", "school_surroundings", "residential"],
             "permits_valid": ["temporary_market", "outdoor_ad"]}


def _leaf_condition() -> st.SearchStrategy:
    text = st.sampled_from(sorted(TEXT_FACTS)).flatmap(lambda f: st.one_of(
        st.builds(lambda v, op: {"fact": f, "op": op, "value": v}, st.sampled_from(TEXT_FACTS[f]),
                  st.sampled_from(["eq", "ne"])),
        st.builds(lambda v, op: {"fact": f, "op": op, "value": v},
                  st.lists(st.sampled_from(TEXT_FACTS[f]), min_size=1, max_size=3, unique=True),
                  st.sampled_from(["in", "not_in"]))))
    number = st.sampled_from(sorted(INT_FACTS)).flatmap(lambda f: st.one_of(
        st.builds(lambda v, op: {"fact": f, "op": op, "value": v}, st.integers(*INT_FACTS[f]),
                  st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"])),
        st.builds(lambda a, b, op: {"fact": f, "op": op, "value": sorted([a, b])}, st.integers(*INT_FACTS[f]),
                  st.integers(*INT_FACTS[f]), st.sampled_from(["between", "not_between"]))))
    flag = st.builds(lambda f, v: {"fact": f, "op": "eq", "value": v}, st.sampled_from(BOOL_FACTS), st.booleans())
    exists = st.builds(lambda f, v: {"fact": f, "op": "exists", "value": v},
                       st.sampled_from(["filing_condition", "category_parent", "inspection_point"]), st.booleans())
    sets = st.sampled_from(sorted(SET_FACTS)).flatmap(lambda f: st.one_of(
        st.builds(lambda v, op: {"fact": f, "op": op, "value": v}, st.sampled_from(SET_FACTS[f]),
                  st.sampled_from(["has", "not_has"])),
        st.builds(lambda v, op: {"fact": f, "op": op, "value": v},
                  st.lists(st.sampled_from(SET_FACTS[f]), min_size=1, max_size=3, unique=True),
                  st.sampled_from(["has_any", "has_none"]))))
    return st.one_of(text, number, flag, exists, sets)


#: Well-formed `when` trees of all/any/not over the facts above.
RULE_CONDITIONS = st.recursive(_leaf_condition(), lambda inner: st.one_of(
    st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda x: {"not": x}, inner)), max_leaves=6)

#: Event facts as the evaluator sees them.
EVENT_FACTS = st.fixed_dictionaries(
    {"category": st.sampled_from(CATEGORIES), "grid": st.sampled_from(TEXT_FACTS["grid"]),
     "source_type": st.sampled_from(TEXT_FACTS["source_type"]), "local_hour": st.integers(0, 23),
     "repeats_7d": st.integers(0, 5), "weekday": st.integers(1, 7), "zero_tolerance": st.booleans(),
     "is_weekend": st.booleans(), "frontage_holder": st.sampled_from(TEXT_FACTS["frontage_holder"]),
     "frontage_holder_violations_90d": st.integers(0, 4)},
    optional={"filing_condition": st.sampled_from(["built", "building"]),
              "inspection_point": st.sampled_from(TEXT_FACTS["inspection_point"]),
              **{f: st.lists(st.sampled_from(v), max_size=3, unique=True) for f, v in SET_FACTS.items()}})


def answered(session, case, at) -> None:
    """Every task of the case but the lead's stands submitted: its unit has answered the lead (协办反馈)."""
    from engine.cases.cooperation import lead_task
    from engine.core.models import TaskTransition
    lead = lead_task(case)
    for task in case.tasks:
        if task is not lead and task.status not in ("submitted", "closed", "voided"):
            session.add(TaskTransition(task_id=task.id, from_status=task.status, to_status="submitted",
                                       action="submit", at=at, comment="已配合处置", data={}))
            task.status = "submitted"
    session.flush()


PHONE = {"width": 360, "height": 740}


def artifacts(tmp_path, name: str):
    """Where a browser test keeps its screenshots: CIVICRULES_ARTIFACTS (CI) or the test's tmp folder."""
    folder = Path(os.environ.get("CIVICRULES_ARTIFACTS") or tmp_path) / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def phone_sign_in(browser, base: str, username: str):
    """A Chinese phone page (360 px) signed in through the real form."""
    page = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "civicrules-demo")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1



def no_bulletin_issues(session) -> None:
    """Inside a rolled-back test: forget every published weekly bulletin and its messages, so a test can publish the
    weeks it names even when a real poller (tests/test_serve.py, the workers' tests) already published them in the
    shared database (an issue's messages are keyed by its id, which a new issue may take again)."""
    from sqlalchemy import delete, select, update

    from engine.core.models import BulletinIssue, Delivery, InboxAddress, MessageRead, OutboxMessage

    sent = select(OutboxMessage.id).where(OutboxMessage.kind == "bulletin_published")
    for table in (Delivery, InboxAddress, MessageRead):
        session.execute(delete(table).where(table.outbox_id.in_(sent)))
    session.execute(delete(OutboxMessage).where(OutboxMessage.kind == "bulletin_published"))
    session.execute(update(BulletinIssue).values(corrects_id=None))
    session.execute(delete(BulletinIssue))
    session.commit()


@contextmanager
def statements(target: Any) -> Iterator[list[str]]:
    """The SQL statements run on `target` (an Engine, or a session's Connection) while the block runs."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    sa_event.listen(target, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa_event.remove(target, "before_cursor_execute", count)
