"""Task templates as administrators design them: checked field by field, then saved as a new version.

A task keeps the template version it was created with; new tasks take a code's latest version.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rules.problems import InputError, Problem
from engine.core.models import TaskTemplate

FIELD_TYPES = ("text", "textarea", "number", "choice", "multichoice", "datetime", "checkbox", "photo", "location")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
MAX_FIELDS = 40


def check(spec: dict[str, Any]) -> list[Problem]:
    """Every problem of a template design, each named by its place (e.g. fields[2].options)."""
    problems: list[Problem] = []

    def need(ok: bool, path: str, en: str, zh: str) -> None:
        if not ok:
            problems.append(Problem(path, en, zh))

    need(bool(CODE.match(str(spec.get("code", "")))), "code", "lower-case letters, digits and hyphens (2–64)",
         "小写字母、数字和连字符（2–64 个）")
    need(bool(str(spec.get("name_zh", "")).strip()), "name_zh", "required", "必填")  # English is optional
    fields = spec.get("fields")
    if not isinstance(fields, list) or not fields or len(fields) > MAX_FIELDS:
        problems.append(Problem("fields", f"1–{MAX_FIELDS} fields", f"须有 1–{MAX_FIELDS} 个字段"))
        fields = []
    seen: set[str] = set()
    for i, field in enumerate(fields):
        at = f"fields[{i}]"
        if not isinstance(field, dict):
            problems.append(Problem(at, "a field", "须为字段"))
            continue
        name = str(field.get("name", ""))
        need(bool(NAME.match(name)), f"{at}.name", "a name of lower-case letters, digits and _ (starting with a letter)",
             "字段名须以小写字母开头，由小写字母、数字和下划线组成")
        need(name not in seen, f"{at}.name", f"the name {name!r} is used twice", f"字段名 {name!r} 重复")
        seen.add(name)
        need(field.get("type") in FIELD_TYPES, f"{at}.type", f"one of {', '.join(FIELD_TYPES)}",
             f"须为 {'、'.join(FIELD_TYPES)} 之一")
        need(bool(str(field.get("zh", "")).strip()), f"{at}.zh", "a Chinese label", "须填写中文标签")
        if field.get("type") in ("choice", "multichoice"):
            options = field.get("options")
            values = [o.get("value") for o in options] if isinstance(options, list) and all(
                isinstance(o, dict) for o in options) else []
            need(len(values) >= 2 and all(values) and len(set(values)) == len(values), f"{at}.options",
                 "at least two options with distinct values", "至少两个选项，且取值互不相同")
    rules = spec.get("evidence_rules") or {}
    for key in ("min_before", "min_after", "within_metres"):
        value = rules.get(key)
        need(value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 10_000),
             f"evidence_rules.{key}", "a number from 0", "须为不小于 0 的数")
    return problems


def parse_design(text: str | None) -> dict[str, Any]:
    """The submitted design (anything but a JSON object counts as empty, for check() to name what is
    missing), or InputError when it is not JSON at all."""
    try:
        spec = json.loads(text or "{}")
    except ValueError as err:
        raise InputError([Problem("design", "The design could not be read.", "无法读取该模板设计。")]) from err
    return spec if isinstance(spec, dict) else {}


def preview(spec: Any) -> tuple[TaskTemplate, list[Problem]]:
    """A transient template (never added to a session) for rendering the design being edited, and the
    design's problems; an incomplete design shows what can be shown."""
    if not isinstance(spec, dict):
        return TaskTemplate(code="preview", version=0, name_zh="", name_en="", fields=[]), []
    template = TaskTemplate(code=str(spec.get("code") or "preview"), version=0, name_zh=spec.get("name_zh", ""),
                            name_en=spec.get("name_en", ""), fields=[f for f in spec.get("fields") or []
                                                                     if isinstance(f, dict) and f.get("name")])
    return template, check(spec)


def save_version(session: Session, spec: dict[str, Any]) -> TaskTemplate:
    """Check the design and store it as the code's next version (the caller commits); without an English
    name the Chinese one is stored for English pages (field labels fall back to Chinese when shown)."""
    problems = check(spec)
    if problems:
        raise InputError(problems)
    latest = session.scalar(select(func.max(TaskTemplate.version)).where(TaskTemplate.code == spec["code"])) or 0
    row = TaskTemplate(code=spec["code"], version=latest + 1, name_zh=spec["name_zh"].strip(),
                       name_en=str(spec.get("name_en") or "").strip() or spec["name_zh"].strip(), instructions_zh=spec.get("instructions_zh", ""),
                       instructions_en=spec.get("instructions_en", ""), fields=list(spec["fields"]),
                       checklist=[c for c in spec.get("checklist") or [] if c.get("zh") or c.get("en")] or None,
                       evidence_rules={k: v for k, v in (spec.get("evidence_rules") or {}).items()
                                       if v not in (None, "", False)} or None)
    session.add(row)
    session.flush()
    return row


def latest(session: Session, code: str) -> TaskTemplate | None:
    return session.scalar(select(TaskTemplate).where(TaskTemplate.code == code)
                          .order_by(TaskTemplate.version.desc()).limit(1))


def latest_of_each(session: Session) -> list[TaskTemplate]:
    """The latest version of every template, by code: what editors list and pickers offer."""
    newest = (select(TaskTemplate.code, func.max(TaskTemplate.version).label("version"))
              .group_by(TaskTemplate.code).subquery())
    return list(session.scalars(select(TaskTemplate).join(
        newest, (TaskTemplate.code == newest.c.code) & (TaskTemplate.version == newest.c.version))
        .order_by(TaskTemplate.code)))


def spec_of(template: TaskTemplate) -> dict[str, Any]:
    return {"code": template.code, "name_zh": template.name_zh, "name_en": template.name_en,
            "instructions_zh": template.instructions_zh, "instructions_en": template.instructions_en,
            "fields": template.fields or [], "checklist": template.checklist or [],
            "evidence_rules": template.evidence_rules or {}}


@dataclass(frozen=True)
class FieldChange:
    """One form field (or a part of the template itself, named by its spec key) between two versions."""

    kind: str  # added | removed | changed
    name: str
    zh: str
    en: str
    parts: tuple[str, ...] = ()  # what changed inside a changed field: type, required, options, zh, en

    def label(self, lang: str) -> str:
        return (self.zh if lang.startswith("zh") else self.en) or self.zh or self.name


def changed_fields(old: TaskTemplate | None, new: TaskTemplate) -> list[FieldChange]:
    """What a new template version changes, field by field, so a reviewer need not compare two designs."""
    before, after = spec_of(old) if old else {"fields": []}, spec_of(new)
    out: list[FieldChange] = []
    old_fields = {f.get("name"): f for f in before["fields"] if isinstance(f, dict)}
    new_fields = {f.get("name"): f for f in after["fields"] if isinstance(f, dict)}
    for name, field in new_fields.items():
        was = old_fields.get(name)
        if was is None:
            out.append(FieldChange("added", name, field.get("zh", ""), field.get("en", "")))
        elif was != field:
            parts = tuple(k for k in dict.fromkeys([*was, *field]) if was.get(k) != field.get(k))
            out.append(FieldChange("changed", name, field.get("zh", ""), field.get("en", ""), parts))
    out += [FieldChange("removed", name, f.get("zh", ""), f.get("en", "")) for name, f in old_fields.items()
            if name not in new_fields]
    if old is not None:
        out += [FieldChange("changed", key, "", "") for key in after if key not in ("code", "fields")
                and before.get(key) != after[key]]
    return out
