"""`eqm demo`: build the demo district into the warehouse (from scratch) and serve the dashboard."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from analytics.demo import DEFAULT_OUT_DIR, DEFAULT_SEED, DEFAULT_STUDENTS, GRADES, SUBJECTS
from analytics.errors import InputError
from analytics.snapshot import snapshot_path
from analytics.warehouse import writer_lock
from analytics.warehouse.lock import servers
from eqm.warehouse import say, wait_seconds


def _split_subjects(text: str | None) -> list[str] | None:
    if not text:
        return None
    parts = text.replace("，", ",").replace("、", ",").split(",")
    subjects = [s.strip() for s in parts if s.strip()]
    bad = [s for s in subjects if s not in SUBJECTS]
    if bad:
        raise InputError(f"未知学科 {'、'.join(bad)},可选 {'、'.join(SUBJECTS)} / unknown "
                         f"subject(s) {', '.join(bad)}; choose from {', '.join(SUBJECTS)}")
    return subjects


def _split_grades(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        grades = [int(g) for g in text.replace("，", ",").split(",") if g.strip()]
    except ValueError as exc:
        raise InputError(
            f"年级应为数字,如 5,9 / grades must be numbers such as 5,9: {text}") from exc
    bad = [g for g in grades if g not in GRADES]
    if bad:
        raise InputError(f"示例区只有 5、9 年级 / the demo has grades 5 and 9 only: {bad}")
    return grades


def _refuse_to_replace(db: Path, *, force: bool) -> None:
    """Raise :class:`InputError` (exit 2) when ``db`` is being served, or holds anything but an
    earlier demo and ``force`` is off (:func:`analytics.demo.guard.not_demo_contents`)."""
    from analytics.demo.guard import not_demo_contents

    pids = servers(db)
    if pids:
        who = ", ".join(f"pid {p}" for p in pids)
        raise InputError(
            f"{db}: 仪表盘正在使用该数据库({who}),未做任何更改;请先停止 eqm serve,或用 --db "
            f"另建一个 / the warehouse is being served by `eqm serve` ({who}); nothing was "
            f"changed. Stop the server first, or build the demo elsewhere with --db.")
    reasons = [] if force else not_demo_contents(db)
    if reasons:
        raise InputError(
            f"{db}: 该数据库不只是示例数据,eqm demo 会删除它,故未做任何更改 / the warehouse holds "
            f"more than an earlier demo and `eqm demo` would delete it, so nothing was changed:\n"
            + "\n".join(f"  - {r}" for r in reasons)
            + "\n用 --db 另建示例库,或确认后加 --force 替换 / build the demo elsewhere with "
              "--db, or pass --force to replace it.")


def register(cli: click.Group) -> None:
    @cli.command("demo")
    @click.option("--students", type=click.IntRange(100, 1_000_000), default=DEFAULT_STUDENTS,
                  show_default=True, help="学生总数 / total students over the grades.")
    @click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True,
                  help="随机种子 / random seed (same seed, same data).")
    @click.option("--subjects", default=None,
                  help="学科,逗号分隔 / subjects, comma-separated (default 语文,数学,英语,科学).")
    @click.option("--grades", default=None,
                  help="年级,逗号分隔 / grades, comma-separated (default 5,9).")
    @click.option("--serve/--no-serve", default=True, show_default=True,
                  help="建好后启动仪表盘 / serve the dashboard afterwards.")
    @click.option("--port", type=int, default=8050, show_default=True,
                  help="仪表盘端口 / dashboard port.")
    @click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
                  default=DEFAULT_OUT_DIR, show_default=True,
                  help="导入文件的存放目录 / where the import files are written.")
    @click.option("--quiet", is_flag=True, help="不显示进度条 / no progress bars.")
    @click.option("--force", is_flag=True,
                  help="数据库中有非示例数据或账号时也替换 / replace the warehouse even when it "
                       "holds data or accounts that are not the demo's (never while served).")
    @click.pass_context
    def demo(ctx: click.Context, students: int, seed: int, subjects: str | None,
             grades: str | None, serve: bool, port: int, out_dir: Path, quiet: bool,
             force: bool) -> None:
        """生成示例区并导入数据库,然后启动仪表盘 / build the demo district and serve it.

        Generates a seeded synthetic district (4 片区, ~40 schools, grades 5 and 9, 语文 数学 英语
        科学, three exams, a questionnaire, planted truths), writes the files an office would
        receive into --out-dir, loads them through the importers into a fresh warehouse (--db;
        the old file is deleted) and stores the planted truths in the demo_truths table.

        Refuses (exit 2) to replace a warehouse that holds anything but an earlier demo (own
        imports, accounts, committee notes) unless --force, and, even with --force, one that
        `eqm serve` is serving.
        """
        from analytics.demo import build_demo

        subj = _split_subjects(subjects)
        grd = _split_grades(grades)
        db = Path(ctx.obj["db"])
        # the writer's lock: never delete a warehouse that an import is writing
        with writer_lock(db, wait=wait_seconds(ctx), say=say):
            _refuse_to_replace(db, force=force)
            # (and the old warehouse's snapshot: `--serve` publishes the new one)
            for f in (db, Path(f"{db}.wal"), snapshot_path(db)):
                if f.exists():
                    f.unlink()
                    click.echo(f"已删除旧数据库 / deleted the old warehouse: {f}")
            summary = build_demo(db, students=students, seed=seed, subjects=subj, grades=grd,
                                 out_dir=out_dir, progress=not quiet)
        click.echo(
            f"示例区已建好 / demo district built: {db}\n"
            f"  学生 students {summary['students']:,}, 学校 schools {summary['schools']}, "
            f"班级 classes {summary['classes']}, 试卷 papers {summary['papers']}, "
            f"小题 items {summary['items']}, 作答 responses {summary['responses']:,}, "
            f"问卷作答 survey answers {summary['survey_answers']:,}, "
            f"埋设真相 planted truths {summary['truths']}\n"
            f"  文件 files: {summary['files']} in {summary['out_dir']}\n"
            f"  用时 seconds: generate {summary['seconds_generate']:.1f}, write "
            f"{summary['seconds_write']:.1f}, import {summary['seconds_import']:.1f}, total "
            f"{summary['seconds_total']:.1f}"
        )
        if not serve:
            return
        from analytics.summaries import progress_bars
        from eqm.commands.serve import run_dashboard

        with progress_bars() if not quiet else contextlib.nullcontext():
            run_dashboard(db, port=port)
