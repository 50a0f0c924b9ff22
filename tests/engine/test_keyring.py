"""The key rings kept outside the database: created once with mode 600, rotated without losing old keys."""
from __future__ import annotations

import base64
import stat

import pytest

from engine.core import keyring


def test_first_use_creates_one_private_key_that_stays(tmp_path):
    first = keyring.current(tmp_path, keyring.AUDIT)
    path = keyring.ring_path(tmp_path, keyring.AUDIT)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keyring.current(tmp_path, keyring.AUDIT) == first
    assert len(first.secret) == keyring.KEY_BYTES and first.id not in repr(first.secret)
    assert keyring.current(tmp_path, keyring.SECRETS) != first  # one ring per purpose


def test_rotation_keeps_the_old_key_readable_by_id(tmp_path):
    old = keyring.current(tmp_path, keyring.SECRETS)
    new = keyring.rotate(tmp_path, keyring.SECRETS)
    assert new != old and keyring.current(tmp_path, keyring.SECRETS) == new
    assert keyring.by_id(tmp_path, keyring.SECRETS, old.id) == old
    with pytest.raises(keyring.UnknownKey, match="not in"):
        keyring.by_id(tmp_path, keyring.SECRETS, "nosuchkey")


def test_a_configured_key_is_current_and_joins_the_ring(tmp_path):
    generated = keyring.current(tmp_path, keyring.AUDIT)
    given = base64.urlsafe_b64encode(b"k" * 32).decode()
    key = keyring.current(tmp_path, keyring.AUDIT, given)
    assert key.secret == b"k" * 32 and key != generated
    assert keyring.by_id(tmp_path, keyring.AUDIT, generated.id) == generated  # rows written before still verify
    assert keyring.current(tmp_path, keyring.AUDIT, given) == key
    with pytest.raises(ValueError, match="at least 32 bytes"):
        keyring.current(tmp_path, keyring.AUDIT, "c2hvcnQ")
