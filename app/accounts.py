"""`civicrules user`: accounts over their life (create, unlock, deactivate, reactivate, set-role, reset-password);
every change goes through engine.accounts, so the change log records it as a CLI change."""
from __future__ import annotations

import getpass
import sys
from typing import Callable

import click
from sqlalchemy.orm import Session

from engine.accounts.lockout import unlock
from engine.accounts.users import (ROLES, create_user, deactivate, find_user, reactivate, reset_password,
                                   set_role)
from engine.audit.security_log import Actor, record
from engine.core.config import load_settings
from engine.core.db import session_factory
from engine.core.models import User
from rules.problems import InputError


@click.group()
def user() -> None:
    """Accounts."""


@user.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(list(ROLES)))
@click.option("--unit", "unit_code", default=None, help="unit code (required for field_unit)")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def user_create(name: str, role: str, unit_code: str | None, password: str) -> None:
    """Create a user whose password (checked against the rules) is usable at once; only reset-password forces a change."""
    with session_factory(load_settings().database_url)() as session:
        try:
            create_user(session, name, role, password, unit_code)
        except InputError as err:
            for p in err.problems:
                click.echo(f"error: {p.where}: {p.en}", err=True)
            sys.exit(2)
        session.commit()
    click.echo(f"user {name} created with role {role}")


@user.command("unlock")
@click.argument("name")
def user_unlock(name: str) -> None:
    """End a sign-in wait (set after repeated failed logins) at once and forget the counted failures."""
    with session_factory(load_settings().database_url)() as session:
        if not unlock(session, name):
            click.echo(f"error: no user {name!r}", err=True)
            sys.exit(2)
        session.commit()
    click.echo(f"user {name} unlocked")


def _account_change(name: str, change: Callable[[Session, User], str]) -> None:
    """Find the account, apply one lifecycle change, write it to the security audit log as the operating-system
    user's, commit, say what happened; bad input exits 2."""
    with session_factory(load_settings().database_url)() as session:
        try:
            said = change(session, find_user(session, name))
        except InputError as err:
            for p in err.problems:
                click.echo(f"error: {p.where}: {p.en}", err=True)
            sys.exit(2)
        record(session, Actor(None, "cli", f"cli:{getpass.getuser()}"), "account", said.split("\n")[0],
               subject=f"user {name}")
        session.commit()
    click.echo(said)


@user.command("deactivate")
@click.argument("name")
def user_deactivate(name: str) -> None:
    """Stop an account at once: its sessions end and its API tokens are revoked."""
    _account_change(name, lambda session, account: f"已停用 {name}，会话已结束，令牌已吊销 / user {name} deactivated; sessions ended, tokens revoked"
                    if deactivate(session, account) else f"{name} 本已停用 / user {name} was already inactive")


@user.command("reactivate")
@click.argument("name")
def user_reactivate(name: str) -> None:
    """Let a deactivated account sign in again (its old tokens stay revoked)."""
    _account_change(name, lambda session, account: f"已重新启用 {name} / user {name} reactivated"
                    if reactivate(session, account) else f"{name} 本已启用 / user {name} was already active")


@user.command("set-role")
@click.argument("name")
@click.argument("role", type=click.Choice(list(ROLES)))
@click.option("--unit", "unit_code", default=None, help="unit code (required for field_unit)")
def user_set_role(name: str, role: str, unit_code: str | None) -> None:
    """Change an account's role and unit; its sessions end so the new rights apply at the next sign-in."""
    def change(session: Session, account: User) -> str:
        set_role(session, account, role, unit_code)
        unit = f"（单位 {unit_code}）" if unit_code else ""
        return f"{name} 的角色现为 {role}{unit} / user {name} is now {role}" + (f" of unit {unit_code}" if unit_code else "")
    _account_change(name, change)


@user.command("reset-password")
@click.argument("name")
@click.option("--password", default=None, help="the temporary password; a random one is printed if not given")
def user_reset_password(name: str, password: str | None) -> None:
    """Set a temporary password that must be changed at the next sign-in; sessions end, tokens are revoked."""
    def change(session: Session, account: User) -> str:
        chosen = reset_password(session, account, password)
        shown = "" if password else f"\n临时密码 / temporary password: {chosen}"
        return f"已重置 {name} 的密码，下次登录须修改 / password of {name} reset; it must be changed at the next sign-in{shown}"
    _account_change(name, change)
