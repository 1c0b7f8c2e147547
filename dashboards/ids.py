"""Every component id of the app, in one module (pages import these, tests post to them)."""

from __future__ import annotations

# -- shell (app layout) ---------------------------------------------------------------------
URL = "eqm-url"
NAVBAR = "eqm-navbar"
USER_BADGE = "eqm-user"

# -- filters (the same ids on every page; their state lives in the URL query string) --------
FILTER_TYPE = "eqm-filter"      # pattern-matching id type: {"type": FILTER_TYPE, "key": …}
FILTER_KEYS = ("exam", "grade", "subject", "zone", "school", "class")
FILTERS = "filters-store"       # dcc.Store with the page's scoped filter state, set by layout


TABLE_TYPE = "eqm-table"        # pattern-matching ids of every table, its export button and
EXPORT_TYPE = "eqm-export"      # download: {"type": …, "index": a key shared by the three}
EXPORT_DOWNLOAD = "eqm-export-download"  # the shell's one dcc.Download of the exports
DRILL_TYPE = "eqm-drill"        # charts whose marks link to a unit's page (customdata)


def filter_id(key: str) -> dict[str, str]:
    """The id of the filter dropdown for ``key`` (one of :data:`FILTER_KEYS`)."""
    return {"type": FILTER_TYPE, "key": key}


# -- officer pages ------------------------------------------------------------------------------
OV_TABLE = "ov-table"
OV_BAR = "ov-bar"
OV_ZONES = "ov-zones"
OV_DIST = "ov-dist"
OV_NOTE = "ov-note"
SC_TABLE = "sc-table"
SC_BAR = "sc-bar"
IT_TABLE = "it-table"
IT_ITEM = "it-item"
IT_OPTIONS = "it-options"
IT_CURVE = "it-curve"
HS_LEVEL = "hs-level"
HS_HEATMAP = "hs-heatmap"
HS_TABLE = "hs-table"
VA_LEVEL = "va-level"
VA_CATERPILLAR = "va-caterpillar"
VA_FUNNEL = "va-funnel"
VA_QUADRANT = "va-quadrant"
VA_GRID = "va-grid"
VA_TABLE = "va-table"
GR_RADAR = "gr-radar"
GR_TABLE = "gr-table"
TR_CHART = "tr-chart"
TR_TABLE = "tr-table"

# -- principal ------------------------------------------------------------------------------
PR_VS = "pr-vs"
PR_VS_TABLE = "pr-vs-table"
PR_CLASSES = "pr-classes"
PR_CLASSES_TABLE = "pr-classes-table"
PR_ITEMS = "pr-items"
PR_POINTS = "pr-points"
PR_VA = "pr-va"
PR_VA_TEXT = "pr-va-text"
PR_STRUGGLING = "pr-struggling"
PR_BORDERLINE = "pr-borderline"
PR_REPORT_BTN = "pr-report-btn"
PR_XLSX_BTN = "pr-xlsx-btn"
PR_DOCX_BTN = "pr-docx-btn"
PR_DOWNLOAD = "pr-download"

# -- committee ------------------------------------------------------------------------------
CM_QUALITY = "cm-quality"
CM_QUALITY_TABLE = "cm-quality-table"
CM_QUERY = "cm-query"
CM_SEARCH_BTN = "cm-search-btn"
CM_RESULTS = "cm-results"
CM_HISTORY_ITEM = "cm-history-item"
CM_HISTORY = "cm-history"
CM_NOTE_TEXT = "cm-note-text"
CM_NOTE_SAVE = "cm-note-save"
CM_NOTE_STATUS = "cm-note-status"

# -- admin ----------------------------------------------------------------------------------
AD_USERS = "ad-users"
AD_IMPORTS = "ad-imports"
AD_SUMMARIES = "ad-summaries"
AD_VERSION = "ad-version"            # bumped after a change to the users (refreshes the table)
AD_NEW_NAME = "ad-new-name"
AD_NEW_DISPLAY = "ad-new-display"
AD_NEW_PASSPHRASE = "ad-new-passphrase"
AD_NEW_ROLE = "ad-new-role"
AD_NEW_SCHOOL = "ad-new-school"
AD_NEW_REPLACE = "ad-new-replace"
AD_ADD = "ad-add"
AD_REMOVE_NAME = "ad-remove-name"
AD_REMOVE = "ad-remove"
AD_STATUS = "ad-status"

# -- score tables page (一分一段表, 全科总分: pages/officer_distribution.py) ---------------------
DS_SOURCE = "ds-source"          # radio: the subject's paper or the exam's total
DS_WIDTH = "ds-width"            # dropdown: one row per score, or bands of 5/10/20 points
DS_NOTE = "ds-note"
DS_CHART = "ds-chart"
DS_TABLE = "ds-table"
DS_LEVELS_CHART = "ds-levels-chart"
DS_LEVELS_TABLE = "ds-levels-table"
