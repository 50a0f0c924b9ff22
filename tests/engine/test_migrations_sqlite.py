"""Migrations on a SQLite database that holds data: a batch rebuild drops and re-creates a table, which SQLite
refuses while foreign keys are enforced and other rows refer to it."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from migrations import alembic_config, upgrade

NOW = "2026-11-28 02:00:00.000000"


def _rows_referring_to_events_and_users(url: str) -> None:
    """A user, an event the user inspected and a task of the event, inserted without the parents they would
    need in life (plain SQLite does not enforce foreign keys): what matters is that others refer to them."""
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO roles (code, name_zh, name_en) VALUES ('checker', '核查员', 'Checker')"))
        c.execute(sa.text("INSERT INTO users (id, username, password_hash, role, active, created_at) "
                          "VALUES (1, 'li', 'x', 'checker', 1, :now)"), {"now": NOW})
        c.execute(sa.text("INSERT INTO events (id, source, source_event_id, source_type, category_id, occurred_at, "
                          "received_at, description, address, status, attempts, points, inspector_id) VALUES "
                          "(1, 'hotline', 'e1', 'hotline', 1, :now, :now, 'd', 'a', 'done', 0, 0, 1)"), {"now": NOW})
        c.execute(sa.text("INSERT INTO tasks (id, event_id, campaign_id, ruleset_version_id, unit_id, template_id, "
                          "rule_key, list_kind, status, limit_value, limit_unit, deadline_at, points, created_at) "
                          "VALUES (1, 1, 1, 1, 1, 1, 'r', 'negative', 'open', 1, 'hours', :now, 0, :now)"),
                  {"now": NOW})
    engine.dispose()


def test_upgrading_and_downgrading_a_sqlite_database_with_tasks_of_events_keeps_them(tmp_path):
    url = f"sqlite:///{tmp_path / 'data.db'}"
    upgrade(url, "0041")
    _rows_referring_to_events_and_users(url)
    upgrade(url)
    command.downgrade(alembic_config(url), "0042")  # 0044's downgrade rebuilds users, which events refer to
    engine = sa.create_engine(url)
    with engine.begin() as c:
        assert c.execute(sa.text("SELECT t.id, e.inspector_id FROM tasks t JOIN events e ON e.id = t.event_id")
                         ).all() == [(1, 1)]
        assert c.execute(sa.text("SELECT username FROM users")).scalars().all() == ["li"]
    engine.dispose()


def test_downgrading_past_0054_writes_the_planned_steps_out_as_rows(tmp_path):
    """Before 0054 a task wrote its whole ladder at dispatch: going back writes the steps its pending step carries."""
    url = f"sqlite:///{tmp_path / 'data.db'}"
    upgrade(url)
    _rows_referring_to_events_and_users(url)
    later = ('[{"position": 1, "action": "order", "tier_level": 4, "unless_state": "submitted", "anchor": "at", '
             '"share": null, "offset_minutes": 0.0, "due_at": "2026-11-28T12:00:00+08:00"}, '
             '{"position": 2, "action": "escalate", "tier_level": 5, "unless_state": null, "anchor": "after", '
             '"share": null, "offset_minutes": 240.0, "due_at": "2026-11-28T08:00:00+00:00"}]')
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO task_steps (task_id, position, action, due_at, status, later) "
                          "VALUES (1, 0, 'remind', :now, 'pending', :later)"), {"now": NOW, "later": later})
    engine.dispose()
    command.downgrade(alembic_config(url), "0053")
    engine = sa.create_engine(url)
    with engine.begin() as c:
        rows = c.execute(sa.text("SELECT position, action, tier_level, due_at, status FROM task_steps "
                                 "ORDER BY position")).all()
    engine.dispose()
    assert rows == [(0, "remind", None, NOW, "pending"),
                    (1, "order", 4, "2026-11-28 04:00:00.000000", "pending"),  # stored in UTC, as the app stores it
                    (2, "escalate", 5, "2026-11-28 08:00:00.000000", "pending")]
