"""`eqm backup FILE`, `eqm restore FILE`, `eqm publish`."""

from __future__ import annotations

from pathlib import Path

import click

from analytics import snapshot


def register(cli: click.Group) -> None:
    @cli.command("backup")
    @click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
    @click.pass_context
    def backup_cmd(ctx: click.Context, dest: Path) -> None:
        """备份数据库到文件 / write a consistent backup of the warehouse to DEST."""
        info = snapshot.backup(ctx.obj["db"], dest)
        click.echo(
            f"已备份 / backed up: {info['path']} ({info['bytes']} bytes, sha256 {info['sha256']})"
        )

    @cli.command("restore")
    @click.argument("src", type=click.Path(dir_okay=False, exists=True, path_type=Path))
    @click.pass_context
    def restore_cmd(ctx: click.Context, src: Path) -> None:
        """从备份恢复数据库 / replace the warehouse with the backup SRC (the old one is kept)."""
        info = snapshot.restore(src, ctx.obj["db"])
        if snapshot.snapshot_path(ctx.obj["db"]).exists():  # a dashboard reads it: republish
            snapshot.publish(ctx.obj["db"])
        click.echo(f"已恢复 / restored {info['path']} (schema v{info['schema_version']}); "
                   f"previous kept at {info['previous']}")

    @cli.command("publish")
    @click.pass_context
    def publish_cmd(ctx: click.Context) -> None:
        """发布只读快照供仪表盘读取 / publish the read-only snapshot the dashboard reads."""
        path = snapshot.publish(ctx.obj["db"])
        click.echo(f"已发布 / published {path}")
