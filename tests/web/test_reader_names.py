"""Pages name things in the reader's language, as a Chinese official or an English reader expects: a task's grid
by its name (not only its code)."""
from __future__ import annotations

from sqlalchemy import select

from engine.core.models import Grid
from tests.helpers import new_task


def test_task_pages_name_the_grid_in_the_readers_language(client, login, factory, drain, session):
    task = new_task(factory, drain, session, grid="DC-02")
    grid = session.scalar(select(Grid).where(Grid.code == "DC-02"))
    login(client, "admin")
    for lang, name, other in (("zh-CN", grid.name_zh, grid.name_en), ("en", grid.name_en, grid.name_zh)):
        listed = client.get(f"/tasks?lang={lang}").get_data(as_text=True)
        shown = client.get(f"/tasks/{task.id}?lang={lang}").get_data(as_text=True)
        assert name in listed and name in shown
        assert f"· {grid.code}" not in listed and f"· {grid.code}<br>" not in shown
        assert other not in shown
