"""Keys kept outside the database: the audit chain's HMAC key and the key that encrypts stored secrets.

Each purpose has a ring of keys in `<instance>/keys/<purpose>.json` (mode 600): the last one signs or encrypts,
the older ones still verify or decrypt the rows written under them, which name their key by id. A key may be
given by configuration instead (`CIVICRULES_<PURPOSE>_KEY`, base64url of at least 32 bytes); it then joins the
ring under an id derived from its value, so rows keep naming the key they were written with."""
from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

AUDIT = "audit"
SECRETS = "secrets"
PURPOSES = (AUDIT, SECRETS)
KEY_BYTES = 32

_lock = threading.Lock()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer of a ring at a time, across threads and processes (two first uses racing must not each make a
    key and keep only one)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _lock, open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Key:
    id: str
    secret: bytes = b""

    def __repr__(self) -> str:  # never print the key material
        return f"Key({self.id!r})"


class UnknownKey(LookupError):
    """A row names a key that is not in the ring (the ring was not backed up, or a wrong instance folder)."""


def ring_path(instance: Path, purpose: str) -> Path:
    return instance / "keys" / f"{purpose}.json"


def _key_id(secret: bytes) -> str:
    return hashlib.sha256(b"civicrules-key-id:" + secret).hexdigest()[:12]


def _decode(text: str, name: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (ValueError, TypeError):
        raw = b""
    if len(raw) < KEY_BYTES:
        raise ValueError(f"环境变量 {name} 须为至少 {KEY_BYTES} 字节的 base64url 密钥 / {name} must be a base64url key of "
                         f"at least {KEY_BYTES} bytes")
    return raw


def _read(path: Path) -> list[Key]:
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    return [Key(item["id"], _decode(item["secret"], str(path))) for item in data["keys"]]


def _notes(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()).get("notes", {}) if path.exists() else {}


def _write(path: Path, keys: list[Key], notes: dict[str, Any] | None = None) -> None:
    """Write the whole ring to a new file and rename it over the old one, so a crash never leaves half a ring."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    data = {"keys": [{"id": k.id, "secret": base64.urlsafe_b64encode(k.secret).decode(), "saved_at": now}
                     for k in keys], "notes": _notes(path) if notes is None else notes}
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=1)
    os.replace(tmp, path)


def ring(instance: Path, purpose: str, configured: str = "") -> list[Key]:
    """Every key of the purpose, oldest first; creates the first key on first use unless one is configured."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown key purpose {purpose!r}")
    path = ring_path(instance, purpose)
    with _locked(path):
        keys = _read(path)
        if configured:
            secret = _decode(configured, f"CIVICRULES_{purpose.upper()}_KEY")
            if all(k.secret != secret for k in keys):
                keys.append(Key(_key_id(secret), secret))
                _write(path, keys)
            else:  # the configured key is the current one, wherever it sits in the ring
                keys = [k for k in keys if k.secret != secret] + [next(k for k in keys if k.secret == secret)]
        elif not keys:
            secret = secrets.token_bytes(KEY_BYTES)
            keys = [Key(_key_id(secret), secret)]
            _write(path, keys)
    return keys


def current(instance: Path, purpose: str, configured: str = "") -> Key:
    """The key new rows are written with."""
    return ring(instance, purpose, configured)[-1]


def by_id(instance: Path, purpose: str, key_id: str, configured: str = "") -> Key:
    """The key a row names; UnknownKey if the ring does not hold it. Only reads: a reader never makes a key."""
    keys = _read(ring_path(instance, purpose))
    if configured:
        secret = _decode(configured, f"CIVICRULES_{purpose.upper()}_KEY")
        keys.append(Key(_key_id(secret), secret))
    for key in keys:
        if key.id == key_id:
            return key
    raise UnknownKey(f"密钥 {key_id} 不在 {ring_path(instance, purpose)} 中 / key {key_id} is not in "
                    f"{ring_path(instance, purpose)}")


def rotate(instance: Path, purpose: str) -> Key:
    """Add a new current key; the older ones stay, to read what they wrote."""
    path = ring_path(instance, purpose)
    with _locked(path):
        keys = _read(path)
        secret = secrets.token_bytes(KEY_BYTES)
        keys.append(Key(_key_id(secret), secret))
        _write(path, keys)
    return keys[-1]


def notes(instance: Path, purpose: str) -> dict[str, Any]:
    """Facts kept beside the keys, outside the database (the audit chain's keying watermark)."""
    return _notes(ring_path(instance, purpose))


def note(instance: Path, purpose: str, name: str, value: Any, configured: str = "") -> None:
    """Keep a fact beside the keys (creating the ring first if needed)."""
    keys = ring(instance, purpose, configured)
    path = ring_path(instance, purpose)
    with _locked(path):
        _write(path, keys, {**_notes(path), name: value})
