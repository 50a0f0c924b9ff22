"""Names of stored fields as reviewers read them: a version diff and the change history show a list row,
a rule or a changed record as labelled fields, in the reader's language, instead of raw keys and JSON."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.common.i18n import short_lang

LABELS = {
    "key": _l("Key"), "title": _l("Title"), "zh": _l("Chinese"), "en": _l("English"),
    "title_zh": _l("Chinese title"), "title_en": _l("English title"),
    "name": _l("Name"), "name_zh": _l("Chinese name"), "name_en": _l("English name"),
    "categories": _l("Categories covered"), "conditions": _l("Conditions"), "fact": _l("Fact"),
    "op": _l("Operator"), "value": _l("Value"), "assign": _l("Responsible unit"), "template": _l("Task template"),
    "template_code": _l("Task template"), "timeline": _l("Timeline"), "timeline_code": _l("Timeline"),
    "limit": _l("Limit"), "unit": _l("Unit"), "points": _l("Points lost"), "legal_basis": _l("Legal basis"),
    "enabled": _l("Enabled"), "effective_from": _l("Effective from"), "effective_to": _l("Effective until"),
    "position": _l("Number"), "origin": _l("Origin"), "list": _l("List"), "item": _l("List row"),
    "when": _l("When"), "all": _l("All of"), "any": _l("Any of"), "then": _l("Then"), "do": _l("Action"),
    "to": _l("To"), "version": _l("Version"), "code": _l("Code"), "steps": _l("Steps"),
    "after_minutes": _l("After (minutes)"), "members": _l("Members"), "comment": _l("Comment"),
    "number": _l("Number"), "content_hash": _l("Content hash"), "published_at": _l("Published at"),
    "fields": _l("Fields"), "type": _l("Type"), "required": _l("Required"), "options": _l("Options"),
    "label": _l("Label"), "checklist": _l("Checklist"), "evidence_rules": _l("Evidence rules"),
    "instructions_zh": _l("Chinese instructions"), "instructions_en": _l("English instructions"),
    "min_before": _l("Photos before, at least"), "min_after": _l("Photos after, at least"),
    "within_metres": _l("Within (metres)"), "level": _l("Level"),
    "id": _l("ID"), "active": _l("Active"), "created_at": _l("Created at"), "updated_at": _l("Updated at"),
    "failed_logins": _l("Failed sign-ins"), "must_change_password": _l("Must change password"), "password_hash":
    _l("Password"), "role": _l("Role"), "session_epoch": _l("Session generation"), "unit_id": _l("Unit"),
    "username": _l("Username"), "status": _l("Status"), "campaign_id": _l("Campaign"), "category_id":
    _l("Category"), "grid_id": _l("Grid"), "address": _l("Address"), "phone": _l("Phone"), "channel":
    _l("Channel"), "secret": _l("Secret"), "language": _l("Language"), "scope": _l("Scope"), "locked_until":
    _l("Locked until"), "person_id": _l("Person"), "parent_id": _l("Parent"), "tier_level": _l("Tier"),
    "unless_state": _l("Unless the task is"), "anchor": _l("Counted from"),
    "starts_at": _l("Starts at"), "ends_at": _l("Ends at"), "kind": _l("Kind"), "person": _l("Person"),
    "source": _l("Source"), "boundary": _l("Boundary"), "geometry": _l("Shape"), "text_zh": _l("Duty (Chinese)"),
    "text_en": _l("Duty (English)"), "area": _l("Area (grids)"), "limit_unit": _l("Unit of the limit"),
    "limit_value": _l("Limit"), "list_id": _l("List"), "author_id": _l("Author"), "rules": _l("Rules"),
    "user_id": _l("User"), "tier_id": _l("Tier"), "timeline_id": _l("Timeline"), "action": _l("Action"),
    "share": _l("At a share of the limit"), "width_metres": _l("Width (metres)"),
    "buffer_metres": _l("Buffer (metres)"),
    "standard_ref": _l("Code in the older standard"), "link_metres": _l("Joins an open case within (metres)"),
    "link_days": _l("Joins an open case within (days)"), "closing_zh": _l("Closing condition (Chinese)"),
    "closing_en": _l("Closing condition (English)"), "handler": _l("Handling unit"), "document": _l("Rule document"),
    "compiled": _l("Compiled form"), "bundle": _l("Frozen timelines, tiers, templates and lists"),
    "failed_login_window_start": _l("Failed sign-ins counted since"),
    "rung": _l("Takes ladder steps of"), "unit_types": _l("Supervises"), "user": _l("User"),
}
#: The kinds of record the change history tracks (engine/audit/changelog.py TRACKED), as readers call them.
OBJECT_TYPES = {
    "AssessmentConfig": _l("Weights and peer groups"), "Campaign": _l("Campaign"), "Category": _l("Category"),
    "DutyItem": _l("Duty item"), "FilingCondition": _l("Filing condition"),
    "FrontageHolder": _l("Frontage holder (门前三包)"), "Grid": _l("Grid"), "Holiday": _l("Holiday"),
    "InspectionPlan": _l("Inspection plan"), "ListItem": _l("List item"), "Person": _l("Person"),
    "Recipient": _l("Recipient"), "Rule": _l("Rule"), "RuleList": _l("List"), "RulesetVersion": _l("Ruleset version"),
    "SanctionRule": _l("Sanction rule"), "Shift": _l("Shift"), "Street": _l("Street"),
    "SupervisionTier": _l("Supervision tier"), "TaskTemplate": _l("Task template"), "TierMember": _l("Tier member"),
    "Timeline": _l("Timeline"), "TimelineStep": _l("Timeline step"), "Unit": _l("Unit"), "User": _l("User"),
    "Zone": _l("Zone"),
}


#: Fields whose shared label means something else on one kind of record: a person's position is their post (职务),
#: not a row's place in its list (序号).
OWN_LABELS = {("Person", "position")}

#: Column labels of the admin's model views by model name (filled by admin.init_admin): the change history names
#: a record's fields as the record's own admin page does.
VIEW_LABELS: dict[str, dict[str, Any]] = {}


def learn_view_labels(views: list[Any]) -> None:
    """Keep each model view's column labels, first view of a model first (its main page)."""
    for view in views:
        model = getattr(view, "model", None)
        if model is not None:
            labels = VIEW_LABELS.setdefault(model.__name__, {})
            for field, label in (getattr(view, "column_labels", None) or {}).items():
                labels.setdefault(field, label)


