"""`eqm backup FILE`, `eqm restore FILE`, `eqm publish`.

All three take the writer's lock, waiting up to ``eqm --wait`` seconds for an import or another
writer (then exit 2). ``backup`` records the copy's sha256 in ``FILE.sha256``; ``restore``
checks it, and the whole backup, on a private copy before it touches the warehouse (exit 2 on
any doubt, the warehouse untouched), then swaps the verified copy in atomically.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from analytics import snapshot
from analytics.errors import EqmError
from eqm.warehouse import republish, say, wait_seconds


@contextmanager
def _plain_os_errors(what_zh: str, what_en: str) -> Iterator[None]:
    """A full disk or a permission problem, said in words (exit 1) instead of a traceback;
    every step writes a temporary file first, so the warehouse is unchanged."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise EqmError(f"{what_zh}失败({exc}),数据库未改动 / {what_en} failed ({exc}); the "
                       f"warehouse is unchanged") from exc


def register(cli: click.Group) -> None:
    @cli.command("backup")
    @click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
    @click.pass_context
    def backup_cmd(ctx: click.Context, dest: Path) -> None:
        """备份数据库到文件 / write a consistent backup of the warehouse to DEST (and its
        sha256 to DEST.sha256, which `eqm restore` checks)."""
        republish(ctx)
        with _plain_os_errors("备份", "the backup"):
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
        with _plain_os_errors("恢复", "the restore"):
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
        with _plain_os_errors("发布快照", "publishing the snapshot"):
            path = snapshot.publish(ctx.obj["db"], wait=wait_seconds(ctx), say=say)
        click.echo(f"已发布 / published {path}")
