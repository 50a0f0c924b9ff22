"""A single intake is one statement; on PostgreSQL it runs outside a transaction (no BEGIN, no COMMIT round trip)
and still answers a new event, a repeat and a refusal as before."""
from __future__ import annotations

import pytest
from sqlalchemy import event as sa_event, func, select

from engine.core.models import Event
from tests.helpers import bearer, event


@pytest.mark.commits  # the app's own engine: only a connection of the request's own may leave the transaction out
def test_a_single_intake_is_stored_outside_a_transaction(app, client, intake_token, factory):
    from web.common.extensions import db

    with app.app_context():
        engine = db.engine
    postgres = engine.dialect.name == "postgresql"
    autocommit: list[bool] = []

    def note(conn, _cursor, statement: str, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO EVENTS"):
            autocommit.append(bool(getattr(conn.connection.dbapi_connection, "autocommit", False)))

    client.post("/api/v1/events", json=event(), headers=bearer(intake_token))  # the token is read and kept
    body, bad = event(), event("99999")
    sa_event.listen(engine, "before_cursor_execute", note)
    try:
        first = client.post("/api/v1/events", json=body, headers=bearer(intake_token))
        again = client.post("/api/v1/events", json=body, headers=bearer(intake_token))
        refused = client.post("/api/v1/events", json=bad, headers=bearer(intake_token))
    finally:
        sa_event.remove(engine, "before_cursor_execute", note)
    assert first.status_code == 202 and first.get_json()["duplicate"] is False
    assert again.status_code == 200 and again.get_json() == {**first.get_json(), "duplicate": True}
    assert refused.status_code == 422
    with factory() as session:
        stored = {sid: session.scalar(select(func.count()).select_from(Event).where(Event.source_event_id == sid))
                  for sid in (body["source_event_id"], bad["source_event_id"])}
    assert stored == {body["source_event_id"]: 1, bad["source_event_id"]: 0}
    assert len(autocommit) == 2 and (all(autocommit) or not postgres)  # the new event and the repeat
