"""What ``eqm demo`` would lose: it deletes the warehouse it builds into, so it first checks
that the file holds nothing but an earlier demo (:func:`not_demo_contents`).

A warehouse is the demo's when it holds the planted truths (``demo_truths``), every import in
its log read one of the demo's files (``学生名单.csv``, ``细目表_…``, ``成绩_…``, ``总分_…``,
``问卷_…``, :mod:`analytics.demo.files`), every account is one of the demo's
(:data:`analytics.users.DEMO_ACCOUNTS`, ``xiaozhang1`` …) and no committee note was written.
A user's own file named like a demo file is not told apart (documented in docs/demo.md).
"""

from __future__ import annotations

import re
from pathlib import Path

from analytics.warehouse import Warehouse

_DEMO_FILE = re.compile(r"^(学生名单\.csv|(细目表|成绩|总分)_.+\.(csv|xlsx)|问卷_.+\.csv)$")
_DEMO_USER = re.compile(r"^(jiaoyan|mingti|admin|xiaozhang\d+)$")


def not_demo_contents_sql() -> dict[str, str]:
    """The queries of :func:`not_demo_contents` (no parameters), by what they count."""
    return {
        "tables": "SELECT table_name FROM information_schema.tables",
        "truths": "SELECT count(*) FROM demo_truths",
        "data": "SELECT (SELECT count(*) FROM students) + (SELECT count(*) FROM exams) "
                "+ (SELECT count(*) FROM surveys)",
        "files": "SELECT DISTINCT file_name FROM import_log ORDER BY file_name",
        "users": "SELECT username FROM users ORDER BY username",
        "notes": "SELECT count(*) FROM bank_notes",
    }


def not_demo_contents(db: str | Path) -> list[str]:
    """Why the warehouse file ``db`` is not (only) a demo: bilingual reasons, empty when it is
    one, or when there is no such file or it holds nothing."""
    path = Path(db)
    if not path.is_file() or path.stat().st_size == 0:
        return []
    try:
        wh = Warehouse(path, read_only=True, migrate=False)
    except Exception as exc:  # not a DuckDB file, or one this version cannot read
        return [f"无法读取该文件({type(exc).__name__}),可能不是本系统的数据库 / it cannot be "
                f"read as a warehouse ({type(exc).__name__}: {exc})"]
    q = not_demo_contents_sql()
    reasons = []
    with wh:
        tables = set(wh.df(q["tables"])["table_name"])
        if not {"demo_truths", "import_log", "users", "students"} <= tables:
            return ["它不是 eqm 数据库,或版本过旧 / it is not an eqm warehouse (or an old one)"]
        truths = int(wh.scalar(q["truths"]) or 0)
        if not truths and int(wh.scalar(q["data"]) or 0):
            reasons.append("其中的数据不是由 eqm demo 生成的 / it holds data that `eqm demo` "
                           "did not build")
        files = [str(f) for f in wh.df(q["files"])["file_name"]]
        own = [f for f in files if not _DEMO_FILE.match(Path(f).name)]
        if own:
            shown = "、".join(own[:3]) + (" …" if len(own) > 3 else "")
            reasons.append(f"导入过非示例文件 {shown} / files other than the demo's were "
                           f"imported ({len(own)}: {', '.join(own[:3])}"
                           + (" …" if len(own) > 3 else "") + ")")
        users = [str(u) for u in wh.df(q["users"])["username"]]
        other = [u for u in users if not _DEMO_USER.match(u)]
        if other:
            reasons.append(f"有非示例账号 {'、'.join(other[:5])} / it holds accounts other than "
                           f"the demo's ({', '.join(other[:5])}"
                           + (" …" if len(other) > 5 else "") + ")")
        if "bank_notes" in tables and int(wh.scalar(q["notes"]) or 0):
            reasons.append("命题档案中有批注 / the question archive holds committee notes")
    return reasons
