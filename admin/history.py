"""Admin: the firing history for auditors — filters, keyset pages, a firing's explanation card, the exact
rule version it ran under, and CSV/XLSX exports streamed with flat memory. Read-only."""
from __future__ import annotations

import os
import tempfile
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, request, send_file, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from sqlalchemy import select

from admin.base import READERS, Guarded
from engine.audit import firing_history
from engine.audit.firing_history import Cursor, ExportNames, FiringFilter
from engine.authoring.campaigns import campaign_zone
from engine.core.cells import XLSX, XlsxRows, csv_chunks
from web.common.downloads import CSV
from engine.evaluation.record import PHASE_NAMES
from engine.handling.task_list import LISTS
from engine.core.models import DEFAULT_TIMEZONE, Campaign, Category, Firing, Grid, RulesetVersion, Task, Unit
from engine.authoring.vocabulary import describe_condition
from web.auth import record_export
from web.common.extensions import db
from web.common.i18n import short_lang
import json
import xlsxwriter
from web.common.explain import cards, namer
from engine.core.db import session_factory

ZONE = ZoneInfo(DEFAULT_TIMEZONE)  # firings of every campaign are listed together


def _int(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdecimal() and len(value) < 12 else None


def _day(name: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(request.args.get(name, "")), time.min, ZONE)
    except ValueError:
        return None


def filters_from_request() -> FiringFilter:
    until = _day("until")
    return FiringFilter(
        rule_key=request.args.get("rule") or None, rule_version=_int("rule_version"),
        ruleset_version_id=_int("ruleset_version_id"), campaign_id=_int("campaign_id"),
        list_kind=request.args.get("list") or None, unit_id=_int("unit_id"), category_id=_int("category_id"),
        grid_id=_int("grid_id"), since=_day("since"), until=until + timedelta(days=1) if until else None,
        outcome=request.args.get("outcome") if request.args.get("outcome") in firing_history.OUTCOMES else None)


def outcome_of(firing: Firing, tasks: dict[int, Task]) -> str:
    if firing.task_id is None:
        return "none"
    task = tasks.get(firing.task_id)
    return "task" if task is not None and task.rule_key == firing.rule_key else "superseded"


class FiringHistoryView(Guarded, BaseView):
    roles = READERS  # auditors and assessors read every admin page, read-only

    def _choices(self, lang: str) -> dict[str, list[tuple[Any, str]]]:
        def named(model):
            return [(r.id, f"{r.code} {r.name_zh if lang == 'zh' else r.name_en}")
                    for r in db.session.scalars(select(model).order_by(model.code))]
        return {"campaign_id": named(Campaign), "unit_id": named(Unit), "category_id": named(Category),
                "grid_id": named(Grid),
                "ruleset_version_id": [(v.id, f"#{v.number} · {v.content_hash[:10]}") for v in
                                       db.session.scalars(select(RulesetVersion).order_by(RulesetVersion.id.desc()))]}

    @expose("/")
    def index(self):
        lang = short_lang()
        f = filters_from_request()
        rows, after = firing_history.page(db.session, f, Cursor.parse(request.args.get("after")))
        tasks = {t.id: t for t in db.session.scalars(select(Task).where(Task.id.in_([r.task_id for r in rows if r.task_id])))}
        names = {model: {r.id: (r.name_zh if lang == "zh" else r.name_en, r.code) for r in db.session.scalars(select(model))}
                 for model in (Unit, Category, Grid)}
        titles = {f.id: rule_title(f, lang) for f in rows}
        args = {k: v for k, v in request.args.items() if k != "after" and v}
        return self.render("admin/history/firings.html", rows=rows, tasks=tasks, names=names, titles=titles, Unit=Unit,
                           Category=Category, Grid=Grid, outcome_of=outcome_of, lang=lang, args=args,
                           choices=self._choices(lang), zone=ZONE,
                           phases=phase_names(lang),
                           next_url=url_for(".index", **args, after=after.token()) if after else None)

    @expose("/firing/<int:firing_id>")
    def details(self, firing_id: int):
        firing = db.session.get(Firing, firing_id)
        if firing is None:
            abort(404)
        lang = short_lang()
        tasks = list(db.session.scalars(select(Task).where(Task.event_id == firing.event_id)))
        return self.render("admin/history/firing.html", firing=firing, card=cards([firing], lang)[0], tasks=tasks,
                           lang=lang, zone=ZONE)

    @expose("/firing/<int:firing_id>/rule")
    def rule(self, firing_id: int):
        """The rule document exactly as frozen in the ruleset version the firing ran under."""


        firing = db.session.get(Firing, firing_id)
        if firing is None:
            abort(404)
        doc = firing_history.rule_version(db.session, firing) or {}
        lang = short_lang()
        name_of = namer()
        leaves = []

        def walk(cond):
            for key in ("all", "any"):
                if key in cond:
                    for child in cond[key]:
                        walk(child)
                    return
            if "not" in cond:
                walk(cond["not"])
                return
            leaves.append(describe_condition({**cond, "actual": None}, lang, name_of).split("，实际为")[0].split(" (actual")[0])

        if doc.get("when"):
            walk(doc["when"])
        return self.render("admin/history/rule.html", firing=firing, doc=doc, conditions=leaves,
                           title=rule_title(firing, lang),
                           text=json.dumps(doc, ensure_ascii=False, indent=2), lang=lang)

    @expose("/export.csv")
    def export_csv(self):
        f = filters_from_request()
        record_export("导出触发记录 / firing history csv")
        factory = session_factory(current_app.config["SQLALCHEMY_DATABASE_URI"])
        header, names = export_header(), export_names(short_lang())

        def generate():
            """Its own session, not the request's: the rows stream out after the request context is gone."""
            with factory() as session:
                yield from csv_chunks(header, (firing_history.export_row(firing, names)
                                               for firing in firing_history.stream(session, f)))

        response = Response(generate(), content_type=CSV)
        response.headers["Content-Disposition"] = "attachment; filename=firings.csv"
        return response

    @expose("/export.xlsx")
    def export_xlsx(self):
        """xlsxwriter's constant-memory mode writes row by row to a temporary file, then the file is sent."""
        f = filters_from_request()
        record_export("导出触发记录 / firing history xlsx")
        names = export_names(short_lang())
        handle, path = tempfile.mkstemp(suffix=".xlsx")
        os.close(handle)
        book = xlsxwriter.Workbook(path, {"constant_memory": True})
        sheet = book.add_worksheet(_("Firing history")[:31])
        rows = XlsxRows(book, sheet)
        rows.write(0, export_header(), header=True)
        for n, firing in enumerate(firing_history.stream(db.session, f), start=1):
            rows.write(n, firing_history.export_row(firing, names))
        sheet.set_column(1, 1, 19)
        sheet.freeze_panes(1, 0)
        book.close()
        response = send_file(path, mimetype=XLSX, as_attachment=True, download_name="firings.xlsx")
        response.call_on_close(lambda: os.unlink(path))
        return response


def export_header() -> list[str]:
    return [_("Firing"), _("Fired at (local time)"), _("Campaign"), _("Ruleset version"), _("Rule"),
            _("Rule version"), _("Evaluation"), _("List"), _("List item"), _("Event"), _("Task"), _("Unit"),
            _("Category"), _("Grid"), _("Points"), _("Matched conditions"), _("Rule key")]


def rule_title(firing: Firing, lang: str) -> str:
    """The rule's title as frozen in the version the firing ran under, in the other language if the reader's is
    missing; "" where the document has none, so the page shows the key once instead of the key as a title too."""
    return titled(firing.ruleset_version.rules.get(firing.rule_key), lang)


def titled(doc: dict[str, Any] | None, lang: str) -> str:
    """A frozen rule document's title in the reader's language, else the other; "" without one."""
    doc = doc or {}
    titles = doc.get("title") if isinstance(doc.get("title"), dict) else {}
    return titles.get(lang) or titles.get("en" if lang == "zh" else "zh") or ""


def phase_names(lang: str) -> dict[str, str]:
    """Each evaluation phase by its name in the reader's language (the page and the exports)."""
    return {phase: names[0 if lang == "zh" else 1] for phase, names in PHASE_NAMES.items()}


def export_names(lang: str) -> ExportNames:
    """Codes and names in the reader's language for every id an exported firing carries."""
    def named(model) -> dict[int, str]:
        return {r.id: f"{r.code} {r.name_zh if lang == 'zh' else r.name_en}" for r in db.session.scalars(select(model))}

    campaigns = list(db.session.scalars(select(Campaign)))
    versions = list(db.session.scalars(select(RulesetVersion)))
    name_of = namer()
    return ExportNames(campaigns=named(Campaign), zones={c.id: campaign_zone(c) for c in campaigns},
                       units=named(Unit), categories=named(Category), grids=named(Grid),
                       versions={v.id: f"#{v.number}" for v in versions},
                       titles={(v.id, key): titled(doc, lang) for v in versions for key, doc in (v.rules or {}).items()
                               if isinstance(doc, dict)},
                       condition=lambda leaf: describe_condition(leaf, lang, name_of),
                       lists={kind: names[0 if lang == "zh" else 1] for kind, names in LISTS.items()},
                       phases=phase_names(lang))
