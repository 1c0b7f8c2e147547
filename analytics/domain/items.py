"""Item types (题型): the codes of ``items.item_type`` and their aliases; cognitive levels."""

from __future__ import annotations

ITEM_TYPES = ("single", "multiple", "true_false", "fill", "constructed")
OBJECTIVE_TYPES = ("single", "multiple", "true_false")   # scored from the answer and the key

# The objective types as a SQL list, ``('single', 'multiple', 'true_false')``: a trusted
# constant made from OBJECTIVE_TYPES (codes, never user text) for ``item_type IN {…}``.
OBJECTIVE_SQL = "(" + ", ".join(f"'{code}'" for code in OBJECTIVE_TYPES) + ")"

# Every word a user may write for a type: the 题型 column of a specification table (compared
# after NFKC, lower case, without spaces), the archive search and ``eqm archive --type``. The
# labels themselves are :func:`analytics.domain.label` ``("item_type", code)``.
ITEM_TYPE_WORDS: dict[str, tuple[str, ...]] = {
    "single": ("单选", "单选题", "选择", "选择题", "单项选择", "单项选择题", "single", "sc",
               "mc1"),
    "multiple": ("多选", "多选题", "多项选择", "多项选择题", "不定项", "不定项选择",
                 "不定项选择题", "multiple", "mc"),
    "true_false": ("判断", "判断题", "是非题", "true_false", "tf", "truefalse"),
    "fill": ("填空", "填空题", "fill"),
    "constructed": ("解答", "解答题", "主观", "主观题", "简答", "简答题", "作文", "计算",
                    "计算题", "综合", "综合题", "阅读", "阅读题", "应用题", "实验题", "探究题",
                    "写作", "听力", "constructed", "open"),
}
# alias → code (the codes themselves included)
ITEM_TYPE_ALIASES: dict[str, str] = {
    word: code for code, words in ITEM_TYPE_WORDS.items() for word in words}

# 认知层次: the levels a specification table usually names, lowest first (the demo and the
# benchmarks draw from them; the importer stores whatever text the table gives).
COGNITIVE_LEVELS = ("了解", "理解", "掌握", "运用")
