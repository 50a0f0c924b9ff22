"""How a list row (清单条目) reads on its admin pages: its condition in words, its categories, responsible unit,
task template and ladder by name, its limit in words — never a Python dict or a bare code."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from engine.core.models import ListItem, TaskTemplate, Timeline
from engine.core.worktime import describe_limit
from rules.wording import describe_when
from web.common.explain import assignment, namer
from web.common.extensions import db
from web.common.i18n import short_lang


def conditions(view, context, model: ListItem, name: str) -> str:
    """The row's extra conditions in words (a Python dict of facts and operators is no reading for an official)."""
    lang, name_of = short_lang(), namer()
    return ("；" if lang == "zh" else "; ").join(describe_when(c, lang, name_of) for c in model.conditions or []
                                                if isinstance(c, dict))


def categories(view, context, model: ListItem, name: str) -> str:
    lang, name_of = short_lang(), namer()
    return ("、" if lang == "zh" else ", ").join(name_of(0 if lang == "zh" else 1, code)
                                                for code in model.categories or [])


def template(view, context, model: ListItem, name: str) -> str:
    """The task template by its name (the newest version's), its code after it."""
    found = db.session.scalar(select(TaskTemplate).where(TaskTemplate.code == model.template_code)
                              .order_by(TaskTemplate.version.desc()).limit(1))
    return named(found, model.template_code)


def timeline(view, context, model: ListItem, name: str) -> str:
    if not model.timeline_code:
        return _("(no timeline)")
    found = db.session.scalar(select(Timeline).where(Timeline.campaign_id == model.rule_list.campaign_id,
                                                     Timeline.code == model.timeline_code))
    return named(found, model.timeline_code)


def named(record: Any, code: str) -> str:
    """A record's name in the reader's language with its code after it; the code alone if nothing has it."""
    if record is None:
        return code
    zh = short_lang() == "zh"
    return f"{record.name_zh}（{code}）" if zh else f"{record.name_en or record.name_zh} ({code})"


def limit(view, context, model: ListItem, name: str) -> str:
    given = model.limit or {}
    return describe_limit(given["value"], given["unit"], short_lang()) if given.get("unit") else \
        _("(the category's limit)")


def responsible(view, context, model: ListItem, name: str) -> str:
    return assignment(model.assign, short_lang())


#: Detail formatters of a list row's columns.
ROW_FORMATTERS = {"conditions": conditions, "categories": categories, "assign": responsible,
                  "template_code": template, "timeline_code": timeline, "limit": limit}
