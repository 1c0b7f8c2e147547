"""Item types (题型): the codes stored in ``items.item_type`` and their Chinese aliases."""

from __future__ import annotations

ITEM_TYPES = ("single", "multiple", "true_false", "fill", "constructed")
OBJECTIVE_TYPES = ("single", "multiple", "true_false")   # scored from the answer and the key

# Chinese names a user may type for a type (the archive search, ``eqm archive --type``); the
# labels themselves are :func:`analytics.domain.label` ``("item_type", code)``.
ITEM_TYPE_ALIASES: dict[str, str] = {
    "单选": "single", "单选题": "single", "选择题": "single", "多选": "multiple",
    "多选题": "multiple", "判断": "true_false", "判断题": "true_false", "填空": "fill",
    "填空题": "fill", "解答": "constructed", "解答题": "constructed", "主观题": "constructed",
}
