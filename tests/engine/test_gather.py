"""A drain that gathers after a partial batch evaluates events arriving one by one in a few larger batches
(each batch has a fixed cost: at 200 events/s this halved the evaluating worker's CPU)."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from engine.core.models import Event
from engine.evaluation import pipeline
from engine.intake.events import IntakeSource, accept_event
from tests.helpers import event


@pytest.mark.commits  # a second thread posts while the drain runs
def test_events_arriving_one_by_one_share_a_few_batches_when_the_drain_gathers(factory, settings):
    posted: list[int] = []

    def post(count: int) -> None:
        for _ in range(count):
            with factory() as s:
                posted.append(accept_event(s, event(), IntakeSource("gather-tests"))[0].id)
                s.commit()
            time.sleep(0.02)

    post(1)  # the drain's first claim finds it; the other 60 arrive 20 ms apart while it runs
    poster = threading.Thread(target=post, args=(60,))
    poster.start()
    limits = settings.pipeline
    try:
        result = pipeline.drain(factory, limits.batch_size, limits.lease_seconds, limits.max_attempts,
                                gather_seconds=0.4)
    finally:
        poster.join()
    with factory() as s:
        evaluated = s.scalar(select(func.count()).select_from(Event).where(Event.id.in_(posted),
                                                                           Event.status == "evaluated"))
    assert evaluated == 61, "the drain ended before the last events came, or left some"
    assert result.batches <= 8, f"{result.batches} batches for 61 events posted over 1.2 s"
