"""A content fingerprint of a whole warehouse, to prove that a failed operation changed nothing."""

from __future__ import annotations

from analytics.warehouse import Warehouse


def fingerprint(
    wh: Warehouse, skip: tuple[str, ...] = ("import_log",)
) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent hash of every row, per table.

    ``import_log`` is skipped by default: a rejected import is *meant* to be logged.
    """
    out: dict[str, tuple[int, str]] = {}
    for table in wh.tables():
        if table in skip:
            continue
        row = wh.con.execute(
            f'SELECT count(*), coalesce(bit_xor(hash(t)), 0)::VARCHAR FROM "{table}" t'
        ).fetchone()
        assert row is not None
        out[table] = (int(row[0]), str(row[1]))
    return out
