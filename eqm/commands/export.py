"""`eqm export …`: hand the warehouse to other systems (``eqm export parquet DIR``).

The click group :data:`export_group` is defined at module level so that other command modules
can attach their own subcommands (``from eqm.commands.export import export_group``).
"""

from __future__ import annotations

from pathlib import Path

import click

from analytics.export import export_parquet
from eqm.output import emit, format_option, out_option
from eqm.warehouse import reader


@click.group("export")
def export_group() -> None:
    """导出数据 / export the warehouse (Parquet for Spark and data lakes)."""


@export_group.command("parquet")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--table", "tables", multiple=True,
    help="只导出这些表(可重复)/ export only this table (repeatable); default: all but users.",
)
@format_option
@out_option
@click.pass_context
def parquet_cmd(
    ctx: click.Context, directory: Path, tables: tuple[str, ...], fmt: str, out: Path | None
) -> None:
    """每张表导出为 DIRECTORY/<表>.parquet,并写 manifest.json / write every table to
    DIRECTORY/<table>.parquet plus manifest.json (schema version, row counts) for Spark."""
    with reader(ctx) as wh:
        result = export_parquet(wh, directory, tables=tables or None)
    emit(result, fmt, out, raw=True)


def register(cli: click.Group) -> None:
    """Add ``eqm export`` to the top-level command group."""
    if "export" not in cli.commands:
        cli.add_command(export_group)
