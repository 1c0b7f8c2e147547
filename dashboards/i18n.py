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
from analytics.domain.columns import COLUMNS as COLUMNS

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
    "not_available": ("尚未提供", "not available yet"),
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
    "hotspot_heatmap": ("错误热点:与全区得分率之差(百分点)",
                        "Error hotspots: gap to the district's score rate (points)"),
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
    "report_docx": ("学校质量分析报告(Word)", "School report (Word)"),
    "export_xlsx": ("导出 Excel", "Export to Excel"),
    "export_sheet": ("数据", "data"),
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
    # one sentence under each page's title: what the page shows
    "intro_officer_overview": ("全区各校本次考试的三率一分、平均分与等级分布。",
                               "Each school's rates and mean on this paper, and the grade "
                               "bands by zone."),
    "intro_officer_schools": ("各校平均分及其 95% 区间,按本区政策显示名次;点击学校打开该校报告。",
                              "Each school's mean with its 95% interval (ranks as the district "
                              "allows); click a school to open its report."),
    "intro_officer_items": ("每道题的难度、区分度与选项,高分组与低分组的选择对比。",
                            "Each item's difficulty, discrimination and options, upper against "
                            "lower group."),
    "intro_officer_hotspots": ("各校(或班级)在各知识点上与全区得分率的差距,以及显著偏低的小题;"
                               "点击热图中的单元格打开该校。",
                               "Each school's (or class's) gap to the district's score rate by "
                               "knowledge point, and the items significantly below; click a "
                               "cell to open that school."),
    "intro_officer_value_added": ("与入口成绩相近的全区学生相比,各校(班)学生出口成绩高出或低出多少;"
                                  "点击学校打开该校报告。",
                                  "How far each school's (class's) students score above or "
                                  "below district students of similar entry scores; click a "
                                  "school to open its report."),
    "intro_officer_green": ("绿色指标九项的指数等级(1–9),学校与全区对比。",
                            "The nine green indicators as index levels 1–9, a school against "
                            "the district."),
    "intro_officer_trends": ("历次考试的成绩趋势;选择一所学校时画它相对全区的平均标准分 z"
                             "及 95% 区间(不同试卷可比)。",
                             "Results across exams; with a school chosen, its mean z against "
                             "the district with 95% intervals (comparable across papers)."),
    "intro_principal": ("本校与全区、本片区的对比,班级、薄弱试题与知识点、增值,"
                        "以及需要关注的学生。",
                        "My school against the district and zone: classes, weak items and "
                        "knowledge points, value added and the students who need help."),
    "intro_committee": ("试卷质量、题库检索、每道题的历次表现与出错原因分析。",
                        "Paper quality, the question archive, each item's history and the "
                        "error-cause notes."),
    "intro_officer_distribution": ("一分一段表:每个分数(或分数段)的人数与从高分起的"
                                   "累计人数、累计百分比;全科总分:各科都参加的学生的总分三率一分与等级。",
                                   "The score table: students at each score (or band) and the "
                                   "count and share at or above it, from the top; the exam "
                                   "total: rates and grade bands of the students who sat "
                                   "every subject."),
    "intro_admin": ("账号、导入记录与汇总表。", "Accounts, the import log and the summary tables."),
    "how_to_read": ("如何阅读", "How to read this"),
    # axis titles and legend entries
    "axis_mean": ("平均分", "Mean score"), "axis_school": ("学校", "School"),
    "axis_class": ("班级", "Class"), "axis_zone": ("片区", "Zone"),
    "axis_subject": ("科目", "Subject"), "axis_share": ("比例(%)", "Share (%)"),
    "axis_total": ("总分", "Total score"),
    "axis_va": ("增值(标准差)", "Value added (SD)"), "axis_n": ("学生人数", "Students"),
    "axis_attainment": ("成绩(平均标准分 z)", "Attainment (mean z)"),
    "axis_rate": ("得分率", "Score rate"), "axis_total_group": ("总分组(低 → 高)",
                                                              "Total-score group (low → high)"),
    "axis_exam": ("考试", "Exam"), "axis_option": ("选项(✓ 为答案)", "Option (✓ key)"),
    "axis_item": ("题号", "Item"), "axis_mean_z": ("平均标准分 z", "Mean z"),
    "axis_value": ("难度 P / 区分度 D", "Difficulty P / discrimination D"),
    "axis_change": ("增值判定", "Value added"), "axis_status": ("成绩位置", "Attainment"),
    "gap_colorbar": ("差距(百分点)", "Gap (points)"),
    "expected_line": ("0 = 符合预期", "0 = as expected"),
    "district_mean_line": ("全区平均分", "District mean"),
    "district_z_line": ("0 = 全区平均", "0 = district mean"),
    "limit_95": ("95% 控制限", "95% limits"), "limit_998": ("99.8% 控制限", "99.8% limits"),
    "difficulty_p": ("难度 P(得分率)", "Difficulty P"),
    "discrimination_d": ("区分度 D", "Discrimination D"),
    "band_legend": ("{band}(≥{cut})", "{band} (≥{cut})"),
    "band_legend_d": ("{band}(<{cut})", "{band} (<{cut})"),
    "radar_axis": ("指数等级 1–9", "Index level 1–9"),
    "entry_exam": ("入口考试", "Entry exam"),
    "entry_default": ("默认入口考试为同年级同学科最近一次更早的考试:{exam}。",
                      "The default entry exam is the latest earlier exam of the same grade and "
                      "subject: {exam}."),
    "entry_chosen": ("入口考试:{exam}。", "Entry exam: {exam}."),
    "no_entry_exam": ("没有更早的同年级同学科考试,无法计算增值。",
                      "There is no earlier exam of this grade and subject: no value added."),
    "va_classes_equal": ("班级层方差估计为 0:模型分不出同校各班的差异,"
                         "各班增值都等于所在学校的增值。",
                         "The class variance was estimated as 0: the model cannot tell a "
                         "school's classes apart, so each class's value added is its school's."),
    "va_unit": ("增值单位:标准差。", "Value added in standard deviations."),
    "class_chosen": ("已选班级:{name}。本页各部分只显示该班(对比行除外)。",
                     "Class chosen: {name}. Every part of the page shows that class (besides "
                     "the comparison rows)."),
    "choose_school_first": ("请先在上方选择一所学校:本页显示一所学校的报告。",
                            "Choose a school above: this page is one school's report."),
    "not_in_grade": ("{school}没有{grade}的学生参加本次考试,请选择其他年级或学校。",
                     "{school} has no {grade} students on this exam: choose another grade or "
                     "school."),
    "drill_hint": ("点击图中的学校(或单元格)可打开该校。",
                   "Click a school (or a cell) to open it."),
    "trend_scale": ("纵轴为平均标准分 z(相对全区平均),不同试卷可比;竖线为 95% 区间。",
                    "Plotted: mean z (against the district mean), comparable across papers; "
                    "bars are 95% intervals."),
    "trend_raw": ("全区各次考试的原始平均分(竖线为 95% 区间)。各次试卷难度不同,原始分的升降不代表"
                  "水平变化;选择一所学校可看它相对全区的标准分 z 趋势(可比)。",
                  "The district's raw means (bars: 95% intervals). Papers differ in difficulty, "
                  "so a rise or fall of raw means is no change of standing: choose a school "
                  "to see its mean z against the district (comparable)."),
    "versions": ("版本", "Versions"),
    "none_below": ("没有低于全区的项目。", "Nothing below the district."),
    "item_drill_hint": ("点击图中的题目可在下方查看它的历次表现。",
                        "Click an item to see its history below."),
    "archive_export": ("导出题库(Excel)", "Export the archive (Excel)"),
    "search_placeholder": ("知识点 / 题号 / 文字", "knowledge point / item / text"),
    "choose_item": ("选择题目", "Choose an item"),
    "summary_tables": ("汇总表", "Summary tables"),
    "users_cli": ("也可用命令行管理账号:eqm users", "Also on the command line: eqm users"),
    "howto_value_added": (
        "增值的单位是标准差(全区学生成绩的标准差):+0.10 表示本单位学生比入口成绩相近的全区学生平均"
        "高 0.1 个标准差。竖线是 95% 区间;区间不含 0(绿色或红色)才算显著高于或低于预期,"
        "灰色表示与预期相符。",
        "Value added is in standard deviations of the district's scores: +0.10 means the unit's "
        "students score 0.1 SD above district students of similar entry scores. Bars are 95% "
        "intervals; only an interval that excludes 0 (green or red) is significantly above or "
        "below expectation, grey is as expected."),
    "howto_funnel": (
        "横轴是学生人数,纵轴是增值。虚线与点线是 95% 和 99.8% 控制限:小学校的结果波动大,限也宽。"
        "落在限外的学校才值得关注,限内的差异可能只是偶然。",
        "Across: students; up: value added. The dashed and dotted lines are 95% and 99.8% "
        "limits: small schools vary more, so their limits are wider. Only schools outside the "
        "limits stand out; differences inside may be chance."),
    "howto_green": (
        "每项指标换算为 1–9 级指数(级别越高越好;“学业负担”等负向指标已反向计分,级别越高负担越轻);"
        "雷达图外圈好于内圈,半径为指数等级 1–9。A–D 等为学业成绩等级:默认 A 等不低于满分的 85%、"
        "B 等 70%、C 等 60%,D 等低于 60%。",
        "Each indicator is converted to an index level 1–9 (higher is better; burden-type "
        "indicators are reverse-scored, so a higher level means less burden); on the radar, "
        "outer is better, the radius is the level 1–9. Bands A–D are attainment bands: by "
        "default A from 85% of the full score, B from 70%, C from 60%, D below 60%."),
    "howto_struggling": (
        "学困生:成绩在全区后 {share},或低于全区平均且低于低分线,或低于全区平均且增长百分位 ≤ {sgp}"
        "(原因列写明是哪一条)。高于全区平均的学生不会列入。阈值可由区里配置,见 docs/pages.md。",
        "Listed: in the district's bottom {share}, or below the district mean and under the low "
        "line, or below the mean with a growth percentile of {sgp} or less (the reason column "
        "says which). A student above the district mean is never listed. The district can "
        "configure the thresholds: see docs/pages.md."),
    "howto_borderline": (
        "临界生:总分在优秀线或及格线之下、差距不超过满分的 {buffer} 的学生,稍加努力即可过线。",
        "Students just under the excellent or pass line (within {buffer} of the full score): a "
        "little help gets them over it."),
    "howto_trends": (
        "不同考试的试卷难度不同,原始平均分不能直接比较(88 → 81 可能只是试卷更难)。选择学校后这里画"
        "平均标准分 z:该校相对全区平均的位置,0 即全区平均,竖线为 95% 区间。",
        "Papers differ in difficulty, so raw means cannot be compared across exams (88 → 81 may "
        "only be a harder paper). With a school chosen, plotted is its mean z: its standing "
        "against the district mean (0), with 95% intervals."),
}

