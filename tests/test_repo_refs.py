"""Every citation in the code and the docs points inside the repository or to a public source."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# an absolute path on somebody's machine, or a relative one that climbs out of the repository
OUTSIDE = re.compile(r"(?<![\w.])(/(work|home|Users|mnt|srv|tmp|root)/[\w.-]+"
                     r"|(\.\./)+(shared|work|home)\b|[A-Z]:\\\\\w)")


def _tracked() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "*.py", "*.md", "*.toml", "*.sql"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / p for p in out if not p.startswith("tests/test_repo_refs")]


def test_no_reference_to_files_outside_the_repository():
    found = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}" for p in _tracked() if p.exists()
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if OUTSIDE.search(line)]
    assert found == []


def test_the_pattern_finds_the_old_citation():
    assert OUTSIDE.search("Bands (see /work/shared/domain.md):")
    assert OUTSIDE.search("see ../shared/domain.md")
    assert not OUTSIDE.search("docs/api.md, analytics/domain/bands.py, 1/2")
