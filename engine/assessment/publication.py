"""The bulletin as the bureau's 通报 on paper (fpdf2, A4 portrait): red heading with the issuing office, 第N期
and the date, a narrative written from the figures, then findings per tier and unit, rectification, overdue
and rebounds, the ranking, the charts the page has (drawn as vector graphics), the caveats and page numbers.
The Chinese font is embedded (subset), so every reader sees the same characters."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace

from engine.assessment.periods import period_name
from engine.assessment.sanctions import SANCTIONS
from engine.core.cells import Rate
from engine.core.config import load_settings
from engine.core.zones import zone_label

FONT_CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                   "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
RED, INK, GREY = (200, 16, 46), (20, 20, 20), (110, 110, 110)
PALETTE = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (23, 190, 207), (127, 127, 127), (188, 189, 34))
SECTIONS = {"zh": ("一、三级督查发现问题", "二、整改和任务办理情况", "三、超期和反弹", "四、排名情况", "五、问题类别",
                   "六、问责"),
            "en": ("1. Findings of the three inspection tiers", "2. Rectification and handling", "3. Overdue and rebounds",
                   "4. Ranking", "5. Categories", "6. Sanctions")}
WORDS = {
    "zh": {"bulletin": "督查通报", "to": "各街道办事处、各部门、各中队：", "tier": "督查层级", "found": "发现问题",
           "rectified": "已整改", "rate": "整改率", "unit": "责任单位", "due": "到期任务", "handled": "已处置",
           "closed": "已结案", "overdue": "超期", "unhandled": "超期未处置", "rebounds": "反弹", "group": "分组",
           "rank": "名次", "score": "得分", "handling": "处置率", "points": "扣分", "no_escalation": "未升级",
           "reached": "升级至第{n}级", "tasks": "超期任务", "rebounds_total": "{this}问题反弹共{n}次。",
           "nothing": "{this}无。", "trend": "{recent}得分走势", "by_tier_chart": "各层级发现问题数",
           "overdue_chart": "超期任务按督办层级", "categories_chart": "问题类别前十",
           "provisional": "提示：数据截至{at}（{tz}），统计期尚未结束，本期数据为暂定。",
           "counted": "数据截至{at}（{tz}）。", "page": "第 {n} 页 共 {nb} 页", "sanction_line": "{unit}：{sanction}（{rule}）",
           "subject": "关于{first}至{last}督查情况的通报", "corrects": "更正第{n}期",
           "idle": "{this}无到期任务、未参与排名的单位（{n}个）：{units}。", "plan": "督查计划", "frequency": "频次",
           "rounds": "督查轮次", "held": "按频次开展", "status": "情况"},
    "en": {"bulletin": "Inspection Bulletin", "to": "To all sub-district offices, departments and squads:",
           "tier": "Tier", "found": "Found", "rectified": "Rectified", "rate": "Rate", "unit": "Responsible unit",
           "due": "Due", "handled": "Handled", "closed": "Closed", "overdue": "Overdue", "unhandled": "Overdue, unhandled",
           "rebounds": "Rebounds", "group": "Group", "rank": "Rank", "score": "Score", "handling": "Handling rate",
           "points": "Points lost", "no_escalation": "Not escalated", "reached": "Reached tier {n}",
           "tasks": "Overdue tasks", "rebounds_total": "{n} problems rebounded {this}.", "nothing": "None {this}.",
           "trend": "Score trend, {recent}", "by_tier_chart": "Findings per tier",
           "overdue_chart": "Overdue tasks by supervision tier reached", "categories_chart": "Top categories",
           "provisional": "Note: counted up to {at} ({tz}); the period has not ended, so these figures are provisional.",
           "counted": "Counted up to {at} ({tz}).", "page": "Page {n} of {nb}", "sanction_line": "{unit}: {sanction} ({rule})",
           "subject": "Inspection and supervision from {first} to {last}", "corrects": "Corrects No. {n}",
           "idle": "Units with no task due {this}, not ranked ({n}): {units}.", "plan": "Inspection plan",
           "frequency": "Frequency", "rounds": "Rounds", "held": "Held against frequency", "status": "Status"},
}


def tier_name(content: dict[str, Any], tier: int, lang: str) -> str:
    names = content["findings"]["tier_names"].get(str(tier))
    if names:
        return names[lang]
    return f"第{tier}级督查" if lang == "zh" else f"Tier {tier} inspection"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


#: The period a narrative speaks of, and the one it asks rectification within.
PERIOD_WORDS = {"zh": {"week": ("本周", "下周"), "month": ("本月", "下月"), "quarter": ("本季度", "下季度")},
                "en": {"week": ("this week", "the coming week"), "month": ("this month", "the coming month"),
                       "quarter": ("this quarter", "the coming quarter")}}


#: The periods a trend chart covers, counted back from the bulletin's own.
RECENT_WORDS = {"zh": {"week": "近六周", "month": "近六个月", "quarter": "近六个季度"},
                "en": {"week": "last six weeks", "month": "last six months", "quarter": "last six quarters"}}


def words_for(content: dict[str, Any], lang: str) -> dict[str, str]:
    """WORDS in `lang`, speaking of the bulletin's own period: a monthly issue says 本月, not 本周."""
    kind = content["period"].get("kind", "week")
    this, recent = PERIOD_WORDS[lang][kind][0], RECENT_WORDS[lang][kind]
    words = {key: text.replace("{this}", this).replace("{recent}", recent) for key, text in WORDS[lang].items()}
    if lang == "en" and content.get("totals", {}).get("rebounds") == 1:
        words["rebounds_total"] = f"1 problem rebounded {this}."
    return words


