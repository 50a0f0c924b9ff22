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
from engine.core.models import Recipient
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


def test_rotate_re_encrypts_every_secret_under_a_new_key_and_the_old_key_still_opens(factory, settings, cipher):
    with factory() as s:
        row = Recipient(name=unique("rotate"), scope="oncall", channel="wecom", language="zh", secret="ROTATE-SECRET",
                        address="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ROTATE-KEY")
        s.add(row)
        s.commit()
        old_address, old_secret = _stored(s, row.id)
    old_key = cipher.key_id(old_address)
    result = CliRunner().invoke(main, ["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    new_key = keyring.current(settings.instance, keyring.SECRETS).id
    assert new_key != old_key and f"under key {new_key}" in result.output and "重新加密" in result.output
    with factory() as s:
        address, secret = _stored(s, row.id)
        assert cipher.key_id(address) == new_key and cipher.key_id(secret) == new_key
        remaining = [v for v in s.scalars(sa.text("SELECT address FROM recipients")) if cipher.key_id(v) != new_key]
        assert remaining == []  # one transaction re-encrypted every row
        assert s.get(Recipient, row.id).secret == "ROTATE-SECRET"
    assert cipher.open(old_secret) == "ROTATE-SECRET"  # a backup's value still opens: the old key stays
    assert old_key in {k.id for k in keyring.ring(settings.instance, keyring.SECRETS)}
    status = CliRunner().invoke(main, ["secrets", "status"])
    assert status.exit_code == 0 and f"fernet:{new_key}" in status.output and "ROTATE" not in status.output


def test_migration_0048_seals_existing_rows_and_downgrade_opens_them(tmp_path, database_url, cipher):
    if not database_url.startswith("sqlite"):
        pytest.skip("the PostgreSQL leg migrates the shared schema; this checks the rewrite on a fresh SQLite file")
    url = f"sqlite:///{tmp_path / 'migrate.db'}"
    upgrade(url, "0046")
    engine = sa.create_engine(url)
    clear = "https://oapi.dingtalk.com/robot/send?access_token=LEGACY-TOKEN"
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO recipients (name, scope, channel, address, secret, language, enabled) "
                             "VALUES ('legacy', 'oncall', 'dingtalk', :a, 'LEGACY-SEC', 'zh', 1)"), {"a": clear})
    upgrade(url)
    with engine.connect() as conn:
        address, secret = conn.execute(sa.text("SELECT address, secret FROM recipients")).one()
    assert address.startswith("enc:") and "LEGACY" not in address + secret
    assert (cipher.open(address), cipher.open(secret)) == (clear, "LEGACY-SEC")
    command.downgrade(alembic_config(url), "0046")
    with engine.connect() as conn:
        assert tuple(conn.execute(sa.text("SELECT address, secret FROM recipients")).one()) == (clear, "LEGACY-SEC")
    engine.dispose()
