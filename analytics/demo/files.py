"""Writing the demo district as the files a research office receives, in their usual variety.

* 学生名单.csv — the roster (UTF-8).
* 细目表_<exam>_<grade><subject>.csv — specification tables (one XLSX, one GBK).
* 成绩_<exam>_<grade><subject>.csv — wide marking exports for the entry and monitoring exams.
  Formats vary like real offices': GBK with CRLF, UTF-8 with BOM, an XLSX with a merged title
  row, a CSV with a title row, full-width digits in a few cells, absentees marked 缺考 in every
  item cell (no status column), a 总分 column; item headers 第3题 / T3 / 3 / Q3 / 小题3.
* 总分_<exam>_<grade><subject>.csv — the mid exam as one total per student (缺考 marks).
* 问卷_<grade>.csv — the questionnaire; 问卷题目说明.csv its codebook.
* 埋设的真相.csv — the planted truths (for the reader; the warehouse gets them too).

Large files are written in chunks with pyarrow's CSV writer (no Python loop over students);
XLSX is used only while the file has at most :data:`XLSX_MAX_ROWS` rows, else a CSV with the same
title row is written instead.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from analytics.demo import names as N
from analytics.demo.district import DemoDistrict, DemoPaper, survey_codebook, survey_name
from analytics.domain.items import OBJECTIVE_TYPES

XLSX_MAX_ROWS = 30_000
CHUNK_ROWS = 100_000
FULL = str.maketrans("0123456789ABCDTF", "０１２３４５６７８９ＡＢＣＤＴＦ")

# Variants given to the marking exports in turn (entry papers, then monitoring papers).
SCORE_VARIANTS = ("gbk", "bom", "xlsx_title", "csv_title", "fullwidth", "absent_cells", "total")
ITEM_HEADERS = ("第{}题", "T{}", "{}", "Q{}", "小题{}", "第{}题", "{}题")


@dataclass
class DemoFile:
    """One written file and how to import it: ``kind`` is the importer, ``kwargs`` its
    keyword arguments (without the path)."""

    kind: str
    path: Path
    kwargs: dict[str, Any] = field(default_factory=dict)
    variant: str = "plain"
    rows: int = 0


def _tag(p: DemoPaper) -> str:
    return f"{p.exam.name}_{N.GRADE_CN.get(p.grade, str(p.grade))}{p.subject}"


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding)


def write_csv(path: Path, header: list[str], n_rows: int,
              chunk: Callable[[int, int], pa.Table], *, encoding: str = "utf-8",
              bom: bool = False, crlf: bool = False, title: str | None = None,
              post: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> None:
    """Write a CSV in chunks: optional BOM, title row, header, then ``chunk(start, stop)``
    tables (pyarrow writes them); ``post`` may edit the first chunk as a DataFrame."""
    nl = "\r\n" if crlf else "\n"
    with path.open("wb") as fh:
        if bom:
            fh.write(codecs.BOM_UTF8)
        if title:
            fh.write(_encode(title + "," * (len(header) - 1) + nl, encoding))
        fh.write(_encode(",".join(header) + nl, encoding))
        for start in range(0, n_rows, CHUNK_ROWS):
            table = chunk(start, min(n_rows, start + CHUNK_ROWS))
            if post is not None and start == 0:
                table = pa.Table.from_pandas(post(table.to_pandas()), preserve_index=False)
            buf = io.BytesIO()
            # no quotes, like most exports (no demo value holds a comma or a quote)
            pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False,
                                                           quoting_style="none"))
            data = buf.getvalue()
            if crlf:
                data = data.replace(b"\n", b"\r\n")
            if encoding != "utf-8":
                data = data.decode("utf-8").encode(encoding)
            fh.write(data)


def write_xlsx(path: Path, header: list[str], table: pa.Table, *, title: str | None) -> None:
    """An XLSX with an optional merged title row above the header."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "成绩"
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.append(header)
    for row in zip(*(table.column(i).to_pylist() for i in range(table.num_columns)),
                   strict=True):
        ws.append(list(row))
    save_xlsx(wb, path)


def save_xlsx(wb: Any, path: Path) -> None:
    """Save an openpyxl workbook byte-for-byte reproducibly (fixed document and zip times)."""
    stamp = dt.datetime(2026, 1, 1)
    wb.properties.created = wb.properties.modified = stamp
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":   # openpyxl stamps "modified" on save
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-01-01T00:00:00Z",
                              data)
            dst.writestr(fixed, data)


def _dict_col(codes: np.ndarray, labels: list[str] | np.ndarray,
              mask: np.ndarray | None = None) -> pa.Array:
    idx = pa.array(codes.astype(np.int32), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(list(labels), pa.string()))


