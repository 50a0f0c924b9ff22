"""The assessment results as XLSX for the cadre appraisal (科级领导班子实绩考核): per unit its score, rank (or 无案件),
the sanctions it was due and a link to each record of what was done. Assessors, auditors and admins."""
from __future__ import annotations

import io

from flask import Blueprint, Response, abort, request, url_for
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from engine.assessment.appraisal import AppraisalLine, lines
from engine.core.cells import XLSX, append_row, inert_row
from engine.assessment.periods import PeriodError, parse_period
from engine.authoring.campaigns import campaign_for
from engine.core import clock
from web.assessment import ASSESSMENT_ROLES, group_label, rank_shown, sanction_label
from web.auth import record_export, require_roles
from web.common.extensions import db
from web.common.i18n import short_lang

bp = Blueprint("appraisal", __name__, url_prefix="/assessment/appraisal")


def _row(line: AppraisalLine, period: str, lang: str) -> list:
    unit, ranked = line.unit, line.ranked
    return [unit.code, unit.name_zh if lang == "zh" else unit.name_en, group_label(ranked.group), period,
            ranked.score, rank_shown(ranked), ranked.size, _("Yes") if ranked.no_cases else "",
            "、".join(sanction_label(code, lang) for code in line.sanctions)]


def workbook(found: list[AppraisalLine], period: str, title: str, final: bool, lang: str) -> bytes:
    """One sheet: a line per unit; the record column holds a link to each record (one per line below it)."""
    book = Workbook()
    sheet = book.active
    sheet.title = _("Cadre appraisal")[:31]
    sheet.append(inert_row([title]))
    sheet["A1"].font = Font(bold=True, size=13)
    header = [_("Unit code"), _("Unit"), _("Peer group"), _("Period"), _("Score"), _("Rank"), _("Units ranked"),
              _("No cases"), _("Sanctions"), _("Sanction record")]
    sheet.append(inert_row(header))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for line in found:
        records = line.records or [None]
        for index, record in enumerate(records):
            values = _row(line, period, lang) if index == 0 else [line.unit.code, "", "", period, None, None, None,
                                                                   "", ""]
            append_row(sheet, [*values, url_for("sanction_records.edit", record_id=record.id, _external=True)
                               if record else ""])
            if record is not None:
                cell = sheet.cell(sheet.max_row, len(header))
                cell.hyperlink, cell.style = cell.value, "Hyperlink"
    sheet.append([])
    sheet.append([_("The sanctions list of this period is kept as produced.") if final else
                  _("Provisional: the sanctions list is kept once the period has ended.")])
    for column, label in enumerate(header, start=1):
        sheet.column_dimensions[sheet.cell(2, column).column_letter].width = max(10, min(60, 2 * len(str(label))))
    sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@bp.get("/<label>.xlsx")
@require_roles(*ASSESSMENT_ROLES)
def appraisal_file(label: str):
    campaign = campaign_for(db.session, request.args.get("campaign"))
    if campaign is None:
        abort(404, description=_("No such campaign."))
    try:
        period = parse_period(label, campaign.timezone)
    except PeriodError:
        abort(404, description=_("A period is written 2026-W47 (week), 2026-11 (month) or 2026-Q4 (quarter)."))
    lang = short_lang()
    found, final = lines(db.session, campaign, period, clock.now())
    record_export(f"导出考评表 / appraisal {campaign.code} {period.label}")
    title = f"{campaign.name_zh if lang == 'zh' else campaign.name_en} · {_('Cadre appraisal')} {period.label}"
    return Response(workbook(found, period.label, title, final, lang), mimetype=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="appraisal-{period.label}.xlsx"'})
