"""Content fingerprints of archived items (what links an administration to a bank item)."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable

import numpy as np

# -- fingerprints -------------------------------------------------------------------------------

def normalise_stem(text: str | None) -> str:
    """NFKC, lower case, white space and punctuation removed ('' for None/blank)."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    t = unicodedata.normalize("NFKC", str(text)).lower()
    return "".join(ch for ch in t
                   if not unicodedata.category(ch).startswith(("P", "Z", "C")))


def _sha(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:32]


def stem_fingerprint(subject: str, stem: str | None) -> str | None:
    """Fingerprint of an item's content from its stem text; None when there is no stem."""
    norm = normalise_stem(stem)
    return _sha("stem", subject, norm) if norm else None


def meta_fingerprint(subject: str, grade: int | None, label: str, item_type: str,
                     key: str | None, knowledge_points: Iterable[str], max_score: float) -> str:
    """Fingerprint from metadata: subject, grade, label, type, key, knowledge points, max."""
    kps = ";".join(sorted(k for k in knowledge_points if k))
    return _sha("meta", subject, grade, label, item_type, key or "", kps, f"{float(max_score):g}")