class _People:
    """考号 / 姓名 / 学校 / 班级 columns of any subset of students, as Arrow arrays."""

    def __init__(self, dist: DemoDistrict) -> None:
        st = dist.students
        self.sid = pa.array(st["student_id"].to_numpy(dtype=object), pa.string())
        self.name = pa.array(st["name"].to_numpy(dtype=object), pa.string())
        self.school_no = st["school_no"].to_numpy()
        self.school_names = dist.schools["name"].tolist()
        cls_names = dist.classes["name"].to_numpy()
        self.class_labels, self.class_codes = np.unique(
            cls_names[st["class_no"].to_numpy()], return_inverse=True)

    def columns(self, rows: np.ndarray) -> list[pa.Array]:
        idx = pa.array(rows)
        return [self.sid.take(idx), self.name.take(idx),
                _dict_col(self.school_no[rows], self.school_names),
                _dict_col(self.class_codes[rows], self.class_labels.tolist())]


def _item_arrays(p: DemoPaper, sl: slice, absent_cells: bool) -> list[pa.Array]:
    raw = p.raw[sl]
    absent = p.status[sl] != 0
    cols: list[pa.Array] = []
    for j, item in enumerate(p.spec.to_dict("records")):
        r = raw[:, j]
        blank = (r < 0) | absent
        t = item["item_type"]
        if t in OBJECTIVE_TYPES:
            labels = list(item["candidates"] if t == "multiple" else item["options"])
            arr: pa.Array = _dict_col(np.maximum(r, 0), labels, blank).cast(pa.string())
        elif float(item["step"]).is_integer():
            arr = pa.array((r.astype(np.int32) * int(item["step"])), mask=blank)
        else:
            arr = pa.array(r * float(item["step"]), mask=blank)
        if absent_cells:
            arr = pc.if_else(pa.array(absent), pa.scalar("缺考"), arr.cast(pa.string()))
        cols.append(arr)
    return cols


