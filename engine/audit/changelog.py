"""One change log of configuration and master data, written by SQLAlchemy session hooks in the same
transaction as the change, whichever interface made it (admin, API, CLI). The web app and the CLI say
who acts through a contextvar; engine code never reads request globals."""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

from sqlalchemy import and_, event, insert, inspect, or_, select
from sqlalchemy.orm import Session, object_session

from engine.core import clock
from engine.core import models as m

SECRET_FIELDS = {"password_hash", "token_hash", "secret", "api_key"}
REDACTED = "[redacted]"
#: Personal data kept recognisable but not usable: the log shows a phone was changed, not the number.
PERSONAL_FIELDS = {"phone"}


MOBILE = re.compile(r"^\+?\d{7,15}$")


def url_host(address: str) -> str:
    """A URL's host and port, never the user name and password a URL may carry before the host."""
    try:
        parts = urlsplit(address)
        host = parts.hostname or ""
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:  # a malformed port or host: show nothing of it rather than all of it
        return "?"


def masked_address(address: str) -> str:
    """A recipient address as the log keeps it: a URL (a robot's carries its key) cut to its host and the key's
    last four characters, a mobile number masked, an e-mail address whole."""
    if "://" in address:
        scheme, rest = address.split("://", 1)
        host = url_host(address)
        return f"{scheme}://{host}/…****{rest[-4:]}" if len(rest) > len(host) + 8 else f"{scheme}://{host}/…"
    if MOBILE.match(address.strip()):
        return address.strip()[:3] + "****" + address.strip()[-4:]
    return address


#: (model name, field) -> how the log shows it; a field's value here is never stored or shown whole.
MASKED_FIELDS: dict[tuple[str, str], Callable[[str], str]] = {("Recipient", "address"): masked_address}


def shown_values(object_type: str, values: dict[str, Any] | None) -> dict[str, Any] | None:
    """An entry's before or after as a reader sees it; also masks entries written before a field was masked."""
    if values is None:
        return None
    return {key: _shown(object_type, key, value) for key, value in values.items()}


def _shown(object_type: str, key: str, value: Any) -> Any:
    if value is None or value == REDACTED:
        return value
    mask = MASKED_FIELDS.get((object_type, key))
    if mask is not None:
        return mask(str(value)) if "…" not in str(value) else value
    if key in SECRET_FIELDS:
        return REDACTED
    if key in PERSONAL_FIELDS:
        text = str(value)
        return text[:3] + "****" + text[-4:] if len(text) >= 8 else "****"
    return _plain(value)


@dataclass(frozen=True)
class Actor:
    interface: str = "system"  # admin | api | cli | web | system
    who: Callable[[], tuple[int | None, str | None]] = lambda: (None, None)


ACTOR: ContextVar[Actor] = ContextVar("civicrules_change_actor", default=Actor())


def _campaign(obj: Any) -> int | None:
    if isinstance(obj, m.Campaign):
        return obj.id
    if getattr(obj, "campaign_id", None) is not None:
        return obj.campaign_id
    if isinstance(obj, m.ListItem) and obj.rule_list is not None:
        return obj.rule_list.campaign_id
    if isinstance(obj, m.TimelineStep) and obj.timeline_id is not None:
        timeline = object_session(obj).get(m.Timeline, obj.timeline_id)
        return timeline.campaign_id if timeline is not None else None
    if isinstance(obj, m.TierMember) and obj.tier_id is not None:
        tier = object_session(obj).get(m.SupervisionTier, obj.tier_id)
        return tier.campaign_id if tier is not None else None
    return None


# model -> how to find its campaign; other modules extend this with track().
TRACKED: dict[type, Callable[[Any], int | None]] = {}


def track(model: type, campaign: Callable[[Any], int | None] = _campaign) -> None:
    """Put a model's inserts, updates and deletes in the change log."""
    TRACKED[model] = campaign


for _model in (m.Campaign, m.Category, m.FilingCondition, m.Unit, m.Grid, m.FrontageHolder, m.SupervisionTier,
               m.Timeline, m.TimelineStep, m.TaskTemplate, m.RuleList, m.ListItem, m.Rule, m.RulesetVersion,
               m.Recipient, m.User, m.Holiday, m.AssessmentConfig, m.SanctionRule, m.DutyItem,
               m.TierMember, m.Person, m.Street, m.Shift, m.Zone):
    track(_model)


