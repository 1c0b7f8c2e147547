"""Pure statistics on small frames: numpy, scipy and pandas only, never the warehouse.

SQL reduces a million students to per unit × item sums (:mod:`analytics.reduce.item_sums`,
:mod:`analytics.hotspots`, …); the modules here infer on those sums. Each statistic is defined
once:

* :mod:`analytics.stats.intervals` — the 95 % normal quantile ``Z95``, normal, t, Wilson,
  Feldt (for Cronbach's α) and order-statistic (median) intervals;
* :mod:`analytics.stats.reliability` — Cronbach's α, α if an item is deleted, SEM;
* :mod:`analytics.stats.items` — item statistics from the sums (difficulty, discrimination,
  item–total correlations, options, flags), Kelley's 27 % groups and the difficulty and
  discrimination bands;
* :mod:`analytics.stats.multiplicity` — Benjamini–Hochberg q-values;
* :mod:`analytics.stats.mixed` — the REML random-intercept engine (value-added, equity);
* :mod:`analytics.stats.quantreg` and :mod:`analytics.stats.sgp` — quantile regression and
  student growth percentiles;
* :mod:`analytics.stats.unit_gaps` — a unit against the rest of the district (hotspots);
* :mod:`analytics.stats.frames` — vectorised lookups and sorts on frames.

An import-linter contract (pyproject.toml) keeps this package free of the warehouse.
"""
