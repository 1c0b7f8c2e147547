"""`eqm init`: create or upgrade the warehouse schema."""

from __future__ import annotations

from pathlib import Path

import click

from analytics.warehouse import SCHEMA_VERSION, Warehouse


def register(cli: click.Group) -> None:
    @cli.command("init")
    @click.pass_context
    def init(ctx: click.Context) -> None:
        """创建或升级数据库 / create or upgrade the warehouse schema."""
        path: Path = ctx.obj["db"]
        with Warehouse(path, migrate=False) as wh:
            before = wh.schema_version()
            applied = wh.migrate()
        if applied:
            click.echo(f"{path}: 数据库结构 v{before} → v{SCHEMA_VERSION} / schema upgraded "
                       f"(applied {', '.join(map(str, applied))})")
        else:
            click.echo(f"{path}: 已是最新 v{SCHEMA_VERSION} / schema already up to date")