def set_actor(interface: str, who: Callable[[], tuple[int | None, str | None]] | None = None):
    """Set who acts for the rest of this context; returns the token for reset_actor."""
    return ACTOR.set(Actor(interface, who or (lambda: (None, None))))


def reset_actor(token) -> None:
    ACTOR.reset(token)


@contextmanager
def acting(interface: str, user_id: int | None = None, username: str | None = None) -> Iterator[None]:
    token = set_actor(interface, lambda: (user_id, username))
    try:
        yield
    finally:
        ACTOR.reset(token)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def _columns(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    values = {}
    for attr in state.mapper.column_attrs:
        if attr.key in state.unloaded:
            continue
        value = getattr(obj, attr.key)
        values[attr.key] = _shown(type(obj).__name__, attr.key, value)
    return values


def _changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    before, after = {}, {}
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        name = type(obj).__name__
        before[attr.key], after[attr.key] = _shown(name, attr.key, old), _shown(name, attr.key, new)
    return before, after


def _object_id(obj: Any) -> str:
    return ",".join(str(v) for v in inspect(obj).mapper.primary_key_from_instance(obj))


@event.listens_for(Session, "after_flush")
def _record(session: Session, _flush_context) -> None:
    """Runs while new/dirty/deleted and attribute history still show what this flush wrote."""
    rows = []
    for action, objects in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            resolve = TRACKED.get(type(obj))
            if resolve is None:
                continue
            if action == "insert":
                before, after = None, _columns(obj)
            elif action == "delete":
                before, after = _columns(obj), None
            else:
                if not session.is_modified(obj, include_collections=False):
                    continue
                before, after = _changes(obj)
                if not after:
                    continue
            rows.append({"object_type": type(obj).__name__, "object_id": _object_id(obj), "action": action,
                         "before": before, "after": after, "campaign_id": resolve(obj)})
    if not rows:
        return
    actor = ACTOR.get()
    user_id, username = actor.who()
    now = clock.now()
    for row in rows:
        row.update(at=now, user_id=user_id, username=username, interface=actor.interface)
    session.connection().execute(insert(m.ChangeLogEntry.__table__), rows)


PAGE_SIZE = 50


@dataclass(frozen=True)
class ChangeFilter:
    object_type: str | None = None
    username: str | None = None
    interface: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def page(session: Session, f: ChangeFilter, after: tuple[datetime, int] | None = None,
         size: int = PAGE_SIZE) -> tuple[list[m.ChangeLogEntry], tuple[datetime, int] | None]:
    """Newest first, keyset-paginated on (at, id): no OFFSET and no total count."""
    entry = m.ChangeLogEntry
    q = select(entry)
    for column, value in ((entry.object_type, f.object_type), (entry.username, f.username),
                          (entry.interface, f.interface)):
        if value:
            q = q.where(column == value)
    if f.since:
        q = q.where(entry.at >= f.since)
    if f.until:
        q = q.where(entry.at < f.until)
    if after:
        q = q.where(or_(entry.at < after[0], and_(entry.at == after[0], entry.id < after[1])))
    rows = list(session.scalars(q.order_by(entry.at.desc(), entry.id.desc()).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return rows, ((rows[-1].at, rows[-1].id) if more else None)


def went_into(session: Session, entries: list[m.ChangeLogEntry]) -> dict[int, m.RulesetVersion]:
    """Entry id -> the first ruleset version of its campaign published after it (computed when read)."""
    found = {}
    for e in entries:
        if e.campaign_id is None:
            continue
        version = session.scalar(select(m.RulesetVersion).where(m.RulesetVersion.campaign_id == e.campaign_id,
                                                                 m.RulesetVersion.published_at >= e.at)
                                 .order_by(m.RulesetVersion.published_at, m.RulesetVersion.id).limit(1))
        if version is not None:
            found[e.id] = version
    return found


def object_types() -> list[str]:
    return sorted(model.__name__ for model in TRACKED)
