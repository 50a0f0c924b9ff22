"""Built-in campaign packs (data): the demo pack maps a city's six zero-tolerance and ten
strict-management items to GB/T 47678.5 category codes, with the time limits bureaus use."""
from __future__ import annotations

import json
from importlib import resources
from typing import Any


def load_pack(name: str = "demo") -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath(f"{name}.json").read_text(encoding="utf-8"))
