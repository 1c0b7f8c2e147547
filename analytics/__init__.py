"""Education-quality monitoring analytics.

The public Python API: open a warehouse with :func:`connect`, then call the analysis functions,
each of which returns a tidy :class:`pandas.DataFrame` (one row per unit, ids first, snake_case,
unrounded, with an ``n`` column and ``ci_low``/``ci_high`` for intervals).

The package loads lazily (PEP 562): ``import analytics`` reads only this table, and a name is
imported from its module the first time it is used, so the heavy parts (scipy.stats, the demo,
the renderers, Spark) load only for the analyses that need them.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

# The public API: name → the module that defines it (or re-exports it).
_LAZY: dict[str, str] = {
    "Warehouse": "analytics.warehouse",
    "connect": "analytics.warehouse",
    "add_user": "analytics.users",
    "authenticate": "analytics.users",
    "list_users": "analytics.users",
    "refresh_summaries": "analytics.summaries",
    "remove_user": "analytics.users",
    "reporting_tree": "analytics.summaries",
    "summaries_stale": "analytics.summaries",
    "summary": "analytics.summaries",
    "borderline_students": "analytics.scores",
    "category_rates": "analytics.paper",
    "cronbach_alpha": "analytics.reliability",
    "grade_bands": "analytics.scores",
    "item_stats": "analytics.items",
    "option_analysis": "analytics.items",
    "paper_quality": "analytics.paper",
    "percentiles": "analytics.scores",
    "score_bands": "analytics.scores",
    "score_report": "analytics.scores",
    "specification_table": "analytics.paper",
    "standard_scores": "analytics.scores",
    "add_note": "analytics.archive",
    "archive_item": "analytics.archive",
    "archive_paper": "analytics.archive",
    "district_weak_points": "analytics.hotspots",
    "error_hotspots": "analytics.hotspots",
    "export_paper_archive": "analytics.archive",
    "knowledge_matrix": "analytics.hotspots",
    "link_item": "analytics.archive",
    "note_history": "analytics.archive",
    "paper_archive": "analytics.archive",
    "search_archive": "analytics.archive",
    "build_demo": "analytics.demo",
    "survey_codebook": "analytics.demo",
    "ImportResult": "analytics.importers",
    "import_paper": "analytics.importers",
    "import_roster": "analytics.importers",
    "import_scores": "analytics.importers",
    "import_survey": "analytics.importers",
    "import_totals": "analytics.importers",
    "fit_sgp": "analytics.growth",
    "green_indicators": "analytics.green",
    "growth_summary": "analytics.growth",
    "load_scales": "analytics.green",
    "progress_index": "analytics.progress",
    "reml_fit": "analytics.value_added",
    "scale_reliability": "analytics.green",
    "student_growth": "analytics.growth",
    "value_added": "analytics.value_added",
    "value_added_compare": "analytics.value_added",
    "value_added_model": "analytics.value_added",
    "value_added_pooled": "analytics.value_added",
    "value_added_simple": "analytics.value_added",
    "value_added_stability": "analytics.value_added",
    "backup": "analytics.snapshot",
    "export_parquet": "analytics.export",
    "group_gap": "analytics.gaps",
    "open_snapshot": "analytics.snapshot",
    "publish": "analytics.snapshot",
    "read_manifest": "analytics.export",
    "restore": "analytics.snapshot",
    "student_knowledge_rates": "analytics.knowledge",
    "student_totals": "analytics.knowledge",
}

__all__ = list(_LAZY)

# Public names that are also a submodule's name: the function wins, as it always did (importing
# the submodule must not replace the function by the module on the package).
_SHADOWED = frozenset(name for name, module in _LAZY.items() if module == f"{__name__}.{name}")


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562) and keep it."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The package's module type: loading a submodule named like a public function (e.g.
    ``analytics.value_added``) leaves the function in place."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

if TYPE_CHECKING:  # the names, for mypy and editors (explicit re-exports)
    from analytics.archive import add_note as add_note
    from analytics.archive import archive_item as archive_item
    from analytics.archive import archive_paper as archive_paper
    from analytics.archive import export_paper_archive as export_paper_archive
    from analytics.archive import link_item as link_item
    from analytics.archive import note_history as note_history
    from analytics.archive import paper_archive as paper_archive
    from analytics.archive import search_archive as search_archive
    from analytics.demo import build_demo as build_demo
    from analytics.demo import survey_codebook as survey_codebook
    from analytics.export import export_parquet as export_parquet
    from analytics.export import read_manifest as read_manifest
    from analytics.gaps import group_gap as group_gap
    from analytics.green import green_indicators as green_indicators
    from analytics.green import load_scales as load_scales
    from analytics.green import scale_reliability as scale_reliability
    from analytics.growth import fit_sgp as fit_sgp
    from analytics.growth import growth_summary as growth_summary
    from analytics.growth import student_growth as student_growth
    from analytics.hotspots import district_weak_points as district_weak_points
    from analytics.hotspots import error_hotspots as error_hotspots
    from analytics.hotspots import knowledge_matrix as knowledge_matrix
    from analytics.importers import ImportResult as ImportResult
    from analytics.importers import import_paper as import_paper
    from analytics.importers import import_roster as import_roster
    from analytics.importers import import_scores as import_scores
    from analytics.importers import import_survey as import_survey
    from analytics.importers import import_totals as import_totals
    from analytics.items import item_stats as item_stats
    from analytics.items import option_analysis as option_analysis
    from analytics.knowledge import student_knowledge_rates as student_knowledge_rates
    from analytics.knowledge import student_totals as student_totals
    from analytics.paper import category_rates as category_rates
    from analytics.paper import paper_quality as paper_quality
    from analytics.paper import specification_table as specification_table
    from analytics.progress import progress_index as progress_index
    from analytics.reliability import cronbach_alpha as cronbach_alpha
    from analytics.scores import borderline_students as borderline_students
    from analytics.scores import grade_bands as grade_bands
    from analytics.scores import percentiles as percentiles
    from analytics.scores import score_bands as score_bands
    from analytics.scores import score_report as score_report
    from analytics.scores import standard_scores as standard_scores
    from analytics.snapshot import backup as backup
    from analytics.snapshot import open_snapshot as open_snapshot
    from analytics.snapshot import publish as publish
    from analytics.snapshot import restore as restore
    from analytics.summaries import refresh_summaries as refresh_summaries
    from analytics.summaries import reporting_tree as reporting_tree
    from analytics.summaries import summaries_stale as summaries_stale
    from analytics.summaries import summary as summary
    from analytics.users import add_user as add_user
    from analytics.users import authenticate as authenticate
    from analytics.users import list_users as list_users
    from analytics.users import remove_user as remove_user
    from analytics.value_added import reml_fit as reml_fit
    from analytics.value_added import value_added as value_added
    from analytics.value_added import value_added_compare as value_added_compare
    from analytics.value_added import value_added_model as value_added_model
    from analytics.value_added import value_added_pooled as value_added_pooled
    from analytics.value_added import value_added_simple as value_added_simple
    from analytics.value_added import value_added_stability as value_added_stability
    from analytics.warehouse import Warehouse as Warehouse
    from analytics.warehouse import connect as connect
