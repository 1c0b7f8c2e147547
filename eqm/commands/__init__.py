"""CLI command groups; each module defines ``register(cli)``.

:data:`COMMANDS` names, for each top-level command, the module(s) that define it and its
one-line help, so that ``eqm --help`` lists every command without importing any module here
and ``eqm stats …`` imports only the stats modules (:class:`eqm.cli.LazyGroup`). A module that
is not in the table is still found (every module of this package is listed by name, and those
not in the table are imported when the commands are listed or a name is not found): a new
command works at once and is only slower to list until it is added here.
``tests/test_cli_everyday.py`` checks that the table and the modules agree.
"""

from __future__ import annotations

#: top-level command → (modules of eqm.commands that register it, one-line help for ``--help``)
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "archive": (("archive",),
             "命题档案:试题、答案、作答结果、出错原因分析 / the question archive."),
    "backup": (("backup",),
             "备份数据库到文件 / write a consistent backup of the warehouse to DEST…"),
    "bench": (("bench",),
             "运行基准测试套件 / run the benchmark suite: import, score and item…"),
    "demo": (("demo",),
             "生成示例区并导入数据库,然后启动仪表盘 / build the demo district and serve it."),
    "export": (("export",),
             "导出数据 / export the warehouse (Parquet for Spark and data lakes)."),
    "green": (("green",),
             "绿色指标:学习动力、学业负担、师生关系、教学方式、身心健康、品德行为、学业水平、"
             "均衡、社会经济背景影响,等级 1–9 / the "
             "green indicators with levels 1–9."),
    "growth": (("growth",),
             "学生成长百分位(SGP)与学校成长中位数 / student growth percentiles."),
    "import": (("imports",),
             "导入文件 / import files (roster, paper, scores, totals, survey)."),
    "init": (("init",),
             "创建或升级数据库 / create or upgrade the warehouse schema."),
    "irt": (("irt",),
             "项目反应理论:定标、拟合、能力值、信息量、DIF、链接 / "
             "IRT: items, scores, DIF, links."),
    "list": (("listing",),
             "列出数据库中的考试、试卷、学校、班级、问卷、账号 / list what the warehouse holds."),
    "progress": (("green",),
             "跨年度进步指数:各年标准化位置(平均z)及其变化 / cross-year progress of standing."),
    "publish": (("backup",),
             "发布只读快照供仪表盘读取 / publish the read-only snapshot the dashboard…"),
    "report": (("report",),
             "打印报告:学校、区级、班级、学生 / printed reports (.pdf, .docx, .html)."),
    "restore": (("backup",),
             "从备份恢复数据库 / replace the warehouse with the backup SRC, after…"),
    "serve": (("serve",),
             "启动仪表盘 / serve the dashboards (login required; see `eqm users`)."),
    "stats": (("stats", "hotspots", "scoretables"),
             "成绩与试题统计 / score reports, item statistics, paper quality."),
    "students": (("students",),
             "学生档案:各次考试成绩、关注名单、帮教记录 / the student archive."),
    "users": (("users",),
             "仪表盘账号 / dashboard users and roles."),
    "va": (("va",),
             "增值评价:学校/班级的增值(EBLUP)、95%区间与类别 / value-added with 95% intervals."),
}
