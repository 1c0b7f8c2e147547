"""The public API, declared once: every public name, its docs group, the summary tables the
dashboards precompute from it and the name the dashboard service routes to it by.

:data:`ENTRIES` is the one table. Everything else is generated from it:

* ``analytics.__all__`` and the lazy name → module table of ``analytics/__init__.py``
  (:func:`lazy_names`), and the typed re-exports mypy and editors read there (the block
  between the generated markers, :func:`typing_block`, written by
  ``python -m eqm.apidoc --write-typing``; tests/test_registry.py fails while it is stale);
* the summary tables :data:`analytics.summaries.SUMMARIES` (:func:`summaries`);
* the dashboard service's routes ``ANALYSES``, ``SUMMARY_OF``, ``SUMMARY_OF_KW`` and
  ``SUMMARY_WITH_PRIOR`` (:func:`routes`, :func:`summary_routes`);
* the groups of docs/api.md (:func:`docs_groups`, :func:`documented`).

Adding an analysis means adding one :class:`Entry` here (and regenerating the two generated
files). The table holds strings only — module paths and names — so that ``import analytics``
stays light (nothing here imports an analysis, pandas or the warehouse; an import-linter
contract keeps it so). The calls stay visible to mypy through the generated re-exports, which
also check that every summarised analysis has the one signature of :class:`PaperAnalysis` (or
:class:`GrowthAnalysis`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from analytics.warehouse import Warehouse


class PaperAnalysis(Protocol):
    """The one signature of a paper's analysis: ``f(wh, *, exam, subject, grade=None, …)``
    (further keywords with defaults)."""

    def __call__(self, wh: Warehouse, /, *, exam: str, subject: str,
                 grade: int | None = None) -> pd.DataFrame:
        """Run the analysis on one paper and return its tidy frame."""
        ...


class GrowthAnalysis(Protocol):
    """An analysis of a paper against an earlier exam's: ``f(wh, *, exam, prior_exam,
    subject, grade=None, …)``."""

    def __call__(self, wh: Warehouse, /, *, exam: str, prior_exam: str, subject: str,
                 grade: int | None = None) -> pd.DataFrame:
        """Run the analysis on one paper against the earlier exam and return its tidy frame."""
        ...


class Summary(NamedTuple):
    """A summary table ``summary_<name>``: the analysis run once per paper with ``kwargs``."""

    name: str
    kwargs: tuple[tuple[str, Any], ...] = ()   # sorted by keyword
    needs_items: bool = False    # skip papers without a specification table (totals only)
    needs_prior: bool = False    # pass prior_exam = the latest earlier exam; skip when none


Reach = Literal["package", "module", "service"]


class Entry(NamedTuple):
    """One public name.

    ``reach``: ``package`` — ``analytics.<name>``, in ``__all__`` and docs/api.md;
    ``module`` — documented under its module path only (``analytics.display.prepare``);
    ``service`` — neither, only routed to by the dashboard service.
    ``route``: the name the dashboard service calls it by (``None``: not routed).
    """

    name: str
    module: str
    group: str
    summaries: tuple[Summary, ...] = ()
    route: str | None = None
    reach: Reach = "package"
    signature: Literal["paper", "growth", "other"] = "other"


def S(name: str, *, needs_items: bool = False, needs_prior: bool = False,
      **kwargs: Any) -> Summary:
    """A :class:`Summary` with its keyword arguments sorted (the service's lookup key)."""
    return Summary(name, tuple(sorted(kwargs.items())), needs_items, needs_prior)


# anchor → title of docs/api.md's sections, in their order
GROUPS: dict[str, str] = {
    "warehouse": "Warehouse & import / 数据仓库与导入",
    "scores": "Scores / 成绩分析",
    "items": "Items / 试题分析",
    "reliability": "Reliability / 信度",
    "paper": "Paper / 试卷质量与双向细目表",
    "hotspots": "Hotspots / 主要出错点",
    "archive": "Archive / 命题档案",
    "value-added": "Value-added / 增值评价",
    "growth": "Growth & progress / 成长百分位与进步",
    "green": "Green indicators / 绿色指标",
    "gaps": "Group gaps / 群体差异",
    "knowledge": "Knowledge points per student / 学生知识点得分",
    "reports": "School reports / 学校画像、成绩趋势与学困生",
    "snapshot": "Snapshots & backup / 快照与备份",
    "summaries": "Summaries / 汇总表",
    "users": "Users / 用户",
    "export": "Export / 导出",
    "helpers": "Display & lookup helpers / 显示与查询",
    "irt": "Item response theory / 项目反应理论",
}

_ITEMS = {"needs_items": True}
_LEVELS_4 = ("district", "zone", "school", "class")

ENTRIES: tuple[Entry, ...] = (
    # -- warehouse & import
    Entry("Warehouse", "analytics.warehouse", "warehouse"),
    Entry("connect", "analytics.warehouse", "warehouse"),
    Entry("ImportResult", "analytics.importers", "warehouse"),
    Entry("import_paper", "analytics.importers", "warehouse"),
    Entry("import_roster", "analytics.importers", "warehouse"),
    Entry("import_scores", "analytics.importers", "warehouse"),
    Entry("import_survey", "analytics.importers", "warehouse"),
    Entry("import_totals", "analytics.importers", "warehouse"),
    Entry("build_demo", "analytics.demo", "warehouse"),
    # the derived tables (item passes, knowledge results, summaries): one mechanism
    Entry("keep_derived_current", "analytics.reduce.derived", "warehouse", reach="module"),
    Entry("is_current", "analytics.reduce.derived", "warehouse", reach="module"),
    Entry("survey_codebook", "analytics.demo", "warehouse"),
    # -- scores
    Entry("score_report", "analytics.scores", "scores", route="score_report", signature="paper",
          summaries=tuple(S(f"score_report_{lv}", level=lv) for lv in _LEVELS_4)),
    Entry("grade_bands", "analytics.scores", "scores", route="grade_bands", signature="paper",
          summaries=tuple(S(f"grade_bands_{lv}", level=lv)
                          for lv in ("school", "zone", "district"))),
    Entry("percentiles", "analytics.scores", "scores", route="percentiles", signature="paper",
          summaries=(S("percentiles_zone", level="zone"),)),
    Entry("score_bands", "analytics.scores", "scores", route="score_bands", signature="paper"),
    Entry("borderline_students", "analytics.scores", "scores", route="borderline_students",
          signature="paper"),
    # 一分一段表 / 分数段 and the exam's total across subjects (全科总分)
    Entry("score_distribution", "analytics.scoretables", "scores", route="score_distribution",
          signature="paper"),
    Entry("total_score_report", "analytics.scoretables", "scores", route="total_score_report"),
    Entry("total_grade_bands", "analytics.scoretables", "scores", route="total_grade_bands"),
    # student rows (read back one school at a time by analytics.struggling_students)
    Entry("standard_scores", "analytics.scores", "scores", route="standard_scores",
          signature="paper", summaries=(S("standard_scores"),)),
    # -- items, reliability, paper
    Entry("item_stats", "analytics.items", "items", route="item_stats", signature="paper",
          summaries=(S("item_stats", level="district", **_ITEMS),)),
    Entry("option_analysis", "analytics.items", "items", route="option_analysis",
          signature="paper",
          summaries=(S("option_analysis", level="district", **_ITEMS),)),
    Entry("cronbach_alpha", "analytics.reliability", "reliability", signature="paper"),
    Entry("paper_quality", "analytics.paper", "paper", route="paper_quality", signature="paper",
          summaries=(S("paper_quality", level="district", **_ITEMS),)),
    Entry("category_rates", "analytics.paper", "paper", route="category_rates",
          signature="paper"),
    Entry("specification_table", "analytics.paper", "paper", signature="paper"),
    # -- hotspots
    Entry("error_hotspots", "analytics.hotspots", "hotspots", route="error_hotspots",
          signature="paper",
          summaries=(S("hotspots_school", level="school", **_ITEMS),
                     S("hotspots_school_kp", level="school", grain="knowledge_point",
                       **_ITEMS))),
    Entry("knowledge_matrix", "analytics.hotspots", "hotspots", route="knowledge_matrix",
          signature="paper",
          summaries=(S("knowledge_matrix_school", level="school", **_ITEMS),
                     S("knowledge_matrix_class", level="class", **_ITEMS))),
    Entry("district_weak_points", "analytics.hotspots", "hotspots",
          route="district_weak_points", signature="paper"),
    # -- archive
    Entry("archive_paper", "analytics.archive", "archive"),
    Entry("archive_item", "analytics.archive", "archive", route="archive_item"),
    Entry("link_item", "analytics.archive", "archive"),
    Entry("add_note", "analytics.archive", "archive", route="add_note"),
    Entry("note_history", "analytics.archive", "archive"),
    Entry("paper_archive", "analytics.archive", "archive"),
    Entry("search_archive", "analytics.archive", "archive", route="archive_search"),
    Entry("export_paper_archive", "analytics.archive", "archive"),
    Entry("paper_archive_groups", "analytics.archive", "archive", route="item_groups",
          reach="service", signature="paper"),
    # -- value added, growth, green
    Entry("value_added", "analytics.value_added", "value-added", route="value_added",
          signature="growth",
          summaries=(S("value_added_school", level="school", needs_prior=True),
                     S("value_added_class", level="class", needs_prior=True))),
    Entry("value_added_compare", "analytics.value_added", "value-added", signature="growth"),
    Entry("value_added_model", "analytics.value_added", "value-added"),
    Entry("value_added_pooled", "analytics.value_added", "value-added"),
    Entry("value_added_simple", "analytics.value_added", "value-added", signature="growth"),
    Entry("value_added_stability", "analytics.value_added", "value-added"),
    Entry("reml_fit", "analytics.value_added", "value-added"),
    Entry("fit_sgp", "analytics.growth", "growth"),
    Entry("growth_summary", "analytics.growth", "growth", signature="growth"),
    Entry("student_growth", "analytics.growth", "growth", signature="growth",
          summaries=(S("student_growth", needs_prior=True),)),
    Entry("progress_index", "analytics.progress", "growth"),
    Entry("green_indicators", "analytics.green", "green", route="green_indicators",
          signature="paper",
          summaries=(S("green_district", level="district"), S("green_school", level="school"))),
    Entry("load_scales", "analytics.green", "green"),
    Entry("scale_reliability", "analytics.green", "green"),
    Entry("group_gap", "analytics.gaps", "gaps", signature="paper"),
    Entry("student_knowledge_rates", "analytics.knowledge", "knowledge", signature="paper"),
    Entry("student_totals", "analytics.knowledge", "knowledge", signature="paper"),
    # -- the reports the dashboards show (composed of the analyses above)
    Entry("school_profile", "analytics.reports", "reports", route="school_profile"),
    Entry("score_trends", "analytics.reports", "reports", route="score_trends"),
    Entry("struggling_students", "analytics.reports", "reports", route="struggling_students",
          signature="paper"),
    # the student archive and its help records (issue 17)
    Entry("student_archive", "analytics.reports", "reports", route="student_archive"),
    Entry("student_weak_points", "analytics.reports", "reports"),
    Entry("watch_list", "analytics.reports", "reports"),
    Entry("add_help_record", "analytics.help_records", "reports"),
    Entry("edit_help_record", "analytics.help_records", "reports"),
    Entry("withdraw_help_record", "analytics.help_records", "reports"),
    Entry("help_records", "analytics.help_records", "reports"),
    Entry("help_record_history", "analytics.help_records", "reports"),
    # -- snapshots, summaries, users, export
    Entry("backup", "analytics.snapshot", "snapshot"),
    Entry("open_snapshot", "analytics.snapshot", "snapshot"),
    Entry("publish", "analytics.snapshot", "snapshot"),
    Entry("restore", "analytics.snapshot", "snapshot"),
    Entry("refresh_summaries", "analytics.summaries", "summaries"),
    Entry("reporting_tree", "analytics.summaries", "summaries"),
    Entry("summaries_stale", "analytics.summaries", "summaries"),
    Entry("summary", "analytics.summaries", "summaries"),
    Entry("add_user", "analytics.users", "users"),
    Entry("authenticate", "analytics.users", "users"),
    Entry("list_users", "analytics.users", "users"),
    Entry("remove_user", "analytics.users", "users"),
    Entry("export_parquet", "analytics.export", "export"),
    Entry("read_manifest", "analytics.export", "export"),
    # -- item response theory: calibration, scores, information, DIF, linking
    Entry("irt_items", "analytics.irt", "irt", signature="paper"),
    Entry("irt_fit", "analytics.irt", "irt", signature="paper"),
    Entry("irt_scores", "analytics.irt", "irt", signature="paper"),
    Entry("irt_information", "analytics.irt", "irt", signature="paper"),
    Entry("irt_dif", "analytics.irt", "irt", signature="paper"),
    Entry("irt_link", "analytics.irt", "irt"),
    Entry("irt_anchors", "analytics.irt", "irt"),
    Entry("save_irt_parameters", "analytics.irt", "irt"),
    # -- helpers every notebook uses, documented under their module path
    Entry("prepare", "analytics.display", "helpers", reach="module"),
    Entry("list_papers", "analytics.lookup", "helpers", reach="module"),
)


# ----------------------------------------------------------------------------- generated views

def lazy_names() -> dict[str, str]:
    """``analytics.<name>`` → the module that defines (or re-exports) it: the package's table."""
    return {e.name: e.module for e in ENTRIES if e.reach == "package"}


def summaries() -> list[tuple[Entry, Summary]]:
    """Every summary table with the entry it is computed by, in declaration order."""
    return [(e, s) for e in ENTRIES for s in e.summaries]


def routes() -> dict[str, tuple[str, str]]:
    """The dashboard service's route name → (module, function)."""
    return {e.route: (e.module, e.name) for e in ENTRIES if e.route is not None}


class SummaryRoutes(NamedTuple):
    """Which summary table answers a routed call (the service reads it instead of computing).

    ``by_level``: (route, level or None) → name, for calls with no keyword but ``level``;
    ``by_kwargs``: (route, sorted keywords) → name; ``with_prior``: (route, sorted keywords
    without ``prior_exam``) → name, for calls whose ``prior_exam`` is the latest earlier exam.
    """

    by_level: dict[tuple[str, str | None], str]
    by_kwargs: dict[tuple[str, tuple[tuple[str, Any], ...]], str]
    with_prior: dict[tuple[str, tuple[tuple[str, Any], ...]], str]


def summary_routes() -> SummaryRoutes:
    """The summary lookup tables of the dashboard service (see :class:`SummaryRoutes`)."""
    out = SummaryRoutes({}, {}, {})
    for e, s in summaries():
        if e.route is None:
            continue
        if s.needs_prior:
            out.with_prior[(e.route, s.kwargs)] = s.name
            continue
        out.by_kwargs[(e.route, s.kwargs)] = s.name
        kw = dict(s.kwargs)
        if set(kw) <= {"level"}:
            out.by_level[(e.route, kw.get("level"))] = s.name
    return out


def documented() -> list[Entry]:
    """The entries of docs/api.md (``package`` and ``module`` reach)."""
    return [e for e in ENTRIES if e.reach != "service"]


def docs_groups() -> list[tuple[str, str, tuple[str, ...]]]:
    """(anchor, title, modules its names are declared in) for every group, in order."""
    modules: dict[str, dict[str, None]] = {g: {} for g in GROUPS}
    for e in documented():
        modules[e.group][e.module] = None
    return [(anchor, title, tuple(modules[anchor])) for anchor, title in GROUPS.items()]


def entry(name: str) -> Entry:
    """The entry of public name ``name`` (KeyError if none)."""
    for e in ENTRIES:
        if e.name == name:
            return e
    raise KeyError(name)


# ----------------------------------------------------------------------------- the typed block

BEGIN = "# --- begin generated by `python -m eqm.apidoc --write-typing`; do not edit ---"
END = "# --- end generated ---"


def typing_block() -> str:
    """The ``if TYPE_CHECKING:`` block of analytics/__init__.py: every public name re-exported
    for mypy and editors, and the summarised analyses checked against the one signature."""
    lines = [BEGIN, "if TYPE_CHECKING:  # the names, for mypy and editors (explicit re-exports)"]
    imports = [(e.module, f"{e.name} as {e.name}") for e in ENTRIES if e.reach == "package"]
    imports.append(("analytics.registry", "GrowthAnalysis, PaperAnalysis"))
    lines += [f"    from {module} import {names}" for module, names in sorted(imports)]
    for kind, protocol in (("paper", "PaperAnalysis"), ("growth", "GrowthAnalysis")):
        names = [e.name for e in ENTRIES if e.signature == kind and e.reach == "package"]
        lines.append(f"    _{kind}_analyses: tuple[{protocol}, ...] = (")
        lines += [f"        {n}," for n in names]
        lines.append("    )")
    lines.append(END)
    return "\n".join(lines) + "\n"


def with_typing_block(text: str) -> str:
    """``text`` (analytics/__init__.py) with the generated block replaced by
    :func:`typing_block`."""
    head, sep, rest = text.partition(BEGIN)
    if not sep:
        raise ValueError(f"analytics/__init__.py has no line {BEGIN!r}")
    _, sep, tail = rest.partition(END + "\n")
    if not sep:
        raise ValueError(f"analytics/__init__.py has no line {END!r}")
    return head + typing_block() + tail