def narrative(content: dict[str, Any], lang: str) -> list[str]:
    """The bulletin's opening paragraphs, written from its figures in the reader's language."""
    findings, totals, period = content["findings"], content["totals"], content["period"]
    first, last = _long_date(period["first_day"], lang), _long_date(period["last_day"], lang)
    tiers = findings["by_tier"]
    this, next_one = PERIOD_WORDS[lang][period.get("kind", "week")]

    def units(rows: list[dict[str, str]]) -> str:
        return ("、" if lang == "zh" else ", ").join(row[lang] for row in rows)
    if lang == "zh":
        lines = [f"{first}至{last}，{this}三级督查共发现问题{findings['found']}个，已整改{findings['rectified']}个，"
                 f"整改率{_percent(findings['rectified'], findings['found'])}。"
                 + ("其中" + "，".join(f"{tier_name(content, t['tier'], 'zh')}发现{t['found']}个"
                                       f"（已整改{t['rectified']}个）" for t in tiers) + "。" if tiers else "")]
        lines.append(f"{this}到期任务{totals['due']}件，已处置{totals['handled']}件"
                     f"（处置率{_percent(totals['handled'], totals['due'])}），已结案{totals['closed']}件；"
                     f"超期{totals['overdue']}件，其中超期未处置{totals['overdue_unhandled']}件；问题反弹{totals['rebounds']}次。")
        lines += rounds_narrative(content, "zh")
        if content["commended"]:
            lines.append(f"{units(content['commended'])}{this}排名同组第一，予以通报表扬。")
        if content["criticised"]:
            lines.append(f"{units(content['criticised'])}{this}排名同组末位，予以通报批评，请于{next_one}内完成整改并书面报告"
                         f"整改情况。")
        if content.get("corrects"):
            lines.insert(0, f"本期更正第{content['corrects']['number']}期：{content['corrects']['reason']}")
        return lines
    lines = [f"From {first} to {last} the three tiers of inspection found {findings['found']} problems; "
             f"{findings['rectified']} rectified so far ({_percent(findings['rectified'], findings['found'])})."
             + (" By tier: " + "; ".join(f"{tier_name(content, t['tier'], 'en')} {t['found']} "
                                         f"({t['rectified']} rectified)" for t in tiers) + "." if tiers else "")]
    lines.append(f"{totals['due']} tasks fell due {this}; {totals['handled']} were handled "
                 f"({_percent(totals['handled'], totals['due'])}) and {totals['closed']} closed. {totals['overdue']} "
                 f"went overdue, {totals['overdue_unhandled']} of them unhandled; {totals['rebounds']} problems rebounded.")
    lines += rounds_narrative(content, "en")
    if content["commended"]:
        lines.append(f"Commended for ranking first in their group: {units(content['commended'])}.")
    if content["criticised"]:
        lines.append(f"Criticised for ranking last in their group: {units(content['criticised'])}; they are to "
                     f"rectify within {next_one} and report in writing.")
    if content.get("corrects"):
        lines.insert(0, f"This issue corrects No. {content['corrects']['number']}: {content['corrects']['reason']}")
    return lines