# a code column (or kind) of the dashboards → its kind in analytics.domain's vocabulary, which
# holds the labels (analytics.domain.label)
CODES: dict[str, str] = {
    "gender": "gender", "ownership": "ownership", "locality": "locality", "hukou": "hukou",
    "category": "va_category", "role": "role", "status": "status", "item_type": "item_type",
    "band": "grade_band", "reason": "struggling_reason", "position": "position",
    "difficulty_band": "difficulty", "discrimination_band": "discrimination",
    "flags": "flag", "line": "line", "group": "kelley_group", "link_method": "link_method",
    "attainment": "attainment", "grade": "grade", "outcome": "outcome", "kind": "import_kind",
    "level": "level", "va_method": "va_method",
}
MULTI = {"flags"}  # codes joined by ";" (item flags)



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
    """The label of a stored code, e.g. ``code_label("gender", "M") == "男"``; several codes
    joined by ``;`` (item flags) are labelled one by one and joined by ``、``/``; ``."""
    if code is None or (isinstance(code, float) and code != code):
        return ""
    domain_kind = CODES.get(kind)
    if domain_kind is None:
        return str(code)
    lang = lang_of(lang)
    if kind in MULTI and isinstance(code, str):
        parts = [p.strip() for p in code.split(";") if p.strip()]
        return ("、" if lang == "zh" else "; ").join(label(domain_kind, p, lang) for p in parts)
    if kind == "grade":
        try:
            return label("grade", int(str(code)), lang)
        except ValueError:
            return str(code)
    return label(domain_kind, code if isinstance(code, bool) else str(code), lang)


