"""Assessment office pages (督考办): the bulletin of a week, month or quarter with its ranking, the findings of
the three inspection tiers, charts, sanctions due and lost points per person (扣分落实到人), and the same as
XLSX and PDF (the published 通报's layout, unnumbered). Read-only; weights, peer groups and rules live in the
admin; the numbered issues are in web/bulletin_issues.py."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template
from flask_babel import gettext as _
from sqlalchemy import select

from engine.assessment import publication
from engine.assessment.bulletin import Bulletin, build
from engine.assessment.frontage import performance
from engine.assessment.issues import content_of
from engine.assessment.indicators import (FIRST_RESPONSE_MINUTES, HAPPENINGS, RATES, period_containing)
from engine.assessment.periods import period_name
from engine.assessment.ranking import Ranked
from engine.assessment.rollup import Points
from engine.assessment.sanctions import SANCTIONS, describe
from engine.cases.clocks import clock_rates
from engine.cases.stages import CLOCK_NAMES, CLOCKS
from engine.core import clock
from engine.core.cells import XLSX, Rate
from engine.core.models import Campaign, SanctionRun
from engine.people.staff import position_name
from engine.supervision import cadence
from engine.supervision.inspection import FREQUENCIES
from web import charts
from web.auth import record_export, require_roles
from web.bulletin_files import Sheet, xlsx
from web.common.campaigns import requested_campaign, requested_period
from web.common.extensions import db
from web.common.i18n import short_lang

bp = Blueprint("assessment", __name__, url_prefix="/assessment")
ASSESSMENT_ROLES = ("assessor", "auditor", "admin")
FILES = {"xlsx": XLSX, "pdf": "application/pdf"}


def _name(obj: Any, lang: str) -> str:
    return obj.name_zh if lang == "zh" else obj.name_en


def rate_labels() -> dict[str, str]:
    return {"handling_rate": _("Handling rate"), "on_time_handling_rate": _("On-time handling rate"),
            "closure_rate": _("Closure rate"), "on_time_closure_rate": _("On-time closure rate"),
            "rework_rate": _("Rework rate"), "overdue_unhandled_rate": _("Overdue-unhandled rate"),
            "extension_rate": _("Extension rate"), "accurate_dispatch_rate": _("Accurate dispatch rate"),
            "response_rate": _("Response rate"), "resolution_rate": _("Resolution rate"),
            "satisfaction_rate": _("Satisfaction rate")}


def tier_label(names: dict[int, tuple[str, str]], tier: int, lang: str) -> str:
    """The campaign's name of an inspection tier, else "Tier N"."""
    if tier in names:
        return names[tier][0 if lang == "zh" else 1]
    return _("Tier %(n)s", n=tier)


def group_label(group: str) -> str:
    names = {"subdistricts": _("Sub-districts"), "departments": _("Departments"), "squads": _("Squads")}
    return names.get(group, group)


def sanction_label(code: str, lang: str) -> str:
    zh, en = SANCTIONS.get(code, (code, code))
    return zh if lang == "zh" else en


def rank_shown(ranked: Ranked) -> int | str:
    """The rank, or 无案件 for a unit with nothing dispatched (with its place when the campaign ranks it)."""
    if not ranked.no_cases:
        return ranked.rank
    return _("No cases") if ranked.rank is None else f"{ranked.rank} ({_('No cases')})"


def _percent(value: float | None) -> Rate | None:
    """A rate as a number that a spreadsheet formats as a percentage and a page shows as "85.3%"; none is "—"."""
    return None if value is None else Rate(value)