def field_label(name: Any, object_type: str | None = None) -> str:
    """The field's name for readers: the shared label, else the record's admin page's (a reference `unit_id` as
    its `unit`), else the stored name itself (a new or custom field)."""
    text = str(name)
    own = VIEW_LABELS.get(object_type or "", {})
    first = own.get(text) if (object_type, text) in OWN_LABELS else None
    found = first or LABELS.get(text) or own.get(text) or (own.get(text[:-3]) if text.endswith("_id") else None)
    return str(found) if found is not None else text


def object_type_label(name: str) -> str:
    """A tracked kind of record by its name for readers, the model's name when it has none yet."""
    found = OBJECT_TYPES.get(name)
    return str(found) if found is not None else name


def yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def referenced_name(field: str, value: Any) -> str | None:
    """The name of the record a stored id points at (a unit, category, grid, campaign or person), so the change
    history shows 东城街道办事处 rather than 2; None when the field is no reference or the record is gone."""
    from web.common.extensions import db
    from engine.core.models import Campaign, Category, Grid, Person, Unit

    model = {"unit_id": Unit, "category_id": Category, "grid_id": Grid, "campaign_id": Campaign,
             "person_id": Person}.get(field)
    if model is None or not isinstance(value, int) or isinstance(value, bool):
        return None
    record = db.session.get(model, value)
    if record is None:
        return None
    zh = short_lang() == "zh"
    name = getattr(record, "name_zh" if zh else "name_en", None) or getattr(record, "name", None) or ""
    code = getattr(record, "code", None)
    return f"{name}（{code}）" if code and name else (name or code or None)


#: Languages by their own names, as the language switch names them.
LANGUAGE_NAMES = {"zh_Hans_CN": "中文", "zh": "中文", "en": "English"}
#: What a rule's action (`do`) does, as the rule editor names it.
RULE_ACTIONS = {"create_task": _l("Create a task"), "notify": _l("Notify"), "escalate": _l("Escalate")}


def coded_value(field: str, value: Any) -> str | None:
    """A stored code or number by what it means (语言 中文, 操作 挂牌督办, 层级 第 2 级：督察中队定向督查, 之后
    60 分钟), so the change history reads as the editing pages do; None when the field holds no such code."""
    from admin.fields import ANCHORS
    from engine.supervision.steps import ACTION_NAMES
    from web.common.display import duration, name_of

    if isinstance(value, bool) or value is None:
        return None
    if field in ("language", "locale") and value in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[value]
    if field == "action" and value in ACTION_NAMES:
        return ACTION_NAMES[value][0 if short_lang() == "zh" else 1]
    if field == "do" and value in RULE_ACTIONS:
        return str(RULE_ACTIONS[value])
    if field == "anchor" and value in dict(ANCHORS):
        return str(dict(ANCHORS)[value])
    if field in ("tier", "tier_level") and isinstance(value, int):
        return tier_name(value)
    if field == "rung" and isinstance(value, int):
        return _("Tier %(n)s", n=value)
    if field == "share" and isinstance(value, (int, float)) and 0 < value < 1:
        return f"{value:.0%}"
    if field == "after_minutes" and isinstance(value, (int, float)):
        return duration(value * 60)
    if field == "unit_types" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "、".join(name_of("unit_type", v) for v in value) if short_lang() == "zh" else \
            ", ".join(name_of("unit_type", v) for v in value)
    return None


def tier_name(level: int) -> str:
    """A supervision tier by its level and name ("第 2 级：督察中队定向督查") where every campaign names that level
    alike; by its level alone where campaigns differ (a change history row names no campaign). Looked up once a
    request: a frozen version names its tiers in every ladder step."""
    from flask import g
    from sqlalchemy import select

    from engine.core.models import SupervisionTier
    from web.common.extensions import db

    zh = short_lang() == "zh"
    if "tier_names" not in g:
        g.tier_names = {}
        for tier in db.session.scalars(select(SupervisionTier)):
            g.tier_names.setdefault(tier.level, set()).add(tier.name_zh if zh else tier.name_en or tier.name_zh)
    names = g.tier_names.get(level, set())
    return _("Tier %(level)s: %(name)s", level=level, name=next(iter(names))) if len(names) == 1 else \
        _("Tier %(n)s", n=level)
