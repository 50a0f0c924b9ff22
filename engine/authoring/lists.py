"""A campaign's zero-tolerance (零容忍), strict-management (严管理) and custom lists as decision tables:
starting a list, analysing the rows being edited, and saving them all at once.

A save checks every row, then the whole draft with the list's rows replaced (validation, compilation
and durable_rules' own registration in a child process) before it stores anything; it must carry the
stamp of the rows it was based on. Saving edits the draft; publishing puts it in force.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.authoring import scenarios
from engine.authoring.campaigns import campaign_today
from engine.authoring.drafts import catalog_for, draft_with, validate_bundle
from engine.authoring.stamps import StaleEdit, list_stamp, locked_list, require_stamp
from engine.core.models import Campaign, ListItem, RuleList
from engine.durable import compile_check
from rules.analysis import across_lists, analyse
from rules.document import LIST_KINDS
from rules.list_rows import check_rows, to_editor
from rules.lists import expand_row, row_rule_key
from rules.problems import InputError, Problem

#: A new list's names (zh, en), by kind.
DEFAULT_NAMES = {"zero_tolerance": ("零容忍清单", "Zero-tolerance list"),
                 "strict_management": ("严管理清单", "Strict-management list"),
                 "custom": ("自定义清单", "Custom list")}


def overview(session: Session) -> tuple[list[Campaign], dict[int, list[RuleList]], dict[int, int]]:
    """Every campaign (newest first), its lists, and each list's number of rows."""
    campaigns = list(session.scalars(select(Campaign).order_by(Campaign.id.desc())))
    counts = dict(session.execute(select(ListItem.list_id, func.count()).group_by(ListItem.list_id)).all())
    lists = {c.id: list(session.scalars(select(RuleList).where(RuleList.campaign_id == c.id).order_by(RuleList.id)))
             for c in campaigns}
    return campaigns, lists, counts


def start_list(session: Session, campaign: Campaign, kind: str) -> tuple[RuleList, bool]:
    """The campaign's list of this kind, started empty if it has none yet (each kind at most once per
    campaign); True when it was started now. The caller commits."""
    if kind not in LIST_KINDS:
        raise InputError([Problem("kind", f"one of {', '.join(LIST_KINDS)}", f"须为 {'、'.join(LIST_KINDS)} 之一")])
    rule_list = session.scalar(select(RuleList).where(RuleList.campaign_id == campaign.id, RuleList.kind == kind))
    if rule_list is not None:
        return rule_list, False
    name_zh, name_en = DEFAULT_NAMES[kind]
    rule_list = RuleList(campaign_id=campaign.id, kind=kind, name_zh=name_zh, name_en=name_en)
    session.add(rule_list)
    session.flush()
    return rule_list, True


def editor_rows(rule_list: RuleList) -> list[dict[str, Any]]:
    """The stored rows as the editor's widgets hold them, each with its item id."""
    return [to_editor(item.as_row(), item.id) for item in rule_list.items]


def other_lists(session: Session, rule_list: RuleList) -> dict[str, list[dict[str, Any]]]:
    """The stored rows of the campaign's other lists, by kind, to warn where a row covers theirs."""
    others = session.scalars(select(RuleList).where(RuleList.campaign_id == rule_list.campaign_id,
                                                    RuleList.id != rule_list.id).order_by(RuleList.id))
    return {other.kind: [item.as_row() for item in other.items] for other in others}


def findings(session: Session, rule_list: RuleList, rows: list[Any], lang: str) -> dict[str, Any]:
    """The live analysis of the rows being edited: overlaps and never-matching rows, and each row's
    problems by field, so the page marks them before anything is saved."""
    campaign = session.get(Campaign, rule_list.campaign_id)
    today = campaign_today(campaign)
    checked, problems = check_rows(rule_list.kind, rows, catalog_for(session, campaign), today)
    broken: list[dict[str, Any]] = []
    if not problems:  # the scenarios this edit would break, by the twin (the publish gate asks durable_rules)
        docs = draft_with(session, campaign, [expand_row(rule_list.kind, r, today) for r in checked],
                          list_kind=rule_list.kind)
        try:
            broken = scenarios.warnings(session, campaign, docs, lang)
        except InputError:
            broken = []  # another part of the draft does not validate: the versions page says so
    elsewhere = across_lists(checked, other_lists(session, rule_list))  # warned, never refused
    return {"rows": [{"index": a.index, "findings": [f.as_dict(lang) for f in a.findings + elsewhere[a.index]]}
                     for a in analyse(checked, today)],
            "problems": [p.as_dict(lang) for p in problems], "scenarios": broken}


