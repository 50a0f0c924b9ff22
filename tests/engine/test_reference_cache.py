"""The evaluation's master data is kept between batches while a stamp of its tables holds (issue 18 point 4); a
transaction that writes the same row twice must still read what it wrote, though the row's `xmin` does not move."""
from __future__ import annotations

import pytest

from engine.core.models import Unit
from engine.evaluation.enrich import load_reference


@pytest.mark.commits  # a transaction of its own (no test savepoints), rolled back at the end
def test_a_unit_changed_twice_in_one_transaction_is_routed_by_its_latest_type(factory):
    with factory() as session:
        try:
            load_reference(session)  # the reference as committed, kept
            unit = Unit(code="STAMP-1", name_zh="缓存测试中队", name_en="Stamp test squad", type="squad")
            session.add(unit)
            session.flush()
            assert load_reference(session).units_by_code["STAMP-1"].type == "squad"
            unit.type = "bureau"
            session.flush()
            assert load_reference(session).units_by_code["STAMP-1"].type == "bureau"
            unit.type = "department"
            session.flush()
            assert load_reference(session).units_by_code["STAMP-1"].type == "department"
        finally:
            session.rollback()
    with factory() as session:
        assert "STAMP-1" not in load_reference(session).units_by_code
