"""Issue 15, items 4–6: the command line starts fast (lazy subcommands), `eqm list …` shows what
the warehouse holds, unknown names are answered with the closest known ones, and `--digits N`
carries N significant digits into csv and json."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import click
import pandas as pd
import pytest
from click.testing import CliRunner

import analytics
from analytics.catalog import natural_key
from analytics.lookup import closest, did_you_mean
from analytics.users import add_user
from analytics.warehouse import Warehouse
from eqm.cli import LazyGroup, cli
from eqm.commands import COMMANDS
from tests.builders import build_exam

EXAM, SUBJECT = "测试监测", "数学"
HEAVY = ("pandas", "duckdb", "scipy", "numpy", "dash", "flask", "pyarrow", "waitress")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("everyday") / "w.duckdb"
    wh = Warehouse(path)
    build_exam(wh, n_schools=3, students_per_school=40, classes_per_school=12, seed=5)
    add_user(wh, "zhang", "password-123", "officer")
    wh.close()
    return path


def run(db, *args):
    return CliRunner().invoke(cli, ["--db", str(db), *args])


def _modules_after(code: str) -> set[str]:
    script = code + "\nimport sys\nprint('MODULES', ' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    return set(out.stdout.rsplit("MODULES", 1)[1].split())


# -- 4. start-up ----------------------------------------------------------------------------------
def test_help_imports_no_command_module_and_nothing_heavy():
    code = ("import contextlib, io\nfrom eqm.cli import cli\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "    cli.main(['--help'], standalone_mode=False)")
    loaded = _modules_after(code)
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}, sorted(
        m for m in loaded if m.split(".")[0] in HEAVY)[:10]
    assert not {m for m in loaded if m.startswith("eqm.commands.")}


def test_a_stats_command_imports_only_its_modules_and_not_scipy_stats():
    code = ("from click.testing import CliRunner\nfrom eqm.cli import cli\n"
            "CliRunner().invoke(cli, ['stats', 'scores', '--help'])")
    loaded = _modules_after(code)
    commands = {m for m in loaded if m.startswith("eqm.commands.")}
    assert commands == {f"eqm.commands.{m}" for m in COMMANDS["stats"][0]}   # stats' own only
    assert "dash" not in loaded and "scipy.stats" not in loaded


def test_the_table_of_commands_matches_what_the_modules_register():
    """COMMANDS names each command's modules and help; every module of eqm.commands is in it."""
    import pkgutil

    import eqm.commands as pkg

    listed = {m for modules, _help in COMMANDS.values() for m in modules}
    modules = {i.name for i in pkgutil.iter_modules(pkg.__path__)}
    assert modules <= listed, (f"add the commands of {sorted(modules - listed)} to COMMANDS in "
                               "eqm/commands/__init__.py (name: (modules, one-line help))")
    assert listed <= modules
    group = LazyGroup(name="eqm")
    group.load_all()
    assert set(dict.keys(group.commands)) == set(COMMANDS), "COMMANDS is out of date"
    for name, (_modules, help_text) in COMMANDS.items():
        real = group.commands[name].get_short_help_str(limit=1000).rstrip(".…")
        assert help_text.rstrip(".…").startswith(real[:40]) or real.startswith(
            help_text.rstrip(".…")), name


def test_lazy_commands_behave_like_a_dict():
    group = LazyGroup(name="eqm")
    assert "stats" in group.commands and isinstance(group.commands["stats"], click.Group)
    assert "nonsense" not in group.commands and group.commands.get("nonsense") is None
    assert "hotspots" in group.commands["stats"].commands
    assert sorted(group.commands) == sorted(COMMANDS)


def test_help_lists_every_command_with_its_help():
    out = CliRunner().invoke(cli, ["--help"], terminal_width=200).output
    for name in COMMANDS:
        assert f"  {name} " in out, name
    assert "list what the warehouse holds" in out


def test_the_t_quantile_without_scipy_stats_is_scipy_stats_t():
    from scipy import stats as sps

    from analytics.stats.intervals import t_half_width

    n = [2, 3, 5, 10, 31, 1000]
    expect = [sps.t.ppf(0.975, k - 1) * 2.0 / math.sqrt(k) for k in n]
    assert t_half_width([2.0] * len(n), n) == pytest.approx(expect, rel=1e-12)
    assert math.isnan(t_half_width([2.0], [1])[0])


# -- 5. eqm list and the closest names --------------------------------------------------------
def test_list_exams_papers_schools_classes_users(db):
    r = run(db, "list", "exams", "--format", "json")
    assert r.exit_code == 0, r.output
    (exam,) = json.loads(r.output)
    assert exam["exam"] == EXAM and exam["subjects"] == SUBJECT and exam["grades"] == "8"
    assert exam["n_papers"] == 1 and 100 <= exam["n_students"] <= 120   # 3 × 40, ~3 % absent
    papers = pd.read_csv(pd.io.common.StringIO(run(db, "list", "papers", "--format", "csv")
                                              .output.lstrip("\ufeff")))
    assert list(papers[["exam", "subject", "grade"]].iloc[0]) == [EXAM, SUBJECT, 8]
    assert papers["n"].iloc[0] + papers["n_absent"].iloc[0] == 120
    schools = json.loads(run(db, "list", "schools", "--format", "json").output)
    assert len(schools) == 3 and all(s["n_classes"] == 12 for s in schools)
    assert {"school_id", "code", "school", "zone_name", "n_students"} <= set(schools[0])
    users = json.loads(run(db, "list", "users", "--format", "json").output)
    assert [u["username"] for u in users] == ["zhang"] and "password" not in json.dumps(users)


