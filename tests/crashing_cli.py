"""A test entry point: `civicrules` whose evaluation dies by a real SIGSEGV on an event carrying
CRASH_MARKER, so the recovery tests exercise the work-horse's death without a hook in production code.

    python -m tests.crashing_cli worker
"""
from __future__ import annotations

import ctypes
from typing import Any

from app.cli import main
from engine.evaluation import pipeline

CRASH_MARKER = "__CIVICRULES_TEST_SIGSEGV__"


def _crashing(decide_batch: Any) -> Any:
    def decide(events, *args: Any, **kwargs: Any) -> Any:
        if any(CRASH_MARKER in (event.description or "") for event in events):
            ctypes.string_at(0)  # a real segmentation fault, as the C engine would die
        return decide_batch(events, *args, **kwargs)
    return decide


if __name__ == "__main__":
    pipeline.decide_batch = _crashing(pipeline.decide_batch)
    main()
