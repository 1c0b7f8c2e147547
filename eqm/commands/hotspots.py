"""`eqm stats hotspots`: error hotspots (主要出错点), district weak points, knowledge matrix.

Attached to the ``eqm stats`` group defined in :mod:`eqm.commands.stats`.
"""

from __future__ import annotations

from pathlib import Path

import click

from analytics.hotspots import district_weak_points, error_hotspots, knowledge_matrix
from eqm.commands.stats import stats_group
from eqm.output import emit, output_options, paper_options, renamed_option
from eqm.warehouse import reader

GRAINS = ["item", "knowledge_point"]


@click.command("hotspots")
@paper_options
@click.option("--level", type=click.Choice(["school", "class", "zone"]), default="school",
              show_default=True, help="比较单位 / units compared with the district.")
@click.option("--school", default=None,
              help="只看该校(名称或代码)/ only this school (name or code).")
@click.option("--grain", type=click.Choice(GRAINS), default="item", show_default=True,
              help="按小题或知识点 / per item or per knowledge point.")
@renamed_option("--by", "grain", type=click.Choice(GRAINS))
@click.option("--view", type=click.Choice(["units", "district", "matrix"]), default="units",
              show_default=True,
              help="units: 各单位出错点; district: 全区最低得分率; matrix: 单位×知识点得分率 / "
                   "unit hotspots; the district's weakest items; unit × knowledge-point matrix.")
@click.option("--flagged-only", is_flag=True,
              help="只列出显著且差距大的行 / list only flagged rows.")
@click.option("--fdr", type=float, default=0.05, show_default=True,
              help="错误发现率 (Benjamini–Hochberg) / false-discovery rate.")
@click.option("--min-gap", type=float, default=0.05, show_default=True,
              help="最小差距(得分率)/ smallest shortfall in score rate that is flagged.")
@click.option("--relative", is_flag=True,
              help="相对薄弱:扣除本单位整卷得分率差距后比较 / relative weakness: compare after "
                   "removing the unit's gap on the whole paper.")
@click.option("--top", type=int, default=None,
              help="--view district: 只列出最弱的前 N 个 / keep the N weakest.")
@output_options
@click.pass_context
def hotspots(ctx: click.Context, exam: str, subject: str, grade: int | None, level: str,
             school: str | None, grain: str, view: str, flagged_only: bool, fdr: float,
             min_gap: float, relative: bool, top: int | None, fmt: str, out: Path | None,
             min_n: int) -> None:
    """主要出错点:显著低于全区的小题/知识点 / error hotspots: items or knowledge points where a
    school or class is credibly below the district (pooled z-test, Benjamini–Hochberg FDR)."""
    with reader(ctx) as wh:
        if view == "district":
            frame = district_weak_points(wh, exam=exam, subject=subject, grade=grade,
                                         grain=grain, top=top)  # type: ignore[arg-type]
        elif view == "matrix":
            frame = knowledge_matrix(wh, exam=exam, subject=subject, grade=grade,
                                     level=level,
                                     school=school)
        else:
            frame = error_hotspots(wh, exam=exam, subject=subject, grade=grade, level=level,
                                   school=school, grain=grain,  # type: ignore[arg-type]
                                   fdr=fdr,
                                   min_gap=min_gap, relative=relative)
            if flagged_only:
                frame = frame[frame["flag"]].sort_values("gap").reset_index(drop=True)
    emit(frame, fmt, out, min_n=min_n, sheet="hotspots")


def register(cli: click.Group) -> None:
    """Attach ``hotspots`` to ``eqm stats`` (and make sure the group is on the CLI)."""
    if "hotspots" not in stats_group.commands:
        stats_group.add_command(hotspots)
    if "stats" not in cli.commands:
        cli.add_command(stats_group)
