"""Checklists (测评内容, issue 17 point 1) in the admin, through HTTP with CSRF on: a generated checklist of point
types × items imported from XLSX, all rows or none with each bad row named in the reader's language; the same file
twice changes nothing; an item above the maximum score is refused next to its field; readers cannot post."""
from __future__ import annotations

import io
import re
from html import unescape

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from engine.core.models import ChecklistItem, InspectionPointType
from tests.helpers import csrf_from

HEADERS = ["点位类型", "编号", "测评内容", "测评方法", "分值", "频次", "问题类别", "示例", "来源"]


@pytest.fixture()
def admin(app, client, login):
    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    return client


def workbook(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def generated(types: tuple[str, ...] = ("公园广场", "hospital", "车站"), per_type: int = 4) -> list[list]:
    return [[kind, f"IMP-{t}-{i}", f"{kind} 检查项 {i}", "现场查看", 2.5, "每日", "06036", "", "单位操作手册"]
            for t, kind in enumerate(types) for i in range(1, per_type + 1)]


def upload(client, content: bytes, filename: str = "checklists.xlsx", lang: str = "en"):
    url = f"/admin/checklist-import/?lang={lang}"
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def imported(session) -> int:
    return session.scalar(select(func.count()).select_from(ChecklistItem).where(ChecklistItem.code.like("IMP-%")))


def test_an_xlsx_checklist_of_point_types_and_items_is_stored_whole_or_not_at_all(admin, session):
    rows = generated()
    bad = rows + [["码头", "IMP-X-1", "不存在的类型", "", 2, "每日", "", "", ""],
                  ["车站", "IMP-2-1", "重复的编号", "", 2, "每日", "", "", ""],
                  ["车站", "IMP-2-9", "分值过高", "", 500, "每年", "", "", ""]]
    html = unescape(upload(admin, workbook(bad)).get_data(as_text=True))
    table = re.search(r'id="checklist-bad-rows".*?</table>', html, re.DOTALL).group(0)
    assert re.search(r"<td>14</td>\s*<td>Point type</td>\s*<td>no point type '码头'", table), table
    assert re.search(r"<td>15</td>\s*<td>Item code</td>\s*<td>item IMP-2-1 of station appears twice", table), table
    assert re.search(r"<td>16</td>\s*<td>Maximum score</td>\s*<td>a number above 0, at most 100", table), table
    assert re.search(r"<td>16</td>\s*<td>Frequency</td>", table), table
    assert "Nothing was stored: 3 bad rows." in html
    assert imported(session) == 0
    chinese = unescape(upload(admin, workbook(bad), lang="zh").get_data(as_text=True))
    assert "没有这个点位类型：码头" in chinese and "须为大于 0、不超过 100 的数" in chinese

    assert "Created: 12, updated: 0, unchanged: 0." in upload(admin, workbook(rows)).get_data(as_text=True)
    assert "Created: 0, updated: 0, unchanged: 12." in upload(admin, workbook(rows)).get_data(as_text=True)
    station = session.scalar(select(InspectionPointType).where(InspectionPointType.code == "station"))
    item = session.scalar(select(ChecklistItem).where(ChecklistItem.type_id == station.id,
                                                      ChecklistItem.code == "IMP-2-1"))
    assert (item.max_score, item.frequency, item.method, item.source) == (2.5, "daily", "现场查看", "单位操作手册")


def test_an_item_above_the_maximum_is_refused_next_to_its_field(admin, session):
    url = "/admin/checklist_items/new/?lang=zh"
    token = csrf_from(admin.get(url).get_data(as_text=True))
    answer = admin.post(url, data={"csrf_token": token, "type": "school", "code": "FORM-1", "text": "校门口整洁",
                                   "max_score": "120", "frequency": "daily", "position": "1"})
    html = unescape(answer.get_data(as_text=True))
    at = html.find('name="max_score"')
    assert at > 0 and "须为大于 0、不超过 100 的数" in html[at:at + 1500]
    assert session.scalar(select(func.count()).select_from(ChecklistItem).where(ChecklistItem.code == "FORM-1")) == 0
    token = csrf_from(admin.get(url).get_data(as_text=True))
    saved = admin.post(url, data={"csrf_token": token, "type": "school", "code": "FORM-1", "text": "校门口整洁",
                                  "max_score": "3", "frequency": "daily", "position": "1", "example": "y"})
    assert saved.status_code == 302
    assert admin.get("/admin/checklist_items/?lang=zh").get_data(as_text=True).count("校门口整洁") == 1


def test_readers_see_the_checklists_but_cannot_import(app, login):
    client = app.test_client()
    assert login(client, "auditor").status_code == 302
    page = client.get("/admin/checklist-import/")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' not in page.get_data(as_text=True)
    assert client.get("/admin/checklist_items/").status_code == 200
    assert client.get("/admin/checklist_items/new/").status_code == 403
    app.config["WTF_CSRF_ENABLED"] = False
    assert client.post("/admin/checklist-import/", data={}).status_code == 403


@pytest.mark.parametrize("lang, message", [("zh", "必填：请选择点位类型"), ("en", "Required: choose the point type")])
def test_an_item_without_a_point_type_is_told_to_choose_one(admin, session, lang, message):
    """The blank "—" choice read 没有这个点位类型：, naming no type at all."""
    url = f"/admin/checklist_items/new/?lang={lang}"
    token = csrf_from(admin.get(url).get_data(as_text=True))
    answer = admin.post(url, data={"csrf_token": token, "type": "", "code": "FORM-2", "text": "校门口整洁",
                                   "max_score": "3", "frequency": "daily", "position": "1"})
    html = unescape(answer.get_data(as_text=True))
    at = html.find('name="type"')
    assert at > 0 and message in html[at:at + 2500] and "没有这个点位类型" not in html
    assert session.scalar(select(func.count()).select_from(ChecklistItem).where(ChecklistItem.code == "FORM-2")) == 0
