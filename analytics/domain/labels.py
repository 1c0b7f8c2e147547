"""The Chinese and English text of every code a user sees: :func:`label`.

``label(kind, code, lang="zh")`` — e.g. ``label("item_type", "single")`` is ``单选``,
``label("flag", "possible_wrong_key", "en")`` is ``a distractor attracts the upper group more
than the key``. An unknown code comes back as itself (so a new code shows, untranslated, rather
than failing a report); an unknown kind raises ``KeyError``.
"""

from __future__ import annotations

from collections.abc import Hashable

from analytics.domain.bands import DEFAULT_BANDS, LOW_GROWTH_SGP, STRUGGLING_SHARE
from analytics.domain.columns import COLUMNS

LANGS = ("zh", "en")

# kind → code → (Chinese, English)
LABELS: dict[str, dict[Hashable, tuple[str, str]]] = {
    "item_type": {
        "single": ("单选", "single choice"), "multiple": ("多选", "multiple choice"),
        "true_false": ("判断", "true/false"), "fill": ("填空", "fill-in"),
        "constructed": ("解答", "constructed response"),
    },
    "level": {"district": ("全区", "district"), "zone": ("片区", "zone"),
              "school": ("学校", "school"), "class": ("班级", "class")},
    "difficulty": {"very_easy": ("容易", "very easy"), "easy": ("较易", "easy"),
                   "medium": ("中等", "medium"), "hard": ("较难", "hard"),
                   "very_hard": ("难", "very hard")},
    "discrimination": {"very_good": ("很好", "very good"), "good": ("良好", "good"),
                       "acceptable": ("尚可", "acceptable"), "poor": ("较差", "poor")},
    "flag": {
        "too_easy": ("过易", "too easy (P > .90)"),
        "too_hard": ("过难", "too hard (P < .20)"),
        "weak_discrimination": ("区分度低", "weak discrimination (0 ≤ D < .20)"),
        "negative_discrimination": ("负区分",
                                    "negative discrimination (D < 0 or r_item_rest < 0)"),
        "possible_wrong_key": ("疑似答案错误",
                               "a distractor attracts the upper group more than the key"),
        "attractive_distractor": ("干扰项过强",
                                  "a distractor is chosen more often than the key, or "
                                  "(share ≥ 5%) more by the upper than the lower group"),
        "many_omissions": ("未答多", "many omissions (> 10%)"),
    },
    "line": {"excellent": ("优秀", "excellent"), "pass": ("及格", "pass"),
             "low": ("低分", "low")},
    "grade_band": {"A": ("A等", "band A"), "B": ("B等", "band B"), "C": ("C等", "band C"),
                   "D": ("D等", "band D")},
    "kelley_group": {"upper": ("高分组", "upper group"), "lower": ("低分组", "lower group")},
    # the interval lies above (below) 0; "significant" is said in Chinese, where 高于预期 alone
    # would read as any positive value, and by the interval in English reports
    "va_category": {"above": ("显著高于预期", "above expected"),
                    "as_expected": ("符合预期", "as expected"),
                    "below": ("显著低于预期", "below expected")},
    "va_method": {"mlm": ("多层模型", "multilevel model"),
                  "residual": ("入口定出口(残差)", "mean residual"),
                  "zchange": ("标准分变化", "change in mean z"),
                  "rankchange": ("百分等级变化", "change in percentile rank")},
    "link_method": {"stem": ("题干相同", "same stem"), "metadata": ("属性相同", "same metadata"),
                    "new": ("新题", "new item"), "manual": ("人工关联", "linked by hand")},
    "status": {"present": ("实考", "present"), "absent": ("缺考", "absent"),
               "void": ("作弊/违纪", "void")},
    "gender": {"M": ("男", "male"), "F": ("女", "female")},
    "hukou": {"local": ("本地", "local"), "nonlocal": ("外地", "non-local")},
    "ownership": {"public": ("公办", "public"), "private": ("民办", "private")},
    "locality": {"urban": ("城区", "urban"), "rural": ("乡镇", "rural")},
    "group_kind": {"band": ("等级", "grade band"), "gender": ("性别", "gender"),
                   "ownership": ("办学性质", "ownership"), "locality": ("城乡", "locality"),
                   "hukou": ("户籍", "hukou")},
    "category": {"knowledge_point": ("知识点", "knowledge point"),
                 "cognitive_level": ("认知层次", "cognitive level"),
                 "item_type": ("题型", "item type")},
    "by": {"item": ("小题", "item"), "knowledge_point": ("知识点", "knowledge point")},
    "role": {"officer": ("教研员", "research officer"), "principal": ("校长", "principal"),
             "committee": ("命题组", "exam committee"), "admin": ("管理员", "administrator")},
    "struggling_reason": {
        "bottom_share": (f"成绩在全区后{STRUGGLING_SHARE:.0%}",
                         f"in the district's bottom {STRUGGLING_SHARE:.0%}"),
        "below_low": ("低分(低于低分线)", "below the low line"),
        "below_pass": ("不及格(低于及格线)", "below the pass line"),
        "low_growth": (f"增长低(增长百分位≤{LOW_GROWTH_SGP})",
                       f"low growth (growth percentile ≤ {LOW_GROWTH_SGP})"),
    },
    # the attainment third of a unit on the value-added status × change grid (mean z ±0.2)
    "attainment": {"high": ("成绩较高", "high attainment"),
                   "middle": ("成绩居中", "middling attainment"),
                   "low": ("成绩较低", "low attainment")},
    "boolean": {True: ("是", "yes"), False: ("否", "no")},
    "grade": {1: ("一年级", "grade 1"), 2: ("二年级", "grade 2"), 3: ("三年级", "grade 3"),
              4: ("四年级", "grade 4"), 5: ("五年级", "grade 5"), 6: ("六年级", "grade 6"),
              7: ("七年级", "grade 7"), 8: ("八年级", "grade 8"), 9: ("九年级", "grade 9"),
              10: ("高一", "grade 10"), 11: ("高二", "grade 11"), 12: ("高三", "grade 12")},
    # the import log's outcome and kind, the summary catalog's names
    "outcome": {"ok": ("成功", "succeeded"), "replaced": ("已替换", "replaced"),
                "failed": ("失败", "failed"),
                "error": ("失败", "failed"), "running": ("进行中", "running")},
    "import_kind": {"roster": ("名册", "roster"), "paper": ("试卷", "paper"),
                    "scores": ("小题得分", "item scores"), "totals": ("总分", "totals"),
                    "survey": ("问卷", "questionnaire"), "responses": ("作答", "responses")},
    # a school's figure against the district's (the school profile)
    "column": COLUMNS,  # column headers (analytics.domain.columns)
    "position": {"above": ("高于全区", "above the district"),
                 "similar": ("与全区相当", "close to the district"),
                 "below": ("低于全区", "below the district")},
    # a school's figure against its zone's (the printed school report, issue 17)
    "zone_position": {"above": ("高于片区", "above the zone"),
                      "similar": ("与片区相当", "close to the zone"),
                      "below": ("低于片区", "below the zone")},
}


