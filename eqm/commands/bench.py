"""`eqm bench`: run the benchmark suite (``benchmarks/run_all.py``) at a stated scale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[2]
RUN_ALL = ROOT / "benchmarks" / "run_all.py"


def register(cli: click.Group) -> None:
    @cli.command("bench", context_settings={"ignore_unknown_options": True})
    @click.option("--students", type=click.IntRange(1_000, 1_000_000), default=1_000_000,
                  show_default=True, help="学生数 / students (× 40 items).")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="写入基准结果的 Markdown 文件 / markdown file to write the results "
                       "section into (e.g. docs/benchmarks.md).")
    @click.option("--no-mixedlm", is_flag=True,
                  help="不运行 statsmodels MixedLM 对照 / skip the statsmodels MixedLM runs.")
    @click.option("--no-pandas", is_flag=True,
                  help="不运行 pandas 对照 / skip the straightforward pandas runs.")
    @click.argument("extra", nargs=-1, type=click.UNPROCESSED)
    def bench(students: int, out: Path | None, no_mixedlm: bool, no_pandas: bool,
              extra: tuple[str, ...]) -> None:
        """运行基准测试套件 / run the benchmark suite: import, score and item statistics,
        hotspots, value-added (vs statsmodels MixedLM), SGP and the dashboard callbacks, each
        in its own process with wall/CPU seconds and peak memory.

        Builds its own warehouse under data/bench/ (the demo district at --students plus a
        40-item paper). Further options (--stages, --skip, --reuse-db, --mixedlm-sizes, …)
        are passed to benchmarks/run_all.py; see its --help. At 1,000,000 students it runs
        for tens of minutes and needs several GB of memory.
        """
        if not RUN_ALL.exists():
            raise click.ClickException(
                f"找不到 {RUN_ALL}(需要源码检出)/ {RUN_ALL} not found (needs a source checkout)")
        cmd = [sys.executable, str(RUN_ALL), "--students", str(students)]
        if out is not None:
            cmd += ["--out", str(out)]
        if no_mixedlm:
            cmd.append("--no-mixedlm")
        if no_pandas:
            cmd.append("--no-pandas")
        cmd += list(extra)
        raise SystemExit(subprocess.call(cmd))
