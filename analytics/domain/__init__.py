"""The vocabulary of the analyses: codes, their labels, levels, bands, lines and constants.

* :mod:`analytics.domain.levels` — reporting levels (district, zone, school, class) and the
  columns that identify a unit at each;
* :mod:`analytics.domain.items` — item types, the objective ones and their Chinese aliases;
* :mod:`analytics.domain.bands` — difficulty and discrimination bands, grade bands A–D, the
  三率 lines with their default shares, Kelley's share and the item flags' thresholds;
* :mod:`analytics.domain.labels` — :func:`label`, the Chinese and English text of every code
  a user sees.

Nothing here computes or reads data; everything else in analytics reads it (an import-linter
contract keeps it at the bottom of the layers).
"""

from analytics.domain.labels import label as label

__all__ = ["label"]
