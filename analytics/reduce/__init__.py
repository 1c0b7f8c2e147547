"""Reductions: SQL that turns the responses of a paper into the small per unit × item (or
knowledge point) frames that :mod:`analytics.stats` infers on, and the derived tables that keep
them: :mod:`~analytics.reduce.item_sums` (an item analysis's sufficient statistics),
:mod:`~analytics.reduce.item_passes` (the per-paper passes, staged or stored),
:mod:`~analytics.reduce.knowledge` (per student × knowledge point sums),
:mod:`~analytics.reduce.hotspots` (the hotspots' sums) and :mod:`~analytics.reduce.derived`
(the one mechanism that tells whether a derived table is current and keeps it so)."""