def rounds_narrative(content: dict[str, Any], lang: str) -> list[str]:
    """Rounds per tier, and the tiers and plans that held none (seed 002: 随时掌握工作开展情况); an issue frozen
    before rounds were counted says nothing."""
    rounds = content.get("rounds")
    if not rounds:
        return []
    this = PERIOD_WORDS[lang][content["period"].get("kind", "week")][0]
    tiers, idle = rounds["by_tier"], [p for p in rounds["plans"] if p["status"]["code"] == "none"]
    if lang == "zh":
        text = (f"{this}三级督查共开展督查{sum(t['rounds'] for t in tiers)}轮，其中"
                + "，".join(f"{tier_name(content, t['tier'], 'zh')}{t['rounds']}轮" for t in tiers) + "。")
        if idle:
            text += "本期未开展督查的：" + "、".join(p["zh"] for p in idle) + "。"
        return [text]
    text = (f"The three tiers held {sum(t['rounds'] for t in tiers)} inspection rounds {this}: "
            + "; ".join(f"{tier_name(content, t['tier'], 'en')} {t['rounds']}" for t in tiers) + ".")
    if idle:
        text += " No round held under: " + "; ".join(p["en"] for p in idle) + "."
    return [text]


def title(content: dict[str, Any], lang: str) -> str:
    number = content.get("number")
    if lang == "zh":
        return f"督查通报（第{number}期）" if number else "督查通报（未编号，仅供参考）"
    return f"Inspection Bulletin No. {number}" if number else "Inspection Bulletin (unnumbered draft)"


def summary(content: dict[str, Any], lang: str) -> str:
    """The first paragraph: what a robot message and the inbox show."""
    return narrative({**content, "corrects": None}, lang)[0]


class FontMissing(RuntimeError):
    """No Chinese font for the PDF: say where we looked, in both languages."""

    def __init__(self, looked: list[str]):
        where = ", ".join(looked)
        super().__init__(f"找不到用于 PDF 的中文字体（已查找：{where}）。请安装 fonts-wqy-zenhei，或将环境变量 "
                         f"CIVICRULES_PDF_FONT 设为 TTF/TTC 字体文件路径。 / No Chinese font for the PDF "
                         f"(looked in: {where}). Install fonts-wqy-zenhei or set CIVICRULES_PDF_FONT to a "
                         f"TTF/TTC font file.")


def find_font() -> Path:
    """CIVICRULES_PDF_FONT if set, else the fonts Debian's fonts-wqy-zenhei / -microhei install."""
    configured = load_settings().pdf_font
    looked = [configured] if configured else list(FONT_CANDIDATES)
    for candidate in looked:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing(looked)


class _Document(FPDF):
    """A4 portrait with the page number in the reader's language at the foot of every page."""

    def __init__(self, lang: str):
        super().__init__(orientation="P", format="A4")
        self.lang = lang

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("cjk", size=9)
        self.set_text_color(*GREY)
        self.cell(0, 6, WORDS[self.lang]["page"].format(n=self.page_no(), nb="{nb}"), align="C")
        self.set_text_color(*INK)


def _long_date(day: str, lang: str) -> str:
    value = date.fromisoformat(day)
    return f"{value.year}年{value.month}月{value.day}日" if lang == "zh" else f"{value.day} {value:%B %Y}"


