"""`eqm serve`: run the dashboards over the warehouse, on waitress (docs/deploy.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from analytics.display import DEFAULT_MIN_N

DEFAULT_THREADS = 8  # = dashboards.app.DEFAULT_THREADS (Dash loads only when serving; tested)


def run_dashboard(db: Path, **kwargs: Any) -> None:
    """Serve the dashboard over ``db`` (``kwargs`` go to :func:`dashboards.app.serve`), marked
    as served for as long as it runs (:func:`analytics.warehouse.lock.serving`: ``eqm demo``
    will not replace it meanwhile)."""
    from analytics.warehouse.lock import serving
    from dashboards.app import serve

    with serving(db):
        serve(str(db), **kwargs)


def register(cli: click.Group) -> None:
    @cli.command("serve")
    @click.option("--port", type=int, default=8050, show_default=True, help="端口 / port.")
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="监听地址 / address to listen on (0.0.0.0 for the whole network).")
    @click.option("--threads", type=click.IntRange(1, 256), default=DEFAULT_THREADS,
                  show_default=True,
                  help="同时处理的请求数 / worker threads (requests handled at once).")
    @click.option("--trusted-proxy", default=None, metavar="ADDRESS",
                  help="反向代理(nginx/IIS)的地址,只信任它发来的 X-Forwarded-* / the reverse "
                       "proxy's address (e.g. 127.0.0.1): only its X-Forwarded-For/-Proto are "
                       "believed (docs/deploy.md).")
    @click.option("--min-n", type=int, default=DEFAULT_MIN_N, show_default=True,
                  help="少于此人数的组不显示 / suppress groups smaller than this.")
    @click.option("--ranks/--no-ranks", default=True, show_default=True,
                  help="教研员可见名次(按本区政策)/ research officers see exact ranks "
                       "(district policy); principals never do.")
    @click.pass_context
    def serve(ctx: click.Context, port: int, host: str, threads: int,
              trusted_proxy: str | None, min_n: int, ranks: bool) -> None:
        """启动仪表盘 / serve the dashboards (login required; see `eqm users`).

        Runs on waitress, a production WSGI server (Windows and Linux); put nginx or IIS in
        front of it for HTTPS (docs/deploy.md).
        """
        run_dashboard(Path(ctx.obj["db"]), port=port, host=host, threads=threads,
                      trusted_proxy=trusted_proxy, min_n=min_n,
                      rank_policy="officers" if ranks else "none")
