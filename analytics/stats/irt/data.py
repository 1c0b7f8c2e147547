"""Response patterns: identical rows reduced once, and the design the E-step multiplies.

A response matrix (persons × items) holds score categories 0 … K − 1 and −1 for a missing
answer. :func:`reduce_patterns` keeps each distinct row once with its count, so the E-step
costs the number of patterns, not of persons; :meth:`Patterns.design` gives, for a block of
patterns, the indicator of every category above 0 (one column per item × category k ≥ 1) and,
when answers are missing, the indicator of an answered item.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

BLOCK = 1 << 15  # patterns per block of the E-step (bounds its memory)
CACHE_LIMIT = 80_000_000  # design cells kept between EM iterations (float32: 320 MB at most)


@dataclass(frozen=True)
class Patterns:
    """Distinct response rows ``x`` (int8, −1 missing), their counts ``w`` and, per person,
    the index of the person's row (``inverse``)."""

    x: NDArray[np.int8]
    w: NDArray[np.float64]
    inverse: NDArray[np.intp]
    n_cat: NDArray[np.intp]
    _cache: dict[str, list[tuple[slice, NDArray[np.floating], NDArray[np.floating] | None]]] = (
        field(default_factory=dict, compare=False, repr=False))

    @property
    def has_missing(self) -> bool:
        """Whether any answer is missing."""
        return bool((self.x < 0).any())

    @property
    def columns(self) -> NDArray[np.intp]:
        """The item of every design column (categories k ≥ 1 of each item, in item order)."""
        return np.repeat(np.arange(self.n_cat.size), self.n_cat - 1)

    def blocks(self, size: int = BLOCK, dtype: type = np.float64
               ) -> Iterator[tuple[slice, NDArray[np.floating], NDArray[np.floating] | None]]:
        """(rows, design, answered) per block of patterns: ``design`` (n, Σ(K − 1)) is 1 where
        the row's answer to the item is that category, ``answered`` (n, J) 1 where the item
        was answered, or ``None`` when nothing is missing. float32 blocks are kept for the
        next EM iteration while they hold at most :data:`CACHE_LIMIT` cells."""
        key = np.dtype(dtype).name
        if key in self._cache:
            yield from self._cache[key]
            return
        keep = dtype == np.float32 and self.x.shape[0] * int((self.n_cat - 1).sum()) \
            <= CACHE_LIMIT
        kept = []
        for block in self._make_blocks(size, dtype):
            if keep:
                kept.append(block)
            yield block
        if keep:
            self._cache[key] = kept

    def _make_blocks(self, size: int, dtype: type
                     ) -> Iterator[tuple[slice, NDArray[np.floating], NDArray[np.floating] | None]]:
        binary = bool((self.n_cat == 2).all())
        cats = np.concatenate([np.arange(1, k) for k in self.n_cat])
        cols = self.columns
        missing = self.has_missing
        for start in range(0, self.x.shape[0], size):
            rows = slice(start, min(start + size, self.x.shape[0]))
            xb = self.x[rows]
            if binary:
                design = (xb == 1).astype(dtype)
            else:
                design = (xb[:, cols] == cats[None, :]).astype(dtype)
            answered: NDArray[np.floating] | None = (
                (xb >= 0).astype(dtype) if missing else None)
            yield rows, design, answered


def reduce_patterns(x: NDArray[np.integer], n_cat: NDArray[np.integer] | None = None,
                    weights: NDArray[np.floating] | None = None) -> Patterns:
    """Distinct rows of ``x`` (persons × items; −1 = missing) with their counts (the sums of
    ``weights`` when rows come already counted, e.g. from SQL).

    Rows are keyed by one integer (the row read as a number in base max K + 1) when that fits
    in 63 bits, else by their bytes.
    """
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValueError("responses must be a persons × items matrix")
    codes = arr.astype(np.int8)
    if n_cat is None:
        n_cat = np.maximum(codes.max(axis=0, initial=0) + 1, 2)
    cats: NDArray[np.intp] = np.asarray(n_cat, dtype=np.intp)
    base = int(cats.max()) + 1
    n_items = codes.shape[1]
    if n_items * np.log2(base) <= 62:
        place = base ** np.arange(n_items, dtype=np.int64)
        keys = (codes.astype(np.int64) + 1) @ place
        _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True,
                                              return_counts=True)
        rows = codes[first]
    else:
        view = np.ascontiguousarray(codes).view(np.dtype((np.void, n_items)))[:, 0]
        _, first, inverse, counts = np.unique(view, return_index=True, return_inverse=True,
                                              return_counts=True)
        rows = codes[first]
    inverse = inverse.reshape(-1)
    w: NDArray[np.float64] = (
        counts.astype(np.float64) if weights is None else
        np.bincount(inverse, weights=np.asarray(weights, float),
                    minlength=rows.shape[0]).astype(np.float64))
    return Patterns(x=np.ascontiguousarray(rows), w=w,
                    inverse=inverse, n_cat=cats)
