"""`eqm serve`: run the dashboards over the warehouse."""

from __future__ import annotations

import click

from analytics.display import DEFAULT_MIN_N


def register(cli: click.Group) -> None:
    @cli.command("serve")
    @click.option("--port", type=int, default=8050, show_default=True, help="端口 / port.")
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="监听地址 / address to listen on (0.0.0.0 for the whole network).")
    @click.option("--min-n", type=int, default=DEFAULT_MIN_N, show_default=True,
                  help="少于此人数的组不显示 / suppress groups smaller than this.")
    @click.option("--ranks/--no-ranks", default=True, show_default=True,
                  help="教研员可见名次(按本区政策)/ research officers see exact ranks "
                       "(district policy); principals never do.")
    @click.pass_context
    def serve(ctx: click.Context, port: int, host: str, min_n: int, ranks: bool) -> None:
        """启动仪表盘 / serve the dashboards (login required; see `eqm users`)."""
        from dashboards.app import serve as run

        run(str(ctx.obj["db"]), port=port, host=host, min_n=min_n,
            rank_policy="officers" if ranks else "none")
