"""The natural order of unit names: ``2班`` before ``10班`` (digits compared as numbers).

:func:`natural_key` is the one sort key of class (and school) names; every list, table, filter
and chart of classes uses it (frames:
:func:`analytics.display.natural_sort`), so ``1班, 2班, …, 10班`` never reads ``10班, …, 1班``.
"""

from __future__ import annotations

import re

_PARTS = re.compile(r"(\d+)")


def natural_key(text: object) -> tuple[tuple[int, int | str], ...]:
    """A sort key of ``text`` comparing its runs of digits as numbers: ``natural_key("2班") <
    natural_key("10班")``. ``None``/NaN sort last."""
    if text is None or (isinstance(text, float) and text != text):
        return ((2, ""),)
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in _PARTS.split(str(text)) if part)
