"""A stop asked while the worker warms up between jobs reaches RQ's work loop.

RQ's SIGTERM handler raises StopRequested wherever the idle worker happens to be; the warm-up after a job once
caught every exception and so swallowed it, and the worker listened on until it was killed a minute later."""
from __future__ import annotations

import os
import signal

import pytest
from rq.exceptions import StopRequested
from rq.worker import WorkerStatus
from sqlalchemy import event

from engine.core.db import session_factory
from workers.queues import all_queues, connection
from workers.worker import EngineWorker


def test_a_sigterm_during_the_warm_up_is_not_swallowed(settings, factory):
    conn = connection(settings)
    worker = EngineWorker(all_queues(settings, conn), connection=conn)
    engine = session_factory(settings.database_url).kw["bind"]
    sent = []

    def terminate_once(*_args) -> None:  # the signal lands while warm() is inside its database work
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGTERM)

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    worker._install_signal_handlers()
    worker.set_state(WorkerStatus.IDLE)
    event.listen(engine, "checkout", terminate_once)
    try:
        with pytest.raises(StopRequested):
            worker.warm()
        assert sent, "the warm-up never reached the database"
    finally:
        event.remove(engine, "checkout", terminate_once)
        for number, handler in handlers.items():
            signal.signal(number, handler)
