"""The `civicrules` command: database, demo, accounts, tokens, and the processes of a deployment."""
from __future__ import annotations

import getpass
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import click
from sqlalchemy import select
from sqlalchemy.engine import make_url

from app.accounts import user
from app.audit_cli import audit
from app.demo import demo
from app.scenarios import scenarios
from app.secret_keys import secrets
from app.serve import Supervisor
from engine.accounts import tokens
from engine.space.datum import DATUMS
from engine.accounts.users import issue_intake_token
from engine.assessment import sanctions as sanction_lists
from engine.assessment.indicators import PeriodError
from engine.intake import retention
from engine.audit.changelog import reset_actor, set_actor
from engine.authoring.campaigns import campaign_for, campaign_zone
from engine.authoring.catalogue import import_catalogue
from engine.authoring import scenarios as scenario_runs
from engine.authoring.drafts import publish, rollback
from engine.authoring.scenario_gate import ScenariosFailed
from engine.core import clock
from engine.core.config import load_settings
from engine.core.db import session_factory
from engine.core.models import Campaign, Unit
from engine.core.tables import read_table
from engine.readiness.official import import_deductions
from engine.core.logs import configure_logging
from engine.people.register import import_staff
from engine.people.roster import on_duty
from engine.people.staff import position_name
from engine.space.geo_import import TARGETS, import_file
from engine.space.permit_import import import_permits
from engine.core.worktime import missing_years_ahead, seed_holidays
from migrations import upgrade
from workers.queues import GROUPS, parse_groups
from rules.problems import InputError
from workers import escalation as escalation_poller
from workers import sweep as sweeper
from workers import worker as engine_worker

@click.group()
def main() -> None:
    """CivicRules (创城规则引擎) command line."""
    configure_logging()  # CIVICRULES_LOG_FORMAT=json for JSON lines, CIVICRULES_LOG_LEVEL=WARNING for fewer
    who = getpass.getuser()
    token = set_actor("cli", lambda: (None, who))  # the change log records CLI edits as such
    click.get_current_context().call_on_close(lambda: reset_actor(token))


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations."""


    settings = load_settings()
    upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}: {_safe_url(settings.database_url)}")
    with session_factory(settings.database_url)() as session:
        added = seed_holidays(session)
        session.commit()
        missing = missing_years_ahead(session)
    if added:
        click.echo(f"holiday calendar seeded from chinese-calendar for {added[0]}–{added[-1]}")
    if missing:
        click.echo(f"warning: no holiday data for {', '.join(map(str, missing))}: those years count Monday–Friday "
                   "until an administrator enters them (admin → Working calendar)")


main.add_command(user)
main.add_command(audit)


@main.command("retention")
def retention_command() -> None:
    """Apply the retention periods now: remove security audit entries older than CIVICRULES_SECURITY_AUDIT_DAYS
    and blank reporters' names and phones on cases ended more than CIVICRULES_REPORTER_DATA_DAYS ago."""
    settings = load_settings()
    with session_factory(settings.database_url)() as session:
        removed, blanked = retention.purge_due(session, settings.privacy)
    click.echo(f"security audit entries removed: {removed} (kept {settings.privacy.security_audit_days} days); "
               f"reports whose reporter was blanked: {blanked} (after {settings.privacy.reporter_data_days} days)")
main.add_command(demo)
main.add_command(scenarios)
main.add_command(secrets)


@main.group()
def token() -> None:
    """Intake tokens: create, list, revoke."""


@token.command("create")
@click.option("--source", required=True, help="name of the intake source, e.g. hotline-12345")
@click.option("--source-type", default="hotline", show_default=True,
              type=click.Choice(["hotline", "patrol", "camera", "inspection", "media", "leader", "citizen"]))
@click.option("--crs", default="wgs84", show_default=True, type=click.Choice(list(DATUMS)),
              help="datum of the source's points: gcj02 for Gaode/Tencent pickers and most phones, bd09 for Baidu")
def token_create(source: str, source_type: str, crs: str) -> None:
    """Create an intake token for one source and print it (only its digest is stored)."""
    with session_factory(load_settings().database_url)() as session:
        value = issue_intake_token(session, source, source_type, crs)
        session.commit()
    click.echo(value)


@token.command("list")
@click.option("--all", "include_all", is_flag=True, help="also user tokens and revoked tokens")
def token_list(include_all: bool) -> None:
    """List tokens by id and prefix (the tokens themselves are not stored)."""
    with session_factory(load_settings().database_url)() as session:
        rows = tokens.listing(session, kind=None if include_all else "intake", include_revoked=include_all)
        for t in rows:
            owner = t.source if t.kind == "intake" else (t.user.username if t.user else "-")
            state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}Z" if t.revoked_at else "active"
            click.echo(f"{t.id:>5}  {t.prefix:<10}  {t.kind:<6}  {owner:<20}  {t.crs or 'wgs84':<6}  "
                       f"{t.created_at:%Y-%m-%d}  {state}")


