"""How every page, admin list and export shows an instant, a span of time and a code: in the campaign's local
time to the minute, in hours and minutes, by name in the reader's language. Stored instants are UTC and a
different calendar day from Beijing's every evening, so no page prints one as it is stored."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from flask import Flask, g
from flask_babel import gettext as _
from sqlalchemy import select

from engine.accounts.users import ROLES
from engine.assessment.periods import day_span, period_name
from engine.core.config import load_settings
from engine.core.models import Campaign, Person, User
from engine.core.states import EventStatus
from engine.evaluation.decide import ROUTINE
from engine.core.worktime import holiday_name
from engine.core.zones import zone_label
from engine.evaluation.record import PHASE_NAMES
from engine.handling.tasks import ACTIONS, STATES
from engine.readiness.mock import SOURCE_NAME as MOCK_SOURCE
from engine.supervision import steps
from rules.wording import LISTS
from web.common.extensions import db
from web.common.i18n import short_lang

#: Names of the codes pages would otherwise show (Chinese, English), by what the code is.
SOURCE_TYPES = {"hotline": ("热线", "hotline"), "patrol": ("巡查", "patrol"), "camera": ("视频监控", "camera"),
                "inspection": ("测评检查", "inspection"), "media": ("媒体", "media"),
                "leader": ("领导交办", "leader"), "citizen": ("市民上报", "citizen"),
                "readiness": ("每日自查", "daily readiness check"),
                "mock_evaluation": ("模拟测评", "mock evaluation"),
                "official_evaluation": ("正式测评", "official evaluation")}
#: Names of the intake sources the system itself and the demo's tokens hand events over as (Event.source); another
#: source is shown by its source type's name, its key after it.
SOURCES = {"hotline-12345": ("12345热线", "12345 hotline"), "patrol-app": ("巡查App", "patrol app"),
           MOCK_SOURCE: ("模拟测评", "mock evaluation")}
UNIT_TYPES = {"bureau": ("局", "Bureau"), "department": ("部门", "Department"), "committee": ("委员会", "Committee"),
              "inspection_squad": ("督察中队", "Inspection squad"), "subdistrict": ("街道办事处", "Sub-district office"),
              "squad": ("执法中队", "Enforcement squad"), "community": ("社区", "Community"),
              "enterprise": ("企业", "Enterprise"), "bureau_department": ("局属科室", "Department of the bureau")}
FIELD_TYPES = {"text": ("单行文字", "text"), "textarea": ("多行文字", "long text"), "number": ("数字", "number"),
               "choice": ("单选", "choice"), "multichoice": ("多选", "multiple choice"),
               "datetime": ("日期时间", "date and time"), "checkbox": ("勾选", "checkbox"),
               "photo": ("照片", "photo"), "location": ("位置", "location")}
IMPORT_STATUSES = {"uploaded": ("已上传", "Uploaded"), "queued": ("排队中", "Queued"), "running": ("导入中", "Running"),
                   "done": ("已完成", "Done"), "failed": ("失败", "Failed"), "cancelling": ("正在取消", "Cancelling"),
                   "cancelled": ("已取消", "Cancelled")}
CAMPAIGN_STATUSES = {"draft": ("草稿", "Draft"), "active": ("启用", "Active"), "ended": ("已结束", "Ended")}
EVENT_STATUSES = {EventStatus.PENDING: ("待研判", "pending"), EventStatus.EVALUATED: ("已研判", "evaluated"),
                  EventStatus.FAILED: ("研判失败", "failed")}
NAMES: dict[str, Mapping[str, tuple[str, str]]] = {
    "status": STATES, "action": ACTIONS, "role": ROLES, "source_type": SOURCE_TYPES, "unit_type": UNIT_TYPES,
    "field_type": FIELD_TYPES, "step": {**steps.ACTION_NAMES, "urge": ("催办", "urge")}, "step_status": steps.STATUS_NAMES,
    "list_kind": {**{k: (zh, en[:1].upper() + en[1:]) for k, (zh, en) in LISTS.items()},
                  ROUTINE: ("常规派遣（职责清单）", "Routine dispatch (duty lists)")}, "event_status": EVENT_STATUSES,
    "campaign_status": CAMPAIGN_STATUSES, "import_status": IMPORT_STATUSES, "phase": PHASE_NAMES,
    "source": SOURCES,
}


def name_of(kind: str, code: Any, lang: str | None = None) -> str:
    """A code's name in the reader's language (`status`, `role`, `source_type`, ... as in NAMES); an unknown code
    is shown as it is rather than hidden."""
    if code is None or code == "":
        return ""
    names = NAMES[kind].get(str(code))
    if names is None:
        return str(code)
    return names[0] if (lang or short_lang()) == "zh" else names[1]


def source_name(source: str | None, source_type: str | None = None, lang: str | None = None) -> str:
    """An event's intake source by name (12345热线); one not named here by its type's name with the key after it,
    "热线（hotline-east）", so two sources of one type stay apart."""
    if not source or source in SOURCES:
        return name_of("source", source, lang)
    if not source_type or source_type not in SOURCE_TYPES:
        return source
    kind = name_of("source_type", source_type, lang)
    return f"{kind}（{source}）" if (lang or short_lang()) == "zh" else f"{kind} ({source})"


def instance_zone() -> ZoneInfo:
    """The instance's time zone (CIVICRULES_TIME_ZONE), for pages that belong to no campaign."""
    return ZoneInfo(load_settings().time_zone)