def _fullwidth_post(n_items: int) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Turn a few class names and item scores of the first rows into full-width digits."""

    def post(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        rows = frame.index[: min(len(frame), 40): 3]
        frame["班级"] = frame["班级"].astype("object")
        frame.loc[rows, "班级"] = frame.loc[rows, "班级"].map(
            lambda s: s.translate(FULL) if isinstance(s, str) else s)
        item_cols = list(frame.columns[-n_items:])
        for col in item_cols[-4:]:
            v = frame[col].astype("object")
            frame[col] = v.map(lambda x: None if x is None or x != x
                               else f"{x:g}" if isinstance(x, float) else str(x))
            frame.loc[rows, col] = frame.loc[rows, col].map(
                lambda s: s.translate(FULL) if isinstance(s, str) else s)
        return frame

    return post


def write_scores(p: DemoPaper, people: _People, path_base: Path, variant: str,
                 header_style: str) -> DemoFile:
    """One marking export in the given ``variant`` (see :data:`SCORE_VARIANTS`)."""
    n = len(p.rows)
    status_col = variant != "absent_cells"
    with_total = variant == "total"
    item_names = [header_style.format(lbl) for lbl in p.spec["label"]]
    header = ["考号", "姓名", "学校", "班级"] + (["状态"] if status_col else []) + item_names
    if with_total:
        header.append("总分")
    title = f"{p.exam.name} {N.GRADE_CN.get(p.grade, '')}{p.subject} 成绩表"
    totals = p.totals() if with_total else None

    def chunk(start: int, stop: int) -> pa.Table:
        sl = slice(start, stop)
        cols = people.columns(p.rows[sl])
        if status_col:
            st = p.status[sl]
            cols.append(_dict_col(st, ["", "缺考", "作弊"], st == 0))
        cols += _item_arrays(p, sl, absent_cells=not status_col)
        if totals is not None:
            t = totals[sl]
            cols.append(pa.array(t, mask=np.isnan(t)))
        return pa.Table.from_arrays(cols, names=[f"c{i}" for i in range(len(cols))])

    if variant == "xlsx_title" and n <= XLSX_MAX_ROWS:
        path = Path(f"{path_base}.xlsx")
        write_xlsx(path, header, chunk(0, n), title=title)
    else:
        path = Path(f"{path_base}.csv")
        post = None
        if variant == "fullwidth":
            fw = _fullwidth_post(len(p.spec))

            def post(frame: pd.DataFrame) -> pd.DataFrame:
                frame.columns = header
                return fw(frame)

        write_csv(path, header, n, chunk,
                  encoding="gbk" if variant == "gbk" else "utf-8",
                  bom=variant == "bom", crlf=variant == "gbk",
                  title=title if variant in ("xlsx_title", "csv_title") else None, post=post)
    return DemoFile("scores", path, {"exam": p.exam.name, "subject": p.subject,
                                     "grade": p.grade}, variant, n)


def spec_frame(p: DemoPaper, kp_sep: str = "；") -> pd.DataFrame:
    """The specification table as printed.

    Columns 题号, 题型, 分值, 答案, 选项 (only when not ABCD/TF), 知识点, 认知层次, 部分得分.
    """
    s = p.spec
    key = s["answer_key"].where(s["item_type"] != "true_false",
                                s["answer_key"].map({"T": "对", "F": "错"}))
    default_opts = np.where(s["item_type"] == "true_false", "TF", "ABCD")
    frame = pd.DataFrame({
        "题号": s["label"],
        "题型": s["type_cn"],
        "分值": s["max_score"].map(lambda v: f"{v:g}"),
        "答案": key.fillna(""),
        "选项": np.where(s["options"] == default_opts, "", s["options"]),
        "知识点": s["knowledge_points"].map(kp_sep.join),
        "认知层次": s["cognitive_level"],
        "部分得分": s["partial_score"].map(lambda v: "" if v is None or v != v else f"{v:g}"),
    })
    if not (frame["选项"] != "").any():
        frame = frame.drop(columns="选项")
    if not (frame["部分得分"] != "").any():
        frame = frame.drop(columns="部分得分")
    return frame


def write_spec(p: DemoPaper, path_base: Path, variant: str) -> DemoFile:
    """The paper's specification table (:func:`spec_frame`): ``xlsx`` a 双向细目表 sheet,
    ``gbk`` a GBK CSV (knowledge points joined by 、), else a UTF-8 CSV (joined by ；)."""
    frame = spec_frame(p, "、" if variant == "gbk" else "；")
    if variant == "xlsx":
        import openpyxl

        path = Path(f"{path_base}.xlsx")
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "双向细目表"
        ws.append(list(frame.columns))
        for row in frame.itertuples(index=False):   # a few dozen items
            ws.append(list(row))
        save_xlsx(wb, path)
    else:
        path = Path(f"{path_base}.csv")
        frame.to_csv(path, index=False, encoding="gbk" if variant == "gbk" else "utf-8")
    kwargs = {"exam": p.exam.name, "subject": p.subject, "grade": p.grade,
              "full_score": p.full_score, "exam_date": p.exam.date, "term": p.exam.term,
              "level": "district"}
    return DemoFile("paper", path, kwargs, variant, len(frame))


def write_totals(p: DemoPaper, people: _People, path: Path) -> DemoFile:
    """The totals-only CSV of a paper without item scores (考号, 姓名, 学校, 班级, 总分);
    absent and void students are written as 缺考."""
    totals = p.totals()
    text = pa.array(np.where(np.isnan(totals), 0, totals)).cast(pa.string())

    def chunk(start: int, stop: int) -> pa.Table:
        sl = slice(start, stop)
        cols = people.columns(p.rows[sl])
        absent = p.status[sl] != 0
        cols.append(pc.if_else(pa.array(absent), pa.scalar("缺考"), text[start:stop]))
        return pa.Table.from_arrays(cols, names=[f"c{i}" for i in range(len(cols))])

    write_csv(path, ["考号", "姓名", "学校", "班级", "总分"], len(p.rows), chunk)
    return DemoFile("totals", path, {"exam": p.exam.name, "subject": p.subject,
                                     "grade": p.grade, "full_score": p.full_score,
                                     "exam_date": p.exam.date}, "plain", len(p.rows))


def write_roster(dist: DemoDistrict, path: Path) -> DemoFile:
    """The district's student roster CSV: one row per student with its school, class, zone and
    demographics, codes written as printed (男/女, 公办/民办, 城区/乡镇, 本地/外地)."""
    st = dist.students
    sch = dist.schools
    people = _People(dist)
    s_no = st["school_no"].to_numpy()
    grade_cn = {g: N.GRADE_CN.get(g, str(g)) for g in dist.grades}
    grades = st["grade"].to_numpy()
    g_labels = sorted(grade_cn)

    def lookup(values: np.ndarray, mapping: dict[str, str]) -> tuple[np.ndarray, list[str]]:
        labels = sorted(set(values.tolist()))
        codes = np.searchsorted(np.array(labels), values)
        return codes, [mapping.get(v, v) for v in labels]

    own_c, own_l = lookup(sch["ownership"].to_numpy()[s_no], {"public": "公办", "private": "民办"})
    loc_c, loc_l = lookup(sch["locality"].to_numpy()[s_no], {"urban": "城区", "rural": "乡镇"})
    hk_c, hk_l = lookup(st["hukou"].to_numpy(), {"local": "本地", "nonlocal": "外地"})
    gd_c, gd_l = lookup(st["gender"].to_numpy(), {"M": "男", "F": "女"})
    zone_c, zone_l = lookup(sch["zone"].to_numpy()[s_no], {})
    gcodes = np.searchsorted(np.array(g_labels), grades)
    ses = st["ses"].to_numpy()

    def chunk(start: int, stop: int) -> pa.Table:
        rows = np.arange(start, stop)
        sl = slice(start, stop)
        sid, name, school, klass = people.columns(rows)
        cols = [sid, name, _dict_col(gd_c[sl], gd_l),
                _dict_col(gcodes[sl], [grade_cn[g] for g in g_labels]),
                _dict_col(s_no[sl], sch["code"].tolist()), school, klass,
                _dict_col(zone_c[sl], zone_l), _dict_col(own_c[sl], own_l),
                _dict_col(loc_c[sl], loc_l), _dict_col(hk_c[sl], hk_l), pa.array(ses[sl])]
        return pa.Table.from_arrays(cols, names=[f"c{i}" for i in range(len(cols))])

    header = ["考号", "姓名", "性别", "年级", "学校代码", "学校", "班级", "片区", "办学性质",
              "城乡", "户籍", "家庭背景指数"]
    write_csv(path, header, len(st), chunk)
    return DemoFile("roster", path, {"district": N.DISTRICT}, "plain", len(st))


def write_survey(dist: DemoDistrict, grade: int, path: Path) -> DemoFile:
    """The grade's questionnaire answers (``dist.surveys[grade]``) as a UTF-8 CSV."""
    frame = dist.surveys[grade]
    table = pa.Table.from_pandas(frame, preserve_index=False)

    def chunk(start: int, stop: int) -> pa.Table:
        return table.slice(start, stop - start)

    write_csv(path, list(frame.columns), len(frame), chunk)
    return DemoFile("survey", path, {"survey": survey_name(grade), "grade": grade}, "plain",
                    len(frame))


