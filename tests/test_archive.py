"""The question archive: statistics, linking of reused items, note history, search, exports."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analytics.archive import (
    add_note,
    archive_item,
    archive_paper,
    export_paper_archive,
    link_item,
    meta_fingerprint,
    normalise_stem,
    note_history,
    paper_archive,
    read_item_content,
    search_archive,
    stem_fingerprint,
    update_item_content,
)
from analytics.errors import InputError, NotFoundError
from analytics.warehouse import Warehouse
from tests.builders import build_exam
from tests.hotspot_fixture import (
    DISTRACTOR_ITEM,
    DISTRACTOR_OPTION,
    DISTRACTOR_SCHOOL,
    EXAM,
    GRADE,
    SUBJECT,
    WEAK_KP,
    WEAK_SCHOOL,
    build_hotspot_exam,
    hotspot_items,
    planted_warehouse,
)

EXAM2 = "第二次监测"


def stems() -> dict[str, str]:
    """Stem text per label of the first exam (one with markup, to check HTML escaping)."""
    out = {str(i): f"第{i}题:已知函数 f(x) = {i}x + 1,求 f({i}) 的值。" for i in range(1, 13)}
    out["2"] = "比较大小:-3 与 -5,<b>哪个大</b>?"
    return out


def content_frame(labels_to_stems: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({
        "item_label": list(labels_to_stems),
        "stem_text": list(labels_to_stems.values()),
        "option_texts": [json.dumps({"A": "1", "B": "2", "C": "3", "D": "4"})] * len(
            labels_to_stems),
        "solution_notes": [f"解析{lab}" for lab in labels_to_stems],
    })


@pytest.fixture
def archived(tmp_path):
    """The planted exam, archived with content."""
    for wh in planted_warehouse(tmp_path / "arch.duckdb"):
        archive_paper(wh, exam=EXAM, subject=SUBJECT, content=content_frame(stems()))
        yield wh


def raw(wh: Warehouse) -> pd.DataFrame:
    """Responses of present students with totals, items and demographics (pandas reference)."""
    r = wh.df("SELECT r.item_id, r.student_key, r.score, r.answer, p.total FROM responses r "
              "JOIN paper_results p USING (paper_id, student_key) WHERE p.status = 'present'")
    items = wh.df("SELECT item_id, label, max_score, answer_key FROM items")
    st = wh.df("SELECT s.student_key, s.gender, sc.ownership FROM students s "
               "JOIN schools sc USING (school_id)")
    return r.merge(items, on="item_id").merge(st, on="student_key")


def test_administration_statistics_match_pandas(archived):
    r = raw(archived)
    r["x"] = r["score"].fillna(0) / r["max_score"]
    adm = archived.df("SELECT * FROM bank_administrations ORDER BY item_number")
    assert len(adm) == 12
    totals = r.drop_duplicates("student_key")[["student_key", "total"]]
    n_all = len(totals)
    n_g = int(np.floor(0.27 * n_all + 0.5))  # DuckDB round(): half away from zero
    order = totals.sort_values(["total", "student_key"], ascending=[False, True])
    upper = set(order["student_key"].iloc[:n_g])
    lower = set(order["student_key"].iloc[-n_g:])
    for row in adm.itertuples():
        sub = r[r["label"] == row.item_label]
        assert row.n == len(sub)
        assert row.score_rate == pytest.approx(sub["x"].mean(), abs=1e-12)
        assert row.omit_rate == pytest.approx(sub["score"].isna().mean(), abs=1e-12)
        up = sub[sub["student_key"].isin(upper)]["x"].mean()
        lo = sub[sub["student_key"].isin(lower)]["x"].mean()
        assert row.n_group == n_g
        assert row.discrimination == pytest.approx(up - lo, abs=1e-12)
    # options of the distractor item: shares of all present students
    opts = archived.df("SELECT option, n, share, is_key FROM bank_admin_options "
                       "WHERE item_label = $l ORDER BY option", {"l": DISTRACTOR_ITEM})
    sub = r[r["label"] == DISTRACTOR_ITEM]
    counts = sub["answer"].value_counts()
    assert list(opts["option"]) == ["A", "B", "C", "D"]
    for o in opts.itertuples():
        assert o.n == counts.get(o.option, 0)
        assert o.share == pytest.approx(counts.get(o.option, 0) / len(sub))
        assert o.is_key == (o.option == "B")
    # rates by gender and ownership
    groups = archived.df("SELECT group_kind, group_value, n, score_rate FROM bank_admin_groups "
                         "WHERE item_label = '7'")
    sub = r[r["label"] == "7"]
    for kind, col in (("gender", "gender"), ("ownership", "ownership")):
        want = sub.groupby(col)["x"].mean()
        got = groups[groups["group_kind"] == kind].set_index("group_value")["score_rate"]
        np.testing.assert_allclose(got.sort_index(), want.sort_index(), rtol=1e-12)
    # grade bands from the paper's default lines (85 % / 70 % / 60 % of the full score)
    full = float(archived.scalar("SELECT full_score FROM papers"))
    band = np.select([sub["total"] >= 0.85 * full, sub["total"] >= 0.70 * full,
                      sub["total"] >= 0.60 * full], ["A", "B", "C"], "D")
    want = sub.assign(band=band).groupby("band")["x"].agg(["mean", "size"])
    got = groups[groups["group_kind"] == "band"].set_index("group_value")
    np.testing.assert_allclose(got.loc[want.index, "score_rate"], want["mean"], rtol=1e-12)
    assert list(got.loc[want.index, "n"]) == list(want["size"])


def test_reused_items_are_linked_by_metadata_and_rearchiving_is_idempotent(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        build_hotspot_exam(wh, plant=False)
        first = archive_paper(wh, exam=EXAM, subject=SUBJECT)
        assert set(first["link_method"]) == {"new"}
        # Same items in a later exam of the same cohort; item 4's key changed (a new item).
        items = hotspot_items()
        items[3] = {**items[3], "key": "A" if items[3]["key"] != "A" else "B"}
        build_exam(wh, items=items, exam=EXAM2, subject=SUBJECT, grade=GRADE, seed=11,
                   exam_date="2027-01-10")
        second = archive_paper(wh, exam=EXAM2, subject=SUBJECT)
        assert wh.scalar("SELECT count(*) FROM bank_items") == 13
        same = second[second["item_label"] != "4"]
        assert set(same["link_method"]) == {"metadata"}
        merged = same.merge(first, on="item_label", suffixes=("", "_1"))
        assert (merged["bank_item_id"] == merged["bank_item_id_1"]).all()
        assert second.loc[second["item_label"] == "4", "link_method"].item() == "new"
        # re-archiving refreshes statistics without new rows
        again = archive_paper(wh, exam=EXAM2, subject=SUBJECT)
        assert list(again["bank_item_id"]) == list(second["bank_item_id"])
        assert wh.scalar("SELECT count(*) FROM bank_items") == 13
        assert wh.scalar("SELECT count(*) FROM bank_administrations") == 24
        found = search_archive(wh, subject=SUBJECT)
        by_id = found.set_index("bank_item_id")
        b1 = int(first.loc[first["item_label"] == "1", "bank_item_id"].item())
        assert by_id.loc[b1, "n_administrations"] == 2
        assert by_id.loc[b1, "last_exam"] == EXAM2  # the later exam date
        item = archive_item(wh, b1)
        assert list(item["administrations"]["exam"]) == [EXAM, EXAM2]


def test_reused_items_are_linked_by_stem_across_positions(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        build_hotspot_exam(wh, plant=False)
        s1 = stems()
        first = archive_paper(wh, exam=EXAM, subject=SUBJECT, content=content_frame(s1))
        # Exam 2 prints the same items in reverse order, relabelled 1..12, with re-typed stems
        # (full-width punctuation, extra spaces): the stem fingerprint still matches.
        items = [dict(it) for it in reversed(hotspot_items())]
        for j, it in enumerate(items):
            it["label"] = str(j + 1)
        build_exam(wh, items=items, exam=EXAM2, subject=SUBJECT, grade=GRADE, seed=12)
        s2 = {str(j + 1): "  " + s1[str(12 - j)].replace(",", "\uff0c  ").replace("(", "\uff08")
                                .replace(")", "\uff09") + " "
              for j in range(12)}
        assert s2["1"] != s1["12"]
        second = archive_paper(wh, exam=EXAM2, subject=SUBJECT, content=content_frame(s2))
        assert set(second["link_method"]) == {"stem"}
        assert wh.scalar("SELECT count(*) FROM bank_items") == 12
        want = first.set_index("item_label")["bank_item_id"]
        got = second.set_index("item_label")["bank_item_id"]
        for j in range(12):
            assert got[str(j + 1)] == want[str(12 - j)]


def test_fingerprints():
    assert normalise_stem(" 已知 f(x)=2x,求 f(1)。 ") == normalise_stem("已知f(x)=2x,求f(1)")
    assert stem_fingerprint("数学", "  ") is None
    assert stem_fingerprint("数学", "abc") != stem_fingerprint("物理", "abc")
    a = meta_fingerprint("数学", 8, "3", "single", "C", ["方程", "函数"], 3)
    assert a == meta_fingerprint("数学", 8, "3", "single", "C", ["函数", "方程"], 3.0)
    assert a != meta_fingerprint("数学", 8, "3", "single", "D", ["方程", "函数"], 3)


def test_manual_link_and_split(archived):
    bank = paper_archive(archived, exam=EXAM, subject=SUBJECT).set_index("item_label")
    b3, b5 = int(bank.loc["3", "bank_item_id"]), int(bank.loc["5", "bank_item_id"])
    new = link_item(archived, exam=EXAM, subject=SUBJECT, label="3", bank_item_id=None)
    assert new not in (b3, b5)
    # the old bank item had nothing else (no other use, no note): removed
    assert archived.scalar("SELECT count(*) FROM bank_items WHERE bank_item_id = $b",
                           {"b": b3}) == 0
    add_note(archived, bank_item_id=b5, text="保留", author="李")
    assert link_item(archived, exam=EXAM, subject=SUBJECT, label="5", bank_item_id=new) == new
    # b5 keeps its note, so it stays (history is never dropped)
    assert archived.scalar("SELECT count(*) FROM bank_items WHERE bank_item_id = $b",
                           {"b": b5}) == 1
    assert archived.scalar("SELECT link_method FROM bank_administrations "
                           "WHERE item_label = '5'") == "manual"
    with pytest.raises(NotFoundError):
        link_item(archived, exam=EXAM, subject=SUBJECT, label="3", bank_item_id=9999)


def test_note_history_is_append_only(archived):
    bid = int(search_archive(archived, text="哪个大")["bank_item_id"].item())
    assert add_note(archived, bank_item_id=bid, text="学生把负数的绝对值与大小混淆",
                    author="张老师", advice="借助数轴比较") == 1
    assert add_note(archived, bank_item_id=bid, text="多数学生选D:误以为-5更大",
                    author="王老师") == 2
    hist = note_history(archived, bid)
    assert list(hist["version"]) == [1, 2]
    assert list(hist["author"]) == ["张老师", "王老师"]
    assert hist["cause_text"].iloc[0] == "学生把负数的绝对值与大小混淆"
    assert hist["created_at"].is_monotonic_increasing
    cur = search_archive(archived, text="哪个大").iloc[0]
    assert cur["note_version"] == 2 and cur["cause_text"].startswith("多数学生选D")
    with pytest.raises(InputError):
        add_note(archived, bank_item_id=bid, text="  ", author="张")
    with pytest.raises(InputError):
        add_note(archived, bank_item_id=bid, text="x", author="")
    with pytest.raises(NotFoundError):
        add_note(archived, bank_item_id=999, text="x", author="y")


def test_search_filters(archived):
    everything = search_archive(archived)
    assert len(everything) == 12
    assert search_archive(archived, subject="语文").empty
    assert len(search_archive(archived, subject=SUBJECT, grade=GRADE)) == 12
    assert search_archive(archived, grade=GRADE + 1).empty
    kp = search_archive(archived, knowledge_point=WEAK_KP)
    assert set(kp["label"]) == {"7", "8", "9"}
    assert set(search_archive(archived, knowledge_point="函")["label"]) == {"7", "8", "9"}
    cons = search_archive(archived, item_type="解答")
    assert set(cons["label"]) == {"3", "6", "9", "12"}
    assert cons.equals(search_archive(archived, item_type="constructed"))
    both = search_archive(archived, item_type="single", knowledge_point=WEAK_KP)
    assert set(both["label"]) == {"7", "8"}
    # difficulty band of the latest score rate, computed here from the returned rates
    for band, lo, hi in (("medium", 0.40, 0.70), ("hard", 0.20, 0.40)):
        hit = search_archive(archived, difficulty=band)
        want = everything[(everything["score_rate"] >= lo) & (everything["score_rate"] < hi)]
        assert set(hit["bank_item_id"]) == set(want["bank_item_id"])
    assert len(search_archive(archived, difficulty="中等")) == len(
        search_archive(archived, difficulty="medium"))
    assert set(search_archive(archived, text="F(7)")["label"]) == {"7"}  # case-insensitive
    assert set(search_archive(archived, text="解析1")["label"]) == {"1", "10", "11", "12"}
    with pytest.raises(InputError):
        search_archive(archived, item_type="essay")
    # every alias of analytics.domain (the specification table's too) is accepted
    assert search_archive(archived, item_type="作文").equals(cons)
    assert search_archive(archived, item_type="选择").equals(
        search_archive(archived, item_type="single"))
    with pytest.raises(InputError):
        search_archive(archived, difficulty="impossible")


def test_update_content_refuses_a_duplicate_stem(archived):
    bank = paper_archive(archived, exam=EXAM, subject=SUBJECT).set_index("item_label")
    b1 = int(bank.loc["1", "bank_item_id"])
    with pytest.raises(InputError, match="题干"):
        update_item_content(archived, b1, stem_text=stems()["3"])
    update_item_content(archived, b1, stem_text="新的题干", intended_difficulty=0.8)
    item = archive_item(archived, b1)["item"].iloc[0]
    assert item["stem_text"] == "新的题干" and item["intended_difficulty"] == 0.8
    with pytest.raises(InputError):
        update_item_content(archived, b1, answer_key="C")


def test_xlsx_export_reads_back(archived, tmp_path):
    arch = paper_archive(archived, exam=EXAM, subject=SUBJECT)
    bid = int(arch.loc[arch["item_label"] == DISTRACTOR_ITEM, "bank_item_id"].item())
    add_note(archived, bank_item_id=bid, text="受干扰项D吸引", author="命题组",
             advice="讲评时对比B与D")
    out = export_paper_archive(archived, exam=EXAM, subject=SUBJECT, out=tmp_path / "a.xlsx")
    book = pd.read_excel(out, sheet_name=None, dtype={"题号": str})
    assert list(book) == ["试卷信息", "试题与答案", "作答结果", "分组得分率", "选项分布",
                          "主要出错点", "知识点得分率", "学校出错点", "出错原因分析"]
    items = book["试题与答案"]
    assert list(items["题号"]) == [str(i) for i in range(1, 13)]
    assert items.loc[items["题号"] == "2", "题干"].item() == stems()["2"]
    assert items.loc[items["题号"] == "2", "答案"].item() == "B"
    res = book["作答结果"].set_index("题号")
    for row in arch.itertuples():
        assert res.loc[row.item_label, "得分率"] == pytest.approx(round(row.score_rate, 3))
        assert res.loc[row.item_label, "区分度"] == pytest.approx(round(row.discrimination, 3))
    groups = book["分组得分率"].set_index("题号")
    assert {"A等得分率", "D等得分率", "男得分率", "女得分率", "公办得分率", "乡镇得分率"} <= set(
        groups.columns)
    raw_rates = archive_item(archived, bid)["groups"].set_index("group_value")["score_rate"]
    assert groups.loc[DISTRACTOR_ITEM, "女得分率"] == pytest.approx(round(raw_rates["F"], 3))
    errors = book["主要出错点"]
    assert errors["得分率"].is_monotonic_increasing
    notes = book["出错原因分析"].set_index("题号")
    assert notes.loc[DISTRACTOR_ITEM, "出错原因分析"] == "受干扰项D吸引"
    assert notes.loc[DISTRACTOR_ITEM, "教学建议"] == "讲评时对比B与D"
    hot = book["学校出错点"]
    pairs = set(zip(hot["学校"], hot["题号"].astype(str), strict=True))
    assert (DISTRACTOR_SCHOOL, DISTRACTOR_ITEM) in pairs
    assert hot.loc[(hot["学校"] == DISTRACTOR_SCHOOL) & (hot["题号"].astype(str)
                                                       == DISTRACTOR_ITEM),
                   "主要错误选项"].item() == DISTRACTOR_OPTION
    assert {s for s, _ in pairs} <= {WEAK_SCHOOL, DISTRACTOR_SCHOOL}
    cover = book["试卷信息"].set_index("项目")["内容"]
    assert int(cover["实考人数"]) == archived.scalar(
        "SELECT count(*) FROM paper_results WHERE status = 'present'")


def test_html_export(archived, tmp_path):
    arch = paper_archive(archived, exam=EXAM, subject=SUBJECT)
    bid = int(arch.loc[arch["item_label"] == "7", "bank_item_id"].item())
    add_note(archived, bank_item_id=bid, text="图像平移方向混淆", author="命题组")
    out = export_paper_archive(archived, exam=EXAM, subject=SUBJECT, out=tmp_path / "a.html")
    html = out.read_text(encoding="utf-8")
    assert "@page" in html and "A4" in html
    assert "<b>哪个大</b>" not in html and "&lt;b&gt;哪个大&lt;/b&gt;" in html  # escaped
    assert "图像平移方向混淆" in html
    tables = pd.read_html(out, flavor="lxml") if _has_lxml() else None
    for row in arch.itertuples():
        assert f">{round(row.score_rate, 3)}<" in html
    if tables is not None:
        results = next(t for t in tables if "区分度" in t.columns)
        assert len(results) == 12
    with pytest.raises(InputError):
        export_paper_archive(archived, exam=EXAM, subject=SUBJECT, out=tmp_path / "a.pdf")


def _has_lxml() -> bool:
    try:
        import lxml  # noqa: F401
    except ImportError:
        return False
    return True


def test_not_archived_and_content_errors(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        build_hotspot_exam(wh, plant=False)
        with pytest.raises(NotFoundError, match="eqm archive add"):
            paper_archive(wh, exam=EXAM, subject=SUBJECT)
        with pytest.raises(InputError):
            archive_paper(wh, exam=EXAM, subject=SUBJECT,
                          content=pd.DataFrame({"item_label": ["99"], "stem_text": ["x"]}))
        with pytest.raises(InputError):
            archive_paper(wh, exam=EXAM, subject=SUBJECT,
                          content=pd.DataFrame({"item_label": ["1"],
                                                "intended_difficulty": [1.5]}))
        assert wh.scalar("SELECT count(*) FROM bank_items") == 0


def test_read_item_content_csv_gbk_and_xlsx(tmp_path):
    frame = pd.DataFrame({"题号": ["第1题", "21(1)"], "题干": ["求值", "证明"],
                          "选项A": ["1", ""], "选项B": ["2", ""], "解析": ["略", "见图"],
                          "图片": ["img/1.png", "img/21a.png;img/21b.png"],
                          "预估难度": ["0.8", ""]})
    csv = tmp_path / "c.csv"
    csv.write_bytes(frame.to_csv(index=False).encode("gb18030"))
    xlsx = tmp_path / "c.xlsx"
    frame.to_excel(xlsx, index=False)
    for path in (csv, xlsx):
        c = read_item_content(path)
        assert list(c["item_label"]) == ["1", "21(1)"]
        assert json.loads(c["option_texts"].iloc[0]) == {"A": "1", "B": "2"}
        assert c["intended_difficulty"].iloc[0] == 0.8
        assert pd.isna(c["intended_difficulty"].iloc[1])
        assert c["image_paths"].iloc[1] == "img/21a.png;img/21b.png"


def test_migration_002_applied_after_003(tmp_path):
    path = tmp_path / "old.duckdb"
    with Warehouse(path) as wh:
        for t in ("bank_items", "bank_item_knowledge", "bank_administrations",
                  "bank_admin_options", "bank_admin_groups", "bank_notes"):
            wh.execute(f"DROP TABLE {t}")
        wh.execute("DROP SEQUENCE bank_item_id_seq; DROP SEQUENCE bank_note_id_seq")
        wh.execute("DELETE FROM schema_version WHERE version = 2")
    with Warehouse(path) as wh:
        assert "bank_items" in wh.tables()
        assert 2 in set(wh.df("SELECT version FROM schema_version")["version"])


def test_cli_round_trip(tmp_path):
    from click.testing import CliRunner

    from eqm.cli import cli

    db = tmp_path / "cli.duckdb"
    with Warehouse(db) as wh:
        build_hotspot_exam(wh)
    content = tmp_path / "content.csv"
    pd.DataFrame({"题号": list(stems()), "题干": list(stems().values())}).to_csv(
        content, index=False)
    run = CliRunner().invoke
    base = ["--db", str(db), "archive"]
    res = run(cli, [*base, "add", "--exam", EXAM, "--subject", SUBJECT, "--content",
                    str(content), "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert "new 12" in res.output
    res = run(cli, [*base, "search", "--knowledge-point", WEAK_KP, "--type", "单选",
                    "--format", "json"])
    assert res.exit_code == 0, res.output
    found = json.loads(res.output[res.output.index("["):])
    assert sorted(r["label"] for r in found) == ["7", "8"]
    bid = str(found[0]["bank_item_id"])
    res = run(cli, [*base, "note", bid, "--text", "审题不清", "--author", "赵"])
    assert res.exit_code == 0 and "1" in res.output
    res = run(cli, [*base, "show", bid, "--format", "json"])
    shown = json.loads(res.output)
    assert shown["notes"][0]["cause_text"] == "审题不清"
    assert len(shown["administrations"]) == 1
    res = run(cli, [*base, "show", bid])
    assert res.exit_code == 0 and "审题不清" in res.output
    out = tmp_path / "e.xlsx"
    res = run(cli, [*base, "export", "--exam", EXAM, "--subject", SUBJECT, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "审题不清" in set(pd.read_excel(out, sheet_name="出错原因分析")["出错原因分析"].dropna())
    res = run(cli, [*base, "link", "--exam", EXAM, "--subject", SUBJECT, "--item", "3", "--new"])
    assert res.exit_code == 0, res.output
    res = run(cli, [*base, "show", "9999"])
    assert res.exit_code == 2


def test_archive_agrees_with_item_stats(archived):
    """The archive stores what analytics.items computes (Kelley groups g = round(.27 n), ties
    by student_key; the planted paper has one district, so its groups are the district's):
    P and D agree exactly."""
    from analytics.items import item_stats

    st = item_stats(archived, exam=EXAM, subject=SUBJECT, level="district",
                    efficiency=False)
    arch = paper_archive(archived, exam=EXAM, subject=SUBJECT)
    m = arch.merge(st, left_on="item_label", right_on="item_label", suffixes=("", "_items"))
    assert len(m) == 12
    np.testing.assert_allclose(m["score_rate"], m["score_rate_items"], rtol=1e-12)
    np.testing.assert_allclose(m["discrimination"], m["discrimination_items"], atol=1e-12)


def test_corrected_key_refreshes_an_unshared_bank_item(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        build_hotspot_exam(wh, plant=False)
        first = archive_paper(wh, exam=EXAM, subject=SUBJECT).set_index("item_label")
        # the committee corrects item 1's key and knowledge point, then re-archives
        wh.execute("UPDATE items SET answer_key = 'C' WHERE label = '1'")
        wh.execute("UPDATE item_knowledge SET knowledge_point = '数轴' WHERE item_id = "
                   "(SELECT item_id FROM items WHERE label = '1')")
        again = archive_paper(wh, exam=EXAM, subject=SUBJECT).set_index("item_label")
        b1 = int(first.loc["1", "bank_item_id"])
        assert int(again.loc["1", "bank_item_id"]) == b1
        item = archive_item(wh, b1)["item"].iloc[0]
        assert item["answer_key"] == "C" and item["knowledge_points"] == "数轴"
        assert wh.scalar("SELECT count(*) FROM bank_items") == 12


def test_multiple_choice_options_are_letters_with_kelley_shares(tmp_path):
    """Regression (0.2.1): the archive stores option_analysis' table of the whole paper, one row
    per offered letter; a multiple-choice answer such as ``AC`` counts for A and for C. The
    reference is pandas over the raw responses, with Kelley's groups of the whole paper."""
    items = [{"label": "1", "item_type": "multiple", "key": "AC", "max_score": 2,
              "partial_score": 1},
             {"label": "2", "item_type": "single", "key": "B"},
             {"label": "3", "item_type": "constructed", "max_score": 4}]
    with Warehouse(tmp_path / "mc.duckdb") as wh:
        build_exam(wh, items=items, n_schools=3, students_per_school=40, seed=5)
        archive_paper(wh, exam="测试监测", subject="数学")
        r = raw(wh)
        totals = r.drop_duplicates("student_key")[["student_key", "total"]]
        n_g = int(np.floor(0.27 * len(totals) + 0.5))
        order = totals.sort_values(["total", "student_key"], ascending=[False, True])
        upper = set(order["student_key"].iloc[:n_g])
        lower = set(order["student_key"].iloc[-n_g:])
        got = wh.df("SELECT option, is_key, n, share, upper_share, lower_share "
                    "FROM bank_admin_options WHERE item_label = '1' ORDER BY option")
        sub = r[r["label"] == "1"]
        assert list(got["option"]) == ["A", "B", "C", "D"]
        for o in got.itertuples():
            chose = sub["answer"].fillna("").str.contains(o.option)
            assert o.n == chose.sum()
            assert o.is_key == (o.option in "AC")
            assert o.share == pytest.approx(chose.mean(), abs=1e-12)
            up = sub["student_key"].isin(upper)
            lo = sub["student_key"].isin(lower)
            assert o.upper_share == pytest.approx(chose[up].mean(), abs=1e-12)
            assert o.lower_share == pytest.approx(chose[lo].mean(), abs=1e-12)
