"""Entry point of the ``eqm`` command.

Each module in :mod:`eqm.commands` defines ``register(cli: click.Group) -> None`` and adds its
commands; modules are discovered, so adding a command group never edits this file. They load on
demand (:class:`LazyGroup`, from the table :data:`eqm.commands.COMMANDS`): ``eqm --help`` imports
no command module, ``eqm stats …`` only the stats ones.
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
from typing import Any

import click

from analytics.errors import EqmError
from analytics.warehouse.lock import DEFAULT_WAIT
from analytics.warehouse.paths import default_db_path
from eqm.commands import COMMANDS


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


class _LazyCommands(dict[str, click.Command]):
    """The commands of a :class:`LazyGroup`: a command's module is imported the first time
    the command is looked up; listing them all imports every module."""

    def __init__(self, group: LazyGroup) -> None:
        super().__init__()
        self._group = group

    def __missing__(self, name: str) -> click.Command:
        if self._group.load(name):
            return dict.__getitem__(self, name)
        raise KeyError(name)

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or (isinstance(name, str) and self._group.load(name))

    def _all(self) -> None:
        self._group.load_all()

    def __iter__(self) -> Any:
        self._all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._all()
        return dict.__len__(self)

    def keys(self) -> Any:
        self._all()
        return dict.keys(self)

    def values(self) -> Any:
        self._all()
        return dict.values(self)

    def items(self) -> Any:
        self._all()
        return dict.items(self)


class LazyGroup(EqmGroup):
    """The top-level ``eqm`` group: subcommands load on demand from :mod:`eqm.commands`.

    ``eqm --help`` reads the names and one-line helps of :data:`eqm.commands.COMMANDS` and
    imports no command module (pandas, DuckDB and scipy stay unloaded: ~0.1 s instead of
    ~2.5 s); ``eqm stats …`` imports the modules that register ``stats`` only. Each module's
    ``register(cli)`` runs against a scratch group, whose commands are then added here.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = _LazyCommands(self)
        self.commands = self._lazy
        self._loaded: set[str] = set()

    @staticmethod
    def _unlisted_modules() -> list[str]:
        import eqm.commands as pkg

        listed = {m for modules, _help in COMMANDS.values() for m in modules}
        return [info.name for info in sorted(pkgutil.iter_modules(pkg.__path__),
                                             key=lambda m: m.name)
                if info.name not in listed]

    def _load_module(self, module_name: str) -> None:
        if module_name in self._loaded:
            return
        self._loaded.add(module_name)
        module = importlib.import_module(f"eqm.commands.{module_name}")
        register = getattr(module, "register", None)
        if register is None:
            return
        scratch = click.Group()
        register(scratch)
        for name, command in scratch.commands.items():
            if not dict.__contains__(self._lazy, name):
                dict.__setitem__(self._lazy, name, command)

    def load(self, name: str) -> bool:
        """Import the module(s) of command ``name``; whether the command exists then."""
        entry = COMMANDS.get(name)
        for module_name in entry[0] if entry else self._unlisted_modules():
            self._load_module(module_name)
        return dict.__contains__(self._lazy, name)

    def load_all(self) -> None:
        """Import every command module (for code that walks all commands)."""
        for modules, _help in COMMANDS.values():
            for module_name in modules:
                self._load_module(module_name)
        for module_name in self._unlisted_modules():
            self._load_module(module_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(COMMANDS) | set(dict.keys(self._lazy))
        if self._unlisted_modules():
            self.load_all()
            names |= set(dict.keys(self._lazy))
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help`` from the table, without importing the commands."""
        rows = []
        for name in self.list_commands(ctx):
            command = dict.get(self._lazy, name)
            if command is not None:
                if command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(formatter.width - 6 - len(name))))
            else:
                rows.append((name, COMMANDS[name][1]))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


def main() -> None:
    try:
        cli(obj={})
    except EqmError as exc:  # raised outside command invocation (e.g. while parsing)
        click.echo(str(exc), err=True)
        sys.exit(exc.exit_code)