def score_variants(papers: list[DemoPaper]) -> dict[int, str]:
    """The variant of each marking export (keyed by ``id(paper)``): the XLSX goes to the paper
    with the fewest cells (openpyxl is slow), the other variants to the papers in order, then
    plain UTF-8."""
    out: dict[int, str] = {}
    if not papers:
        return out
    cells = [len(p.rows) * len(p.spec) for p in papers]
    smallest = int(np.argmin(cells))
    rest = [v for v in SCORE_VARIANTS if v != "xlsx_title"]
    k = 0
    for i, p in enumerate(papers):
        if i == smallest:
            out[id(p)] = "xlsx_title"
        else:
            out[id(p)] = rest[k] if k < len(rest) else "plain"
            k += 1
    return out


def write_all(dist: DemoDistrict, out_dir: str | Path, *, progress: bool = False
              ) -> list[DemoFile]:
    """Write every file of the district into ``out_dir`` (created; old demo files replaced).

    Returns the files in import order: roster; per exam in time order its specification tables
    and marking exports (or totals); the questionnaires. Extra files (codebook, truths) are
    written but not listed.
    """
    from tqdm.auto import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.csv"), *out.glob("*.xlsx")]:
        old.unlink()
    people = _People(dist)
    jobs: list[Callable[[], DemoFile]] = [partial(write_roster, dist, out / "学生名单.csv")]
    order = {"entry": 0, "mid": 1, "monitor": 2}
    papers = sorted(dist.papers, key=lambda p: (order[p.exam.key], p.grade, p.subject))
    variants = score_variants([p for p in papers if p.exam.itemised])
    k_scores = 0
    for p in papers:
        if p.exam.itemised:
            sv = ("xlsx" if k_scores == 1 else "gbk" if k_scores == 2 else "plain")
            jobs.append(partial(write_spec, p, out / f"细目表_{_tag(p)}", sv))
            style = ITEM_HEADERS[k_scores % len(ITEM_HEADERS)]
            jobs.append(partial(write_scores, p, people, out / f"成绩_{_tag(p)}",
                                variants[id(p)], style))
            k_scores += 1
        else:
            jobs.append(partial(write_totals, p, people, out / f"总分_{_tag(p)}.csv"))
    for g in dist.grades:
        jobs.append(partial(write_survey, dist, g, out / f"问卷_{N.GRADE_CN.get(g, str(g))}.csv"))
    files = []
    for job in tqdm(jobs, desc="写文件 write files", unit="file", disable=not progress):
        files.append(job())
    survey_codebook().to_csv(out / "问卷题目说明.csv", index=False, encoding="utf-8-sig")
    dist.truths.to_csv(out / "埋设的真相.csv", index=False, encoding="utf-8-sig")
    return files
