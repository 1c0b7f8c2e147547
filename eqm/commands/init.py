"""`eqm init`: create or upgrade the warehouse schema."""

from __future__ import annotations

from pathlib import Path

import click

from analytics.reduce.derived import STORED, keep_derived_current
from analytics.warehouse import SCHEMA_VERSION
from eqm.warehouse import writer


def register(cli: click.Group) -> None:
    @cli.command("init")
    @click.pass_context
    def init(ctx: click.Context) -> None:
        """创建或升级数据库 / create or upgrade the warehouse schema."""
        path: Path = ctx.obj["db"]
        with writer(ctx, migrate=False) as wh:
            before = wh.schema_version()
            applied = wh.migrate()
            # derived tables missing (papers imported before they existed) or stale are
            # rebuilt now; the summaries follow at `eqm serve` or the next publish
            rebuilt = keep_derived_current(wh, only=STORED).refreshed.get("item_passes", [])
        if applied:
            # the version the file was at before the first migration applied (a file may record a
            # later migration while missing an earlier one: say what was actually missing)
            before = min(before, min(applied) - 1)
            click.echo(f"{path}: 数据库结构 v{before} → v{SCHEMA_VERSION} / schema upgraded "
                       f"(applied {', '.join(map(str, applied))})")
        else:
            click.echo(f"{path}: 已是最新 v{SCHEMA_VERSION} / schema already up to date")
        if rebuilt:
            click.echo(f"  已为 {len(rebuilt)} 份试卷生成题目汇总 / stored the item passes of "
                       f"{len(rebuilt)} paper(s)")
