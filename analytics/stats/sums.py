"""The reduced sums of an item analysis, as the statistics receive them."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class ItemSums:
    """The reduced sums: ``items`` (one row per unit × item) and ``options`` (unit × item ×
    letter).

    ``items`` columns: ``uid``, the level keys, ``n_unit``, ``st_unit``, ``stt_unit`` (the
    unit's present students, Σt, Σt²), ``item_id``, ``n``, ``n_omitted``, ``sx``, ``sxx``,
    ``st``, ``stt``, ``sxt``, ``n_up``, ``sx_up``, ``n_lo``, ``sx_lo``, ``sxr_sorted``.
    ``options`` columns: ``uid``, ``item_id``, ``letter``, ``n`` (chose it), ``n_up``,
    ``n_lo``, ``st`` (Σt of those who chose it). ``keys``: the level's key columns.
    ``answers`` columns: ``uid``, ``item_id``, ``answer`` (as given, e.g. ``AC``), ``n`` (no
    rows when rolled up from the shared passes, whose answers the hotspots read directly).
    """

    items: pd.DataFrame
    options: pd.DataFrame
    keys: tuple[str, ...] = ()
    answers: pd.DataFrame | None = None
