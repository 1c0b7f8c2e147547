"""Entry point of the ``eqm`` command.

Each module in :mod:`eqm.commands` defines ``register(cli: click.Group) -> None`` and adds its
commands; modules are discovered, so adding a command group never edits this file.
Errors meant for users (:class:`analytics.errors.EqmError`) are printed without a traceback and
exit with their code (2 = bad input or a warehouse still busy after ``--wait``, 1 = internal
error, 3 = a change was saved but the dashboard's snapshot could not be published).

Commands open the warehouse through :mod:`eqm.warehouse`: writers wait for another writer up to
``--wait`` seconds, readers read the published snapshot meanwhile.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import click

from analytics.errors import EqmError
from analytics.warehouse import DEFAULT_WAIT, default_db_path


class EqmGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except EqmError as exc:
            click.echo(str(exc), err=True)
            ctx.exit(exc.exit_code)
        except FileNotFoundError as exc:
            click.echo(f"找不到文件 / file not found: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=EqmGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Warehouse file (default: $EQM_DB or data/warehouse.duckdb).",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=DEFAULT_WAIT,
    envvar="EQM_WAIT",
    show_default=True,
    help="数据库正被其他程序写入时,写入类命令最多等待的秒数 / seconds a command that writes "
         "waits while another program writes the warehouse ($EQM_WAIT); then it exits 2.",
)
@click.pass_context
def cli(ctx: click.Context, db: Path | None, wait: float) -> None:
    """eqm — 教育质量监测分析 / education-quality monitoring analytics."""
    ctx.ensure_object(dict)
    ctx.obj["db"] = db if db is not None else default_db_path()
    ctx.obj["wait"] = wait


def _register_all() -> None:
    import eqm.commands as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"eqm.commands.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(cli)


_register_all()


def main() -> None:
    try:
        cli(obj={})
    except EqmError as exc:  # raised outside command invocation (e.g. while parsing)
        click.echo(str(exc), err=True)
        sys.exit(exc.exit_code)
