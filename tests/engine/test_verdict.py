"""The simulator and the pipeline take the same evaluate-and-decide step, so what the simulator shows for
an event is what evaluating it creates: the same facts, the same winning tasks, the same deadlines."""
from __future__ import annotations

from datetime import datetime

from engine.authoring.simulate import simulate
from engine.core import clock
from engine.core.models import Event
from engine.intake.events import IntakeSource, accept_event
from tests.helpers import event

SOURCE = IntakeSource("verdict-tests", "patrol")


def test_the_simulator_shows_the_tasks_and_deadlines_the_pipeline_creates(factory, drain, session):
    frozen = clock.now()
    clock.set_clock(lambda: frozen)  # both count deadlines from the same instant
    with factory() as s:
        event_id = accept_event(s, event("06029", "DC-01", hour=23), SOURCE)[0].id
        s.commit()
    with factory() as s:
        shown = simulate(s, event_id=event_id, ruleset="active", lang="en")["campaigns"]
    drain()

    stored = session.get(Event, event_id)
    created = sorted((t.campaign_id, t.unit.code, t.rule_key, t.deadline_at) for t in stored.tasks)
    simulated = sorted((c["campaign"], t["unit"], t["rule"], datetime.fromisoformat(t["deadline"]))
                       for c in shown for t in c["tasks"])
    assert len(created) == 2 and simulated == created
    assert {str(c["campaign"]): c["facts"] for c in shown} == stored.facts
    assert {(c["campaign"], key) for c in shown for key in c["fired"]} == {
        (f.campaign_id, f.rule_key) for f in stored.firings}


def test_the_simulator_shows_the_routine_tasks_the_pipeline_creates(factory, drain, session):
    """A report no rule covers (daytime construction noise) reaches its sub-district by the duty lists: the
    simulator shows that routine task with the deadline the pipeline gives it."""
    frozen = clock.now()
    clock.set_clock(lambda: frozen)
    with factory() as s:
        event_id = accept_event(s, event("08001", "NC-02", hour=10), SOURCE)[0].id
        s.commit()
    with factory() as s:
        shown = simulate(s, event_id=event_id, ruleset="active", lang="en")["campaigns"]
    drain()

    stored = session.get(Event, event_id)
    created = sorted((t.campaign_id, t.unit.code, t.rule_key, t.limit_value, t.limit_unit, t.deadline_at)
                     for t in stored.tasks)
    simulated = sorted((c["campaign"], t["unit"], t["rule"], t["limit"]["value"], t["limit"]["unit"],
                        datetime.fromisoformat(t["deadline"])) for c in shown for t in c["tasks"])
    assert created == simulated == [(stored.case.campaign_id, "JD-NC", "routine", 2.0, "urgent_hours",
                                     created[0][5])]
    assert all(c["fired"] == [] for c in shown)
