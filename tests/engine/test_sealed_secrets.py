"""Recipients' robot keys and signing secrets are stored encrypted (Fernet, or SM4 with CIVICRULES_CRYPTO=sm),
sent in clear to the receiver, re-encrypted by `civicrules secrets rotate`, and sealed by migration 0048."""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner

from app.cli import main
from engine.core import keyring, sealed_text
from engine.core.config import load_settings
from engine.core.db import session_factory
from engine.core.models import Recipient, SecurityAuditEntry
from migrations import alembic_config, upgrade
from tests.engine.test_notify import _deliver, _message, _recipient, _start, _unit, allowed, serve  # noqa: F401
from tests.helpers import unique


def _stored(session, recipient_id: int) -> tuple[str, str | None]:
    """The address and secret as the database holds them, not through the model."""
    return tuple(session.execute(sa.text("SELECT address, secret FROM recipients WHERE id = :id"),
                                 {"id": recipient_id}).one())


@pytest.fixture()
def cipher(settings):
    """The process cipher put back to the test settings after a test that switches algorithms."""
    yield sealed_text.configure(settings)
    sealed_text.configure(settings)


def test_the_database_holds_ciphertext_and_the_receiver_gets_the_clear_key_and_signature(factory, serve, allowed,
                                                                                       cipher):
    receiver = serve()
    robot_key = unique("ROBOTKEY")
    with factory() as s:
        unit = _unit(s)
        recipient = _recipient(s, scope="unit", unit_id=unit.id, channel="webhook",
                               address=f"{receiver.url}?key={robot_key}", secret="HMAC-s3cret-at-rest")
        row = _message(s, f"unit:{unit.id}")
        key, recipient_id = row.idempotency_key, recipient.id
        s.commit()
        address, secret = _stored(s, recipient_id)
    assert address.startswith("enc:fernet:") and secret.startswith("enc:fernet:")
    assert robot_key not in address and "127.0.0.1" not in address and "s3cret" not in secret
    _deliver(factory, _start())
    (got,) = receiver.keyed(key)
    assert parse_qs(urlsplit(got.path).query)["key"] == [robot_key]
    timestamp = got.headers["X-CivicRules-Timestamp"]
    expected = hmac.new(b"HMAC-s3cret-at-rest", timestamp.encode() + b"." + got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-CivicRules-Signature"] == f"sha256={expected}"


def test_sm4_seals_new_values_and_either_algorithm_opens_what_the_other_wrote(factory, settings, monkeypatch, cipher):
    with factory() as s:
        fernet_row = Recipient(name=unique("fernet"), scope="oncall", channel="dingtalk", language="zh",
                               address="https://oapi.dingtalk.com/robot/send?access_token=FERNET-TOKEN", secret="SEC1")
        s.add(fernet_row)
        s.commit()
        monkeypatch.setenv("CIVICRULES_CRYPTO", "sm")
        sm = sealed_text.configure(load_settings())
        sm_row = Recipient(name=unique("sm4"), scope="oncall", channel="wecom", language="zh",
                           address="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SM4-ROBOT-KEY", secret="密钥二")
        s.add(sm_row)
        s.commit()
        address, secret = _stored(s, sm_row.id)
        assert address.startswith("enc:sm4:") and secret.startswith("enc:sm4:") and "SM4-ROBOT-KEY" not in address
        assert sm.open(_stored(s, fernet_row.id)[0]).endswith("access_token=FERNET-TOKEN")  # sm reads Fernet
        s.expire_all()
        assert s.get(Recipient, fernet_row.id).secret == "SEC1"
        monkeypatch.delenv("CIVICRULES_CRYPTO")
        sealed_text.configure(settings)
        s.expire_all()
        assert s.get(Recipient, sm_row.id).address.endswith("key=SM4-ROBOT-KEY")  # standard reads SM4
        assert s.get(Recipient, sm_row.id).secret == "密钥二"
    algorithm, key_id, token = address[len("enc:"):].split(":", 2)
    altered = f"enc:{algorithm}:{key_id}:{token[:-6]}{'A' if token[-6] != 'A' else 'B'}{token[-5:]}"
    with pytest.raises(sealed_text.SealBroken):
        cipher.open(altered)


@pytest.mark.skipif("sm3" not in hashlib.algorithms_available, reason="this OpenSSL carries no SM3 to compare")
@pytest.mark.parametrize("key", [b"", b"k" * 32, b"k" * 70])  # a key longer than the block is hashed first
def test_hmac_sm3_from_gmssl_agrees_with_openssl(key):
    message = "创城规则引擎".encode() * 10
    assert sealed_text._hmac_sm3_gmssl(key, message) == hmac.new(key, message, "sm3").digest()


@pytest.fixture()
def own_instance(tmp_path, monkeypatch, settings):
    """A fresh SQLite database and instance folder whose secrets key comes from its own ring, not the environment."""
    url = f"sqlite:///{tmp_path / 'own.db'}"
    monkeypatch.setenv("CIVICRULES_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("CIVICRULES_SECRETS_KEY", raising=False)
    own = load_settings()
    yield own, sealed_text.configure(own)
    sealed_text.configure(settings)


def test_rotate_re_encrypts_every_secret_under_a_new_key_and_the_old_key_still_opens(own_instance):
    own, cipher = own_instance
    upgrade(own.database_url)
    factory = session_factory(own.database_url)
    with factory() as s:
        rows = [Recipient(name=f"rotate-{n}", scope="oncall", channel="wecom", language="zh", secret=f"SECRET-{n}",
                          address=f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ROTATE-{n}") for n in range(3)]
        s.add_all(rows)
        s.commit()
        old_address, old_secret = _stored(s, rows[0].id)
    old_key = cipher.key_id(old_address)
    result = CliRunner().invoke(main, ["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    new_key = keyring.current(own.instance, keyring.SECRETS).id
    assert new_key != old_key and "6 values re-encrypted under key " + new_key in result.output
    assert "重新加密 6 个值" in result.output
    with factory() as s:
        stored = s.execute(sa.text("SELECT address, secret FROM recipients")).all()
        assert {cipher.key_id(v) for row in stored for v in row} == {new_key}
        assert [r.secret for r in s.scalars(sa.select(Recipient).order_by(Recipient.id))] == [
            "SECRET-0", "SECRET-1", "SECRET-2"]
    assert cipher.open(old_secret) == "SECRET-0"  # a backup's value still opens: the old key stays in the ring
    assert [k.id for k in keyring.ring(own.instance, keyring.SECRETS)] == [old_key, new_key]
    with factory() as s:
        (logged,) = s.scalars(sa.select(SecurityAuditEntry).where(SecurityAuditEntry.kind == "key_rotation"))
        assert new_key in logged.what and logged.address == "cli"
    status = CliRunner().invoke(main, ["secrets", "status"])
    assert status.exit_code == 0 and f"fernet:{new_key}: 6" in status.output and "ROTATE" not in status.output


def test_migration_0048_seals_existing_rows_and_downgrade_opens_them(own_instance):
    own, cipher = own_instance
    url = own.database_url
    upgrade(url, "0046")
    engine = sa.create_engine(url)
    clear = "https://oapi.dingtalk.com/robot/send?access_token=LEGACY-TOKEN"
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO recipients (name, scope, channel, address, secret, language, enabled) "
                             "VALUES ('legacy', 'oncall', 'dingtalk', :a, 'LEGACY-SEC', 'zh', 1)"), {"a": clear})
    upgrade(url)
    with engine.connect() as conn:
        address, secret = conn.execute(sa.text("SELECT address, secret FROM recipients")).one()
    assert address.startswith("enc:fernet:") and "LEGACY" not in address + secret
    assert (cipher.open(address), cipher.open(secret)) == (clear, "LEGACY-SEC")
    command.downgrade(alembic_config(url), "0046")
    with engine.connect() as conn:
        assert tuple(conn.execute(sa.text("SELECT address, secret FROM recipients")).one()) == (clear, "LEGACY-SEC")
    engine.dispose()


def test_a_url_with_a_user_and_password_is_masked_to_its_host():
    from engine.audit.changelog import masked_address
    from engine.delivery.http import Refused, post_json

    shown = masked_address("https://bot:Sup3rS3cret@hooks.example.com:8443/api/abcdefgh1234")
    assert "Sup3rS3cret" not in shown and "bot" not in shown and shown.startswith("https://hooks.example.com:8443/")
    try:
        post_json("hooks.example.com/send?key=abcdefghsecret", b"{}", {}, 1, 1)
    except Refused as err:
        assert "abcdefghsecret" not in str(err)
    else:
        raise AssertionError("an address without a scheme must be refused")


def test_a_value_typed_to_look_sealed_is_sealed_and_a_secret_without_its_key_does_not_break_the_list(factory,
                                                                                                   cipher):
    with factory() as s:
        unit = _unit(s)
        typed = _recipient(s, scope="unit", unit_id=unit.id, channel="webhook", address="enc:fernet:abc:not-a-token")
        orphan = _recipient(s, scope="unit", unit_id=unit.id, channel="webhook", address="https://example.com/hook")
        s.commit()
        typed_id, orphan_id = typed.id, orphan.id
        s.execute(sa.text("UPDATE recipients SET address = :a WHERE id = :id"),  # sealed under a key lost since
                  {"a": "enc:fernet:000000000000:gAAAAAB-lost", "id": orphan_id})
        s.commit()
    with factory() as s:
        assert _stored(s, typed_id)[0] != "enc:fernet:abc:not-a-token"  # sealed like any other input
        listed = {r.id: r.address for r in s.scalars(sa.select(Recipient).where(Recipient.unit_id == unit.id))}
    assert listed[typed_id] == "enc:fernet:abc:not-a-token"
    assert listed[orphan_id] == sealed_text.UNREADABLE
