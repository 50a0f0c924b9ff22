"""The heartbeat that keeps a batch's short lease while it is evaluated.

A batch is claimed for a few seconds only and renewed every third of that while its process works, up to the
longest hold (CIVICRULES_LEASE_SECONDS): a worker killed mid-batch (kill -9, a lost machine) then holds its
events for seconds, not for the whole hold, before another worker or the sweep takes them over."""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import sessionmaker

from engine.core import clock
from engine.core.models import Event
from engine.core.states import EventStatus

log = logging.getLogger(__name__)


def renew(factory: sessionmaker, token: str, until: datetime) -> int:
    """Extend the lease `token` still holds; 0 once its events are recorded or taken over. Commits."""
    with factory() as session:
        result = session.execute(update(Event).where(Event.lease_token == token, Event.status == EventStatus.PENDING)
                                 .values(lease_until=until).execution_options(synchronize_session=False))
        session.commit()
        return result.rowcount or 0


class Heartbeat:
    """A thread renewing one batch's lease by `seconds` every `seconds / 3` until stopped or `longest` is reached."""

    def __init__(self, factory: sessionmaker, token: str, seconds: int, longest: int) -> None:
        self.factory, self.token, self.seconds = factory, token, seconds
        self.deadline = clock.now() + timedelta(seconds=longest)
        self.renewals = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{token}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            until = min(clock.now() + timedelta(seconds=self.seconds), self.deadline)
            try:
                if not renew(self.factory, self.token, until):
                    return
                self.renewals += 1
            except Exception:  # the database may be restarting: the next beat tries again before the lease ends
                log.warning("renewing lease %s failed", self.token, exc_info=True)
            if until >= self.deadline:
                return
