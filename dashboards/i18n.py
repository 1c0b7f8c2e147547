"""Chinese-first labels with an English switch: UI texts, column headers and code → label maps.

``t(key, lang)`` gives a UI text; ``code_label(kind, code, lang)`` a stored code's label
(M → 男, public → 公办, above → 显著高于预期); ``column_label(col, lang)`` a column header.
Unknown keys fall back to the key itself, so a missing label shows up as English, never as an
error.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from analytics.domain import label

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

TEXTS: dict[str, tuple[str, str]] = {
    "app_title": ("教育质量监测分析平台", "Education-quality monitoring"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "bad_login": ("用户名或密码错误", "Wrong user name or password"),
    "bad_csrf": ("表单已过期,请重新登录", "The form expired; please try again"),
    "refused": ("无权访问:此页面不属于您的角色。",
                "Access denied: this page is not for your role."),
    # one text per AccessDenied reason (dashboards.service.AccessDenied.REASONS)
    "refused_role": ("无权访问:此页面或功能仅供{roles}使用。",
                     "Access denied: this page or feature is for {roles} only."),
    "refused_other_school": ("无权查看其他学校的数据。", "You may not see another school's data."),
    "refused_choose_school": ("请先选择学校。", "Choose a school first."),
    "refused_no_school": ("您的校长账号未关联学校,请联系管理员。",
                          "Your principal account has no school: ask the administrator."),
    "refused_principal_only": ("学生名单仅供本校校长查看。",
                               "Student lists are for the school's own principal only."),
    "refused_cannot_scope": ("这些数据无法限定在您的学校范围内,为安全起见不显示。",
                             "These data cannot be limited to your school, so they are not "
                             "shown."),
    "refused_bad_request": ("请求无效。", "Invalid request."),
    "refused_not_signed_in": ("请先登录。", "Please sign in."),
    "refused_denied": ("无权查看这些数据。", "You may not see these data."),
    "not_available": ("尚未提供 / not available yet", "not available yet / 尚未提供"),
    "no_data": ("暂无数据", "No data"),
    "totals_only": ("本次考试只有总分,没有小题得分,无法做试题分析。",
                    "This exam has totals only (no item scores): there is no item analysis."),
    "error": ("出错", "Error"),
    "hidden_zone_few_schools": (
        "片区内其他学校不足 {k} 所,为保护其他学校的数据,不显示片区对比。",
        "Fewer than {k} other schools in the zone: the zone comparison is not shown, to "
        "protect the other schools' data."),
    "hidden_zone_few_students": (
        "片区内其他学校的学生不足 {n} 人,为保护其他学校的数据,不显示片区对比。",
        "Fewer than {n} students in the zone's other schools: the zone comparison is not "
        "shown, to protect the other schools' data."),
    "hidden_zone_difference": (
        "全区中本片区以外的学校不足 {k} 所(或学生不足 {n} 人),全区与片区两行相减会暴露这些"
        "学校的数据,因此不显示片区对比。",
        "Outside the zone the district has fewer than {k} schools (or {n} students): the "
        "district row minus the zone row would show their data, so the zone comparison is not "
        "shown."),
    "hidden_district_few_schools": (
        "全区其他学校不足 {k} 所,为保护其他学校的数据,不显示全区对比(及与全区比较的指标)。",
        "Fewer than {k} other schools in the district: the district comparison (and every "
        "figure measured against the district) is not shown, to protect the other schools' "
        "data."),
    "hidden_district_few_students": (
        "全区其他学校的学生不足 {n} 人,为保护其他学校的数据,不显示全区对比(及与全区比较的指标)。",
        "Fewer than {n} students in the district's other schools: the district comparison "
        "(and every figure measured against the district) is not shown, to protect the other "
        "schools' data."),
    "exam": ("考试", "Exam"),
    "grade": ("年级", "Grade"),
    "subject": ("科目", "Subject"),
    "zone": ("片区", "Zone"),
    "school": ("学校", "School"),
    "class": ("班级", "Class"),
    "all": ("全部", "All"),
    "district_ref": ("全区", "District"),
    "home": ("首页", "Home"),
    "officer_overview": ("区域概览", "District overview"),
    "officer_schools": ("学校比较", "School comparison"),
    "officer_items": ("试题分析", "Item analysis"),
    "officer_hotspots": ("错误热点", "Error hotspots"),
    "officer_value_added": ("增值评价", "Value added"),
    "officer_green": ("绿色指标", "Green indicators"),
    "officer_trends": ("历次趋势", "Trends"),
    "principal": ("本校报告", "My school"),
    "committee": ("命题组", "Exam committee"),
    "admin": ("管理", "Administration"),
    "overview_table": ("三率一分(按学校)", "Rates and mean by school"),
    "mean_by_school": ("各校平均分", "Mean by school"),
    "bands_by_zone": ("各片区等级分布", "Grade bands by zone"),
    "dist_by_zone": ("各片区分数分布(箱线:P25–P75,须:P10–P90)",
                     "Scores by zone (box P25–P75, whiskers P10–P90)"),
    "ranking": ("学校排名(仅教研员可见)", "School ranking (research officers only)"),
    "ranking_off": ("按本区政策,不显示名次。", "Ranks are switched off by district policy."),
    "item_table": ("试题统计", "Item statistics"),
    "option_chart": ("选项分析(高分组/低分组)", "Options: upper vs lower group"),
    "item_curve": ("经验项目曲线(得分率 × 总分组)", "Empirical item curve"),
    "item": ("题号", "Item"),
    "needs_archive": ("该试卷尚未入档(eqm archive add),入档后显示。",
                      "Archive the paper first (eqm archive add) to see this."),
    "hotspot_heatmap": ("错误热点(得分率)", "Error hotspots (score rate)"),
    "level": ("层级", "Level"),
    "caterpillar": ("增值及 95% 区间", "Value added with 95% intervals"),
    "funnel": ("漏斗图:增值 × 学校规模(95% / 99.8% 控制限)",
               "Funnel plot: value added × size (95% / 99.8% limits)"),
    "quadrant": ("成绩 × 增值 四象限", "Attainment × value added"),
    "status_change": ("现状 × 变化", "Status × change"),
    "radar": ("绿色指标雷达图(本校 vs 全区)", "Green indicators: school vs district"),
    "rows_top": ("共 {total} 条,显示差距最大的 {shown} 条(可选片区或学校缩小范围)",
                 "{total} rows: the {shown} largest gaps are shown (choose a zone or school to "
                 "narrow it)"),
    "heatmap_top": ("共 {total} 个单位,热图显示差距最大的 {shown} 个(可选片区或学校缩小范围)",
                    "{total} units: the heatmap shows the {shown} furthest below the district "
                    "(choose a zone or school to narrow it)"),
    "trends": ("历次考试趋势", "Trends across exams"),
    "vs_district": ("本校与全区、本片区对比", "My school vs district and zone"),
    "classes": ("班级对比", "Classes"),
    "weak_items": ("低于全区的试题与常见错误答案",
                   "Items below the district, with common wrong answers"),
    "weak_points": ("低于全区的知识点", "Knowledge points below the district"),
    "va_reading": ("增值解读", "Value added, in plain words"),
    "struggling": ("学困生(成绩低或增长低)", "Students needing help (low attainment or growth)"),
    "borderline": ("临界生", "Borderline students"),
    "report_html": ("打印版学校报告", "Printable school report"),
    "export_xlsx": ("导出 Excel", "Export to Excel"),
    "paper_quality": ("试卷质量报告", "Paper quality report"),
    "archive_search": ("题库检索", "Search the question archive"),
    "search": ("检索", "Search"),
    "item_history": ("试题历史", "Item history"),
    "notes": ("出错原因分析(可编辑)", "Error-cause notes (editable)"),
    "save": ("保存", "Save"),
    "saved": ("已保存", "Saved"),
    "users": ("账号", "Users"),
    "imports": ("导入记录", "Import log"),
    "manage_users": ("添加或修改账号", "Add or change an account"),
    "display_name": ("显示名", "Display name"),
    "new_password": ("密码(至少 8 个字符)", "Password (8 characters or more)"),
    "role": ("角色", "Role"),
    "school_for_principal": ("学校(仅校长账号)", "School (principals only)"),
    "replace_user": ("已存在时重设密码与角色", "If it exists, reset its password and role"),
    "add_user": ("保存账号", "Save account"),
    "remove_user": ("删除账号", "Remove account"),
    "confirm_remove": ("确定删除这个账号吗?", "Remove this account?"),
    "user_saved": ("账号已保存:{name}", "Account saved: {name}"),
    "user_removed": ("账号已删除:{name}", "Account removed: {name}"),
    "suppressed_note": ("人数少于 {n} 的组不显示统计量。",
                        "Groups smaller than {n} are suppressed."),
    "position": ("本校位置", "Position"),
    "language": ("English", "中文"),
    "welcome": ("欢迎", "Welcome"),
    "pages_for_you": ("您可以访问的页面:", "Pages available to you:"),
}

# a code column (or kind) of the dashboards → its kind in analytics.domain's vocabulary, which
# holds the labels (analytics.domain.label)
CODES: dict[str, str] = {
    "gender": "gender", "ownership": "ownership", "locality": "locality", "hukou": "hukou",
    "category": "va_category", "role": "role", "status": "status", "item_type": "item_type",
    "band": "grade_band", "reason": "struggling_reason", "position": "position",
}

COLUMNS: dict[str, tuple[str, str]] = {
    "district_name": ("区", "District"), "zone_name": ("片区", "Zone"),
    "school_name": ("学校", "School"), "class_name": ("班级", "Class"),
    "n": ("人数", "n"), "mean": ("平均分", "Mean"), "sd": ("标准差", "SD"),
    "excellent_rate": ("优秀率", "Excellent rate"), "pass_rate": ("及格率", "Pass rate"),
    "low_rate": ("低分率", "Low rate"), "above_mean_rate": ("超均率", "Above-mean rate"),
    "score_rate": ("得分率", "Score rate"), "rank": ("名次", "Rank"),
    "difficulty": ("难度", "Difficulty"), "discrimination": ("区分度", "Discrimination"),
    "label": ("题号", "Item"), "item_label": ("题号", "Item"), "item_type": ("题型", "Type"),
    "max_score": ("分值", "Max"), "knowledge_point": ("知识点", "Knowledge point"),
    "value_added": ("增值", "Value added"), "va": ("增值", "Value added"),
    "ci_low": ("区间下限", "CI low"), "ci_high": ("区间上限", "CI high"),
    "category": ("判定", "Category"), "student_id": ("考号", "Student ID"),
    "student_name": ("姓名", "Name"), "total": ("总分", "Total"), "line": ("分数线", "Line"),
    "gap": ("差距", "Gap"), "option": ("选项", "Option"), "share": ("比例", "Share"),
    "ownership": ("办学性质", "Ownership"), "locality": ("城乡", "Locality"),
    "gender": ("性别", "Gender"), "exam": ("考试", "Exam"), "subject": ("科目", "Subject"),
    "grade": ("年级", "Grade"), "band": ("等级", "Band"), "username": ("用户名", "User"),
    "display_name": ("显示名", "Display name"), "created_at": ("创建时间", "Created"),
    "role": ("角色", "Role"), "alpha": ("信度 α", "Alpha"), "sem": ("测量标准误", "SEM"),
    "note": ("备注", "Note"), "reason": ("原因", "Reason"),
    "unit_name": ("单位", "Unit"), "name": ("指标", "Indicator"), "value": ("值", "Value"),
    "index_level": ("指数等级(1–9)", "Level (1–9)"), "z_mean": ("平均标准分 z", "Mean z"),
    "se": ("标准误", "SE"), "n_missing_prior": ("缺入口成绩", "No entry score"),
    "unit_rate": ("本单位得分率", "Unit rate"), "district_rate": ("全区得分率", "District rate"),
    "wrong_option": ("常见错误答案", "Common wrong answer"),
    "wrong_option_share": ("错误答案比例", "Wrong-answer share"),
    "wrong_option_district_share": ("全区该错误答案比例", "District share of that answer"),
    "worst_item_label": ("最弱小题", "Weakest item"),
    "knowledge_points": ("知识点", "Knowledge points"), "flag": ("显著偏低", "Flagged"),
    "q_value": ("q 值", "q-value"), "position": ("相对全区", "vs district"),
    "mean_score": ("平均得分", "Mean score"), "r_item_rest": ("题总相关", "Item-rest r"),
    "omit_rate": ("未答率", "Omit rate"), "key": ("答案", "Key"),
    "top_distractor": ("主要干扰项", "Top distractor"),
    "top_distractor_share": ("干扰项比例", "Distractor share"), "flags": ("提示", "Flags"),
    "number": ("序号", "No."), "item_number": ("序号", "No."), "item": ("题号", "Item"),
    "k": ("题数", "Items"),
    "full_score": ("满分", "Full score"), "mean_difficulty": ("平均难度", "Mean P"),
    "mean_discrimination": ("平均区分度", "Mean D"), "line_score": ("分数线", "Line"),
    "exam_date": ("日期", "Date"), "unit": ("单位", "Unit"),
    "sgp": ("增长百分位", "Growth percentile"), "z": ("标准分 z", "z"),
    "share_a": ("A 等", "Band A"), "share_b": ("B 等", "Band B"), "share_c": ("C 等", "Band C"),
    "share_d": ("D 等", "Band D"),
}


def lang_of(value: object) -> str:
    """A valid language code from user input (URL, store), defaulting to Chinese."""
    return value if isinstance(value, str) and value in LANGS else DEFAULT_LANG


def t(key: str, lang: str = DEFAULT_LANG, **fmt: object) -> str:
    """The UI text ``key`` in ``lang`` (falls back to the key)."""
    pair = TEXTS.get(key)
    text = key if pair is None else pair[0 if lang_of(lang) == "zh" else 1]
    return text.format(**fmt) if fmt else text


ROLE_ORDER = ("officer", "principal", "committee", "admin")


def role_list(roles: Iterable[str], lang: str = DEFAULT_LANG) -> str:
    """Role labels joined for a sentence: ``教研员、校长`` / ``research officers and
    principals``."""
    ordered = sorted(set(roles), key=lambda r: ROLE_ORDER.index(r) if r in ROLE_ORDER else 9)
    if lang_of(lang) == "zh":
        return "、".join(code_label("role", r, lang) for r in ordered)
    names = [code_label("role", r, lang) + "s" for r in ordered]
    return " and ".join(names) if len(names) < 3 else (
        ", ".join(names[:-1]) + " and " + names[-1])


def code_label(kind: str, code: object, lang: str = DEFAULT_LANG) -> str:
    """The label of a stored code, e.g. ``code_label("gender", "M") == "男"``."""
    if code is None or (isinstance(code, float) and code != code):
        return ""
    domain_kind = CODES.get(kind)
    return str(code) if domain_kind is None else label(domain_kind, str(code), lang_of(lang))


def column_label(col: str, lang: str = DEFAULT_LANG) -> str:
    """A column header for display."""
    pair = COLUMNS.get(col)
    return col if pair is None else pair[0 if lang_of(lang) == "zh" else 1]


def translate_codes(frame: pd.DataFrame, lang: str = DEFAULT_LANG,
                    kinds: Iterable[str] | None = None) -> pd.DataFrame:
    """Replace code columns (gender, ownership, category, …) by their labels."""
    out = frame.copy()
    for kind in kinds if kinds is not None else CODES:
        if kind in out.columns:
            out[kind] = [code_label(kind, v, lang) for v in out[kind]]
    return out


# -- the score tables page (一分一段表, 全科总分; pages/officer_distribution.py) -----------------
# added only where no other text has the key (setdefault), so the shared tables above win
for _key, _pair in {
    "officer_distribution": ("一分一段与全科总分", "Score tables and exam totals"),
    "ds_intro": ("一分一段表:每个分数的人数,以及从最高分往下累计的人数和百分比;全科总分:各科都"
                 "有成绩的学生的总分,按学校(或班级)列出三率一分与等级。",
                 "The score table lists, for every score, the students with it and, counted "
                 "from the top, the students at or above it; the exam total sums every subject "
                 "for students present in all of them, with rates, mean and grade bands per "
                 "school (or class)."),
    "ds_source": ("成绩", "Scores"),
    "ds_subject": ("本科目", "This subject"),
    "ds_total": ("全科总分", "Exam total (all subjects)"),
    "ds_width": ("分数段", "Bands"),
    "ds_one_point": ("一分一段", "Every score"),
    "ds_band": ("每 {w} 分一段", "{w}-point bands"),
    "ds_table": ("一分一段表", "Score table"),
    "ds_chart": ("累计百分比(从高分往下)", "Cumulative share from the top"),
    "ds_levels": ("全科总分:三率一分与等级", "Exam total: rates, mean and grade bands"),
    "ds_school_needed": ("选择学校后,显示该校的一分一段表与全区对比。",
                         "Choose a school to see its table beside the district's."),
    "ds_total_rule": ("全科总分只计各科都有成绩的学生;缺考或缺科 {absent} 人、作弊/违纪 {void} 人"
                      "未计入。科目:{subjects};满分 {full:g}。",
                      "The total counts only students present in every subject; {absent} "
                      "absent or missing a subject and {void} void are left out. Subjects: "
                      "{subjects}; full score {full:g}."),
    "ds_district_hidden": ("全区人数或学校数过少,不显示全区对比。",
                           "Too few other schools or students: the district is not shown."),
    "score_axis": ("分数", "Score"),
    "cum_share_axis": ("累计百分比", "Cumulative share"),
    "count_axis": ("人数", "Students"),
    "band_share_axis": ("等级比例", "Share in band"),
    "green_legend_title": ("等级说明", "What the levels mean"),
}.items():
    TEXTS.setdefault(_key, _pair)
for _key, _pair in {
    "score": ("分数", "Score"), "score_high": ("分数上限", "Up to"),
    "score_band": ("分数", "Score"),
    "count": ("人数", "Students"), "cum_count": ("累计人数", "Cumulative"),
    "cum_share": ("累计百分比", "Cumulative share"),
    "n_absent": ("缺考", "Absent"), "n_void": ("作弊/违纪", "Void"),
    "median": ("中位数", "Median"), "max": ("最高分", "Max"), "min": ("最低分", "Min"),
    "subjects": ("科目", "Subjects"),
    "a_share": ("A等比例", "Share A"), "b_share": ("B等比例", "Share B"),
    "c_share": ("C等比例", "Share C"), "d_share": ("D等比例", "Share D"),
}.items():
    COLUMNS.setdefault(_key, _pair)