def sheets(bulletin: Bulletin, lang: str) -> list[Sheet]:
    """The ranking, the counts behind it and the sanctions due, as rows in the reader's language."""
    labels = rate_labels()
    ranking_rows, count_rows = [], []
    for r in bulletin.ranked:
        unit, rates, ind = bulletin.units[r.unit_id], r.indicators.rates(), r.indicators
        ranking_rows.append([group_label(r.group), rank_shown(r), unit.code, _name(unit, lang), r.score,
                             *[_percent(rates[k]) for k in RATES], ind.rebounds, ind.points_lost])
        count_rows.append([unit.code, _name(unit, lang), ind.due, ind.not_yet_due, ind.handled, ind.handled_on_time, ind.due_to_close,
                           ind.closed, ind.closed_on_time, ind.reworked, ind.overdue_unhandled, ind.extended,
                           ind.overdue, ind.failed_checks, ind.inspection_findings, ind.dispatched, ind.sent_back,
                           ind.accepted, ind.responded, ind.rated, ind.resolved, float(ind.satisfied)])
    tiers = bulletin.tier_names
    finding_rows = [[tier_label(tiers, line.tier, lang), bulletin.units[line.unit_id].code,
                     _name(bulletin.units[line.unit_id], lang), line.found, line.rectified]
                    for line in bulletin.findings]
    sanction_rows = [[describe(line.kind, line.bottom_n, line.periods, lang), sanction_label(line.sanction, lang),
                      line.unit.code, _name(line.unit, lang),
                      "; ".join(f"{x['period']}: {x['rank']}/{x['size']}" for x in line.ranks)]
                     for line in bulletin.sanctions]
    return [
        (_("Ranking"), [_("Peer group"), _("Rank"), _("Unit code"), _("Unit"), _("Score"),
                        *[labels[k] for k in RATES], _("Rebounds"), _("Points lost")], ranking_rows),
        (_("Counts"), [_("Unit code"), _("Unit"), _("Tasks due"), _("Not yet due (running period)"), _("Handled"),
                       _("Handled on time"),
                       _("Due to close"), _("Closed"), _("Closed on time"), _("Reworked"), _("Overdue, unhandled"),
                       _("Extended"), _("Overdue in the period"), _("Failed checks"), _("Inspection findings"),
                       _("Dispatched"), _("Sent back"), _("Cases accepted"), _("Contacted in time"),
                       _("Cases rated"), _("Resolved"), _("Satisfied (weighted)")],
         count_rows),
        (_("Inspection findings (三级督查)"), [_("Inspection tier"), _("Unit code"), _("Responsible unit"),
                                           _("Findings"), _("Rectified")], finding_rows),
        *rounds_sheets(bulletin, lang),
        (_("Sanctions due"), [_("Rule"), _("Sanction"), _("Unit code"), _("Unit"), _("Ranks that caused it")],
         sanction_rows),
        first_response_sheet(bulletin, lang),
    ]


def rounds_sheets(bulletin: Bulletin, lang: str) -> list[Sheet]:
    """三级督查 rounds: per tier (a tier that held none shows 0 and names its idle plans), then per plan against
    its frequency (seed 002: 随时掌握工作开展情况，一周通报一次)."""
    pick = 0 if lang == "zh" else 1
    tiers = [[tier_label(bulletin.tier_names, t.tier, lang), t.plans, t.rounds,
              ("、" if lang == "zh" else "; ").join(_name(p, lang) for p in t.idle) or None]
             for t in cadence.by_tier(bulletin.rounds)]
    plans = [[_name(p, lang), tier_label(bulletin.tier_names, p.tier, lang),
              FREQUENCIES.get(p.frequency, (p.frequency, p.frequency))[pick], p.rounds, p.held_text(lang),
              cadence.STATUS[p.status][pick]] for p in bulletin.rounds]
    return [(_("Inspection rounds per tier (三级督查)"),
             [_("Inspection tier"), _("Plans"), _("Rounds"), _("Plans that held no round")], tiers),
            (_("Inspection rounds against each plan's frequency"),
             [_("Inspection plan"), _("Inspection tier"), _("Frequency"), _("Rounds"), _("Held against frequency"),
              _("Status")], plans)]


def _minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def first_response_sheet(bulletin: Bulletin, lang: str) -> Sheet:
    """首次响应: per unit, how soon after dispatch it signed for its tasks and reached the site (到达现场)."""
    rows = []
    for r in bulletin.ranked:
        unit, ind = bulletin.units[r.unit_id], r.indicators
        first = ind.first_response()
        rows.append([unit.code, _name(unit, lang), ind.responding, ind.signed_in_time,
                     _percent(first["sign_in_time_rate"]), _minutes(first["sign_median_minutes"]),
                     ind.arrived_in_time,
                     _percent(first["arrival_in_time_rate"]), _minutes(first["arrival_median_minutes"])])
    n = FIRST_RESPONSE_MINUTES
    return (_("First response"),
            [_("Unit code"), _("Unit"), _("Tasks counted"), _("Signed within %(n)s min", n=n),
             _("Signed-within-%(n)s-min rate", n=n), _("Median minutes to sign"), _("On site within %(n)s min", n=n),
             _("On-site-within-%(n)s-min rate", n=n), _("Median minutes to arrive")], rows)


