"""`civicrules demo`: the demo campaign, loaded once (`load`), and a generated history of it (`history`)
that runs months of reports through the real pipeline with the clock moved."""
from __future__ import annotations

import click

from engine.accounts.users import ROLES
from engine.assessment import history as demo_history
from engine.authoring import demo as demo_pack
from engine.authoring.campaigns import campaign_for
from engine.core import clock
from engine.core.config import load_settings
from engine.core.db import session_factory
from engine.readiness import mock, plan
from rules.packs import load_pack


@click.group()
def demo() -> None:
    """The demo campaign."""


@demo.command("load")
@click.option("--quiet", is_flag=True, help="one line; `civicrules serve` prints the logins and tokens once it is up")
def demo_load(quiet: bool) -> None:
    """Load the demo campaign once; print the logins and intake tokens (kept in the instance folder)."""
    settings = load_settings()
    credentials = settings.instance / "demo_credentials.txt"
    with session_factory(settings.database_url)() as session:
        loaded = demo_pack.load(session)
        plan.load_demo(session)  # the task breakdown table's demo rows (创建任务分解表)
        session.commit()
        if loaded is not None:
            mock.demo_rounds(session, settings.evidence.dir)  # two 模拟测评 rounds whose rate rises
            session.commit()
    if loaded is not None:
        credentials.write_text(credentials_text(loaded), encoding="utf-8")
        credentials.chmod(0o600)
    said = f"demo campaign loaded: {loaded['campaign']}" if loaded is not None else "demo campaign already loaded"
    click.echo(f"{said}; logins and intake tokens in {credentials}" if credentials.exists() else said)
    if credentials.exists() and not quiet:
        click.echo(credentials.read_text(encoding="utf-8"), nl=False)


def credentials_text(loaded: dict) -> str:
    """The demo's logins (one password for all) and intake tokens, as `serve` ends its output with them."""
    lines = [f"Demo logins (password for each: {loaded['password']}):"]
    lines += [f"  {user:<17} {ROLES.get(role, (role,))[0]} ({role})" + (f" {unit}" if unit else "")
              + (f" {person}" if person else "") for user, role, unit, person in loaded["logins"]]
    lines.append("Intake tokens (Authorization: Bearer <token>, POST /api/v1/events):")
    lines += [f"  {name:<17} {token}" for name, token in loaded["tokens"].items()]
    return "\n".join(lines) + "\n"


@demo.command("history")
@click.option("--months", default=12, show_default=True, type=click.IntRange(1, 36))
@click.option("--per-month", default=40, show_default=True, type=click.IntRange(1, 1000), help="reports a month")
@click.option("--seed", default=1, show_default=True, type=int, help="the same seed gives the same history")
@click.option("--end", default=None, help="the last month, YYYY-MM (default: the last finished month)")
@click.option("--campaign", "code", default=None, help="campaign code (default: the demo campaign)")
def demo_history_run(months: int, per_month: int, seed: int, end: str | None, code: str | None) -> None:
    """Generate months of demo cases through the real pipeline with the clock moved, then each month's bottom
    three and sanctions (with records); months generated before are skipped, never generated twice."""
    settings = load_settings()
    factory = session_factory(settings.database_url)
    code = code or load_pack("demo")["campaign"]["code"]
    with factory() as session:
        campaign = campaign_for(session, code)
        if campaign is None:
            raise click.ClickException(f"no campaign {code!r}: run `civicrules demo load` first")
        end = end or demo_history.finished_month(clock.now(), campaign.timezone)
    try:
        demo_history.generate(factory, code, end, settings.pipeline, months, per_month, seed, _print_month)
    except demo_history.HistoryError as err:
        raise click.ClickException(str(err)) from None


def _print_month(report: demo_history.MonthReport) -> None:
    for line in report.lines():
        click.echo(line)


