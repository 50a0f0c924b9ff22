"""岗位考核: the command centre's people per post (监督员, 受理员/派遣员, 核查员) over a week, month or quarter, as a
page and a CSV (UTF-8 with a BOM, local times). Assessors, auditors and admins; engine/assessment/posts.py counts."""
from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.assessment.periods import period_containing, period_name
from engine.assessment.posts import Dispatcher, Posts, compute
from engine.core import clock
from engine.core.cells import Rate, csv_chunks
from engine.core.zones import zone_label
from web.assessment import ASSESSMENT_ROLES
from web.auth import record_export, require_roles
from web.bulletin_files import Sheet
from web.common.campaigns import requested_campaign, requested_period
from web.common.downloads import CSV, attachment
from web.common.extensions import db
from web.common.i18n import short_lang

bp = Blueprint("posts", __name__, url_prefix="/assessment/posts")


def _rate(value: float | None) -> Rate | None:
    return None if value is None else Rate(value)


def _dispatch_row(name: str, line: Dispatcher) -> list[Any]:
    return [name, line.decided, line.filed, _rate(line.filing_rate), line.filed_on_time,
            _rate(line.on_time_filing_rate), line.filed_voided, _rate(line.accurate_filing_rate), line.dispatched,
            line.dispatched_on_time, _rate(line.on_time_dispatch_rate), line.sent_back,
            _rate(line.accurate_dispatch_rate)]


def sheets(posts: Posts) -> list[Sheet]:
    """One table per post, a line per person; the dispatchers' table ends with the line of no person."""
    supervisors = (_("Supervisors (监督员)"),
                   [_("Person"), _("Grids"), _("Reports made"), _("Reports filed"), _("Valid report rate"),
                    _("Verifications"), _("Verified on time"), _("On-time verification rate"),
                    _("Cases filed in their grids"), _("Reported by the public, not by them"),
                    _("Missed-report rate")],
                   [[s.who.name, s.grids, s.reported, s.reported_filed, _rate(s.valid_report_rate), s.verified,
                     s.verified_on_time, _rate(s.on_time_verification_rate), s.grid_filed, s.missed,
                     _rate(s.missed_report_rate)] for s in posts.supervisors])
    dispatchers = (_("Filing and dispatch (受理员/派遣员)"),
                   [_("Person"), _("Filing decisions"), _("Filed"), _("Filing rate"), _("Filed on time"),
                    _("On-time filing rate"), _("Filed, later void"), _("Accurate filing rate"), _("Dispatched"),
                    _("Dispatched on time"), _("On-time dispatch rate"), _("Sent back by the unit"),
                    _("Accurate dispatch rate")],
                   [*(_dispatch_row(d.who.name, d) for d in posts.dispatchers if d.who is not None),
                    _dispatch_row(_("Filed automatically at intake (no person)"), posts.system)])
    checkers = (_("Checkers (核查员)"),
                [_("Person"), _("Checks decided"), _("Passed"), _("Returned for rework"), _("Decided on time"),
                 _("On-time check rate")],
                [[c.who.name, c.decided, c.passed, c.returned, c.on_time, _rate(c.on_time_check_rate)]
                 for c in posts.checkers])
    return [supervisors, dispatchers, checkers]


def _title(posts: Posts, lang: str) -> str:
    name = posts.campaign.name_zh if lang == "zh" else posts.campaign.name_en
    return f"{name} · {_('Post indicators')} {period_name(posts.period.label, lang)}"


def _cutoff(posts: Posts) -> str:
    return posts.cutoff.astimezone(ZoneInfo(posts.campaign.timezone)).strftime("%Y-%m-%d %H:%M")


@bp.get("/")
@require_roles(*ASSESSMENT_ROLES)
def current():
    """The nav's link: this week's figures."""
    campaign = requested_campaign()
    week = period_containing("week", clock.now(), campaign.timezone)
    return redirect(url_for("posts.page", name=week.label, campaign=campaign.code, lang=request.args.get("lang")))


@bp.get("/<name>")
@require_roles(*ASSESSMENT_ROLES)
def page(name: str):
    """The period's figures per post, or the same as CSV (`2026-W50.csv`)."""
    label, _dot, extension = name.partition(".")
    if extension not in ("", "csv"):
        abort(404)
    campaign, period = requested_period(label)
    lang, now = short_lang(), clock.now()
    posts = compute(db.session, campaign, period, now)
    tables, title = sheets(posts), _title(posts, lang)
    counted = _("Counted up to %(cutoff)s (%(tz)s).", cutoff=_cutoff(posts), tz=zone_label(campaign.timezone, lang))
    centre = (_("Cases accepted"), posts.accepted, _("Taken on (filed or dispatched)"), posts.accepted_filed,
              _("Filing rate of the centre"), _rate(posts.filing_rate))
    if extension == "csv":
        record_export(f"导出岗位考核 / post indicators {campaign.code} {period.label}")
        rows: list[list[Any]] = [[counted], list(centre), []]
        for sheet_name, header, lines in tables:
            rows += [[sheet_name], header, *lines, []]
        file_name = f"{_('Post indicators')}_{campaign.code}_{period.label}.csv"
        return Response("".join(csv_chunks([title], rows)), content_type=CSV,
                        headers={"Content-Disposition": attachment(file_name, f"posts_{period.label}.csv")})
    choices = []
    for kind in ("week", "month", "quarter"):
        current = period_containing(kind, now, campaign.timezone)
        choices.append((kind, [current, current.previous(campaign.timezone),
                               current.previous(campaign.timezone).previous(campaign.timezone)]))
    return render_template("assessment_posts.html", title=title, sheets=tables, centre=centre, counted=counted,
                           campaign=campaign, period=period, choices=choices)
