"""What several benchmarks measure with, and the scratch PostgreSQL schemas and local servers they set up.

Percentiles and their printing, the machine's CPU ticks, the CPU seconds of a process tree, a
schema dropped and recreated for one run (and dropped again), and the HTTP plumbing of a server
started on a free port. Database and engine imports stay inside the functions: the scripts put the
project on sys.path only after importing this module.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

PG_BASE = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# --------------------------------------------------------------------------- figures

def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile, interpolated between the two nearest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:,.0f} ms"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


# --------------------------------------------------------------------------- CPU

def cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine from /proc/stat, or None where that does not exist."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def busy_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """Share of all cores' time that was busy (any process, ours or not) between two cpu_ticks()."""
    if not before or not after or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (with the pid, it identifies the process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[19])


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU ticks incl. reaped children) for every process /proc shows."""
    table = {}
    root = Path("/proc")
    for entry in root.iterdir() if root.exists() else []:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # from "state" on: ppid is [1], utime..cstime [11:15]
        table[int(entry.name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    return table


def descendants(pid: int, table: dict[int, tuple[int, int]] | None = None) -> list[int]:
    """pid and every process below it (RQ work-horses call setsid, so process groups miss them)."""
    table = table if table is not None else _proc_table()
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, (parent, _) in table.items() if parent in frontier and child not in found]
        found += frontier
    return [p for p in found if p in table]


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by a process and its live descendants (and the children they reaped)."""
    table = _proc_table()
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    return sum(table[p][1] for p in descendants(pid, table)) / ticks


# --------------------------------------------------------------------------- scratch PostgreSQL schemas

def _admin_engine(base: str):
    from sqlalchemy import create_engine

    return create_engine(base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


def recreate_schema(base: str, schema: str) -> str:
    """The URL of `schema` after dropping and recreating it (and only it); raises if PostgreSQL does not answer."""
    from sqlalchemy import text

    engine = _admin_engine(base)
    try:
        with engine.connect() as conn:
            conn.execute(text("SET lock_timeout = '15s'"))  # never wait forever on a stale session's locks
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()
    return f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={schema}')}"


def postgres_url(base: str, schema: str, skipped: str = "PostgreSQL rounds skipped") -> str | None:
    """recreate_schema's URL, or None (said on stdout, with `skipped`) when PostgreSQL is unreachable."""
    try:
        return recreate_schema(base, schema)
    except Exception as err:  # reported, not raised: PostgreSQL is optional
        first = str(err).strip().splitlines()[0][:160] if str(err).strip() else ""
        print(f"PostgreSQL at {base} not reachable ({type(err).__name__}: {first}); {skipped}", flush=True)
        return None


def drop_postgres_schema(base: str, schema: str) -> None:
    """Drop the run's schema; a failure is reported on stderr, never raised (it must not mask the run's result)."""
    from sqlalchemy import text

    try:
        engine = _admin_engine(base)
        with engine.connect() as conn:
            conn.execute(text("SET lock_timeout = '15s'"))
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
    except Exception as err:
        print(f"could not drop schema {schema}: {err}", file=sys.stderr)


def dispose_engines() -> None:
    """Close the pooled connections of every database this process opened, so its schema can be dropped."""
    from engine.core.db import _factories

    for factory in _factories.values():
        factory.kw["bind"].dispose()


# --------------------------------------------------------------------------- local servers

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port: int, method: str, path: str, token: str, body: Any = None,
            timeout: float = 10.0) -> tuple[int, Any]:
    """One request on its own connection: (status, JSON body, or the first bytes of a body that is not JSON)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw[:200]
    finally:
        conn.close()


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.1) -> bool:
    """Whether predicate() came true within timeout seconds (an exception counts as not yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:
            pass
        time.sleep(interval)
    return False


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
