"""Errors the engine raises for bad input, each naming the field at fault in both languages."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    field: str
    en: str
    zh: str

    def as_dict(self, lang: str = "en") -> dict[str, str]:
        return {"field": self.field, "message": self.zh if lang.startswith("zh") else self.en}


class InputError(ValueError):
    """Bad input: nothing was written. `problems` names every faulty field."""

    def __init__(self, problems: list[FieldProblem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.en}" for p in problems))
