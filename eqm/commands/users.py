"""`eqm users add|list|reset|end-sessions|remove`: dashboard accounts (roles, hashed passwords).

Every change that ends a user's sessions (a new password, role or school, ``end-sessions``, a
removal) reaches a running dashboard at its next request: the command publishes the snapshot
the dashboard reads (:func:`analytics.snapshot.publish_if_served`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from analytics import snapshot
from analytics.users import ROLES, add_user, end_sessions, list_users, remove_user, reset_password
from analytics.warehouse import Warehouse
from eqm.output import emit, format_option, out_option
from eqm.warehouse import reader, writer


@click.group("users")
def users_group() -> None:
    """仪表盘账号 / dashboard users and roles."""


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(list(ROLES)), required=True,
              help="角色 / role: officer 教研员, principal 校长, committee 命题组, admin 管理员.")
@click.option("--school", default=None, help="校长所在学校(名称或代码)/ the principal's school.")
@click.option("--name", "display_name", default=None, help="显示名 / display name.")
@click.option("--password", default=None,
              help="密码(省略则交互输入)/ password (prompted when omitted).")
@click.option("--replace", is_flag=True, help="覆盖已有账号 / overwrite an existing user.")
@click.pass_context
def add(ctx: click.Context, username: str, role: str, school: str | None,
        display_name: str | None, password: str | None, replace: bool) -> None:
    """添加账号(--replace 覆盖时注销其会话)/ add a user (--replace ends their sessions)."""
    if password is None:
        password = click.prompt("密码 / password", hide_input=True, confirmation_prompt=True)
    with writer(ctx) as wh:
        user = add_user(wh, username, password, role, school=school,
                        display_name=display_name, replace=replace)
        snapshot.publish_if_served(wh)  # a running dashboard sees the change
    where = f" ({user.school_name})" if user.school_name else ""
    click.echo(f"已添加 / added: {user.username} [{ROLES[user.role][0]} {user.role}]{where}")


@users_group.command("list")
@format_option
@out_option
@click.pass_context
def list_(ctx: click.Context, fmt: str, out: Path | None) -> None:
    """列出账号(不含密码)/ list users (never their passwords)."""
    with reader(ctx) as wh:
        frame = list_users(wh)
    emit(frame, fmt, out, min_n=0, raw=True)


def _change(ctx: click.Context, change: Callable[[Warehouse], object], done: str) -> None:
    """Apply an account change in one write, publish it to a running dashboard, say ``done``."""
    with writer(ctx) as wh:
        change(wh)
        snapshot.publish_if_served(wh)  # a running dashboard sees the change
    click.echo(done)


@users_group.command("reset")
@click.argument("username")
@click.option("--password", default=None,
              help="新密码(省略则交互输入)/ the new password (prompted when omitted).")
@click.pass_context
def reset(ctx: click.Context, username: str, password: str | None) -> None:
    """重设密码并注销其所有会话 / set a new password and end every session of the user."""
    if password is None:
        password = click.prompt("新密码 / new password", hide_input=True,
                                confirmation_prompt=True)
    _change(ctx, lambda wh: reset_password(wh, username, password),
            f"已重设密码并注销会话 / password reset, sessions ended: {username}")


@users_group.command("end-sessions")
@click.argument("username")
@click.pass_context
def end_sessions_(ctx: click.Context, username: str) -> None:
    """注销该账号的所有会话(如 Cookie 被盗)/ end every session of the user (e.g. a stolen
    cookie)."""
    _change(ctx, lambda wh: end_sessions(wh, username),
            f"已注销所有会话 / every session ended: {username}")


@users_group.command("remove")
@click.argument("username")
@click.pass_context
def remove(ctx: click.Context, username: str) -> None:
    """删除账号(其会话随即失效)/ remove a user (their sessions end)."""
    _change(ctx, lambda wh: remove_user(wh, username),
            f"已删除 / removed: {username}")


def register(cli: click.Group) -> None:
    """Add ``eqm users`` to the top-level command group."""
    cli.add_command(users_group)