def clock_sheet(campaign: Campaign, period: Any, lang: str) -> Sheet:
    """The stage clocks of the period's cases (受理, 核实, 派遣) and of its checks (核查, one per submission): how
    many ended or ran out, and how many in time."""
    rates = clock_rates(db.session, campaign, period.start, period.end, clock.now())
    rows = [[CLOCK_NAMES[name][0 if lang == "zh" else 1], getattr(campaign, CLOCKS[name][1]), rate.counted,
             rate.on_time, _percent(rate.rate)] for name, rate in rates.items()]
    return (_("Stage clocks of the cases"), [_("Clock"), _("Limit (minutes)"), _("Clocks counted"),
                                             _("Within the limit"), _("On-time rate")], rows)


def frontage_sheet(campaign: Campaign, period: Any, cutoff: Any, lang: str) -> Sheet:
    """门前三包 per sub-district: letters in force at the cut-off, violations and notices in the period, repeat
    offenders at the cut-off."""
    lines = performance(db.session, period.start, period.end, cutoff, ZoneInfo(campaign.timezone))
    rows = [[line.unit.code, _name(line.unit, lang), line.holders, line.letters, _percent(line.letter_rate),
             line.violations, line.repeat_offenders, line.notices] for line in lines]
    return (_("Frontage holders (门前三包)"),
            [_("Unit code"), _("Unit"), _("Holders"), _("Letters in force"), _("Letters signed rate"),
             _("Violations at their frontages"), _("Repeat offenders"), _("Notices issued")], rows)


def happening_labels() -> dict[str, str]:
    return {"overdue": _("Task overdue"), "failed_check": _("Failed check"), "rebound": _("Rebound"),
            "inspection": _("Inspection finding")}


def _points(value: Decimal | None) -> float | None:
    """Points for reading: rounded half up to 2 decimals; none lost reads as a dash."""
    return float(value.quantize(Decimal("0.01"), ROUND_HALF_UP)) if value else None


def _by(points: Points) -> list[float | None]:
    return [_points(points.get(kind)) for kind in HAPPENINGS]


def points_sections(bulletin: Bulletin, lang: str) -> list[tuple[str, list[float | None], float | None, list[list]]]:
    """Per unit losing points (most first): its name, points per happening, total, and its lines, each
    [level, squad, person, position, [*points per happening, total]] with level squad | person | unassigned."""
    sections = []
    for line in bulletin.points:
        rows: list[list] = []
        for squad in line.squads:
            label = (_("%(unit)s (own staff)", unit=_name(squad.unit, lang)) if squad.own
                     else _name(squad.unit, lang))
            rows.append(["squad", label, "", "", [*_by(squad.by), _points(squad.total)]])
            rows += [["person", label, p.person.name, position_name(p.person.position, lang),
                      [*_by(p.by), _points(p.total)]] for p in squad.persons]
        if line.unassigned:
            rows.append(["unassigned", _("Not assigned to a person"), "", "",
                         [*_by(line.unassigned_by), _points(line.unassigned)]])
        sections.append((_name(line.unit, lang), _by(line.by), _points(line.total), rows))
    return sections


def points_sheet(bulletin: Bulletin, lang: str) -> Sheet:
    """The roll-up as one table for the files: a unit line, then its squads, persons and unassigned line."""
    levels = {"squad": _("Squad"), "person": _("Person"), "unassigned": _("Not assigned to a person")}
    labels = happening_labels()
    rows = []
    for unit, by, total, lines in points_sections(bulletin, lang):
        rows.append([_("Unit"), unit, "", "", "", *by, total])
        rows += [[levels[level], unit, squad, person, position, *values]
                 for level, squad, person, position, values in lines]
    return (_("Lost points by person"), [_("Level"), _("Unit"), _("Squad"), _("Person"), _("Position"),
                                         *[labels[k] for k in HAPPENINGS], _("Points lost")], rows)


