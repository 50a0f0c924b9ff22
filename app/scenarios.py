"""`civicrules scenarios`: a campaign's rule scenarios from the command line — run them (a bureau's CI), and
import or export them as XLSX, one row per scenario."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from engine.authoring import scenario_files
from engine.authoring import scenarios as scenario_runs
from engine.authoring.campaigns import campaign_for
from engine.core.config import load_settings
from engine.core.db import session_factory
from engine.core.models import Campaign
from rules.problems import InputError

@click.group()
def scenarios() -> None:
    """A campaign's rule scenarios: run them, import and export them as XLSX."""


def _campaign_or_fail(session, code: str) -> Campaign:
    campaign = campaign_for(session, code)
    if campaign is None:
        raise click.ClickException(f"no campaign {code!r} (无此专项行动)")
    return campaign


@scenarios.command("run")
@click.option("--campaign", "code", required=True, help="campaign code, e.g. chuangcheng-2026")
@click.option("--ruleset", default="draft", help="draft, active or a published version number")
@click.option("--format", "shape", type=click.Choice(["table", "json"]), default="table")
@click.option("--lang", default="zh", type=click.Choice(["zh", "en"]), help="language of the differences")
def scenarios_run(code: str, ruleset: str, shape: str, lang: str) -> None:
    """Check the campaign's scenarios against a ruleset; exits 1 when any fails (for a bureau's CI)."""
    with session_factory(load_settings().database_url)() as session:
        campaign = _campaign_or_fail(session, code)
        try:
            outcomes = scenario_runs.run(session, campaign, int(ruleset) if ruleset.isdigit() else ruleset)
        except InputError as err:
            raise click.ClickException("; ".join(f"{p.where}: {p.en} / {p.zh}" for p in err.problems)) from err
        if shape == "json":
            for outcome in outcomes:
                click.echo(json.dumps(outcome.as_dict(lang), ensure_ascii=False, default=str))
        else:
            for outcome in outcomes:
                click.echo(f"{'PASS 通过' if outcome.passed else 'FAIL 未通过'}  {outcome.title}")
                for difference in outcome.differences:
                    click.echo(f"    {difference.as_dict(lang)['message']}")
            passed = sum(o.passed for o in outcomes)
            click.echo(f"{passed}/{len(outcomes)} passed (通过)")
        if not all(o.passed for o in outcomes):
            sys.exit(1)


@scenarios.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--campaign", "code", required=True, help="campaign code, e.g. chuangcheng-2026")
def scenarios_import(path: Path, code: str) -> None:
    """Store every row of an XLSX of scenarios, or none (each fault named by row and column)."""
    with session_factory(load_settings().database_url)() as session:
        campaign = _campaign_or_fail(session, code)
        try:
            count = scenario_files.import_file(session, campaign, path)
        except InputError as err:
            for p in err.problems:
                at = f"row {p.row} (第 {p.row} 行), " if p.row else ""
                click.echo(f"{at}{p.where}: {p.en} / {p.zh}", err=True)
            raise click.ClickException("nothing imported (未导入任何场景)") from err
        session.commit()
        click.echo(f"imported {count} scenarios (已导入 {count} 个场景)")


@scenarios.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--campaign", "code", required=True, help="campaign code, e.g. chuangcheng-2026")
def scenarios_export(path: Path, code: str) -> None:
    """Write the campaign's scenarios to an XLSX file, one row per scenario."""
    with session_factory(load_settings().database_url)() as session:
        path.write_bytes(scenario_files.export(session, _campaign_or_fail(session, code)))
        click.echo(f"wrote {path}")

