"""How a report enters its case (DESIGN 12): filed at once, verified first (核实), or waiting for the dispatcher.

Decided per report from its source type's intake policy, its confidence (cameras) and the intake evaluation:
a zero-tolerance item files at once from any source. The pipeline reads the decision; it moves no case itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.models import Campaign, IntakePolicy

#: The policy of a source type nobody configured: verify first, never trusted by confidence.
UNKNOWN = (True, None)


class Admission(StrEnum):
    FILE = "file"  # trusted source or zero tolerance: filed, evaluated again and dispatched in the same job
    VERIFY = "verify"  # waits for the grid's collector (核实), then the shift leader (立案)
    UNPLACED = "unplaced"  # located outside every grid: waits for the dispatcher (待派遣)


#: How a report would enter, for the simulator and the pages.
ADMISSION_NAMES: dict[Admission, tuple[str, str]] = {
    Admission.FILE: ("直接立案并派遣", "filed and dispatched at once"),
    Admission.VERIFY: ("先由网格监督员核实，再由值班长立案；任务在立案后派遣",
                       "verified by the grid's collector, then filed by the shift leader; tasks follow the filing"),
    Admission.UNPLACED: ("不在任何网格内，进入待派遣", "outside every grid: waits for the dispatcher"),
}


@dataclass(frozen=True)
class Policies:
    """Every source type's intake policy, loaded once per batch."""

    by_type: dict[str, tuple[bool, float | None]]

    @classmethod
    def load(cls, session: Session) -> Policies:
        return cls({p.source_type: (p.verify, p.trusted_confidence) for p in session.scalars(select(IntakePolicy))})

    def trusted(self, source_type: str, confidence: float | None) -> bool:
        """Filed without verification: a source type that needs none, or a camera sure enough of what it saw."""
        verify, threshold = self.by_type.get(source_type, UNKNOWN)
        return not verify or (threshold is not None and confidence is not None and confidence >= threshold)


def admission(event: Any, policies: Policies, zero_tolerance: bool) -> Admission:
    """How one opening report enters its case."""
    if event.grid_id is None:
        return Admission.UNPLACED
    if zero_tolerance or policies.trusted(event.source_type, event.confidence):
        return Admission.FILE
    return Admission.VERIFY


def clock_due(campaign: Campaign | None, minutes_field: str, start: datetime) -> datetime | None:
    """When a stage's clock runs out: its start plus the campaign's minutes for it (continuous time: the stage
    clocks are minutes of the duty centre, which works around the clock)."""
    minutes = getattr(campaign, minutes_field, None) if campaign is not None else None
    return start + timedelta(minutes=minutes) if minutes else None
