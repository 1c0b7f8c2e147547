"""Education-quality monitoring analytics.

The public Python API: open a warehouse with :func:`connect`, then call the analysis functions,
each of which returns a tidy :class:`pandas.DataFrame` (one row per unit, ids first, snake_case,
unrounded, with an ``n`` column and ``ci_low``/``ci_high`` for intervals).
"""

# Score reports, item analysis, reliability, paper quality (issue 3, parts 1-3); error hotspots
# and the question archive (parts 4-5).
from analytics.archive import (
    add_note,
    archive_item,
    archive_paper,
    export_paper_archive,
    link_item,
    note_history,
    paper_archive,
    search_archive,
)
from analytics.demo import build_demo, survey_codebook  # the demo district (issue 2, part 4)
from analytics.export import export_parquet, read_manifest  # Parquet hand-over (issue 6)
from analytics.gaps import group_gap  # notebooks (issue 7)

# Value-added, growth percentiles, cross-year progress, green indicators (issue 4).
from analytics.green import green_indicators, load_scales, scale_reliability
from analytics.growth import fit_sgp, growth_summary, student_growth
from analytics.hotspots import district_weak_points, error_hotspots, knowledge_matrix
from analytics.importers import (  # files → warehouse (issue 2, part 3)
    ImportResult,
    import_paper,
    import_roster,
    import_scores,
    import_survey,
    import_totals,
)
from analytics.items import item_stats, option_analysis
from analytics.knowledge import student_knowledge_rates, student_totals  # notebooks (issue 7)
from analytics.paper import category_rates, paper_quality, specification_table
from analytics.progress import progress_index
from analytics.reliability import cronbach_alpha
from analytics.scores import (
    borderline_students,
    grade_bands,
    percentiles,
    score_bands,
    score_report,
    standard_scores,
)
from analytics.snapshot import backup, open_snapshot, publish, restore  # issue 7
from analytics.summaries import (  # dashboards' summary tables (issue 5)
    refresh_summaries,
    reporting_tree,
    summaries_stale,
    summary,
)
from analytics.users import add_user, authenticate, list_users, remove_user  # issue 5
from analytics.value_added import (
    reml_fit,
    value_added,
    value_added_compare,
    value_added_model,
    value_added_pooled,
    value_added_simple,
    value_added_stability,
)
from analytics.warehouse import Warehouse, connect

__all__ = ["Warehouse", "connect"]
__all__ += ["add_user", "authenticate", "list_users", "refresh_summaries", "remove_user",
            "reporting_tree", "summaries_stale", "summary"]
__all__ += [
    "borderline_students", "category_rates", "cronbach_alpha", "grade_bands", "item_stats",
    "option_analysis", "paper_quality", "percentiles", "score_bands", "score_report",
    "specification_table", "standard_scores",
]
__all__ += [
    "add_note", "archive_item", "archive_paper", "district_weak_points", "error_hotspots",
    "export_paper_archive", "knowledge_matrix", "link_item", "note_history", "paper_archive",
    "search_archive",
]
__all__ += ["build_demo", "survey_codebook"]
__all__ += ["ImportResult", "import_paper", "import_roster", "import_scores", "import_survey",
            "import_totals"]
__all__ += [
    "fit_sgp", "green_indicators", "growth_summary", "load_scales", "progress_index",
    "reml_fit", "scale_reliability", "student_growth", "value_added", "value_added_compare",
    "value_added_model", "value_added_pooled", "value_added_simple", "value_added_stability",
]
__all__ += ["backup", "export_parquet", "group_gap", "open_snapshot", "publish", "read_manifest",
            "restore", "student_knowledge_rates", "student_totals"]
