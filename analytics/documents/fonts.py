"""The one CJK font of the printed reports, and its subsets for PDF embedding.

The font is Noto Sans CJK SC (SIL Open Font License 1.1: free to embed and to subset), shipped
inside the ``mplfonts`` wheel from PyPI, so the same file is found on Linux, macOS and Windows
without a system font; ``$EQM_CJK_FONT`` may name another TrueType/OpenType file.

Embedding the whole 16 MB font costs fpdf2 about 4 s per PDF (it parses and subsets 65,000
glyphs); :func:`subset_font` cuts it once to the characters of the documents at hand (a batch of
forty reports shares one subset), and fpdf2 then embeds that small font in a fraction of a second.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from analytics.errors import InputError

FAMILY = "Noto Sans CJK SC"
_ALWAYS = "".join(chr(c) for c in range(0x20, 0x7F)) + "—–·×−≤≥±…“”‘’、。,:;!?()【】《》%0123456789"


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    """The CJK font file: ``$EQM_CJK_FONT``, else the Noto Sans CJK SC of the ``mplfonts`` wheel.

    Raises
    ------
    InputError
        When neither is there (bilingual message naming both).
    """
    env = os.environ.get("EQM_CJK_FONT")
    if env:
        path = Path(env)
        if not path.is_file():
            raise InputError(f"找不到字体文件 {path}($EQM_CJK_FONT)/ font file {path} "
                             "($EQM_CJK_FONT) not found")
        return path
    try:
        import mplfonts
    except ImportError as exc:
        raise InputError("缺少中文字体:请安装 mplfonts(pip install mplfonts)或设置 "
                         "$EQM_CJK_FONT / no CJK font: install mplfonts or set "
                         "$EQM_CJK_FONT") from exc
    path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    if not path.is_file():
        raise InputError(f"找不到字体文件 {path} / font file {path} not found")
    return path


def subset_font(texts: Iterable[str]) -> Path:
    """A subset of :func:`cjk_font_path` holding every character of ``texts`` (plus ASCII and
    common punctuation), written once per character set to the temporary directory."""
    chars = "".join(sorted(set(_ALWAYS).union(*map(set, texts)) - {"\n", "\t"}))
    return _subset(chars)


@lru_cache(maxsize=8)
def _subset(chars: str) -> Path:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    src = cjk_font_path()
    key = hashlib.sha1((str(src) + chars).encode()).hexdigest()[:16]
    out = Path(tempfile.gettempdir()) / f"eqm-font-{key}{src.suffix}"
    if out.is_file():
        return out
    opts = subset.Options()
    opts.layout_features = []
    opts.hinting = False
    opts.notdef_outline = True
    opts.name_IDs = ["*"]
    font = TTFont(str(src), lazy=True)
    sub = subset.Subsetter(opts)
    sub.populate(text=chars)
    sub.subset(font)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    font.save(str(tmp))
    os.replace(tmp, out)
    return out