def column_label(col: str, lang: str = DEFAULT_LANG) -> str:
    """A column header for display (kind ``column`` of :func:`analytics.domain.label`)."""
    return label("column", col, lang_of(lang))


def translate_codes(frame: pd.DataFrame, lang: str = DEFAULT_LANG,
                    kinds: Iterable[str] | None = None) -> pd.DataFrame:
    """Replace code columns (gender, ownership, category, flags, grade …) by their labels,
    True/False by 是/否, and dates by ``YYYY-MM-DD`` (no ``T00:00:00``)."""
    out = frame.copy()
    for kind in kinds if kinds is not None else CODES:
        if kind in out.columns:
            out[kind] = [code_label(kind, v, lang) for v in out[kind]]
    for col in ("knowledge_points", "flags_text"):  # lists joined by ";" read as 甲、乙
        if col in out.columns and lang_of(lang) == "zh":
            out[col] = [v.replace(";", "、") if isinstance(v, str) else v for v in out[col]]
    for col in out.columns:
        if col == "suppressed":
            continue
        if pd.api.types.is_bool_dtype(out[col]):
            out[col] = [label("boolean", bool(v), lang_of(lang)) for v in out[col]]
        elif pd.api.types.is_datetime64_any_dtype(out[col]):
            times = out[col]
            with_time = bool(((times.dt.hour != 0) | (times.dt.minute != 0)).any())
            out[col] = times.dt.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
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
