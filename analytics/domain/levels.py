"""The reporting levels and the columns that identify a unit at each (over the student_tree view).

A tidy frame at level L starts with ``LEVEL_KEYS[L]`` (ids and names), then ``n``.
"""

from __future__ import annotations

from typing import Literal

Level = Literal["district", "zone", "school", "class"]
LEVELS: tuple[Level, ...] = ("district", "zone", "school", "class")

# Columns of the student_tree view that identify a unit at each level, outermost first.
LEVEL_KEYS: dict[str, tuple[str, ...]] = {
    "district": ("district_id", "district_name"),
    "zone": ("zone_id", "zone_name"),
    "school": ("zone_id", "zone_name", "school_id", "school_name"),
    "class": ("school_id", "school_name", "class_id", "class_name"),
}


def check_level(level: str) -> str:
    """Return ``level`` if it is a reporting level (:data:`LEVELS`), else raise InputError."""
    if level not in LEVEL_KEYS:
        from analytics.errors import InputError

        raise InputError(
            f"未知的层级「{level}」,可选 {', '.join(LEVELS)} / unknown level {level!r}; "
            f"choose one of {', '.join(LEVELS)}"
        )
    return level


def key_list(level: str) -> str:
    """The level's key columns as a SQL select list (trusted identifiers, never user text)."""
    return ", ".join(LEVEL_KEYS[check_level(level)])