def _draft_problems(session: Session, rule_list: RuleList, rows: list[dict[str, Any]],
                    today: date) -> list[Problem]:
    """The draft with this list's rows replaced: validated whole, compiled, and registered with
    durable_rules in a child process. Problems of another list or rule are reported for the list."""
    campaign = session.get(Campaign, rule_list.campaign_id)
    mine = {row_rule_key(rule_list.kind, r["key"]): i for i, r in enumerate(rows)}
    docs = draft_with(session, campaign, [expand_row(rule_list.kind, r, today) for r in rows],
                      list_kind=rule_list.kind)
    try:
        compiled = validate_bundle(docs, catalog_for(session, campaign))
    except InputError as err:
        out = []
        for p in err.problems:
            key = p.where.split(":", 1)[0]
            if key in mine:
                out.append(Problem("row", p.en, p.zh, row=mine[key]))
            else:
                out.append(Problem("row", f"elsewhere in the draft: {p.where}: {p.en}",
                                   f"草稿的其他部分有误：{p.where}：{p.zh}"))
        return out
    return [Problem("row", f"durable_rules refused the draft: {message.en}",
                    f"durable_rules 无法注册草稿：{message.zh}") for message in compile_check.check(compiled.as_check())]


def save_rows(session: Session, rule_list: RuleList, rows: list[Any]) -> None:
    """Replace the list's rows with the edited ones in the caller's transaction, or change nothing and
    raise InputError with every problem. A row keeps its stored item (and its per-happening points) by
    id, else by key."""
    campaign = session.get(Campaign, rule_list.campaign_id)
    today = campaign_today(campaign)
    checked, problems = check_rows(rule_list.kind, rows, catalog_for(session, campaign), today)
    if problems:
        raise InputError(problems)
    problems = _draft_problems(session, rule_list, checked, today)
    if problems:
        raise InputError(problems)
    by_id = {item.id: item for item in rule_list.items}
    by_key = {item.key: item for item in rule_list.items}
    kept: list[ListItem | None] = [None] * len(checked)
    for index, editor in enumerate(rows):  # ids first, so a renamed row keeps its item ...
        item = by_id.get(editor.get("id")) if type(editor.get("id")) is int else None
        if item is not None and item not in kept:
            kept[index] = item
    for index, row in enumerate(checked):  # ... then keys, for rows sent without an id
        item = by_key.get(row["key"])
        if kept[index] is None and item is not None and item not in kept:
            kept[index] = item
    for item in list(rule_list.items):
        if item not in kept:
            rule_list.items.remove(item)  # delete-orphan: gone at the flush below, before any row takes its key
    held = {item.key: item for item in kept if item is not None}
    for item, row in zip(kept, checked):  # a key passed between stored rows (a swap, a chain) must not meet the
        if item is not None and held.get(row["key"], item) is not item:  # (list, key) constraint half-way
            item.key = f"~{item.id}"
    session.flush()
    items = []
    for position, (item, row) in enumerate(zip(kept, checked)):
        if item is None:
            item = ListItem()
        item.position, item.key = position, row["key"]
        item.title_zh, item.title_en = row["title"]["zh"], row["title"]["en"]
        item.categories, item.conditions, item.assign = row["categories"], row["conditions"], row["assign"]
        item.template_code, item.timeline_code, item.limit = row["template"], row["timeline"], row["limit"]
        item.points, item.legal_basis, item.enabled = row["points"], row["legal_basis"], row["enabled"]
        item.effective_from = date.fromisoformat(row["effective_from"]) if row["effective_from"] else None
        item.effective_to = date.fromisoformat(row["effective_to"]) if row["effective_to"] else None
        items.append(item)
    rule_list.items = items
    session.flush()


def save_list(session: Session, list_id: int, stamp: Any, rows: list[Any]) -> RuleList | None:
    """The editor's save: lock the list, refuse a save based on older rows (StaleEdit), then save_rows
    (InputError). None when there is no such list. The caller commits, or rolls back on refusal."""
    if not isinstance(stamp, str) or not stamp:
        raise StaleEdit(unstamped=True)
    rule_list = locked_list(session, list_id)  # a concurrent save waits here, then sees this one's stamp
    if rule_list is None:
        return None
    require_stamp(stamp, list_stamp(rule_list))
    save_rows(session, rule_list, rows)
    return rule_list
