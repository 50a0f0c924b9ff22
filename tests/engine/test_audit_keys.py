"""The keyed audit chain (issue 19.5 and the SM3 half of 19.8): a database superuser without the key edits a firing
and rebuilds the seals the way the unkeyed chain was built, and `civicrules audit verify` still names the row;
a row edited before it was sealed is caught by its own MAC; SM3 chains verify; old seals survive a key rotation;
exported heads expose a chain rebuilt from scratch."""
from __future__ import annotations

import hashlib
import hmac
import json
from contextlib import contextmanager
from datetime import timedelta
from typing import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, text, update

from engine.core import macs
from engine.audit import seals as audit
from engine.core import clock, keyring
from engine.core.config import load_settings
from engine.core.models import AuditSeal, Firing
from engine.intake.events import IntakeSource, accept_event
from tests.helpers import event


@contextmanager
def superuser(factory) -> Iterator:
    """A session that, like an intruder with superuser rights, is not stopped by PostgreSQL's append-only triggers."""
    with factory() as s:
        pg = s.bind.dialect.name == "postgresql"
        if pg:
            s.execute(text("SET session_replication_role = replica"))
        yield s
        s.commit()
        if pg:
            s.execute(text("SET session_replication_role = DEFAULT"))
            s.commit()


def fired(factory, drain, session, category: str = "06029") -> Firing:
    with factory() as s:
        event_id = accept_event(s, event(category, "XC-04", hour=23), IntakeSource("keyed-audit-tests"))[0].id
        s.commit()
    drain()
    return session.scalars(select(Firing).where(Firing.event_id == event_id).order_by(Firing.id)).first()


def seal_now(factory) -> None:
    with factory() as s:
        audit.seal(s, now=clock.now() + timedelta(minutes=5))


def rebuild_like_the_unkeyed_chain(s, strip_keys: bool = False) -> None:
    """What an attacker without the key can do: recompute every seal with plain SHA-256, as before migration 0049."""
    for kind, (model, _stamp, columns) in audit.CHAINED.items():
        prev, last_id = audit.GENESIS, 0
        if strip_keys:
            s.execute(update(model).values(mac=None))
        for seal in s.scalars(select(AuditSeal).where(AuditSeal.kind == kind).order_by(AuditSeal.seq)).all():
            rows = list(s.scalars(select(model).where(model.id > last_id, model.id <= seal.last_id).order_by(model.id)))
            digests = [audit.row_digest(row, columns) for row in rows]
            content = hashlib.sha256("".join(digests).encode()).hexdigest()
            chain = hashlib.sha256(f"{prev}{content}".encode()).hexdigest()
            s.execute(update(AuditSeal).where(AuditSeal.id == seal.id).values(
                content_hash=content, prev_hash=prev, chain_hash=chain, key=None if strip_keys else seal.key,
                row_digests=[[row.id, d] for row, d in zip(rows, digests)]))
            prev, last_id = chain, seal.last_id


@pytest.fixture()
def sm_crypto(monkeypatch):
    monkeypatch.setenv("CIVICRULES_CRYPTO", "sm")
    macs.reload()
    yield
    monkeypatch.delenv("CIVICRULES_CRYPTO")
    macs.reload()


def test_every_chained_row_is_signed_in_its_insert(factory, drain, session, settings):
    firing = fired(factory, drain, session)
    ring = keyring.ring(settings.instance, keyring.AUDIT)
    algorithm, key_id, digest = firing.mac.split(":")
    assert (algorithm, key_id) == ("hmac-sha256", ring[-1].id) and len(digest) == 64
    values = {name: getattr(firing, name) for name in macs.CONTENT["firings"]}
    assert digest == hmac.new(ring[-1].secret, macs.message("firings", values), "sha256").hexdigest()
    assert (settings.instance / "keys" / "audit.json").stat().st_mode & 0o777 == 0o600
    task_id = session.scalar(select(Firing.task_id).where(Firing.event_id == firing.event_id,
                                                          Firing.task_id.is_not(None)))
    transitions = session.execute(text("SELECT mac FROM task_transitions WHERE task_id = :t"),
                                  {"t": task_id}).scalars().all()
    assert transitions and all(mac.startswith(f"hmac-sha256:{key_id}:") for mac in transitions)


