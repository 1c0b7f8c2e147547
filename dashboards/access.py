"""Refusals and filters of the dashboard service: who may open which page
(:data:`PAGE_ROLES`), :class:`AccessDenied` (with the reason a page shows), :class:`NotAvailable`
and the validated filter state :class:`Filters`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

RankPolicy = Literal["officers", "none"]

# Which roles may use which page (the layout refuses, and the service refuses again).
PAGE_ROLES: dict[str, frozenset[str]] = {
    "home": frozenset({"officer", "principal", "committee", "admin"}),
    "officer": frozenset({"officer"}),
    "principal": frozenset({"principal", "officer"}),
    "committee": frozenset({"committee", "officer"}),
    "admin": frozenset({"admin"}),
}


class AccessDenied(PermissionError):
    """The current user may not see what was asked for.

    ``reason`` says why, so that the page shows the right words (``dashboards.i18n`` has a
    ``refused_<reason>`` text for each): ``role`` (the page or feature is for ``roles``
    only), ``other_school`` (another school's or class's data), ``choose_school`` (an
    officer must choose a school first), ``no_school`` (a principal account without a
    school), ``principal_only`` (student lists), ``cannot_scope`` (a frame that cannot be
    limited to the user's school: fail closed), ``bad_request`` (a value no page sends),
    ``not_signed_in``; ``denied`` when nothing more precise applies.
    """

    REASONS = ("role", "other_school", "choose_school", "no_school", "principal_only",
               "cannot_scope", "bad_request", "not_signed_in", "denied")

    def __init__(self, detail: str, *, reason: str = "denied",
                 roles: Iterable[str] = ()) -> None:
        super().__init__(detail)
        self.reason = reason if reason in self.REASONS else "denied"
        self.roles = tuple(roles)


class NotAvailable(LookupError):
    """An analytics function the page needs has not been provided yet."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass(frozen=True)
class Filters:
    """The filter state of a page (from the URL query string or a callback payload).

    Every field is validated: anything that is not of the right type becomes None, so a
    crafted payload cannot smuggle in other types.
    """

    exam: str | None = None
    grade: int | None = None
    subject: str | None = None
    zone: int | None = None
    school: int | None = None
    class_id: int | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Filters:
        data = data or {}

        def text(v: Any) -> str | None:
            return v if isinstance(v, str) and v.strip() and len(v) < 200 else None

        def integer(v: Any) -> int | None:
            if isinstance(v, bool):
                return None
            if isinstance(v, int):
                return v
            if isinstance(v, str) and v.strip().lstrip("-").isdigit():
                return int(v)
            return None

        return cls(exam=text(data.get("exam")), grade=integer(data.get("grade")),
                   subject=text(data.get("subject")), zone=integer(data.get("zone")),
                   school=integer(data.get("school")),
                   class_id=integer(data.get("class", data.get("class_id"))))

    def as_query(self) -> dict[str, Any]:
        """The non-empty fields under their URL names."""
        pairs = {"exam": self.exam, "grade": self.grade, "subject": self.subject,
                 "zone": self.zone, "school": self.school, "class": self.class_id}
        return {k: v for k, v in pairs.items() if v is not None}


def frame_filter(frame: pd.DataFrame, col: str, value: Any) -> pd.DataFrame:
    """The rows of ``frame`` whose ``col`` is ``value`` (all of them without that column)."""
    return frame[frame[col] == value] if col in frame.columns else frame
