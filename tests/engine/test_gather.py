"""A drain that gathers after a partial batch evaluates events arriving one by one in a few larger batches
(each batch has a fixed cost: at 200 events/s this halved the evaluating worker's CPU)."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, update

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
    queued: list[int] = []  # the worker queues the batch's messages for delivery here
    try:
        result = pipeline.drain(factory, limits.batch_size, limits.lease_seconds, limits.max_attempts,
                                gather_seconds=0.4, after_batch=lambda: queued.append(1))
    finally:
        poster.join()
    with factory() as s:
        evaluated = s.scalar(select(func.count()).select_from(Event).where(Event.id.in_(posted),
                                                                           Event.status == "evaluated"))
    assert evaluated == 61, "the drain ended before the last events came, or left some"
    assert result.batches <= 8, f"{result.batches} batches for 61 events posted over 1.2 s"
    assert len(queued) == result.batches, "each recorded batch queues its messages, not only the drain's end"


def test_events_retried_alone_are_not_held_by_the_gather(factory, settings):
    """A retried event is claimed alone by design: waiting after each of those would only delay the retries."""
    with factory() as s:
        ids = [accept_event(s, event(), IntakeSource("gather-tests"))[0].id for _ in range(3)]
        s.execute(update(Event).where(Event.id.in_(ids)).values(attempts=1))  # an earlier attempt did not finish
        s.commit()
    limits = settings.pipeline
    started = time.monotonic()
    result = pipeline.drain(factory, limits.batch_size, limits.lease_seconds, limits.max_attempts, gather_seconds=2.0)
    elapsed = time.monotonic() - started
    with factory() as s:
        evaluated = s.scalar(select(func.count()).select_from(Event).where(Event.id.in_(ids),
                                                                           Event.status == "evaluated"))
    assert evaluated == 3 and result.batches >= 3
    assert elapsed < 4.0, f"{elapsed:.1f} s: the drain waited after batches of one retried event"
