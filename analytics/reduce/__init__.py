"""Reductions: SQL that turns the responses of a paper into the small per unit × item (or
knowledge point) frames that :mod:`analytics.stats` infers on, and the stored passes that keep
them. (The item passes, :mod:`analytics.item_sums`, move here once the importers read them from
here.)"""
