"""`civicrules secrets`: the key that encrypts stored secrets (recipients' robot keys and signing secrets) —
rotate it and re-encrypt every value under the new key, or show which keys the stored values use."""
from __future__ import annotations

import getpass
from collections import Counter

import click
import sqlalchemy as sa

from engine.audit.security_log import Actor, record
from engine.core import keyring
from engine.core.config import load_settings
from engine.core.db import session_factory
from engine.core.resealing import reseal, sealed_columns
from engine.core import sealed_text


@click.group()
def secrets() -> None:
    """Stored secrets' encryption key (docs/OPERATING.md, "Secrets at rest")."""


@secrets.command("rotate")
def secrets_rotate() -> None:
    """Add a new key to the ring (the old ones stay, to read backups) and re-encrypt every stored secret under
    it in one transaction. With CIVICRULES_SECRETS_KEY set, put the new key there instead and run this to
    re-encrypt."""
    settings = load_settings()
    cipher = sealed_text.configure(settings)
    if settings.crypto.secrets_key:
        click.echo("密钥由 CIVICRULES_SECRETS_KEY 给出，不新增密钥，仅用它重新加密 / the key comes from "
                   "CIVICRULES_SECRETS_KEY: no key added, values re-encrypted under it")
    else:
        keyring.rotate(settings.instance, keyring.SECRETS)
    with session_factory(settings.database_url)() as session:
        report = reseal(session, cipher)
        record(session, Actor(None, "cli", f"cli:{getpass.getuser()}"), "key_rotation",
               f"密钥轮换：{report.total} 个值已用新密钥 {report.key_id}（{cipher.algorithm}）重新加密 / secrets key "
               f"{report.key_id} ({cipher.algorithm}): {report.total} values re-encrypted")
        session.commit()
    for column, count in report.values.items():
        click.echo(f"  {column}: {count}")
    click.echo(f"已用密钥 {report.key_id}（{cipher.algorithm}）重新加密 {report.total} 个值，{report.already} 个已是该密钥 / "
               f"{report.total} values re-encrypted under key {report.key_id} ({cipher.algorithm}), "
               f"{report.already} already under it")
    click.echo(f"旧密钥仍保留在 {keyring.ring_path(settings.instance, keyring.SECRETS)} 中 / older keys stay in the ring")


@secrets.command("status")
def secrets_status() -> None:
    """The current key and algorithm, and how many stored values each key and algorithm sealed."""
    settings = load_settings()
    cipher = sealed_text.configure(settings)
    key = keyring.current(settings.instance, keyring.SECRETS, settings.crypto.secrets_key)
    click.echo(f"当前密钥 / current key: {key.id} ({cipher.algorithm}); "
               f"{len(keyring.ring(settings.instance, keyring.SECRETS, settings.crypto.secrets_key))} key(s) in "
               f"{keyring.ring_path(settings.instance, keyring.SECRETS)}")
    uses: Counter[str] = Counter()
    with session_factory(settings.database_url)() as session:
        for table_name, _primary, column in sealed_columns():
            table = sa.table(table_name, sa.column(column, sa.Text))
            for stored in session.scalars(sa.select(table.c[column]).where(table.c[column].is_not(None))):
                uses["未加密 / not encrypted" if not sealed_text.is_sealed(stored)
                     else ":".join(stored.split(":", 3)[1:3])] += 1
    for name, count in sorted(uses.items()):
        click.echo(f"  {name}: {count}")
