"""Secrets stored encrypted (robot webhook keys, signing secrets): a column type that seals on write and opens on
read, so the rest of the code sees clear text and the database, its backups and dumps see only ciphertext.

A stored value names its algorithm and key (`enc:fernet:<key id>:<token>`, `enc:sm4:<key id>:<iv+cipher+mac>`),
so any value opens whatever CIVICRULES_CRYPTO says now, as long as the key ring (engine.core.keyring) holds its
key; CIVICRULES_CRYPTO only chooses how new values are sealed (standard: Fernet; sm: SM4-CBC with HMAC-SM3)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from gmssl import sm3, sm4
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from engine.core import keyring

PREFIX = "enc:"
FERNET = "fernet"
SM4 = "sm4"
ALGORITHM_OF = {"standard": FERNET, "sm": SM4}


class SealBroken(ValueError):
    """A stored secret does not open: altered, truncated, or sealed with a different key of the same id."""


def is_sealed(value: str | None) -> bool:
    return bool(value) and value.startswith(PREFIX)


def _derive(secret: bytes, purpose: bytes) -> bytes:
    """Separate keys for separate uses, all from the one ring key."""
    return hmac.new(secret, b"civicrules-secrets:" + purpose, hashlib.sha256).digest()


def _hmac_sm3(key: bytes, message: bytes) -> bytes:
    """HMAC-SM3 from OpenSSL when it carries SM3 (a hundred times faster), else from gmssl; the two agree."""
    if "sm3" in hashlib.algorithms_available:
        return hmac.new(key, message, "sm3").digest()
    return _hmac_sm3_gmssl(key, message)


def _hmac_sm3_gmssl(key: bytes, message: bytes) -> bytes:
    """HMAC (RFC 2104) over gmssl's SM3, so the SM option does not depend on OpenSSL carrying SM3."""
    block = 64
    if len(key) > block:
        key = bytes.fromhex(sm3.sm3_hash(list(key)))
    key = key.ljust(block, b"\0")
    inner = bytes.fromhex(sm3.sm3_hash(list(bytes(b ^ 0x36 for b in key) + message)))
    return bytes.fromhex(sm3.sm3_hash(list(bytes(b ^ 0x5C for b in key) + inner)))


def _fernet(key: keyring.Key) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(key.secret, b"fernet")))


def _sm4_seal(key: keyring.Key, clear: bytes) -> str:
    iv = os.urandom(16)
    box = sm4.CryptSM4()
    box.set_key(_derive(key.secret, b"sm4")[:16], sm4.SM4_ENCRYPT)
    body = iv + box.crypt_cbc(iv, clear)
    mac = _hmac_sm3(_derive(key.secret, b"sm4-mac"), body)
    return base64.urlsafe_b64encode(body + mac).decode()


def _sm4_open(key: keyring.Key, token: str) -> bytes:
    raw = base64.urlsafe_b64decode(token.encode())
    body, mac = raw[:-32], raw[-32:]
    if len(body) < 32 or not hmac.compare_digest(mac, _hmac_sm3(_derive(key.secret, b"sm4-mac"), body)):
        raise SealBroken("SM4 密文校验失败 / the SM4 ciphertext does not verify")
    box = sm4.CryptSM4()
    box.set_key(_derive(key.secret, b"sm4")[:16], sm4.SM4_DECRYPT)
    return box.crypt_cbc(body[:16], body[16:])


@dataclass
class Cipher:
    """The instance's secrets ring and the algorithm new values are sealed with."""

    instance: Path
    algorithms: str = "standard"
    configured: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        self._opened: dict[str, keyring.Key] = {}

    @property
    def algorithm(self) -> str:
        """What new values are sealed with: fernet, or sm4 when CIVICRULES_CRYPTO=sm."""
        return ALGORITHM_OF[self.algorithms]

    def seal(self, clear: str, key: keyring.Key | None = None) -> str:
        key = key or keyring.current(self.instance, keyring.SECRETS, self.configured)
        if self.algorithm == FERNET:
            token = _fernet(key).encrypt(clear.encode("utf-8")).decode()
        else:
            token = _sm4_seal(key, clear.encode("utf-8"))
        return f"{PREFIX}{self.algorithm}:{key.id}:{token}"

    def open(self, stored: str) -> str:
        """The clear text of a sealed value, whichever algorithm sealed it; a value never sealed passes through."""
        if not is_sealed(stored):
            return stored
        algorithm, key_id, token = stored[len(PREFIX):].split(":", 2)
        key = self._key(key_id)
        if algorithm == FERNET:
            try:
                return _fernet(key).decrypt(token.encode()).decode("utf-8")
            except InvalidToken:
                raise SealBroken("Fernet 密文校验失败 / the Fernet token does not verify") from None
        if algorithm == SM4:
            return _sm4_open(key, token).decode("utf-8")
        raise SealBroken(f"未知算法 {algorithm} / unknown algorithm {algorithm}")

    def key_id(self, stored: str | None) -> str | None:
        return stored[len(PREFIX):].split(":", 2)[1] if is_sealed(stored) else None

    def _key(self, key_id: str) -> keyring.Key:
        if key_id not in self._opened:  # another process may have rotated since: read the ring again
            self._opened[key_id] = keyring.by_id(self.instance, keyring.SECRETS, key_id, self.configured)
        return self._opened[key_id]


log = logging.getLogger(__name__)
_cipher: Cipher | None = None
_lock = threading.Lock()


def configure(settings: Any) -> Cipher:
    """Seal and open with this process's settings (the app factory, the worker and the CLI call it at start)."""
    global _cipher
    with _lock:
        _cipher = Cipher(settings.instance, settings.crypto.algorithms, settings.crypto.secrets_key)
    return _cipher


def cipher() -> Cipher:
    """The process's cipher, configured from the environment on first use when no entry point did."""
    if _cipher is None:
        from engine.core.config import load_settings

        return configure(load_settings())
    return _cipher


class SealedText(TypeDecorator):
    """A text column whose values are stored sealed; reads give the clear text, and a value written before
    sealing existed still reads as it was (the migration seals those)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        if value is None:
            return None
        if is_sealed(value) and _opens(value):  # already sealed (a rotation writes these back)
            return value
        return cipher().seal(value)  # anything else is clear text, even typed to look sealed

    def process_result_value(self, value: str | None, dialect) -> str | None:
        if value is None:
            return None
        try:
            return cipher().open(value)
        except (SealBroken, keyring.UnknownKey, ValueError):
            log.error("a stored secret cannot be opened (its key is not in %s); it is not sent",
                      keyring.ring_path(cipher().instance, keyring.SECRETS))
            return UNREADABLE


#: What a secret whose key is missing reads as: never a usable address or key, so nothing is sent with it, and
#: the pages that list recipients still open.
UNREADABLE = "⚠ 无法解密（密钥缺失） / cannot be decrypted (key missing)"


def _opens(value: str) -> bool:
    try:
        cipher().open(value)
        return True
    except (SealBroken, keyring.UnknownKey, ValueError):
        return False
