"""Several active campaigns are evaluated together; an event still gets one task per unit."""
from __future__ import annotations


from engine.authoring.drafts import publish
from engine.intake.events import IntakeSource, accept_event
from engine.core.models import Campaign, Event, Rule
from tests.helpers import event


def test_every_active_campaign_evaluates_the_event(factory, drain, session):
    with factory() as s:
        extra = Campaign(code="burning-2026", name_zh="秸秆禁烧专项", name_en="Burning ban", status="active",
                         timezone="Asia/Shanghai")
        s.add(extra)
        s.flush()
        for key, unit in (("burning-to-subdistrict", "grid_unit"), ("burning-to-sanitation", "unit:HWZX")):
            doc = {"key": key, "title": {"zh": "焚烧", "en": "Burning"},
                   "when": {"all": [{"fact": "category", "op": "eq", "value": "06020"},
                                    {"fact": "grid", "op": "eq", "value": "NC-04"}]},
                   "then": [{"do": "create_task", "template": "sm-rectify", "assign": unit}]}
            s.add(Rule(campaign_id=extra.id, key=key, document=doc))
        s.flush()
        publish(s, extra, comment="test")
        s.commit()
        campaign_id = extra.id
        event_id = accept_event(s, event("06020", "NC-04", hour=10), IntakeSource("campaign-tests", "patrol"))[0].id
        s.commit()
    drain()
    e = session.get(Event, event_id)
    assert {f.rule_key for f in e.firings} >= {"burning-to-subdistrict", "burning-to-sanitation"}
    assert {f.campaign_id for f in e.firings} == {campaign_id}
    assert sorted(t.unit.code for t in e.tasks) == ["HWZX", "JD-NC"]
    assert all(t.limit_value == 2 and t.limit_unit == "urgent_hours" for t in e.tasks)  # category 06020 limit
