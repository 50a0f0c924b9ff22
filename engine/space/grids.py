"""Grids' standard 15-digit code (网格编码) beside their short code: 6 digits of the administrative division,
3 of the street (街道), 3 of the community (社区) and 3 of the grid, as city-management platforms exchange them."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.models import Grid
from rules.problems import Problem

GRID_CODE_LENGTH = 15


def grid_code_problems(session: Session, value: str | None, grid_id: int | None = None,
                       row: int | None = None) -> list[Problem]:
    """Why `value` cannot be the grid's 15-digit code (empty is allowed: not every city has assigned them)."""
    if not value:
        return []
    if len(value) != GRID_CODE_LENGTH or not value.isascii() or not value.isdigit():
        return [Problem("grid_code", f"15 digits (6 division + 3 street + 3 community + 3 grid), not {value!r}",
                        f"须为 15 位数字（6 位行政区划 + 3 位街道 + 3 位社区 + 3 位网格），而不是「{value}」", row)]
    other = session.scalar(select(Grid).where(Grid.grid_code == value, Grid.id != (grid_id or 0)))
    if other is not None:
        return [Problem("grid_code", f"grid {other.code} already has the code {value}",
                        f"网格 {other.code} 已使用编码 {value}", row)]
    return []

