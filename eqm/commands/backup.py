"""`eqm backup FILE`, `eqm restore FILE`, `eqm publish`.

All three take the writer's lock, waiting up to ``eqm --wait`` seconds for an import or another
writer (then exit 2). ``backup`` records the copy's sha256 in ``FILE.sha256``; ``restore``
checks it, and the whole backup, on a private copy before it touches the warehouse (exit 2 on
any doubt, the warehouse untouched), then swaps the verified copy in atomically.
"""

from __future__ import annotations

from pathlib import Path

import click

from analytics import snapshot
from eqm.warehouse import republish, say, wait_seconds


def register(cli: click.Group) -> None:
    @cli.command("backup")
    @click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
    @click.pass_context
    def backup_cmd(ctx: click.Context, dest: Path) -> None:
        """备份数据库到文件 / write a consistent backup of the warehouse to DEST (and its
        sha256 to DEST.sha256, which `eqm restore` checks)."""
        republish(ctx)
        info = snapshot.backup(ctx.obj["db"], dest, wait=wait_seconds(ctx), say=say)
        click.echo(
            f"已备份 / backed up: {info['path']} ({info['bytes']} bytes, sha256 {info['sha256']}"
            f", recorded in {info['checksum_file']})"
        )

    @cli.command("restore")
    @click.argument("src", type=click.Path(dir_okay=False, exists=True, path_type=Path))
    @click.pass_context
    def restore_cmd(ctx: click.Context, src: Path) -> None:
        """从备份恢复数据库 / replace the warehouse with the backup SRC, after checking all of
        it (the old one is kept as NAME.before-restore.duckdb)."""
        say("检查备份 / checking the backup …")
        info = snapshot.restore(src, ctx.obj["db"], wait=wait_seconds(ctx), say=say)
        if info["checksum"] == "none":
            say(f"  (没有 {snapshot.checksum_path(src).name},未核对 sha256 / no "
                f"{snapshot.checksum_path(src).name} beside the backup: its sha256 was not "
                f"checked; the rest was)")
        kept = (f"原数据库保留为 / the previous warehouse is kept as {info['previous']}"
                if info["previous"] else "(此前没有数据库 / there was no warehouse before)")
        click.echo(f"已恢复 / restored {info['path']} (schema v{info['schema_version']}); {kept}")

    @cli.command("publish")
    @click.pass_context
    def publish_cmd(ctx: click.Context) -> None:
        """发布只读快照供仪表盘读取 / publish the read-only snapshot the dashboard reads."""
        path = snapshot.publish(ctx.obj["db"], wait=wait_seconds(ctx), say=say)
        click.echo(f"已发布 / published {path}")
