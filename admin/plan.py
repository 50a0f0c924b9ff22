"""Admin: the task breakdown table (创建任务分解表). A row is saved through engine.readiness.plan.save_item, so every
fault (a milestone after the due date, a person outside the lead unit, a code taken) is named next to its field."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField

from admin.base import MasterDataView, shown_label
from admin.people import save_or_place
from engine.authoring.campaigns import campaign_for
from engine.core.models import Campaign, Person, PlanItem, Unit
from engine.readiness.plan import save_item
from web.common.extensions import db

FIELD_NAMES = {"code": _l("Item number"), "title": _l("Task"), "lead_unit": _l("Lead unit"),
               "cooperating": _l("Cooperating"), "person": _l("Person"), "due_on": _l("Due"),
               "percent": _l("Progress"), "done_on": _l("Done on"), "milestones": _l("Milestones")}


def _units() -> list[tuple[str, str]]:
    return [(u.code, shown_label(u)) for u in db.session.scalars(select(Unit).order_by(Unit.code))]


def _people() -> list[tuple[str, str]]:
    return [("", "—")] + [(p.code, f"{p.name}（{shown_label(p.unit)}）")
                          for p in db.session.scalars(select(Person).order_by(Person.code))]


class PlanItemForm(FlaskForm):
    code = StringField(_l("Item number"))
    title = TextAreaField(_l("Task"))
    lead_unit = SelectField(_l("Lead unit"), choices=lambda: [("", "—")] + _units(), validate_choice=False)
    cooperating = SelectMultipleField(_l("Cooperating"), choices=_units, validate_choice=False)
    person = SelectField(_l("Person"), choices=_people, validate_choice=False)
    due_on = StringField(_l("Due"), description=_l("A date such as 2026-12-31."))
    keep_late_due = BooleanField(_l("Keep this due date even though it falls after the inspection start"))
    milestones = TextAreaField(_l("Milestones"), description=_l("One per line: the date, a space, what is due."))


def _milestones(text: str) -> list[dict[str, str]]:
    """Each non-empty line as a milestone: its date, then what is due."""
    rows = []
    for line in (text or "").splitlines():
        if line.strip():
            day, _sep, title = line.strip().partition(" ")
            rows.append({"due_on": day, "title": title.strip()})
    return rows


class PlanItemView(MasterDataView):
    """Readers list the table; editors add and change rows."""

    form = PlanItemForm
    column_list = ("code", "title", "lead_unit", "due_on", "percent", "done_on")
    column_searchable_list = ("code", "title")
    column_default_sort = "code"
    column_labels = FIELD_NAMES
    column_formatters = {"lead_unit": lambda v, c, m, n: shown_label(m.lead_unit),
                         "percent": lambda v, c, m, n: f"{m.percent}%"}

    def on_form_prefill(self, form: PlanItemForm, id) -> None:
        item = db.session.get(PlanItem, id)
        if item is None:
            return
        form.lead_unit.data = item.lead_unit.code
        units = {u.id: u.code for u in db.session.scalars(select(Unit).where(Unit.id.in_(item.cooperating or [])))}
        form.cooperating.data = [units[i] for i in item.cooperating or [] if i in units]
        form.person.data = item.person.code if item.person else ""
        form.due_on.data = item.due_on.isoformat()
        form.milestones.data = "\n".join(f"{m.due_on.isoformat()} {m.title}" for m in item.milestones)

    def create_model(self, form: PlanItemForm) -> PlanItem | bool:
        return self._save(form, None)

    def update_model(self, form: PlanItemForm, model: PlanItem) -> bool:
        return bool(self._save(form, model))

    def _save(self, form: PlanItemForm, item: PlanItem | None) -> PlanItem | bool:
        campaign = db.session.get(Campaign, item.campaign_id) if item is not None else campaign_for(db.session, None)
        milestones = _milestones(form.milestones.data)
        data = {"code": form.code.data, "title": form.title.data, "lead_unit": form.lead_unit.data,
                "cooperating": form.cooperating.data or [], "person": form.person.data or None,
                "due_on": form.due_on.data, "keep_late_due": form.keep_late_due.data, "milestones": milestones}
        return save_or_place(form, lambda: save_item(db.session, campaign, data, item),
                             {f"milestones[{i}]": "milestones" for i in range(len(milestones))})