@token.command("revoke")
@click.argument("ident")
def token_revoke(ident: str) -> None:
    """Revoke a token given its id, its printed prefix or the token itself."""
    with session_factory(load_settings().database_url)() as session:
        found = tokens.find(session, ident)
        if len(found) != 1:
            click.echo(f"error: {len(found)} tokens match {ident!r}; give the id (see `civicrules token list`)",
                       err=True)
            sys.exit(2)
        changed = tokens.revoke(session, found[0])
        session.commit()
        click.echo(f"token {found[0].id} ({found[0].prefix}) {'revoked' if changed else 'was already revoked'}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--web-workers", default=2, show_default=True, type=int)
def serve(host: str, port: int, web_workers: int) -> None:
    """Run web, worker, sweeper (and an embedded Redis when REDIS_URL is unset) in the foreground."""
    sys.exit(Supervisor(load_settings(), host, port, web_workers).run())


@main.command()
@click.option("--burst", is_flag=True, help="exit when the queues are empty")
@click.option("--queues", "queue_groups", default=",".join(GROUPS), show_default=True,
              help="comma-separated queue groups this worker serves")
@click.option("--scheduler/--no-scheduler", default=True, show_default=True,
              help="also run the RQ scheduler (due retries of every queue); one worker of a deployment is enough")
@click.option("--niceness", type=click.IntRange(0, 19), default=0, show_default=True,
              help="lower this worker's CPU priority (os.nice): under load, intake and evaluation go first")
def worker(burst: bool, queue_groups: str, scheduler: bool, niceness: int) -> None:
    """Run one RQ worker on some queue groups (default all: evaluate, delivery, on_demand)."""
    try:
        groups = parse_groups(queue_groups)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--queues") from err
    if niceness:
        os.nice(niceness)
    engine_worker.run(burst=burst, with_scheduler=scheduler, groups=tuple(groups))


@main.command()
@click.option("--every", default=5.0, show_default=True, help="seconds between sweeps")
@click.option("--once", is_flag=True)
def sweep(every: float, once: bool) -> None:
    """Queue whatever SQL says is pending (events, outbox)."""
    if once:
        click.echo(sweeper.sweep(load_settings()))
    else:
        sweeper.run_forever(every)


@main.group()
def rules() -> None:
    """A campaign's ruleset versions."""


@rules.command("publish")
@click.option("--campaign", "code", required=True, help="campaign code, e.g. chuangcheng-2026")
@click.option("--comment", default="", help="why this version (kept with it)")
def rules_publish(code: str, comment: str) -> None:
    """Validate, compile and publish the campaign's draft; workers use it from their next batch."""
    with session_factory(load_settings().database_url)() as session:
        campaign = campaign_for(session, code)
        if campaign is None:
            raise click.ClickException(f"no campaign {code!r}")
        try:
            version = publish(session, campaign, comment=comment)
        except ScenariosFailed as err:
            for problem in err.problems:
                click.echo(f"{problem.where}: {problem.en}\n    {problem.zh}", err=True)
            raise click.ClickException("nothing published: scenarios fail on the draft (未发布：草稿未通过场景检查); "
                                       "an administrator may override on the versions page with a second "
                                       "administrator's confirmation") from err
        except InputError as err:
            for problem in err.problems:
                click.echo(f"{problem.where}: {problem.en}", err=True)
            raise click.ClickException("nothing published: the draft does not validate") from err
        session.commit()
        click.echo(f"published version {version.number} ({version.content_hash[:12]})")


@rules.command("rollback")
@click.option("--campaign", "code", required=True, help="campaign code, e.g. chuangcheng-2026")
@click.option("--to", "number", required=True, type=int, help="the version number to republish")
@click.option("--comment", required=True, help="why (kept with the new version)")
def rules_rollback(code: str, number: int, comment: str) -> None:
    """Republish an older version's frozen content as the next version; the draft is left as it is."""
    with session_factory(load_settings().database_url)() as session:
        campaign = campaign_for(session, code)
        if campaign is None:
            raise click.ClickException(f"no campaign {code!r}")
        try:
            version = rollback(session, campaign, number, comment=comment)
        except InputError as err:
            raise click.ClickException(str(err)) from err
        session.commit()
        click.echo(f"published version {version.number} ({version.content_hash[:12]}): {version.comment}")
        failing = [o for o in scenario_runs.run(session, campaign, version.number) if not o.passed]
        for outcome in failing:  # a rollback is never blocked, but says what its version gets wrong
            click.echo(f"scenario fails on version {version.number} (场景未通过): {outcome.title}", err=True)