def test_classes_come_in_natural_order(db):
    school = json.loads(run(db, "list", "schools", "--format", "json").output)[0]["school"]
    r = run(db, "list", "classes", "--school", school, "--format", "json")
    assert r.exit_code == 0, r.output
    names = [c["class_name"] for c in json.loads(r.output)]
    assert names == [f"{i}班" for i in range(1, 13)]
    assert sorted(["10班", "2班", "1班", "901", "1001"], key=natural_key) == [
        "1班", "2班", "10班", "901", "1001"]


def test_list_xlsx(db, tmp_path):
    out = tmp_path / "papers.xlsx"
    r = run(db, "list", "papers", "--format", "xlsx", "--out", str(out))
    assert r.exit_code == 0 and pd.read_excel(out)["exam"].iloc[0] == EXAM


def test_closest_names():
    known = ["2026年区级质量监测", "2025学年第一学期期末", "2025学年第二学期期中"]
    assert closest("2026区级质量监测", known)[0] == "2026年区级质量监测"
    assert closest("期中", known) == ["2025学年第二学期期中"]          # contained
    assert closest("完全无关的名字xyz", known) == []
    assert did_you_mean("完全无关", known) == ""
    text = did_you_mean("2026区级监测", known)
    assert "您是否要找" in text and "did you mean" in text and "2026年区级质量监测" in text


@pytest.mark.parametrize(("args", "expect"), [
    (["stats", "scores", "--exam", "测试检测", "--subject", SUBJECT], EXAM),
    (["stats", "scores", "--exam", EXAM, "--subject", "数"], SUBJECT),
    (["va", "--exam", EXAM, "--prior-exam", "测试监", "--subject", SUBJECT], EXAM),
    (["stats", "items", "--exam", EXAM, "--subject", SUBJECT, "--school", "测试区第1"],
     "测试区第1中学"),
    (["list", "classes", "--school", "测试区第2"], "测试区第2中学"),
    (["users", "reset", "zhng", "--password", "another-pass-1"], "zhang"),
])
def test_an_unknown_name_gets_the_closest_ones(db, args, expect):
    r = run(db, *args)
    assert r.exit_code == 2, r.output
    assert "您是否要找" in r.output and "did you mean" in r.output
    assert f"「{expect}」" in r.output and "Traceback" not in r.output


def test_an_unknown_survey_gets_the_closest_ones(db):
    from analytics.errors import NotFoundError
    from analytics.green import resolve_survey

    wh = Warehouse(db, read_only=True)
    try:
        wh_rows = wh.df("SELECT count(*) AS n FROM surveys")
        assert int(wh_rows["n"].iloc[0]) == 0
    finally:
        wh.close()
    with Warehouse(db) as w:
        w.execute("INSERT INTO surveys VALUES (1, '2026年学生问卷(九年级)', 9, NULL)")
    try:
        with Warehouse(db, read_only=True) as w, pytest.raises(NotFoundError) as err:
            resolve_survey(w, "2026学生问卷")
        assert "「2026年学生问卷(九年级)」" in str(err.value) and "did you mean" in str(err.value)
    finally:
        with Warehouse(db) as w:
            w.execute("DELETE FROM surveys")


# -- 6. --digits ---------------------------------------------------------------------------------
def _csv(text: str) -> pd.DataFrame:
    return pd.read_csv(pd.io.common.StringIO(text.lstrip("\ufeff")))


def _sig(x: float, d: int) -> float:
    return float(f"{x:.{d}g}")


def test_digits_in_csv_and_json_and_default_rounding_kept(db):
    with Warehouse(db, read_only=True) as wh:
        full = analytics.score_report(wh, exam=EXAM, subject=SUBJECT, level="school")
    base = ["stats", "scores", "--exam", EXAM, "--subject", SUBJECT]
    default = _csv(run(db, *base, "--format", "csv").output)
    assert default["mean"].tolist() == full["mean"].round(2).tolist()          # today's rounding
    assert default["pass_rate"].tolist() == full["pass_rate"].round(3).tolist()
    fifteen = _csv(run(db, *base, "--format", "csv", "--digits", "15").output)
    for col in ("mean", "sd", "pass_rate", "z_mean", "ci_low"):
        assert fifteen[col].tolist() == pytest.approx(full[col].tolist(), rel=1e-14), col
    assert fifteen["mean"].tolist() == [_sig(v, 15) for v in full["mean"]]
    r = run(db, *base, "--format", "json", "--digits", "4")
    rows = json.loads(r.output)
    assert [row["sd"] for row in rows] == [_sig(v, 4) for v in full["sd"]]
    assert all(len(repr(row["sd"]).replace(".", "").lstrip("0")) <= 4 for row in rows)
    assert run(db, *base, "--digits", "16").exit_code == 2      # at most 15


def test_digits_keeps_small_group_suppression(db):
    base = ["stats", "scores", "--exam", EXAM, "--subject", SUBJECT, "--format", "csv"]
    shown = _csv(run(db, *base, "--digits", "15", "--min-n", "1000").output)
    assert shown["mean"].isna().all() and shown["n"].notna().all()
    assert shown["suppressed"].all()


def test_every_command_with_format_takes_digits():
    group = LazyGroup(name="eqm")
    group.load_all()

    def leaves(cmd):
        if isinstance(cmd, click.Group):
            for sub in cmd.commands.values():
                yield from leaves(sub)
        else:
            yield cmd

    def writes_a_table(p):   # --format of a table (csv among its choices), not of a document
        return (isinstance(p, click.Option) and "--format" in p.opts
                and "csv" in getattr(p.type, "choices", ()))

    with_format = [c for c in leaves(group) if any(writes_a_table(p) for p in c.params)]
    assert len(with_format) >= 12
    for cmd in with_format:
        opts = {o for p in cmd.params if isinstance(p, click.Option) for o in p.opts}
        assert "--digits" in opts, cmd.name
