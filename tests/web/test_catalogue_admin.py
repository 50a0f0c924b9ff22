"""Master data → Import catalogue, through HTTP with CSRF on: an editor uploads a city's standard and reads the
report (counts, each bad row with its row number and reason in the user's language); a file that cannot be read
is refused next to the file field and writes nothing; readers see the page but cannot upload."""
from __future__ import annotations

import io
import re
from html import unescape

import pytest
from sqlalchemy import func, select

from engine.core.models import Category, FilingCondition
from tests.engine.test_catalogue import standard_workbook
from tests.helpers import csrf_from

URL = "/admin/catalogue-import/"


@pytest.fixture()
def admin(app, client, login):
    app.config["WTF_CSRF_ENABLED"] = True
    assert login(client, "admin").status_code == 302
    return client


def _upload(client, content: bytes, filename: str, lang: str = "zh"):
    url = f"{URL}?lang={lang}"
    token = csrf_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def _counts(session) -> tuple[int, int]:
    session.expire_all()
    return (session.scalar(select(func.count()).select_from(Category)),
            session.scalar(select(func.count()).select_from(FilingCondition)))


def test_an_upload_shows_the_report_and_names_the_unreadable_limit_in_chinese(admin, session):
    content, expected = standard_workbook()
    answer = _upload(admin, content, "某市立案处置结案标准.xlsx")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    counts = unescape(re.search(r'id="catalogue-import-counts">(.*?)</p>', html, re.DOTALL).group(1))
    assert re.findall(r"\d+", counts) == ["99", "1", "0", "395", "1", "0", "4"], counts
    assert "某市立案处置结案标准.xlsx" in html
    bad = unescape(re.search(r'id="catalogue-bad-rows".*?</table>', html, re.DOTALL).group(0))
    row = next(r for r, fault in expected["bad"].items() if fault == "limit")
    assert re.search(rf"<td>{row}</td>\s*<td>处置时限</td>\s*<td>无法识别的处置时限「尽快处理」", bad), bad
    assert len(re.findall(r"<tr>", bad)) == 1 + len(expected["bad"])
    assert session.scalar(select(Category).where(Category.code == "09125")).name_zh == "测试小类9125"

    again = unescape(_upload(admin, content, "某市立案处置结案标准.xlsx", lang="en").get_data(as_text=True))
    assert re.findall(r"\d+", re.search(r'id="catalogue-import-counts">(.*?)</p>', again, re.DOTALL).group(1)) == [
        "0", "0", "100", "0", "0", "396", "4"]
    assert "unreadable limit '尽快处理'" in again


def test_a_file_that_cannot_be_read_is_refused_next_to_the_file_field_and_writes_nothing(admin, session):
    before = _counts(session)
    for content, name, message in (
            (b"not a workbook", "standard.xlsx", "无法读取的 XLSX 工作簿"),
            ("名称,说明\n井盖,缺失\n".encode(), "standard.csv", "没有找到包含 小类代码、小类名称、立案条件、处置时限 列的表头行"),
            (b"a,b", "standard.txt", "请上传 .csv 或 .xlsx 文件。")):
        html = unescape(_upload(admin, content, name).get_data(as_text=True))
        field = html.find('name="file"')
        assert field >= 0 and message in html[field:field + 1500], message
        assert 'id="catalogue-import-counts"' not in html
    assert _counts(session) == before


def test_readers_see_the_page_without_the_upload_and_cannot_post(app, login):
    client, field_unit = app.test_client(), app.test_client()
    assert login(client, "auditor").status_code == 302 and login(field_unit, "dongcheng").status_code == 302
    page = client.get(URL + "?lang=zh")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' not in page.get_data(as_text=True)
    assert field_unit.get(URL).status_code == 403
    app.config["WTF_CSRF_ENABLED"] = False
    assert client.post(URL, data={}).status_code == 403


def test_the_page_is_listed_under_master_data(admin):
    html = admin.get("/admin/?lang=en").get_data(as_text=True)
    assert 'href="/admin/catalogue-import/' in html and "Import catalogue" in html
