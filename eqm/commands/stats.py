"""`eqm stats …`: score reports, item statistics and the paper quality report.

The click group :data:`stats_group` is defined at module level so that other command modules can
attach their own subcommands to it, e.g. ``from eqm.commands.stats import stats_group`` and then
``@stats_group.command("hotspots")``. :func:`register` adds the group to the top-level ``eqm``.
"""

from __future__ import annotations

import click


@click.group("stats")
def stats_group() -> None:
    """成绩与试题统计 / score reports, item statistics, paper quality."""


def register(cli: click.Group) -> None:
    """Add ``eqm stats`` to the top-level command group."""
    if "stats" not in cli.commands:
        cli.add_command(stats_group)