def _charts(bulletin: Bulletin, lang: str) -> dict[str, Any]:
    labels = [period_name(label, lang) for label, _scores in bulletin.trend]
    series = [(_name(bulletin.units[r.unit_id], lang), [scores.get(r.unit_id) for _l, scores in bulletin.trend])
              for r in bulletin.ranked]
    tiers = [(_("No escalation") if tier == 0 else _("Tier %(n)s", n=tier), float(count))
             for tier, count in bulletin.overdue_by_tier]
    return {"trend": charts.lines(_("Score trend per unit"), labels, series),
            "categories": charts.bars(_("Top categories"),
                                      [(_name(c, lang), float(n)) for c, n in bulletin.categories]),
            "tiers": charts.bars(_("Overdue by tier"), tiers, colour="#d62728"),
            "findings": charts.bars(_("Findings per inspection tier"),
                                    [(tier_label(bulletin.tier_names, tier, lang), float(found))
                                     for tier, found, _r in bulletin.findings_by_tier()], colour="#2ca02c")}


def _title(bulletin: Bulletin, lang: str) -> str:
    kind = {"week": _("Weekly bulletin"), "month": _("Monthly ranking"), "quarter": _("Quarterly ranking")}
    return f"{_name(bulletin.campaign, lang)} · {kind[bulletin.period.kind]} {period_name(bulletin.period.label, lang)}"


@bp.get("/")
@require_roles(*ASSESSMENT_ROLES)
def index():
    campaign = requested_campaign()
    now, tz = clock.now(), campaign.timezone
    periods = []
    for kind in ("week", "month", "quarter"):
        current = period_containing(kind, now, tz)
        periods.append((kind, [current, current.previous(tz), current.previous(tz).previous(tz)]))
    runs = db.session.scalars(select(SanctionRun).where(SanctionRun.campaign_id == campaign.id)
                              .order_by(SanctionRun.period.desc()).limit(24)).all()
    campaigns = db.session.scalars(select(Campaign).order_by(Campaign.id)).all()
    return render_template("assessment_index.html", campaign=campaign, campaigns=campaigns, periods=periods,
                           runs=runs, lang=short_lang())


@bp.get("/bulletins/<name>")
@require_roles(*ASSESSMENT_ROLES)
def bulletin(name: str):
    label, _dot, extension = name.partition(".")
    if extension and extension not in FILES:
        abort(404)
    campaign, period = requested_period(label)
    lang = short_lang()
    data = build(db.session, campaign, period, clock.now())
    title = _title(data, lang)
    tables = sheets(data, lang)
    clocks = clock_sheet(campaign, period, lang)
    frontage = frontage_sheet(campaign, period, data.cutoff, lang)
    if extension == "xlsx":
        return _file(xlsx(title, [*tables, points_sheet(data, lang), clocks, frontage]), period.label, extension)
    if extension == "pdf":
        try:
            return _file(publication.pdf(content_of(db.session, data), lang,
                                         [*tables, points_sheet(data, lang), clocks, frontage]), period.label,
                         extension)
        except publication.FontMissing as missing:
            return Response(str(missing), status=503, mimetype="text/plain")
    return render_template("assessment_bulletin.html", bulletin=data, title=title, sheets=tables,
                           points=points_sections(data, lang), happenings=happening_labels(),
                           charts=_charts(data, lang), cutoff=_local(data), lang=lang, campaign=campaign,
                           clocks=clocks, frontage=frontage,
                           sanction_names={code: sanction_label(code, lang) for code in SANCTIONS})


def _local(bulletin: Bulletin) -> str:
    """The cut-off in the campaign's time zone, as the periods themselves are."""
    return bulletin.cutoff.astimezone(ZoneInfo(bulletin.campaign.timezone)).strftime("%Y-%m-%d %H:%M")


def _file(content: bytes, label: str, extension: str) -> Response:
    record_export(f"导出通报 / bulletin {label}.{extension}")
    return Response(content, mimetype=FILES[extension],
                    headers={"Content-Disposition": f'attachment; filename="bulletin-{label}.{extension}"'})