@main.group()
def staff() -> None:
    """The staff register and the on-call roster."""


@staff.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def staff_import(path: Path) -> None:
    """Import a register (CSV or XLSX: 工号, 姓名, 职务, 单位, 电话[, 账号]); bad rows are listed, the rest stored."""
    with session_factory(load_settings().database_url)() as session:
        try:
            report = import_staff(session, read_table(path))
        except InputError as err:
            raise click.ClickException("; ".join(f"{p.where}: {p.en}" for p in err.problems)) from err
        session.commit()
    for problem in report.problems:
        click.echo(f"row {problem.row}: {problem.where}: {problem.en}", err=True)
    click.echo(f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
               f"{len(report.bad_rows)} rows refused")


@staff.command("on-duty")
@click.option("--unit", "unit_code", required=True, help="unit code, e.g. ZD-DC")
@click.option("--at", "at_text", default=None, help="an instant with its offset, e.g. 2026-10-01T02:00+08:00 (default now)")
def staff_on_duty(unit_code: str, at_text: str | None) -> None:
    """Who is on duty for a unit at an instant (the roster, 值班表)."""
    with session_factory(load_settings().database_url)() as session:
        unit = session.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            raise click.ClickException(f"no unit {unit_code!r}")
        try:
            at = datetime.fromisoformat(at_text) if at_text else clock.now()
        except ValueError as err:
            raise click.ClickException(f"--at: not an ISO 8601 instant: {at_text!r}") from err
        if at.tzinfo is None:
            raise click.ClickException("--at: give the offset, e.g. +08:00")
        zone = campaign_zone(campaign_for(session, None))
        shifts = on_duty(session, unit.id, at)
        for shift in shifts:
            click.echo(f"{shift.person.name} {position_name(shift.person.position)} {shift.person.phone} "
                       f"{shift.kind} {shift.starts_at.astimezone(zone):%Y-%m-%d %H:%M} – "
                       f"{shift.ends_at.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})")
    if not shifts:
        raise click.ClickException(f"nobody is on duty for {unit_code} at {at.astimezone(zone):%Y-%m-%d %H:%M} "
                                   f"({zone.key})")


def _all_or_none(session, run: Callable[[], Any]) -> Any:
    """Run an import that stores every row or none; commit it, or name every refused row and store nothing."""
    try:
        report = run()
    except InputError as err:
        raise click.ClickException("; ".join(f"{p.where}: {p.en} / {p.zh}" for p in err.problems)) from err
    if report.problems:
        for p in report.problems:
            click.echo(f"row {p.row} / 第 {p.row} 行: {p.where}: {p.en} / {p.zh}", err=True)
        session.rollback()
        raise click.ClickException(f"nothing stored: {len(report.bad_rows)} rows refused / "
                                   f"未保存任何数据：{len(report.bad_rows)} 行被拒绝")
    session.commit()
    return report


@main.group()
def permits() -> None:
    """The permits register (审批/备案)."""


