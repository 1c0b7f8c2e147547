"""Keyword names renamed in 0.2.0, still accepted for one release (see CHANGELOG.md).

:func:`renamed` wraps an analysis so that a call with an old keyword (``confidence=``,
``by=`` for the grain, …) still works: the value is passed on under the new name and a
:class:`DeprecationWarning` names both. ``inspect.signature`` and mypy see the new signature
only (the wrapper is :func:`functools.wraps`'d and typed with a ``ParamSpec``). Remove the
decorators in 0.3.0.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

REMOVED_IN = "0.3.0"


def renamed(**old_to_new: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Accept the keywords ``old_to_new``'s keys as their values' names, with a warning.

    Passing both the old and the new name is a :class:`TypeError` (as passing one keyword
    twice is).
    """

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(f"{fn.__name__}() got both {old!r} (renamed) and {new!r}")
                warnings.warn(
                    f"{fn.__name__}(): the keyword {old!r} is now {new!r} "
                    f"({old!r} is removed in {REMOVED_IN})", DeprecationWarning, stacklevel=2)
                kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        inner.__renamed__ = dict(old_to_new)  # type: ignore[attr-defined]
        return inner

    return wrap
