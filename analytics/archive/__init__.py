"""The question archive (命题档案): an item bank with every administration's statistics and the
committee's error-cause notes (出错原因分析) kept as an append-only history.

Tables (migration ``002_archive.sql``): ``bank_items`` (+ ``bank_item_knowledge``),
``bank_administrations`` (one per use of an item on a paper), ``bank_admin_options``,
``bank_admin_groups`` and ``bank_notes``.

Entering a paper: :func:`archive_paper` registers each item of an imported paper and records the
administration's statistics. An item already in the bank is *linked*, not duplicated, when its
content fingerprint matches:

* with stem text (题干): ``sha256(subject | normalised stem)``; normalisation is NFKC, lower case,
  all white space and punctuation removed, so re-typed spacing or full-width commas still match;
* without stem text: ``sha256(subject | grade | label | type | key | sorted knowledge points |
  max score)``. This metadata match is deliberately strict (the label is part of it), so an item
  that moved position is not linked automatically — use :func:`link_item` — and two different
  items that happen to share all of these fields would be linked: check with ``eqm archive
  show`` and split them with :func:`link_item` (``bank_item_id=None``).

Statistics of an administration (over the present students), those of
:func:`analytics.items.item_stats` and :func:`analytics.items.option_analysis` for the paper's
whole population as one unit (:func:`analytics.items.paper_population_stats`: the same sums and
formulas, not SQL of the archive's own):

* n, mean score, score rate 得分率 = mean / max (答对率 for 0/1 items; difficulty P), omission
  rate (NULL score);
* D = score rate of the upper 27 % − that of the lower 27 % by total score (Kelley 1939,
  *J. Educ. Psychol.* 30:17–24), the groups of :mod:`analytics.stats.items` formed on the whole
  paper: size floor(0.27 N + 0.5); students are ordered by total, ties at the cut broken by
  ``student_key`` so both groups have exactly that size (a paper of one student has empty
  groups, so D is missing);
* per offered letter of an objective item: count, share of all present students, and shares
  in the upper/lower groups (a multiple-choice answer such as ``AC`` counts for A and C);
* score rates by grade band A/B/C/D (from the paper's band lines on the total), gender,
  ownership (公办/民办) and locality (城区/乡镇).

Export (:func:`export_paper_archive`): an Excel workbook with Chinese headers and a printable A4
HTML page rendered from ``templates/archive_paper.html`` with Jinja2; numbers are rounded and
small groups suppressed by :mod:`analytics.display` only.

The package's modules: :mod:`~analytics.archive.fingerprints`, :mod:`~analytics.archive.sql`
(an administration's band and demographic rates, the overview and search),
:mod:`~analytics.archive.bank` (entering a paper; links, content, notes),
:mod:`~analytics.archive.read` (search and reading), :mod:`~analytics.archive.content` (the
item-content file) and :mod:`~analytics.archive.export` (workbook and HTML page); their public
names are re-exported here.
"""

from __future__ import annotations

from analytics.archive.bank import (
    add_note,
    archive_paper,
    link_item,
    note_history,
    update_item_content,
)
from analytics.archive.content import (
    normalise_label,
    read_item_content,
)
from analytics.archive.export import (
    GROUP_KIND_ZH,
    SHEETS,
    archive_report,
    export_paper_archive,
    render_html,
)
from analytics.archive.fingerprints import (
    meta_fingerprint,
    normalise_stem,
    stem_fingerprint,
)
from analytics.archive.names import (
    CONTENT_FIELDS,
    DIFFICULTY_ZH,
    GROUP_ORDER,
    GROUP_ZH,
    ITEM_TYPE_ZH,
    OBJECTIVE,
)
from analytics.archive.read import (
    archive_item,
    paper_archive,
    paper_archive_groups,
    paper_archive_options,
    search_archive,
)
from analytics.archive.sql import (
    admin_groups_sql,
    bank_overview_sql,
    paper_items_sql,
    search_sql,
)

__all__ = [
    "CONTENT_FIELDS",
    "DIFFICULTY_ZH",
    "GROUP_KIND_ZH",
    "GROUP_ORDER",
    "GROUP_ZH",
    "ITEM_TYPE_ZH",
    "OBJECTIVE",
    "SHEETS",
    "add_note",
    "admin_groups_sql",
    "archive_item",
    "archive_paper",
    "archive_report",
    "bank_overview_sql",
    "export_paper_archive",
    "link_item",
    "meta_fingerprint",
    "normalise_label",
    "normalise_stem",
    "note_history",
    "paper_archive",
    "paper_archive_groups",
    "paper_archive_options",
    "paper_items_sql",
    "read_item_content",
    "render_html",
    "search_archive",
    "search_sql",
    "stem_fingerprint",
    "update_item_content",
]
