"""Education-quality monitoring analytics.

The public Python API: open a warehouse with :func:`connect`, then call the analysis functions,
each of which returns a tidy :class:`pandas.DataFrame` (one row per unit, ids first, snake_case,
unrounded, with an ``n`` column and ``ci_low``/``ci_high`` for intervals).
"""

from analytics.warehouse import Warehouse, connect

__all__ = ["Warehouse", "connect"]