def test_a_superuser_without_the_key_rewrites_a_firing_and_the_seals_and_verify_names_the_row(
        env, factory, drain, session):
    from app.cli import main

    firing = fired(factory, drain, session)
    seal_now(factory)
    with superuser(factory) as s:
        s.execute(update(Firing).where(Firing.id == firing.id).values(rule_key="forged", points=99))
        rebuild_like_the_unkeyed_chain(s)
    result = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert result.exit_code == 1
    assert f"firings: row {firing.id}: content changed" in result.output
    assert f"firings：第 {firing.id} 行：内容被改动" in result.output
    assert "chain intact" not in result.output


def test_a_row_edited_before_it_was_sealed_is_caught_by_its_mac(factory, drain, session):
    firing = fired(factory, drain, session)
    with superuser(factory) as s:  # within the 60 s before sealing: the seal will cover the edited row
        s.execute(update(Firing).where(Firing.id == firing.id).values(points=firing.points + 5))
    with factory() as s:
        verdict = audit.verify(s)
    assert not verdict.intact and verdict.broken.startswith(f"firings: row {firing.id}:")
    seal_now(factory)
    with factory() as s:
        assert f"row {firing.id}:" in audit.verify(s).broken


@pytest.mark.parametrize("sealed", [False, True])
def test_a_mac_removed_after_keying_is_named(factory, drain, session, sealed):
    fired(factory, drain, session)
    firing = fired(factory, drain, session)
    if sealed:
        seal_now(factory)
    with superuser(factory) as s:
        s.execute(update(Firing).where(Firing.id == firing.id).values(mac=None, rule_key="forged"))
    with factory() as s:
        verdict = audit.verify(s)
    assert not verdict.intact and f"row {firing.id}: no MAC" in verdict.broken


def test_an_sm3_keyed_chain_verifies_and_names_a_tampered_row(sm_crypto, env, factory, drain, session):
    from app.cli import main

    firing = fired(factory, drain, session)
    assert firing.mac.startswith("hmac-sm3:")
    seal_now(factory)
    with factory() as s:
        last = s.scalar(select(AuditSeal).where(AuditSeal.kind == "firings").order_by(AuditSeal.seq.desc()).limit(1))
        assert last.key.startswith("hmac-sm3:")
    intact = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert intact.exit_code == 0 and "chain intact" in intact.output
    with superuser(factory) as s:
        s.execute(update(Firing).where(Firing.id == firing.id).values(list_item="forged"))
        rebuild_like_the_unkeyed_chain(s)
    broken = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert broken.exit_code == 1 and f"firings: row {firing.id}: content changed" in broken.output


