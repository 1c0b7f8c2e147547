"""The item-content file (题干, options, solutions) read for the archive."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pandas as pd

from analytics.errors import InputError

# -- content files ------------------------------------------------------------------------------

_CONTENT_HEADERS = {
    "item_label": ("题号", "小题", "题目", "item", "label"),
    "stem_text": ("题干", "试题", "题目内容", "stem"),
    "solution_notes": ("解析", "答案解析", "评分说明", "solution"),
    "image_paths": ("图片", "插图", "images"),
    "intended_difficulty": ("预估难度", "预设难度", "intended difficulty", "difficulty"),
    "option_texts": ("选项内容", "options"),
}
_OPTION_COL = re.compile(r"^(?:选项|option[_ ]?)([A-Ha-h])$")


def read_item_content(path: str | Path) -> pd.DataFrame:
    """Read an item-content file (CSV in UTF-8/GBK or XLSX): 题号, 题干, 选项A…选项D (or a
    JSON 选项内容 column), 解析, 图片 (';'-separated paths), 预估难度 (0–1)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(str(p))
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        raw = pd.read_excel(p, dtype=str)
    else:
        data = p.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise InputError(f"{p.name}: 无法识别编码 / unknown encoding")
        from io import StringIO

        raw = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)
    index = {unicodedata.normalize("NFKC", w).lower().replace(" ", ""): canon
             for canon, words in _CONTENT_HEADERS.items() for w in (canon, *words)}
    out = pd.DataFrame(index=raw.index)
    letters: dict[str, str] = {}
    for col in raw.columns:
        key = unicodedata.normalize("NFKC", str(col)).strip().lower().replace(" ", "")
        m = _OPTION_COL.match(key)
        if m:
            letters[m.group(1).upper()] = col
        elif key in index and index[key] not in out.columns:
            out[index[key]] = raw[col]
    if "item_label" not in out.columns:
        raise InputError(f"{p.name}: 找不到「题号」列 / no item column (题号)")
    if letters and "option_texts" not in out.columns:
        out["option_texts"] = [
            json.dumps({k: str(raw.at[i, c]) for k, c in sorted(letters.items())
                        if str(raw.at[i, c]).strip() not in ("", "nan")}, ensure_ascii=False)
            for i in raw.index]
    out["item_label"] = out["item_label"].map(lambda v: normalise_label(str(v)))
    if "intended_difficulty" in out.columns:
        out["intended_difficulty"] = pd.to_numeric(out["intended_difficulty"].replace("", None),
                                                   errors="coerce")
    return out.replace({"": None})


def normalise_label(text: str) -> str:
    """'第3题'/'T3' → '3', '21（1）' → '21(1)'; other labels are trimmed (NFKC)."""
    from analytics.importers.common import item_label_key

    key = item_label_key(text)
    return key if key is not None else unicodedata.normalize("NFKC", text).strip()
