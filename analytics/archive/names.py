"""The archive's vocabulary: codes and their Chinese names (from :mod:`analytics.domain`)."""

from __future__ import annotations

from analytics.domain.bands import DIFFICULTY_BANDS, GRADE_BANDS
from analytics.domain.items import ITEM_TYPE_ALIASES, ITEM_TYPES, OBJECTIVE_TYPES
from analytics.domain.labels import label

# the vocabulary (codes, labels, aliases) is analytics.domain's
OBJECTIVE = OBJECTIVE_TYPES
ITEM_TYPE_ZH = {t: label("item_type", t) for t in ITEM_TYPES}
_TYPE_ALIASES = ITEM_TYPE_ALIASES
DIFFICULTY_ZH = {code: label("difficulty", code) for code in DIFFICULTY_BANDS}
_DIFFICULTY_ALIASES = {**{zh: code for code, zh in DIFFICULTY_ZH.items()},
                       "易": "very_easy", "中": "medium", "中档": "medium"}
GROUP_ZH = {code: label(kind, code) for kind, codes in (
    ("grade_band", GRADE_BANDS), ("gender", ("M", "F")), ("ownership", ("public", "private")),
    ("locality", ("urban", "rural"))) for code in codes}
GROUP_ORDER = ("band", "gender", "ownership", "locality")
CONTENT_FIELDS = ("stem_text", "option_texts", "solution_notes", "image_paths",
                  "intended_difficulty")