def test_hmac_sm3_is_the_standard_construction_over_sm3():
    assert macs.GmsslSm3(b"abc").hexdigest() == (  # GB/T 32905-2016, example 1
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
    key, data = b"k" * 32, b"firings\n{}"
    assert macs.Signer("hmac-sm3", keyring.Key("x", key)).mac(data) == hmac.new(key, data, macs.GmsslSm3).hexdigest()


def test_rows_and_seals_of_a_rotated_out_key_keep_verifying(env, factory, drain, session, settings):
    from app.cli import main

    before = fired(factory, drain, session)
    seal_now(factory)
    rotated = CliRunner().invoke(main, ["audit", "rotate-key"], env=env)
    assert rotated.exit_code == 0, rotated.output
    new_key = keyring.current(settings.instance, keyring.AUDIT)
    assert new_key.id in rotated.output and not before.mac.split(":")[1] == new_key.id
    after = fired(factory, drain, session)
    assert after.mac.split(":")[1] == new_key.id
    seal_now(factory)
    with factory() as s:
        keys = {seal.key for seal in s.scalars(select(AuditSeal).where(AuditSeal.kind == "firings"))}
    assert f"hmac-sha256:{new_key.id}" in keys and len(keys) >= 2
    result = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert result.exit_code == 0 and "chain intact" in result.output


def test_verify_against_exported_heads_catches_a_chain_rebuilt_from_scratch(env, factory, drain, session, tmp_path):
    from app.cli import main

    fired(factory, drain, session)
    seal_now(factory)
    heads = tmp_path / "heads.jsonl"
    exported = CliRunner().invoke(main, ["audit", "export-head", "--to", str(heads)], env=env)
    assert exported.exit_code == 0 and "firings: seal" in exported.output
    line = json.loads(heads.read_text().splitlines()[-1])
    assert line["heads"]["firings"]["key"].startswith("hmac-sha256:")
    matched = CliRunner().invoke(main, ["audit", "verify", "--against", str(heads)], env=env)
    assert matched.exit_code == 0 and "exported head(s) found unchanged" in matched.output
    with superuser(factory) as s:  # every MAC and key stripped: the database now looks as if never keyed
        rebuild_like_the_unkeyed_chain(s, strip_keys=True)
    plain = CliRunner().invoke(main, ["audit", "verify"], env=env)  # the keying watermark, kept beside the key
    assert plain.exit_code == 1 and "no MAC although written after keying began" in plain.output
    settings = load_settings()
    kept = keyring.notes(settings.instance, keyring.AUDIT)["unkeyed_up_to"]
    keyring.note(settings.instance, keyring.AUDIT, "unkeyed_up_to", None)  # the watermark lost as well
    try:
        caught = CliRunner().invoke(main, ["audit", "verify", "--against", str(heads)], env=env)
    finally:
        keyring.note(settings.instance, keyring.AUDIT, "unkeyed_up_to", kept)
    assert caught.exit_code == 1
    assert "seal" in caught.output and "was rewritten since it was exported" in caught.output
    assert "在导出后被改写" in caught.output


def test_each_sealing_round_appends_the_new_head_to_the_head_file(factory, drain, session, tmp_path):
    from engine.audit import heads

    fired(factory, drain, session)
    path = tmp_path / "shipped" / "heads.jsonl"
    with factory() as s:
        assert heads.seal_and_export(s, path, now=clock.now() + timedelta(minutes=5)) >= 1
        assert heads.seal_and_export(s, path, now=clock.now() + timedelta(minutes=5)) == 0  # nothing new: no line
        last = s.scalar(select(AuditSeal).where(AuditSeal.kind == "firings").order_by(AuditSeal.seq.desc()).limit(1))
    [line] = [json.loads(text) for text in path.read_text().splitlines()]
    assert line["heads"]["firings"] == {"seq": last.seq, "seal_id": last.id, "last_id": last.last_id,
                                        "chain_hash": last.chain_hash, "key": last.key,
                                        "sealed_at": last.sealed_at.isoformat()}


def test_verify_against_exported_heads_catches_seals_deleted_since(env, factory, drain, session, tmp_path):
    from app.cli import main
    from engine.audit import heads

    fired(factory, drain, session)
    path = tmp_path / "heads.jsonl"
    with factory() as s:
        heads.seal_and_export(s, path, now=clock.now() + timedelta(minutes=5))
        newest = s.scalar(select(AuditSeal).where(AuditSeal.kind == "firings").order_by(AuditSeal.seq.desc()).limit(1))
    with superuser(factory) as s:  # the newest seal dropped: what is left is a shorter chain, valid in itself
        s.execute(delete(AuditSeal).where(AuditSeal.id == newest.id))
    caught = CliRunner().invoke(main, ["audit", "verify", "--against", str(path)], env=env)
    assert caught.exit_code == 1
    assert f"firings seal {newest.seq} is no longer in the database" in caught.output


@pytest.mark.parametrize("column", ["phase", "unit_id", "category_id", "grid_id"])
def test_the_columns_the_history_filters_by_are_covered_by_the_mac(factory, drain, session, column):
    """The firing history filters and exports by unit, category and grid, and `phase` tells intake from filing:
    editing any of them is named like any other tampering."""
    firing = fired(factory, drain, session)
    forged = {"phase": "forged"}.get(column)
    with superuser(factory) as s:
        s.execute(update(Firing).where(Firing.id == firing.id).values(
            {column: forged if forged is not None else (getattr(firing, column) or 0) + 1}))
    with factory() as s:
        assert audit.verify(s).broken.startswith(f"firings: row {firing.id}:")
