"""How every ``eqm`` command opens the warehouse: :func:`writer` or :func:`reader`.

* Writers wait while another process writes the warehouse, saying so on stderr, up to
  ``eqm --wait SECONDS`` (or ``$EQM_WAIT``; default 60 s), then exit 2 in plain words
  (:class:`analytics.warehouse.WarehouseBusy`). The waiting itself is in the warehouse's open
  path (``Warehouse(path, wait=…)``); this module only passes the command line's choice.
* Readers read: the warehouse read-only, or, while another process writes it (DuckDB cannot
  open a file read-only then), the snapshot published last, saying so
  (:func:`analytics.snapshot.open_reader`).
* Both first republish a stale dashboard snapshot (a writer that committed and then failed
  or was killed before publishing; :func:`analytics.snapshot.republish_if_stale`).
"""

from __future__ import annotations

from typing import Any

import click

from analytics import snapshot
from analytics.warehouse import DEFAULT_WAIT, Warehouse


def say(message: str) -> None:
    """Print a progress or waiting message on stderr."""
    click.echo(message, err=True)


def wait_seconds(ctx: click.Context) -> float:
    """The ``--wait`` of the command line (``$EQM_WAIT``, default 60 s)."""
    obj = ctx.find_root().obj or {}
    value = obj.get("wait")
    return DEFAULT_WAIT if value is None else float(value)


def republish(ctx: click.Context) -> None:
    """Republish the dashboard's snapshot when it is stale (warns, never fails the command)."""
    try:
        snapshot.republish_if_stale(ctx.obj["db"], say)
    except snapshot.PublishFailed as exc:
        say(str(exc))


def writer(ctx: click.Context, **kwargs: Any) -> Warehouse:
    """The warehouse opened for writing (``kwargs`` go to :class:`Warehouse`), after waiting
    for another writer as long as ``--wait`` allows."""
    republish(ctx)
    return Warehouse(ctx.obj["db"], wait=wait_seconds(ctx), on_wait=say, **kwargs)


def reader(ctx: click.Context) -> Warehouse:
    """The warehouse opened read-only, or its published snapshot while another process writes
    it (see :func:`analytics.snapshot.open_reader`)."""
    republish(ctx)
    return snapshot.open_reader(ctx.obj["db"], wait=wait_seconds(ctx), say=say)
