"""Bad input, named where it is, in both languages: one problem type and one exception for every layer.

The rule language, the engine, the jobs and the pages all refuse input with `InputError`; a page puts
each `Problem` next to its field, the API turns the list into problem+json, a job hands it back as JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One fault: `where` is a field name or a path in a document; `row` the editor row, if any."""

    where: str
    en: str
    zh: str
    row: int | None = None

    def message(self, lang: str = "en") -> str:
        return self.zh if lang.startswith("zh") else self.en

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        """As a page or the API shows it: the field and the message in the reader's language."""
        shown: dict[str, Any] = {"field": self.where, "message": self.message(lang)}
        if self.row is not None:
            shown["row"] = self.row
        return shown

    def to_json(self) -> dict[str, Any]:
        """Both languages, for a job's answer to whoever asked."""
        return {"where": self.where, "en": self.en, "zh": self.zh, "row": self.row}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Problem:
        return cls(data["where"], data["en"], data["zh"], data.get("row"))


class InputError(ValueError):
    """Bad input: nothing was written. `problems` names every fault found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.where}: {p.en}" for p in problems))

    def by_field(self, lang: str) -> dict[str, list[str]]:
        """The messages per field in the reader's language, as a form shows them next to each field."""
        found: dict[str, list[str]] = {}
        for problem in self.problems:
            found.setdefault(problem.where, []).append(problem.message(lang))
        return found


#: Deeper than any document the service reads; deeper JSON is refused before any code walks it recursively.
MAX_DEPTH = 32


def _unstorable(text: str) -> tuple[str, str] | None:
    """Why a text cannot be stored, in both languages: a NUL byte, or a lone UTF-16 surrogate (JSON's `"\\ud800"`),
    which no database encoding can write."""
    if "\x00" in text:
        return "the text holds a NUL byte", "文本中含有空字符（NUL）"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "the text holds an unpaired surrogate (not valid Unicode)", "文本中含有不成对的代理字符（不是有效的 Unicode）"
    return None


def hostile_problems(value: Any, where: str = "(body)") -> list[Problem]:
    """Texts no database can store (NUL bytes, lone surrogates) and nesting deeper than MAX_DEPTH, named by their
    path."""
    problems: list[Problem] = []
    pending: list[tuple[Any, str, int]] = [(value, where, 0)]
    while pending:
        item, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            return [Problem(where, f"nested more than {MAX_DEPTH} levels deep", f"嵌套超过 {MAX_DEPTH} 层")]
        if isinstance(item, str):
            if (why := _unstorable(item)) is not None:
                problems.append(Problem(path, *why))
        elif isinstance(item, dict):
            shallow = depth < MAX_DEPTH  # its texts and numbers are checked here, without a trip through `pending`
            for key, inner in item.items():
                if isinstance(key, str) and _unstorable(key) is not None:
                    problems.append(Problem(path, "a field name holds a NUL byte or an unpaired surrogate",
                                            "字段名中含有空字符（NUL）或不成对的代理字符"))
                    continue
                if shallow and not isinstance(inner, (str, dict, list, tuple)):
                    continue
                name = key if path == where else f"{path}.{key}"
                if shallow and isinstance(inner, str):
                    if (why := _unstorable(inner)) is not None:
                        problems.append(Problem(name, *why))
                    continue
                pending.append((inner, name, depth + 1))
        elif isinstance(item, (list, tuple)):
            pending.extend((inner, f"{path}[{index}]", depth + 1) for index, inner in enumerate(item))
    return sorted(problems, key=lambda p: p.where)