def _name(row: dict[str, str], lang: str) -> str:
    return row[lang]


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _heading(doc: _Document, content: dict[str, Any], lang: str) -> None:
    words = words_for(content, lang)
    doc.set_text_color(*RED)
    doc.set_font("cjk", size=24 if lang == "zh" else 20)
    doc.multi_cell(0, 12, f"{content['office'][lang]}{'' if lang == 'zh' else chr(10)}{words['bulletin']}",
                   align="C", new_x="LMARGIN", new_y="NEXT")
    doc.set_text_color(*INK)
    doc.set_font("cjk", size=13)
    number = content.get("number")
    doc.cell(0, 9, (f"第{number}期" if lang == "zh" else f"No. {number}") if number else
             ("（未编号，仅供参考）" if lang == "zh" else "(unnumbered draft)"), align="C", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("cjk", size=10.5)
    issued = content.get("issued_on")
    y = doc.get_y()
    doc.cell(doc.epw / 2, 7, content["office"][lang])
    doc.set_xy(doc.l_margin + doc.epw / 2, y)
    doc.cell(doc.epw / 2, 7, _long_date(issued, lang) if issued else content["counted_until"], align="R",
             new_x="LMARGIN", new_y="NEXT")
    doc.set_draw_color(*RED)
    doc.set_line_width(0.8)
    doc.line(doc.l_margin, doc.get_y() + 1, doc.l_margin + doc.epw, doc.get_y() + 1)
    doc.set_line_width(0.2)
    doc.set_draw_color(*INK)
    doc.ln(5)
    period = content["period"]
    doc.set_font("cjk", size=15)
    doc.multi_cell(0, 9, words["subject"].format(first=_long_date(period["first_day"], lang),
                                                 last=_long_date(period["last_day"], lang)),
                   align="C", new_x="LMARGIN", new_y="NEXT")
    if content.get("corrects"):
        doc.set_font("cjk", size=10.5)
        doc.set_text_color(*RED)
        doc.cell(0, 7, words["corrects"].format(n=content["corrects"]["number"]), align="C", new_x="LMARGIN",
                 new_y="NEXT")
        doc.set_text_color(*INK)
    doc.ln(2)


def _paragraph(doc: _Document, text: str, lang: str, size: float = 11.5, colour: tuple[int, int, int] = INK) -> None:
    doc.set_font("cjk", size=size)
    doc.set_text_color(*colour)
    indent = "\u3000\u3000" if lang == "zh" else ""
    doc.multi_cell(0, 7, indent + text, new_x="LMARGIN", new_y="NEXT")
    doc.set_text_color(*INK)


def _section(doc: _Document, text: str) -> None:
    if doc.will_page_break(30):
        doc.add_page()
    doc.ln(3)
    doc.set_font("cjk", size=13)
    doc.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")


def _table(doc: _Document, header: list[str], rows: list[list[Any]], widths: tuple[int, ...] | None = None) -> None:
    if not rows:
        return
    doc.set_font("cjk", size=9)
    doc.set_fill_color(255, 255, 255)  # the charts leave their colour behind
    with doc.table(text_align="CENTER", line_height=6, col_widths=widths,
                   headings_style=FontFace(fill_color=(236, 238, 243))) as table:
        table.row(header)
        for row in rows:
            table.row(["—" if v is None else str(v) for v in row])
    doc.ln(2)


def _chart_title(doc: _Document, text: str, height: float) -> tuple[float, float]:
    if doc.will_page_break(height + 10):
        doc.add_page()
    doc.set_font("cjk", size=10)
    doc.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    return doc.l_margin, doc.get_y()


def bars(doc: _Document, title: str, items: list[tuple[str, float]], colour: tuple[int, int, int]) -> None:
    """Horizontal bars with their labels and values, as the page's SVG bars."""
    if not items:
        return
    row, label_w = 7.0, 55.0
    left, top = _chart_title(doc, title, row * len(items))
    high = max(value for _l, value in items) or 1.0
    plot_w = doc.epw - label_w - 15
    doc.set_font("cjk", size=8.5)
    doc.set_fill_color(*colour)
    for i, (label, value) in enumerate(items):
        y = top + i * row
        doc.set_xy(left, y)
        doc.cell(label_w - 2, row, label[:34], align="R")
        length = max(0.4, plot_w * value / high)
        doc.rect(left + label_w, y + 1.2, length, row - 2.4, style="F")
        doc.set_xy(left + label_w + length + 1, y)
        doc.cell(12, row, f"{value:g}")
    doc.set_fill_color(255, 255, 255)
    doc.set_y(top + row * len(items) + 3)


def lines(doc: _Document, title: str, labels: list[str], series: list[tuple[str, list[float | None]]]) -> None:
    """One polyline per unit over the periods, axes 0–100 or the data's span, and a legend on the right."""
    if not labels or not series:
        return
    height, legend_w = 62.0, 48.0
    left, top = _chart_title(doc, title, height + 8)
    values = [v for _n, points in series for v in points if v is not None]
    low, high = min([0.0, *values]), max([100.0, *values])
    x0, plot_w, plot_h = left + 10, doc.epw - legend_w - 12, height - 8

    def x(i: int) -> float:
        return x0 + plot_w * i / max(1, len(labels) - 1)

    def y(v: float) -> float:
        return top + plot_h * (high - v) / ((high - low) or 1)

    doc.set_draw_color(*GREY)
    doc.line(x0, y(low), x0 + plot_w, y(low))
    doc.line(x0, top, x0, top + plot_h)
    doc.set_font("cjk", size=7)
    for tick in (low, (low + high) / 2, high):
        doc.text(left, y(tick) + 1, f"{tick:.0f}")
    for i, label in enumerate(labels):
        doc.text(x(i) - doc.get_string_width(label) / 2, top + plot_h + 5, label)
    doc.set_line_width(0.6)
    for n, (name, points) in enumerate(series[:12]):
        colour = PALETTE[n % len(PALETTE)]
        doc.set_draw_color(*colour)
        doc.set_fill_color(*colour)
        coords = [(x(i), y(v)) for i, v in enumerate(points) if v is not None]
        if len(coords) > 1:
            doc.polyline(coords)
        for cx, cy in coords:
            doc.rect(cx - 0.7, cy - 0.7, 1.4, 1.4, style="F")
        doc.rect(x0 + plot_w + 6, top + 5 * n, 3, 3, style="F")
        doc.text(x0 + plot_w + 11, top + 5 * n + 2.8, name[:16])
    doc.set_line_width(0.2)
    doc.set_draw_color(*INK)
    doc.set_fill_color(255, 255, 255)
    doc.set_y(top + height + 2)


def _findings(doc: _Document, content: dict[str, Any], lang: str) -> None:
    words, findings = words_for(content, lang), content["findings"]
    if not findings["by_tier"]:
        _paragraph(doc, words["nothing"], lang)
        return
    _table(doc, [words["tier"], words["found"], words["rectified"], words["rate"]],
           [[tier_name(content, t["tier"], lang), t["found"], t["rectified"], _percent(t["rectified"], t["found"])]
            for t in findings["by_tier"]], (50, 20, 20, 20))
    _table(doc, [words["unit"], words["tier"], words["found"], words["rectified"]],
           [[_name(line["unit"], lang), tier_name(content, line["tier"], lang), line["found"], line["rectified"]]
            for line in findings["by_unit"]], (50, 50, 20, 20))
    bars(doc, words["by_tier_chart"], [(tier_name(content, t["tier"], lang), float(t["found"]))
                                        for t in findings["by_tier"]], PALETTE[0])


def _rounds(doc: _Document, content: dict[str, Any], lang: str) -> None:
    """Each plan's rounds against its frequency, a plan that held none included."""
    words, rounds = words_for(content, lang), content.get("rounds")
    if not rounds:
        return
    _table(doc, [words["plan"], words["tier"], words["frequency"], words["rounds"], words["held"], words["status"]],
           [[p[lang], tier_name(content, p["tier"], lang), p["frequency"][lang] or p["frequency"]["code"],
             p["rounds"], p["held_text"][lang], p["status"][lang]] for p in rounds["plans"]], (46, 38, 14, 16, 28, 28))


def _handling(doc: _Document, content: dict[str, Any], lang: str) -> None:
    words = words_for(content, lang)
    rows = [[_name(r["unit"], lang), r["due"], r["handled"], r["closed"], r["overdue_unhandled"], r["rebounds"]]
            for r in content["ranking"] if r["due"] or r["handled"] or r["overdue"] or r["rebounds"]]
    if not rows:
        _paragraph(doc, words["nothing"], lang)
    _table(doc, [words["unit"], words["due"], words["handled"], words["closed"], words["unhandled"], words["rebounds"]],
           rows, (50, 18, 18, 18, 24, 18))


def _overdue(doc: _Document, content: dict[str, Any], lang: str) -> None:
    words = words_for(content, lang)
    tiers = [(words["no_escalation"] if t["tier"] == 0 else words["reached"].format(n=t["tier"]), float(t["tasks"]))
             for t in content["overdue_by_tier"]]
    _table(doc, [words["tier"], words["tasks"]], [[label, int(n)] for label, n in tiers], (60, 30))
    bars(doc, words["overdue_chart"], tiers, PALETTE[1])
    _paragraph(doc, words["rebounds_total"].format(n=content["totals"]["rebounds"]), lang)


def _ranking(doc: _Document, content: dict[str, Any], lang: str) -> None:
    """Units with work in the period, by group and rank; the idle ones are named in one line, not ranked first."""
    words = words_for(content, lang)
    worked = [r for r in content["ranking"] if r["due"] or r["handled"] or r["overdue"] or r["points_lost"]]
    _table(doc, [words["group"], words["rank"], words["unit"], words["score"], words["handling"], words["points"]],
           [[r["group_name"][lang], f"{r['rank'] or '—'}/{r['size']}", _name(r["unit"], lang), f"{r['score']:.2f}",
             _rate(r["handling_rate"]), f"{r['points_lost']:.2f}"] for r in worked], (22, 16, 50, 18, 22, 18))
    idle = [_name(r["unit"], lang) for r in content["ranking"] if r not in worked]
    if idle:
        _paragraph(doc, words["idle"].format(n=len(idle), units=("、" if lang == "zh" else ", ").join(idle)), lang, 9.5,
                   GREY)
    trend, shown = content["trend"], {r["unit"]["code"] for r in worked}
    series = [s for s in trend["series"] if s["unit"]["code"] in shown] or trend["series"]
    lines(doc, words["trend"], [period_name(label, lang) for label in trend["labels"]], [(_name(s["unit"], lang), s["scores"]) for s in series])


def pdf(content: dict[str, Any], lang: str, appendix: list[tuple[str, list[str], list[list[Any]]]] = ()) -> bytes:
    """The issue as the bureau's 通报 in zh or en; `appendix` adds the on-demand page's full tables."""
    lang = lang if lang in WORDS else "zh"
    words, sections = words_for(content, lang), SECTIONS[lang]
    doc = _Document(lang)
    doc.set_margins(20, 18, 20)
    doc.set_auto_page_break(True, margin=20)
    doc.add_font("cjk", "", str(find_font()), collection_font_number=0)
    doc.set_title(f"{content['office'][lang]} {words['bulletin']} {content.get('number') or ''}".strip())
    doc.add_page()
    _heading(doc, content, lang)
    _paragraph(doc, words["to"], "en")  # the salutation is not indented
    for text in narrative(content, lang):
        _paragraph(doc, text, lang)
    tz = zone_label(content["timezone"], lang)
    if content["provisional"]:
        _paragraph(doc, words["provisional"].format(at=content["counted_until"], tz=tz), lang, 10, RED)
    else:
        _paragraph(doc, words["counted"].format(at=content["counted_until"], tz=tz), lang, 9.5, GREY)
    _section(doc, sections[0])
    _findings(doc, content, lang)
    _rounds(doc, content, lang)
    _section(doc, sections[1])
    _handling(doc, content, lang)
    _section(doc, sections[2])
    _overdue(doc, content, lang)
    _section(doc, sections[3])
    _ranking(doc, content, lang)
    _section(doc, sections[4])
    categories = [(c[lang], float(c["count"])) for c in content["categories"]]
    if categories:
        bars(doc, words["categories_chart"], categories, PALETTE[2])
    else:
        _paragraph(doc, words["nothing"], lang)
    _section(doc, sections[5])
    sanctions = content["sanctions"]
    _paragraph(doc, sanctions["text"][lang], lang, 10.5, RED if sanctions["note"] == "provisional" else INK)
    for line in sanctions["lines"]:
        names = SANCTIONS.get(line["sanction"], (line["sanction"],) * 2)
        rule = line.get("rule_name", {}).get(lang, line["rule"])  # issues frozen before names were kept
        _paragraph(doc, words["sanction_line"].format(unit=line["unit"][lang], sanction=names[lang == "en"],
                                                      rule=rule), lang, 10.5)
    doc.ln(6)
    doc.set_font("cjk", size=11.5)
    doc.cell(0, 7, content["office"][lang], align="R", new_x="LMARGIN", new_y="NEXT")
    if content.get("issued_on"):
        doc.cell(0, 7, _long_date(content["issued_on"], lang), align="R", new_x="LMARGIN", new_y="NEXT")
    for name, header, rows in appendix:
        doc.add_page(orientation="L")
        doc.set_font("cjk", size=12)
        doc.cell(0, 8, name, new_x="LMARGIN", new_y="NEXT")
        doc.set_font("cjk", size=7)
        with doc.table(text_align="LEFT", line_height=4.5,
                       headings_style=FontFace(fill_color=(236, 238, 243))) as table:
            table.row([str(h) for h in header])
            for row in rows:
                table.row([_cell(v) for v in row])
    return bytes(doc.output())


def _cell(value: Any) -> str:
    if isinstance(value, float) and not isinstance(value, Rate):  # a rate shows as 85.3%
        return f"{value:.2f}"
    return "—" if value is None else str(value)
