"""The rule language's words an editor offers (facts, operators, limit units, list kinds, channels,
source types) and how it words conditions and values, named here so the admin pages reach the rule
language through the authoring layer only."""
from __future__ import annotations

from rules.diff import Change, shown
from rules.document import CHANNELS, LIST_KINDS
from rules.facts import FACTS, SOURCE_TYPES
from rules.limits import LIMIT_MAX, LIMIT_UNIT_TABLE, LIMIT_UNITS, limit_units_for_editor
from rules.operators import OPERATORS_BY_TYPE, operators_for_editor
from rules.problems import InputError, Problem
from rules.wording import describe_condition

__all__ = ["CHANNELS", "FACTS", "LIMIT_MAX", "LIMIT_UNIT_TABLE", "LIMIT_UNITS", "LIST_KINDS", "OPERATORS_BY_TYPE",
           "SOURCE_TYPES", "Change", "InputError", "Problem", "describe_condition", "limit_units_for_editor",
           "operators_for_editor", "shown"]