@permits.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def permits_import(path: Path) -> None:
    """Import permits (CSV or XLSX, the admin's template; times local to the campaign): all rows, or none."""
    with session_factory(load_settings().database_url)() as session:
        report = _all_or_none(session, lambda: import_permits(session, read_table(path),
                                                              campaign_zone(campaign_for(session, None))))
    click.echo(f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged")


@main.group()
def evaluation() -> None:
    """Mock and official evaluation (模拟测评, 正式测评扣分)."""


@evaluation.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", default="", help="the round's name (default: 正式测评 and the first visit date)")
def evaluation_import(path: Path, name: str) -> None:
    """Import the official evaluation's deductions (CSV or XLSX: 点位编号, 测评项目编号, 扣分, 说明, 测评日期): every
    row, each opening a case for the point's unit, or none."""
    with session_factory(load_settings().database_url)() as session:
        campaign = campaign_for(session, None)
        if campaign is None:
            raise click.ClickException("no active campaign / 没有进行中的专项行动")
        report = _all_or_none(session, lambda: import_deductions(session, campaign, read_table(path), name=name))
    click.echo(f"{report.created} deductions imported, each filed as a case for its point's unit")


@main.group()
def geo() -> None:
    """A city's geography: grids, zones and frontage holders (门前三包)."""


@geo.command("import")
@click.argument("target", type=click.Choice(tuple(TARGETS)))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--crs", default=None, help="wgs84, gcj02, bd09 or a code such as EPSG:4549 (default: a Shapefile's "
              ".prj; GeoJSON and tables wgs84)")
@click.option("--campaign", "campaign_code", default=None,
              help="zones: the campaign they apply to (default: every campaign)")
@click.option("--publish", is_flag=True, help="zones: publish them at once (default: drafts)")
@click.option("--dry-run", is_flag=True, help="check every feature and store nothing")
def geo_import(target: str, path: Path, crs: str | None, campaign_code: str | None, publish: bool,
               dry_run: bool) -> None:
    """Import grids, zones or holders from GeoJSON, a Shapefile (.shp or .zip), or for holders CSV/XLSX: every
    feature, or none when any is bad (each named by its feature or row number and field)."""
    with session_factory(load_settings().database_url)() as session:
        campaign_id = None
        if campaign_code:
            campaign_id = session.scalar(select(Campaign.id).where(Campaign.code == campaign_code))
            if campaign_id is None:
                raise click.ClickException(f"--campaign: no campaign {campaign_code!r}")
        try:
            report = import_file(session, target, path, crs, campaign_id, publish)
        except InputError as err:
            raise click.ClickException("; ".join(f"{p.where}: {p.en} / {p.zh}" for p in err.problems)) from err
        if report.problems:
            for p in report.problems:
                where = f"{report.numbered} {p.row}: " if p.row is not None else ""
                click.echo(f"{where}{p.where}: {p.en} / {p.zh}", err=True)
            raise click.ClickException(f"nothing stored: {len(report.bad)} {report.numbered}s refused")
        if dry_run:
            session.rollback()
        else:
            session.commit()
    click.echo(f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged"
               + (" (dry run: nothing stored)" if dry_run else ""))


@main.group()
def catalogue() -> None:
    """The catalogue of matters and components (问题类别目录)."""


@catalogue.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def catalogue_import(path: Path) -> None:
    """Import a city's 立案/处置/结案 standard (XLSX or CSV: 小类代码, 小类名称, 立案条件, 处置时限[, 大类代码, 大类名称,
    处置单位, 结案条件]); bad rows are listed, the rest stored, existing categories updated, never dropped."""
    with session_factory(load_settings().database_url)() as session:
        try:
            report = import_catalogue(session, path)
        except InputError as err:
            raise click.ClickException("; ".join(f"{p.where}: {p.en}" for p in err.problems)) from err
        session.commit()
    for bad in report.problems:
        click.echo(f"{bad.sheet} row {bad.row}: {bad.problem.where}: {bad.problem.en}", err=True)
    click.echo(f"categories: {report.categories_created} created, {report.categories_updated} updated, "
               f"{report.categories_unchanged} unchanged; filing conditions: {report.conditions_created} created, "
               f"{report.conditions_updated} updated, {report.conditions_unchanged} unchanged; "
               f"{len(report.bad_rows)} rows refused")


@main.command()
@click.option("--every", default=0.5, show_default=True, help="seconds between polls")
def escalate(every: float) -> None:
    """Run due timeline steps (remind, order handling, escalate, list publicly) from SQL."""
    escalation_poller.run_forever(every)



@main.group()
def sanctions() -> None:
    """Bottom-N sanctions lists (docs/ASSESSMENT.md)."""


@sanctions.command("produce")
@click.argument("period")
@click.option("--campaign", "code", default=None,
              help="campaign code (default: the oldest active campaign, else the newest campaign)")
def sanctions_produce(period: str, code: str | None) -> None:
    """Keep the sanctions list of a finished month (2026-11) or quarter (2026-Q4), once; print who is due."""
    with session_factory(load_settings().database_url)() as session:
        campaign = campaign_for(session, code)
        if campaign is None:
            raise click.ClickException(f"no such campaign: {code or '(no campaign yet)'}")
        try:
            run = sanction_lists.produce(session, campaign, period, clock.now())
        except (PeriodError, ValueError) as err:
            raise click.ClickException(f"{period}: not a finished month or quarter ({err})") from None
        session.commit()
        run = run or sanction_lists.kept(session, campaign, period)
        click.echo(f"{campaign.code} {period}: {len(run.entries)} unit(s) due "
                   f"(produced {run.produced_at:%Y-%m-%d %H:%M} UTC)")
        for entry in run.entries:
            ranks = "; ".join(f"{r['period']} {r['rank']}/{r['size']}" for r in entry.ranks)
            click.echo(f"  {entry.rule.code:<34} {entry.sanction:<19} {entry.unit.code:<10} {ranks}")

def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    main()
