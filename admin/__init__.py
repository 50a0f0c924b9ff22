"""Flask-Admin: master data and configuration edited by administrators, read by auditors and assessors.

This module assembles the admin from its views; admin/base.py holds what every view builds on. Every
view checks the role of the signed-in user, and every change needs may_edit().
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, request
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from admin.assessment import add_assessment_views
from admin.catalogue import CatalogueImportView
from admin.base import may_edit
from admin.changes import ChangeHistoryView
from admin.duties import DutyReviewView
from admin.geo_import import GeoImportView
from admin.history import FiringHistoryView
from admin.imports import ImportView
from admin.inspection import add_inspection_views
from admin.checklists import ChecklistImportView, ChecklistItemView
from admin.evaluation import DeductionImportView
from admin.field_labels import (coded_value, field_label, learn_view_labels, object_type_label, referenced_name,
                                yes_no)
from admin.inspection_points import InspectionPointTypeView, InspectionPointView
from admin.lists import ListEditorView
from admin.masterdata import add_master_data_views
from admin.notifications import FailedDeliveryView, RecipientView
from admin.people import PersonView, StaffImportView, StreetView
from admin.permits import PermitImportView, PermitKindView, PermitView
from admin.plan import PlanItemView
from admin.records import (CalendarYearView, EventView, FiringView, GridView, HolidayNoticeView, HolidayView, IndexView,
                           TaskView, VersionView)
from admin.replay import ReplayView
from admin.roster import RosterView
from admin.rules_editor import RuleEditorView
from admin.security import add_security_views
from admin.scenarios import ScenariosView
from admin.simulator import SimulatorView
from admin.templates_editor import TemplateEditorView
from admin.versions import VersionsView
from admin.zones import ZoneMapView
from engine.core.models import (CalendarYear, ChecklistItem, Delivery, Event, Firing, Grid, Holiday, InspectionPoint,
                                InspectionPointType, Permit, PermitKind, Person, PlanItem, Recipient, RulesetVersion,
                                Street, Task)
from web.common.extensions import db
from web.common.i18n import html_lang


#: How Flask-Admin's base template opens every page: no block covers the tag, so its language is added afterwards.
BARE_HTML = b"<!DOCTYPE html>\n<html>"


def _page_language(response: Response) -> Response:
    """Admin pages name their language in `<html lang>` as the main pages do (base.html)."""
    if (request.path.startswith("/admin") and response.mimetype == "text/html" and not response.direct_passthrough
            and not response.is_streamed):
        body = response.get_data()
        if BARE_HTML in body[:64]:
            response.set_data(body.replace(BARE_HTML, b'<!DOCTYPE html>\n<html lang="%s">' % html_lang().encode(), 1))
    return response


def init_admin(app: Flask) -> Admin:
    app.after_request(_page_language)
    app.jinja_env.globals["admin_may_edit"] = may_edit  # templates hide edit controls from read-only roles
    app.jinja_env.globals.update(field_label=field_label, object_type_label=object_type_label, yes_no=yes_no,
                                  referenced_name=referenced_name, coded_value=coded_value)  # admin/_values.html
    admin = Admin(app, name=_l("CivicRules administration"), theme=Bootstrap4Theme(),
                  index_view=IndexView(url="/admin"),
                  translations_path=str(Path(__file__).resolve().parent / "translations"))
    master, records, rules = _l("Master data"), _l("Records"), _l("Rules")
    add_master_data_views(admin, master)  # campaigns, categories, units, frontage holders, tiers, timelines
    admin.add_view(GridView(Grid, db, name=_l("Grids"), category=master))
    admin.add_view(ZoneMapView(name=_l("Zones on the map"), endpoint="zones", url="zones", category=master))
    admin.add_view(GeoImportView(name=_l("Import geography"), endpoint="geo_import", url="geo-import", category=master))
    add_inspection_views(admin, master)  # 三级督查: each tier's plan, scope and frequency
    admin.add_view(InspectionPointView(InspectionPoint, db, name=_l("Evaluation points (测评点位)"), category=master,
                                       endpoint="inspection_points"))
    admin.add_view(InspectionPointTypeView(InspectionPointType, db, name=_l("Evaluation point types"),
                                           category=master, endpoint="inspection_point_types"))
    admin.add_view(PlanItemView(PlanItem, db, name=_l("Task breakdown table"), category=master, endpoint="plan_items"))
    admin.add_view(ChecklistItemView(ChecklistItem, db, name=_l("Checklists (测评内容)"), category=master,
                                     endpoint="checklist_items"))
    admin.add_view(ChecklistImportView(name=_l("Import checklists"), endpoint="checklist_import",
                                       url="checklist-import", category=master))
    admin.add_view(DeductionImportView(name=_l("Import official deductions"), endpoint="deduction_import",
                                       url="deduction-import", category=master))
    admin.add_view(CatalogueImportView(name=_l("Import catalogue"), endpoint="catalogue_import",
                                       url="catalogue-import", category=master))
    admin.add_view(PermitView(Permit, db, name=_l("Permits (审批/备案)"), category=master))
    admin.add_view(PermitKindView(PermitKind, db, name=_l("Permit kinds: who approves (审批种类)"), category=master,
                                  endpoint="permit_kinds"))
    admin.add_view(PermitImportView(name=_l("Import permits"), endpoint="permit_import", url="permit-import",
                                    category=master))
    admin.add_view(DutyReviewView(name=_l("Duty lists: conflicts and gaps"), endpoint="duties", url="duties",
                                  category=master))
    people = _l("People and duty")  # staff, their streets and the on-call roster (issue 13)
    admin.add_view(PersonView(Person, db, name=_l("Staff"), category=people))
    admin.add_view(StaffImportView(name=_l("Import staff"), endpoint="staff_import", url="staff-import",
                                   category=people))
    admin.add_view(StreetView(Street, db, name=_l("Streets"), category=people))
    admin.add_view(RosterView(name=_l("Roster"), endpoint="roster", url="roster", category=people))
    calendar = _l("Working calendar")
    admin.add_view(HolidayView(Holiday, db, name=_l("Holidays and make-up days"), category=calendar))
    admin.add_view(CalendarYearView(CalendarYear, db, name=_l("Years with complete data"), category=calendar))
    admin.add_view(HolidayNoticeView(name=_l("Import a holiday notice"), endpoint="holiday_notice",
                                     url="holiday-notice", category=calendar))
    admin.add_view(EventView(Event, db, name=_l("Events"), category=records))
    admin.add_view(TaskView(Task, db, name=_l("Tasks"), category=records))
    admin.add_view(FiringView(Firing, db, name=_l("Firings (raw records)"), category=records))
    admin.add_view(VersionView(RulesetVersion, db, name=_l("Ruleset versions (raw records)"), category=records))
    admin.add_view(TemplateEditorView(name=_l("Task templates"), endpoint="templates_editor", url="templates",
                                      category=master))
    admin.add_view(SimulatorView(name=_l("Simulator"), endpoint="simulator", url="simulator", category=rules))
    admin.add_view(ScenariosView(name=_l("Rule scenarios"), endpoint="scenarios", url="scenarios", category=rules))
    admin.add_view(ReplayView(name=_l("Replay"), endpoint="replay", url="replay", category=rules))
    admin.add_view(RuleEditorView(name=_l("Hand-written rules"), endpoint="rules_editor", url="rules", category=rules))
    admin.add_view(VersionsView(name=_l("Ruleset versions"), endpoint="versions", url="versions", category=rules))
    admin.add_view(ListEditorView(name=_l("Lists"), endpoint="lists", url="lists", category=rules))
    admin.add_view(FiringHistoryView(name=_l("Firing history"), endpoint="firing_history", url="history",
                                     category=records))
    admin.add_view(ChangeHistoryView(name=_l("Change history"), endpoint="change_history", url="changes",
                                     category=records))
    admin.add_view(ImportView(name=_l("Import events"), endpoint="import", url="import", category=records))
    notifications = _l("Notifications")
    admin.add_view(RecipientView(Recipient, db, name=_l("Recipients"), category=notifications))
    admin.add_view(FailedDeliveryView(Delivery, db, name=_l("Failed or cancelled deliveries"),
                                      category=notifications, endpoint="failed_delivery"))
    add_assessment_views(admin)  # weights, peer groups, points, sanction rules
    add_security_views(admin)
    learn_view_labels(admin._views)
    return admin
