"""The difference between two ruleset bundles, field by field, for the review before publishing.

A bundle view is plain JSON: {"rules": {key: document}, "lists": {kind: [rows]}, "timelines": {code:
{"name", "steps"}}, "tiers": [{"level", "name", "members"}], "templates": {code: version}}. A part that
is missing or None (a version published before bundles were frozen) is not compared. Each change names
its subject and the JSON path inside it (`when.all[1].value`, `then[0].template`, `steps[1].after_minutes`)
and says what happened in English and Chinese. Pure: no database.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

SECTIONS = ("rules", "lists", "timelines", "tiers", "templates")
_SECTION_WORDS = {"rules": ("Rule", "规则"), "lists": ("List row", "清单行"), "timelines": ("Timeline", "时限流程"),
                  "tiers": ("Supervision tier", "督查层级"), "templates": ("Task template", "任务模板")}
_LIST_WORDS = {"zero_tolerance": ("zero-tolerance", "零容忍"), "strict_management": ("strict-management", "严管理"),
               "custom": ("custom", "自定义")}
_MISSING = object()


@dataclass(frozen=True)
class Change:
    section: str  # rules | lists | timelines | tiers | templates
    kind: str  # added | removed | changed
    subject: str  # rule key, "zero_tolerance/ZT-01", timeline code, tier level, template code
    path: str  # inside the subject; "" for the whole subject
    old: Any
    new: Any
    en: str
    zh: str

    def message(self, lang: str = "en") -> str:
        return self.zh if lang.startswith("zh") else self.en

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        return {"section": self.section, "kind": self.kind, "subject": self.subject, "path": self.path,
                "old": self.old, "new": self.new, "message": self.message(lang)}


def shown(value: Any) -> str:
    """A value as the diff table shows it: text as is, anything else as compact JSON."""
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _join(path: str, part: Any) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else str(part)


def _scalars(values: list[Any]) -> bool:
    return all(not isinstance(v, (dict, list)) for v in values)


def leaf_changes(old: Any, new: Any, path: str = "") -> Iterator[tuple[str, str, Any, Any]]:
    """(kind, path, old, new) for every leaf that differs: objects by key, lists of objects by position,
    lists of plain values as added and removed members (or as a whole when only order or values moved)."""
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            a, b = old.get(key, _MISSING), new.get(key, _MISSING)
            if a is _MISSING:
                yield "added", _join(path, key), None, b
            elif b is _MISSING:
                yield "removed", _join(path, key), a, None
            else:
                yield from leaf_changes(a, b, _join(path, key))
        return
    if isinstance(old, list) and isinstance(new, list):
        if _scalars(old) and _scalars(new) and len(old) != len(new):
            for value in old:
                if value not in new:
                    yield "removed", path, value, None
            for value in new:
                if value not in old:
                    yield "added", path, None, value
            if set(map(shown, old)) == set(map(shown, new)):  # only repeats moved: show the whole list
                yield "changed", path, old, new
            return
        if not (_scalars(old) and _scalars(new)):
            for i in range(max(len(old), len(new))):
                if i >= len(old):
                    yield "added", _join(path, i), None, new[i]
                elif i >= len(new):
                    yield "removed", _join(path, i), old[i], None
                else:
                    yield from leaf_changes(old[i], new[i], _join(path, i))
            return
    yield "changed", path, old, new


def _words(section: str, subject: str) -> tuple[str, str]:
    en, zh = _SECTION_WORDS[section]
    if section == "lists":
        kind, _, key = subject.partition("/")
        list_en, list_zh = _LIST_WORDS.get(kind, (kind, kind))
        return f"{en} {key} ({list_en} list)", f"{list_zh}清单的{zh} {key}"
    if section == "tiers":
        return f"{en} {subject}", f"第 {subject} 级{zh}"
    return f"{en} {subject}", f"{zh} {subject}"


def _change(section: str, kind: str, subject: str, path: str, old: Any, new: Any) -> Change:
    what_en, what_zh = _words(section, subject)
    where_en, where_zh = (f"{what_en}, {path}", f"{what_zh} 的 {path}") if path else (what_en, what_zh)
    if kind == "added":
        en, zh = (f"{where_en}: added {shown(new)}", f"{where_zh}：新增 {shown(new)}") if path else (
            f"{what_en} added", f"新增{what_zh}")
    elif kind == "removed":
        en, zh = (f"{where_en}: removed {shown(old)}", f"{where_zh}：删除 {shown(old)}") if path else (
            f"{what_en} removed", f"删除{what_zh}")
    else:
        en, zh = (f"{where_en}: {shown(old)} → {shown(new)}", f"{where_zh}：{shown(old)} → {shown(new)}")
    return Change(section, kind, subject, path, old, new, en, zh)


def _keyed(section: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes = []
    for subject in sorted(set(old) | set(new), key=str):
        if subject not in old:
            changes.append(_change(section, "added", str(subject), "", None, new[subject]))
        elif subject not in new:
            changes.append(_change(section, "removed", str(subject), "", old[subject], None))
        else:
            changes += [_change(section, kind, str(subject), path, a, b)
                        for kind, path, a, b in leaf_changes(old[subject], new[subject])]
    return changes


def _rows(view: dict[str, Any]) -> dict[str, Any]:
    return {f"{kind}/{row['key']}": row for kind, rows in (view.get("lists") or {}).items() for row in rows}


def _tiers(view: dict[str, Any]) -> dict[str, Any]:
    return {str(t["level"]): {"name": t.get("name"), "members": sorted(
        f"{k}:{v}" for member in t.get("members") or [] for k, v in member.items())} for t in view.get("tiers") or []}


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every difference from the `old` bundle view to the `new` one; empty when they are equal."""
    changes: list[Change] = []
    row_changes: list[Change] = []
    if old.get("lists") is not None and new.get("lists") is not None:
        row_changes = _keyed("lists", _rows(old), _rows(new))
    touched = {c.subject for c in row_changes}

    def from_changed_row(doc: dict[str, Any]) -> bool:  # a row's change already says what its rule's does
        origin = doc.get("origin") or {}
        return f"{origin.get('list')}/{origin.get('item')}" in touched

    old_rules = {k: d for k, d in (old.get("rules") or {}).items() if not from_changed_row(d)}
    new_rules = {k: d for k, d in (new.get("rules") or {}).items() if not from_changed_row(d)}
    changes += _keyed("rules", old_rules, new_rules)
    changes += row_changes
    for section, part in (("timelines", lambda v: v.get("timelines")), ("tiers", _tiers),
                          ("templates", lambda v: {code: {"version": n} for code, n in v["templates"].items()})):
        if old.get(section) is not None and new.get(section) is not None:
            changes += _keyed(section, part(old) or {}, part(new) or {})
    return changes
