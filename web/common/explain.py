"""Explanation cards of firings: the rule's title and version, each condition in plain words with
the value that satisfied it, the list row, and the timeline applied — in the reader's language."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.core.models import Category, Firing, Grid, Timeline, Unit
from rules.wording import describe_condition, describe_origin
from web.common.extensions import db


def namer() -> Any:
    names: dict[str, tuple[str, str]] = {}
    for model in (Category, Grid, Unit):
        for code, zh, en in db.session.execute(select(model.code, model.name_zh, model.name_en)):
            names[code] = (zh, en)

    def name_of(lang: int, value: Any) -> str:
        if not (isinstance(value, str) and value in names):
            return str(value)
        return f"{names[value][0]}（{value}）" if lang == 0 else f"{names[value][1]} ({value})"
    return name_of


def cards(firings: list[Firing], lang: str, timeline_id: int | None = None) -> list[dict[str, Any]]:
    name_of = namer()
    i = 0 if lang == "zh" else 1
    timeline = db.session.get(Timeline, timeline_id) if timeline_id else None
    out = []
    for f in firings:
        doc = f.ruleset_version.rules.get(f.rule_key, {})
        title = (doc.get("title") or {}).get("zh" if i == 0 else "en", f.rule_key)
        out.append({"firing": f.id, "rule": f.rule_key, "title": title, "rule_version": f.rule_version,
                    "ruleset_version": f.ruleset_version.number,
                    "conditions": [describe_condition(m, lang, name_of) for m in f.matched],
                    "origin": describe_origin(doc.get("origin"), lang),
                    "timeline": (timeline.name_zh if i == 0 else timeline.name_en) if timeline else None})
    return out
