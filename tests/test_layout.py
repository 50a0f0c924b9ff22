"""The house: imports point one way, down the floors and down engine/'s subpackages, and only
engine/durable loads durable_rules (a web process never does)."""
from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: From the top floor down: a module imports its own floor and the floors below it.
FLOORS = ("wsgi", "app", "admin", "web", "workers", "engine", "rules")
#: engine/'s bounded contexts from the bottom up: a subpackage imports only those below it.
ENGINE_ORDER = ("core", "durable", "accounts", "audit", "people", "space", "intake", "cases", "handling",
                "evaluation", "authoring", "supervision", "readiness", "delivery", "assessment")
MAX_LINES = 500


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted and absolute
    names: tuple[str, ...]
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> list[Path]:
    found = [ROOT / "wsgi.py"]
    for floor in FLOORS[1:]:
        found += sorted((ROOT / floor).rglob("*.py"))
    return found


def imports_of(path: Path) -> list[Import]:
    """Every import in the file, function-local ones included, relative ones resolved."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, (), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = tuple(alias.name for alias in node.names)
            found.append(Import(module, base, names, node.lineno))
            found += [Import(module, f"{base}.{name}", (), node.lineno) for name in names
                      if (ROOT / base.replace(".", "/") / f"{name}.py").exists()
                      or (ROOT / base.replace(".", "/") / name / "__init__.py").exists()]
    return found


def _floor(dotted: str) -> str | None:
    top = dotted.split(".")[0]
    return top if top in FLOORS else None


def _context(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if parts[0] == "engine" and len(parts) > 1 and parts[1] in ENGINE_ORDER else None


def violations() -> list[str]:
    found = []
    for path in _sources():
        where = path.relative_to(ROOT)
        for imp in imports_of(path):
            mine, theirs = _floor(imp.module), _floor(imp.target)
            top = imp.target.split(".")[0]
            if top == "durable" and _context(imp.module) != "durable":
                found.append(f"{where}:{imp.line} imports durable_rules outside engine/durable")
            if theirs is None or mine is None:
                continue
            if FLOORS.index(theirs) < FLOORS.index(mine):
                found.append(f"{where}:{imp.line} {imp.module} imports {imp.target}, a floor above it")
            if mine == theirs == "engine":
                low, high = _context(imp.target), _context(imp.module)
                if low and high and ENGINE_ORDER.index(low) > ENGINE_ORDER.index(high):
                    found.append(f"{where}:{imp.line} engine.{high} imports engine.{low}, a subpackage above it")
                if imp.module == "engine" and imp.target != "engine":
                    found.append(f"{where}:{imp.line} engine/__init__.py imports {imp.target}")
            crosses = theirs != mine or (mine == "engine" and _context(imp.target) != _context(imp.module))
            private = [n for n in imp.names if n.startswith("_") and not n.startswith("__")]
            if crosses and private:
                found.append(f"{where}:{imp.line} {imp.module} imports private {', '.join(private)} from {imp.target}")
    return found


def test_imports_point_down_the_floors_and_the_engine_subpackages():
    assert violations() == []


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """A checker that cannot fail proves nothing: a rule module importing the engine must be named."""
    fake = ROOT / "rules" / "_layout_probe.py"
    fake.write_text("from engine.core import clock\nfrom durable.lang import ruleset\n", encoding="utf-8")
    try:
        found = [v for v in violations() if "_layout_probe" in v]
    finally:
        fake.unlink()
    assert any("a floor above it" in v for v in found) and any("durable_rules" in v for v in found), found


def test_engine_holds_only_subpackages():
    loose = sorted(p.name for p in (ROOT / "engine").glob("*.py") if p.name != "__init__.py")
    assert loose == []
    unknown = sorted(p.name for p in (ROOT / "engine").iterdir()
                     if p.is_dir() and p.name != "__pycache__" and p.name not in ENGINE_ORDER)
    assert unknown == []


def test_no_module_is_over_500_lines_but_the_models():
    long = {str(p.relative_to(ROOT)): n for p in _sources() + sorted((ROOT / "bench").glob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
            and not p.relative_to(ROOT).as_posix().startswith("engine/core/models")}
    assert long == {}


def test_the_web_app_never_loads_durable_rules():
    """Checked in a fresh interpreter: this test process may have loaded the C engine for other tests."""
    probe = ("import sys\nfrom app import create_app\ncreate_app()\n"
             "loaded = sorted(m for m in sys.modules if m == 'durable' or m.startswith('durable.'))\n"
             "print(loaded)\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
