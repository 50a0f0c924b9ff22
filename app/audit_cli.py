"""`civicrules audit`: seal, verify (every row's MAC, every seal, and optionally exported heads), export the
chain's head, rotate the audit key."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.audit import heads
from engine.audit import seals as chain
from engine.core import keyring, macs
from engine.core.config import load_settings
from engine.core.db import session_factory


@click.group()
def audit() -> None:
    """Tamper evidence of firings, task transitions and the change log."""


@audit.command("seal")
def audit_seal() -> None:
    """Seal the settled rows now and export the head (the escalation poller also does this every 10 s)."""
    settings = load_settings()
    with session_factory(settings.database_url)() as session:
        click.echo(f"{heads.seal_and_export(session, settings.crypto.audit_head_file)} segment(s) sealed")


@audit.command("verify")
@click.option("--against", "against", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="a head file exported earlier (CIVICRULES_AUDIT_HEAD_FILE): prove no seal up to it was rewritten")
def audit_verify(against: Path | None) -> None:
    """Check every row's MAC, recompute every seal and the chain; report the first broken link, or that it is intact."""
    with session_factory(load_settings().database_url)() as session:
        verdict = chain.verify(session)
        match = heads.check(session, against) if against else None
    for kind in chain.CHAINED:
        if kind in verdict.seals:
            click.echo(f"{kind}: {verdict.sealed_rows[kind]} rows in {verdict.seals[kind]} seals, "
                       f"{verdict.unsealed_rows[kind]} not sealed yet (MAC checked), "
                       f"{verdict.unkeyed_rows[kind]} unkeyed (before keying) / "
                       f"已封印 {verdict.sealed_rows[kind]} 行（{verdict.seals[kind]} 个封印），"
                       f"未封印 {verdict.unsealed_rows[kind]} 行（已校验 MAC），启用密钥前写入 {verdict.unkeyed_rows[kind]} 行")
    if not verdict.intact:
        click.echo(f"链已断 / BROKEN: {verdict.broken_zh} / {verdict.broken}", err=True)
        sys.exit(1)
    if match is not None and match.problem:
        click.echo(f"链头不符 / HEAD DIFFERS: {match.problem[0]} / {match.problem[1]}", err=True)
        sys.exit(1)
    if match is not None:
        click.echo(f"{match.heads} exported head(s) found unchanged / {match.heads} 个导出的链头未被改动")
    click.echo("链完整 / chain intact")


@audit.command("export-head")
@click.option("--to", "to", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="file to append to (default CIVICRULES_AUDIT_HEAD_FILE)")
def audit_export_head(to: Path | None) -> None:
    """Append the chain's current head to the head file now, as one JSON line."""
    settings = load_settings()
    path = to or settings.crypto.audit_head_file
    with session_factory(settings.database_url)() as session:
        line = heads.export(session, path)
    if line is None:
        click.echo("nothing sealed yet: no head to export / 尚无封印，无链头可导出")
        return
    for kind, head in line["heads"].items():
        click.echo(f"{kind}: seal {head['seq']} {head['chain_hash']} ({head['key'] or 'unkeyed'})")
    click.echo(f"appended to {path} / 已追加到 {path}")


@audit.command("rotate-key")
def audit_rotate_key() -> None:
    """Start signing with a new audit key; rows and seals written under the older keys keep verifying with them."""
    settings = load_settings()
    if settings.crypto.audit_key:
        raise click.ClickException("CIVICRULES_AUDIT_KEY 已配置：请改该变量以轮换 / CIVICRULES_AUDIT_KEY is set: "
                                   "rotate by giving it a new value (the old key stays in the ring)")
    key = keyring.rotate(settings.instance, keyring.AUDIT)
    macs.reload()
    click.echo(f"new audit key {key.id} in {keyring.ring_path(settings.instance, keyring.AUDIT)}; back the file up "
               f"now / 新审计密钥 {key.id}，请立即备份该文件；running processes switch within {macs.RECHECK_SECONDS:.0f} s")
