"""The vocabulary lives once, in analytics.domain: importers, SQL, i18n and the CLI read it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analytics.domain import label
from analytics.domain.items import (
    COGNITIVE_LEVELS,
    ITEM_TYPE_ALIASES,
    ITEM_TYPE_WORDS,
    ITEM_TYPES,
    OBJECTIVE_SQL,
    OBJECTIVE_TYPES,
)
from analytics.domain.labels import LABELS
from analytics.importers.common import header_key

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("word", "code"), [
    ("选择", "single"), ("sc", "single"), ("mc1", "single"), ("不定项", "multiple"),
    ("mc", "multiple"), ("是非题", "true_false"), ("tf", "true_false"), ("作文", "constructed"),
    ("听力", "constructed"), ("填空题", "fill"), ("主观题", "constructed"),
])
def test_the_domain_holds_every_alias_the_specification_table_accepts(word, code):
    from analytics.importers.paper import ITEM_TYPES as SPEC_TYPES

    assert ITEM_TYPE_ALIASES[word] == code
    assert SPEC_TYPES[header_key(word)] == code


def test_the_importer_reads_its_type_words_from_the_domain():
    from analytics.importers.paper import ITEM_TYPES as SPEC_TYPES

    assert set(ITEM_TYPE_WORDS) == set(ITEM_TYPES)
    assert {header_key(w): code for w, code in ITEM_TYPE_ALIASES.items()} == SPEC_TYPES
    assert all(ITEM_TYPE_ALIASES[code] == code for code in ITEM_TYPES)


def test_objective_sql_list_is_made_from_the_objective_types():
    assert OBJECTIVE_SQL == "('single', 'multiple', 'true_false')"
    assert set(re.findall(r"'(\w+)'", OBJECTIVE_SQL)) == set(OBJECTIVE_TYPES)
    assert COGNITIVE_LEVELS == ("了解", "理解", "掌握", "运用")


def _sources() -> list[Path]:
    out: list[Path] = []
    for top in ("analytics", "dashboards", "eqm", "benchmarks"):
        out += [p for p in (ROOT / top).rglob("*.py") if "domain" not in p.parts]
    return out


def test_no_copy_of_the_objective_types_or_cognitive_levels_outside_the_domain():
    copies = re.compile(r"""['"]single['"],\s*['"]multiple['"],\s*['"]true_false['"]"""
                        r"""|['"]了解['"],\s*['"]理解['"]""")
    found = [f"{p.relative_to(ROOT)}:{i}" for p in _sources()
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if copies.search(line)]
    assert found == []


def test_dashboard_code_labels_are_the_domain_labels():
    from dashboards.i18n import CODES, code_label

    assert set(CODES.values()) <= set(LABELS)
    for kind, domain_kind in CODES.items():
        for code in LABELS[domain_kind]:
            for lang in ("zh", "en"):
                assert code_label(kind, code, lang) == label(domain_kind, code, lang)
    # where the two tables differed, the one text users see now
    assert code_label("item_type", "constructed", "en") == "constructed response"
    assert code_label("status", "void") == "作弊/违纪"
    assert code_label("band", "A") == "A等" and code_label("band", "A", "en") == "band A"
    assert code_label("role", "officer") == "教研员"
    assert code_label("reason", "below_low", "en") == "below the low line"
    assert code_label("position", "similar") == "与全区相当"


def test_the_cli_lists_the_domain_item_types():
    from click.testing import CliRunner

    from eqm.cli import cli

    out = CliRunner().invoke(cli, ["archive", "search", "--help"], terminal_width=200).output
    assert "|".join(ITEM_TYPES) in re.sub(r"\s+", "", out)
    assert "/".join(label("item_type", t) for t in ITEM_TYPES) in re.sub(r"\s+", "", out)


def test_the_legends_cover_every_green_level_and_grade_band():
    import numpy as np

    from analytics.domain.bands import GRADE_BANDS
    from analytics.domain.labels import label, labels_of
    from analytics.green import index_level

    for lang in ("zh", "en"):
        assert list(labels_of("green_level_legend", lang)) == list(range(1, 10))
        assert list(labels_of("grade_band_legend", lang)) == list(GRADE_BANDS)
        for code in ("green_levels", "grade_bands"):
            assert label("legend", code, lang) != code
    # the bounds the legend states are those index_level applies
    for k in range(2, 9):
        assert f"{k / 10:.1f}–{(k + 1) / 10:.1f}" in label("green_level_legend", k, "en")
        assert index_level([k / 10, (k + 1) / 10 - 1e-9]).tolist() == [k, k]
    assert index_level([0.1999, 0.9, 1.0]).tolist() == [1, 9, 9]
    assert "0.2" in label("green_level_legend", 1) and "0.9" in label("green_level_legend", 9)
    assert not np.isnan(index_level(0.5))
