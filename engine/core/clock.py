"""One injectable clock for the engine, the workers and the tests.

Code asks `clock.now()` for an aware UTC datetime; tests freeze or move it with `set_clock`.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Callable

_now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)


def now() -> datetime:
    return _now()


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Replace the clock (None restores the wall clock)."""
    global _now
    _now = fn or (lambda: datetime.now(timezone.utc))


def _from_environment() -> None:
    """CIVICRULES_FROZEN_NOW=ISO-8601 freezes the clock in every process a test starts."""
    frozen = os.environ.get("CIVICRULES_FROZEN_NOW")
    if frozen:
        instant = datetime.fromisoformat(frozen).astimezone(timezone.utc)
        set_clock(lambda: instant)


_from_environment()
