"""Each row of the audit chain (firings, task transitions, change log) carries a keyed hash (HMAC) of its content,
written by the insert itself: a column default, so Core bulk inserts and ORM objects alike are signed in the
writer's transaction. The key lives outside the database (engine.core.keyring), so a database superuser who edits
a row cannot make its MAC agree again.

A MAC reads `<algorithm>:<key id>:<hex>`; the key id lets rows written under a rotated-out key keep verifying.
The database id is assigned after the insert, so rows are MACed without it; the keyed seals cover ids and order."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from engine.core import keyring

#: The columns each chained table's MAC covers: everything a reader relies on, except the id.
CONTENT: dict[str, tuple[str, ...]] = {
    "firings": ("event_id", "campaign_id", "ruleset_version_id", "rule_key", "rule_version", "list_kind",
                "list_item", "matched", "decisions", "points", "task_id", "fired_at", "phase", "unit_id",
                "category_id", "grid_id"),
    "task_transitions": ("task_id", "from_status", "to_status", "action", "actor_id", "at", "comment", "data"),
    "change_log": ("at", "user_id", "username", "interface", "object_type", "object_id", "action", "before",
                   "after", "campaign_id"),
}
ALGORITHMS = {"standard": "hmac-sha256", "sm": "hmac-sm3"}
RECHECK_SECONDS = 5.0  # how soon a running process notices `civicrules audit rotate-key`


class GmsslSm3:
    """SM3 (GB/T 32905) from gmssl, pure Python, with the hashlib interface HMAC needs: the fallback where
    OpenSSL lacks SM3, thousands of times slower than OpenSSL's."""
    digest_size, block_size, name = 32, 64, "sm3"

    def __init__(self, data: bytes = b""):
        self._data = bytes(data)

    def update(self, data: bytes) -> None:
        self._data += bytes(data)

    def copy(self) -> "GmsslSm3":
        return GmsslSm3(self._data)

    def digest(self) -> bytes:
        from gmssl import sm3

        return bytes.fromhex(sm3.sm3_hash(list(self._data)))

    def hexdigest(self) -> str:
        return self.digest().hex()


DIGESTS: dict[str, Any] = {"hmac-sha256": "sha256",
                           "hmac-sm3": "sm3" if "sm3" in hashlib.algorithms_available else GmsslSm3}


def _plain(value: Any) -> Any:
    """One spelling per column value, as written and as read back: aware UTC times, integral floats as ints.
    JSON values need none: their key order and numbers survive the round trip through SQLite and PostgreSQL."""
    kind = type(value)
    if kind is datetime:
        return value.astimezone(timezone.utc).isoformat()
    if kind is float and value.is_integer():
        return int(value)
    return value


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def message(table: str, values: Mapping[str, Any]) -> bytes:
    """The bytes a row's MAC covers: the table name and its content columns, in CONTENT's order."""
    return f"{table}\n{_encode([_plain(values.get(name)) for name in CONTENT[table]])}".encode()


@dataclass(frozen=True)
class Signer:
    """A key and an algorithm, with the keyed HMAC state computed once and copied per row."""
    algorithm: str
    key: keyring.Key

    @property
    def spec(self) -> str:
        return f"{self.algorithm}:{self.key.id}"

    def _keyed(self) -> Any:
        return _keyed_state(self.algorithm, self.key.secret)

    def mac(self, data: bytes) -> str:
        state = self._keyed().copy()
        state.update(data)
        return state.hexdigest()

    def sign(self, table: str, values: Mapping[str, Any]) -> str:
        return f"{self.spec}:{self.mac(message(table, values))}"

    def check(self, table: str, values: Mapping[str, Any], stored: str) -> bool:
        return hmac.compare_digest(stored, self.sign(table, values))


_states: dict[tuple[str, bytes], Any] = {}


def _keyed_state(algorithm: str, secret: bytes) -> Any:
    state = _states.get((algorithm, secret))
    if state is None:
        state = _states[(algorithm, secret)] = hmac.new(secret, digestmod=DIGESTS[algorithm])
    return state


class _Current:
    """The signer of this process: settings and the ring file are looked at again only every few seconds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.signer: Signer | None = None
        self.source: tuple[Any, ...] = ()
        self.checked = 0.0

    def get(self) -> Signer:
        now = time.monotonic()
        if self.signer is not None and now - self.checked < RECHECK_SECONDS:
            return self.signer
        from engine.core.config import load_settings

        settings = load_settings()
        path = keyring.ring_path(settings.instance, keyring.AUDIT)
        with self.lock:
            source = (settings.instance, settings.crypto.algorithms, settings.crypto.audit_key, _mtime(path))
            if self.signer is None or source != self.source:
                key = keyring.current(settings.instance, keyring.AUDIT, settings.crypto.audit_key)
                self.signer = Signer(ALGORITHMS[settings.crypto.algorithms], key)
                self.source = source[:3] + (_mtime(path),)  # the first use may have just created the ring
            self.checked = now
            return self.signer

    def forget(self) -> None:
        self.signer = None


def _mtime(path: Path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return 0


_current = _Current()


def current() -> Signer:
    """The signer new rows and seals are written with."""
    return _current.get()


def reload() -> None:
    """Read settings and the key ring again at the next signature (after a rotation in this process)."""
    _current.forget()


def signer_for(spec: str, keys: dict[str, Signer] | None = None) -> Signer:
    """The signer a stored `<algorithm>:<key id>[:...]` names; keyring.UnknownKey if the ring lacks the key."""
    from engine.core.config import load_settings

    algorithm, key_id = spec.split(":")[:2]
    cache = keys if keys is not None else {}
    found = cache.get(f"{algorithm}:{key_id}")
    if found is None:
        if algorithm not in DIGESTS:
            raise keyring.UnknownKey(f"未知算法 {algorithm} / unknown algorithm {algorithm}")
        settings = load_settings()
        key = keyring.by_id(settings.instance, keyring.AUDIT, key_id, settings.crypto.audit_key)
        found = cache[f"{algorithm}:{key_id}"] = Signer(algorithm, key)
    return found


def column_default(context: Any) -> str:
    """The `mac` column's default: the MAC of the row being inserted, from the values of this very insert."""
    table = context.current_column.table
    params = context.get_current_parameters()
    values = {}
    for name in CONTENT[table.name]:
        if name in params:
            values[name] = params[name]
        else:  # left to a column default (evaluated later) or NULL
            default = table.c[name].default
            values[name] = default.arg if default is not None and default.is_scalar else None
    return current().sign(table.name, values)


def keying_watermark() -> dict[str, int] | None:
    """The last row of each chained table written before keying (noted by migration 0049 beside the key, outside
    the database); None where no migration noted it (a database made without migrations)."""
    from engine.core.config import load_settings

    settings = load_settings()
    return keyring.notes(settings.instance, keyring.AUDIT).get("unkeyed_up_to")
