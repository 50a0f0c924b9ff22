"""The bulletin names who lost the points: the page, the XLSX and the PDF show a person with their points,
under their squad and unit, in the reader's language."""
from __future__ import annotations

import io
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from engine.core import clock
from engine.core.models import (Campaign, Category, Event, Grid, Person, RulesetVersion, Task, TaskTemplate,
                                TaskTransition, Unit)

CST = timezone(timedelta(hours=8))


@pytest.fixture()
def november(session):
    """Today is 5 December 2026; in November 张伟 of 东城街道执法中队 let two of 东城街道's tasks run overdue
    (1.25 points each) and one task of the sub-district was assigned to nobody (1.25)."""
    clock.set_clock(lambda: datetime(2026, 12, 5, 3, tzinfo=timezone.utc))
    campaign = Campaign(code="points-pages", name_zh="扣分页面测试", name_en="Points page test", status="ended",
                        timezone="Asia/Shanghai")
    session.add(campaign)
    session.flush()
    zhang = session.scalar(select(Person).where(Person.name == "张伟"))
    unit = session.scalar(select(Unit).where(Unit.code == "JD-DC"))
    category = session.scalar(select(Category).where(Category.code == "06001"))
    grid = session.scalar(select(Grid).where(Grid.code == "DC-01"))
    version = session.scalar(select(RulesetVersion).limit(1))
    template = session.scalar(select(TaskTemplate).limit(1))
    for n, assignee in enumerate([zhang, zhang, None]):
        created = datetime(2026, 11, 3 + n, 10, tzinfo=CST)
        event = Event(source="points-pages", source_event_id=f"points-pages-{n}", source_type="patrol",
                      category_id=category.id, grid_id=grid.id, occurred_at=created, received_at=created)
        session.add(event)
        session.flush()
        task = Task(event_id=event.id, campaign_id=campaign.id, ruleset_version_id=version.id, unit_id=unit.id,
                    template_id=template.id, rule_key="hand", list_kind="custom", status="signed", limit_value=1,
                    limit_unit="urgent_days", deadline_at=created + timedelta(days=1), points=1.25,
                    created_at=created, assignee_id=assignee.id if assignee else None)
        session.add(task)
        session.flush()
        session.add(TaskTransition(task_id=task.id, from_status=None, to_status="dispatched", action="dispatch",
                                   at=created))
    session.commit()
    return campaign, zhang


def test_the_bulletin_page_names_the_person_under_squad_and_unit(app, november, login):
    campaign, zhang = november
    client = app.test_client()
    login(client, "assessor")
    html = client.get(f"/assessment/bulletins/2026-11?campaign={campaign.code}&lang=en").get_data(as_text=True)
    section = html.split('id="points"')[1].split("Score trend per unit")[0]
    assert "Dongcheng Sub-district Office · Points lost 3.75" in section  # names, not codes
    squad_row = section.index("Dongcheng Sub-district Enforcement Squad")
    person_row = section.index("张伟")
    assert squad_row < person_row and "Responsible officer" in section[person_row:]
    assert "<td>2.50</td>" in section[person_row:].split("</tr>")[0]  # his two overdue tasks
    assert "Not assigned to a person" in section and "JD-DC" not in section


def test_the_xlsx_and_pdf_hold_the_roll_up(app, november, login, tmp_path):
    campaign, _zhang = november
    client = app.test_client()
    login(client, "auditor")
    book = load_workbook(io.BytesIO(client.get(f"/assessment/bulletins/2026-11.xlsx?campaign={campaign.code}"
                                               "&lang=en").data))
    rows = list(book["Lost points by person"].iter_rows(min_row=3, values_only=True))
    person = next(r for r in rows if r[3] == "张伟")
    assert person[:5] == ("Person", "Dongcheng Sub-district Office", "Dongcheng Sub-district Enforcement Squad",
                          "张伟", "Responsible officer") and person[-1] == 2.5
    unit = next(r for r in rows if r[0] == "Unit")
    unassigned = next(r for r in rows if r[0] == "Not assigned to a person")
    assert unit[-1] == 3.75 and unassigned[-1] == 1.25
    response = client.get(f"/assessment/bulletins/2026-11.pdf?campaign={campaign.code}&lang=zh_Hans_CN")
    if response.status_code == 503 or shutil.which("pdftotext") is None:
        pytest.skip("no Chinese font or no pdftotext (poppler-utils): cannot read the PDF's text")
    path = tmp_path / "bulletin.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    line = next(line for line in text.splitlines() if "张伟" in line)
    assert "东城街道执法中队" in line and "2.50" in line