def campaign_zone_of(campaign_id: int | None) -> ZoneInfo:
    """A campaign's time zone by id, looked up once per request; the instance's without a campaign."""
    if campaign_id is None:
        return instance_zone()
    if "campaign_zones" not in g:
        g.campaign_zones = {cid: zone for cid, zone in db.session.execute(select(Campaign.id, Campaign.timezone))}
    zone = g.campaign_zones.get(campaign_id)
    return ZoneInfo(zone) if zone else instance_zone()


def zone_for(where: Any = None) -> ZoneInfo:
    """The zone named by a zone, its name, a campaign, or a record with a campaign; else the instance's."""
    if isinstance(where, ZoneInfo):
        return where
    if isinstance(where, int) and not isinstance(where, bool):
        return campaign_zone_of(where)
    if isinstance(where, str) and where:
        return ZoneInfo(where)
    if isinstance(where, Campaign):
        return ZoneInfo(where.timezone) if where.timezone else instance_zone()
    campaign_id = getattr(where, "campaign_id", None)
    if campaign_id is None:
        for holder in ("task", "event", "campaign"):
            related = getattr(where, holder, None) if where is not None else None
            if related is not None and getattr(related, "campaign_id", None) is not None:
                campaign_id = related.campaign_id
                break
    return campaign_zone_of(campaign_id)


def local_time(moment: datetime | str | None, where: Any = None, seconds: bool = False) -> str:
    """`2026-05-13 01:30` for 2026-05-12 17:30 UTC in Asia/Shanghai; a naive instant is taken as UTC (as stored)."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone_for(where)).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


#: An instant as JSON keeps it (a change log's before and after): with its offset, so it names one moment.
ISO_INSTANT = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)")


def shown_value(value: Any, where: Any = None) -> Any:
    """A stored value as a reader should see it: an instant in local time to the second, anything else as it is."""
    if isinstance(value, datetime) or (isinstance(value, str) and ISO_INSTANT.fullmatch(value)):
        return local_time(value, where, seconds=True)
    return value


def duration(span: timedelta | float | int | None) -> str:
    """A span in words: `45 分钟` under an hour, `50 小时 51 分` above (never `0.0 小时` or `50:51`)."""
    if span is None:
        return ""
    seconds = abs(span.total_seconds() if isinstance(span, timedelta) else float(span))
    hours, minutes = divmod(int(seconds // 60), 60)
    if not hours:
        return _("%(m)s min", m=minutes)
    if not minutes:
        return _("%(h)s h", h=hours)
    return _("%(h)s h %(m)s min", h=hours, m=minutes)


#: Chinese characters: the Chinese half of a stored "中文 / English" text has some, the English half none.
HAN = re.compile(r"[\u4e00-\u9fff]")


def in_reader_language(text: str | None, lang: str | None = None) -> str:
    """The reader's half of a text the system stored in both languages, "模拟测评失分 / lost points" (a finding's
    reason, an audit entry), in either order; a text without exactly one such split (what a person typed) is shown
    whole."""
    if not text:
        return ""
    parts = text.split(" / ")
    if len(parts) != 2 or not all(part.strip() for part in parts):
        return text
    zh, en = parts if HAN.search(parts[0]) else parts[::-1]  # "handed over by the committee / 城管委交办" too
    if not HAN.search(zh) or HAN.search(en):
        return text
    return zh if (lang or short_lang()) == "zh" else en


def person_name(user: User | None) -> str:
    """Who acted, as pages name people: the name of the person the account belongs to, else the login name (a
    unit's shared account has no person). Each account's person is read once per request (user_id is unique)."""
    if user is None:
        return ""
    names = g.setdefault("person_names", {})
    if user.id not in names:
        names[user.id] = db.session.scalar(select(Person.name).where(Person.user_id == user.id))
    return names[user.id] or user.username


def listed(names: Any) -> str:
    """Names in a run, as the reader's language separates them: 甲、乙 in Chinese, "A, B" in English."""
    return ("、" if short_lang() == "zh" else ", ").join(str(name) for name in names)


def register(app: Flask) -> None:
    """The filters and names every template uses: `|local`, `|local_time`, `|duration`, `|person_name`, `|in_reader_language`,
    `|zone_label`, `|period_name` (2026-W50 as 2026年第50周), `day_span(first, last)`, `|listed`,
    `name_of(kind, code)`."""
    app.jinja_env.filters["local"] = local_time
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["duration"] = duration
    app.jinja_env.filters["shown_value"] = shown_value
    app.jinja_env.filters["person_name"] = person_name
    app.jinja_env.filters["in_reader_language"] = in_reader_language
    app.jinja_env.filters["zone_label"] = lambda zone: zone_label(zone, short_lang())
    app.jinja_env.filters["holiday_name"] = lambda name: holiday_name(name, short_lang())  # chinese-calendar's English
    app.jinja_env.filters["listed"] = listed
    app.jinja_env.filters["period_name"] = lambda label: period_name(label, short_lang())
    app.jinja_env.globals["day_span"] = lambda first, last: day_span(first, last, short_lang())
    app.jinja_env.globals["name_of"] = name_of
    for kind in NAMES:
        app.jinja_env.filters[f"{kind}_name"] = lambda code, kind=kind: name_of(kind, code)