def _green_level_legend() -> dict[Hashable, tuple[str, str]]:
    """Levels 1–9 of the green indicators: level = clamp(floor(index × 10), 1, 9)."""
    out: dict[Hashable, tuple[str, str]] = {
        1: ("1级(最低):指数低于0.2", "level 1 (lowest): index below 0.2")}
    for k in range(2, 9):
        out[k] = (f"{k}级:指数 {k / 10:.1f}–{(k + 1) / 10:.1f}",
                  f"level {k}: index {k / 10:.1f}–{(k + 1) / 10:.1f}")
    out[9] = ("9级(最高):指数0.9及以上", "level 9 (highest): index 0.9 or above")
    return out


_A, _B, _C = (f"{x:.0%}" for x in DEFAULT_BANDS)
# plain legends the pages show beside the green levels and the grade bands
LABELS.update({
    "green_level_legend": _green_level_legend(),
    "grade_band_legend": {
        "A": (f"A等(优秀):达到A等线(未设定时为满分的{_A})",
              f"A (excellent): at or above the A line ({_A} of the full score unless set)"),
        "B": (f"B等(良好):B等线({_B})至A等线", f"B (good): from the B line ({_B}) to the A line"),
        "C": (f"C等(合格):C等线({_C})至B等线", f"C (pass): from the C line ({_C}) to the B line"),
        "D": (f"D等(待合格):低于C等线({_C})", f"D (below pass): under the C line ({_C})"),
    },
    "legend": {
        "green_levels": (
            "绿色指标分1–9级,级数越高越好:指数(达标或肯定回答的学生比例,或 1 − 系数×统计量)"
            "每0.1为一级。学业负担、社会经济背景影响和均衡已按“越轻、越小、越均衡级数越高”计分。",
            "Green indicators are graded 1–9, higher is better: one level per 0.1 of the index "
            "(the share of students reaching the standard or answering favourably, or 1 − "
            "factor × statistic). Burden, the influence of socio-economic background and equity "
            "are scored so that lighter, smaller and more equal mean a higher level."),
        "grade_bands": (
            "等级 A–D 按总分划分:A 优秀、B 良好、C 合格、D 待合格;分界线取自试卷设定,未设定时为"
            f"满分的 {_A}、{_B}、{_C}。",
            "Grade bands A–D by the total: A excellent, B good, C pass, D below pass; the bounds "
            f"are the paper's, or {_A}, {_B} and {_C} of the full score when it sets none."),
    },
})


def label(kind: str, code: Hashable, lang: str = "zh") -> str:
    """The ``lang`` (``zh`` or ``en``) text of ``code`` of ``kind`` (see :data:`LABELS`).

    Raises
    ------
    KeyError
        When ``kind`` is not a kind of :data:`LABELS`.
    ValueError
        When ``lang`` is neither ``zh`` nor ``en``.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, not {lang!r}")
    pair = LABELS[kind].get(code)
    return str(code) if pair is None else pair[LANGS.index(lang)]


def labels_of(kind: str, lang: str = "zh") -> dict[Hashable, str]:
    """Every code of ``kind`` with its ``lang`` text, in :data:`LABELS` order."""
    return {code: label(kind, code, lang) for code in LABELS[kind]}
