"""docs/api.md is the rendering of the current docstrings, and every public function documents
what it returns; the quick-start at the top of docs/api.md runs on a small demo warehouse."""

from __future__ import annotations

import difflib
import inspect
import re
from pathlib import Path

import pytest

from eqm import apidoc

# Public functions allowed without a Returns/Yields section, each with its reason. Keep short.
NO_RETURNS_OK: dict[str, str] = {
    "analytics.remove_user": "returns None: deletes a dashboard account (raises if absent)",
}
# DataFrame-returning functions whose Returns section cannot list fixed columns.
VARIABLE_COLUMNS_OK: dict[str, str] = {
    "analytics.summary": "returns the frame of the named analysis function (documented there)",
}


def test_api_md_is_up_to_date():
    expected = apidoc.render()
    current = apidoc.DOC_PATH.read_text(encoding="utf-8") if apidoc.DOC_PATH.exists() else ""
    if current != expected:
        diff = "".join(list(difflib.unified_diff(
            current.splitlines(keepends=True), expected.splitlines(keepends=True),
            "docs/api.md (committed)", "docs/api.md (from the docstrings)", n=1))[:40])
        pytest.fail(f"docs/api.md is stale; regenerate it with `{apidoc.REGENERATE}`\n{diff}")


def test_every_public_name_is_rendered_in_a_named_group():
    text = apidoc.DOC_PATH.read_text(encoding="utf-8")
    objects = apidoc.public_objects()
    assert len(objects) >= 50
    for qual, _short, obj in objects:
        assert f'<a id="{apidoc._anchor(qual)}"></a>' in text, qual
        assert apidoc.group_of(obj.__module__) != "other", (
            f"{qual} ({obj.__module__}) belongs to no group: add its module to apidoc.GROUPS")


def _returns_text(doc: str) -> str:
    m = re.search(r"^(Returns|Yields)\n-+\n(.*?)(?=^\S[^\n]*\n-{3,}\n|\Z)", doc,
                  re.MULTILINE | re.DOTALL)
    return m.group(2) if m else ""


def test_public_functions_document_their_return_value():
    missing = []
    for qual, _short, obj in apidoc.public_objects():
        doc = inspect.getdoc(obj)
        if not doc:
            missing.append(f"{qual}: no docstring")
            continue
        if not apidoc.is_public_function(obj) or qual in NO_RETURNS_OK:
            continue
        if not apidoc.sections(doc) & {"Returns", "Yields"}:
            missing.append(f"{qual}: no Returns/Yields section")
            continue
        annotation = str(inspect.signature(obj).return_annotation)
        if "DataFrame" in annotation and qual not in VARIABLE_COLUMNS_OK:  # columns listed
            text = _returns_text(doc)
            columns = set(re.findall(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b", text))  # snake_case
            columns |= set(re.findall(r"``(\w+)``", text))                         # ``name``
            for span in re.findall(r"``([\w, ]+)``", text):                        # ``a, b``
                columns |= {c.strip() for c in span.split(",") if c.strip()}
            if len(columns) < 2:
                missing.append(f"{qual}: Returns lists no columns")
    assert not missing, "\n".join(missing)


def test_allow_list_is_current():
    public = {q for q, _s, o in apidoc.public_objects() if apidoc.is_public_function(o)}
    assert set(NO_RETURNS_OK) | set(VARIABLE_COLUMNS_OK) <= public
    for qual in NO_RETURNS_OK:  # stale entries: the function documents Returns after all
        obj = dict((q, o) for q, _s, o in apidoc.public_objects())[qual]
        assert not apidoc.sections(inspect.getdoc(obj) or "") & {"Returns", "Yields"}, qual


def test_renderer_on_a_hand_written_docstring():
    doc = inspect.cleandoc('''
        Mean per unit, see :func:`analytics.scores.score_report`.

        For each unit::

            m = Σ x / n

        Parameters
        ----------
        exam, subject : str
            The paper.

        Returns
        -------
        pandas.DataFrame
            ``n``, ``mean`` (< 1e6).
        ''')
    md = apidoc.render_doc(doc)
    assert "see `analytics.scores.score_report`." in md
    assert "```text\nm = Σ x / n\n```" in md
    assert "**Parameters**\n\n- `exam`, `subject` : *str*\n  The paper." in md
    assert "- *pandas.DataFrame*\n  `n`, `mean` (&lt; 1e6)." in md
    assert apidoc.sections(doc) == {"Parameters", "Returns"}


def test_quickstart_runs_on_the_demo(tmp_path, monkeypatch, capsys):
    from analytics.demo import build_demo

    (tmp_path / "data").mkdir()
    build_demo(tmp_path / "data" / "warehouse.duckdb", students=600, subjects=["数学"],
               grades=[9], out_dir=tmp_path / "files", progress=False)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(apidoc.QUICKSTART, "docs/api.md (quick start)", "exec"), namespace)
    wh = namespace["wh"]
    wh.close()  # type: ignore[attr-defined]
    out = capsys.readouterr().out
    assert "school_name" in out and "category" in out
    assert apidoc._code(apidoc.QUICKSTART) in Path(apidoc.DOC_PATH).read_text(encoding="utf-8")
