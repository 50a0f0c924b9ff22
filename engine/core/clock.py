"""One injectable clock for the engine, the workers and the tests.

Code asks `clock.now()` for an aware UTC datetime; tests freeze or move it with `set_clock`.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from engine.core.config import load_settings


def now() -> datetime:
    return _now()


def current() -> Callable[[], datetime]:
    """The clock in use, so that code moving it for a while can put it back."""
    return _now


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Replace the clock (None restores the wall clock)."""
    global _now
    _now = fn or (lambda: datetime.now(timezone.utc))


def _first_reading() -> datetime:
    """The first reading settles the clock: CIVICRULES_FROZEN_NOW freezes it in every process a test starts."""
    frozen = load_settings().test_hooks.frozen_now
    if frozen is None:
        set_clock(None)
    else:
        set_clock(lambda: frozen)
    return _now()


_now: Callable[[], datetime] = _first_reading
