"""Render the public Python API (``analytics.__all__``) as Markdown: ``docs/api.md``.

Run ``python -m eqm.apidoc > docs/api.md`` after changing a public function or its docstring;
``python -m eqm.apidoc --check`` exits 1 when docs/api.md is stale (tests/test_api_docs.py does
the same). Only the standard library is used: :mod:`inspect` for signatures and docstrings, and
a small numpydoc → Markdown conversion (section headings, parameter lists, ``::`` literal blocks,
Sphinx roles).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import re
import sys
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from analytics import registry

REGENERATE = "python -m eqm.apidoc > docs/api.md"
REGENERATE_TYPING = "python -m eqm.apidoc --write-typing"
INIT_PATH = Path(__file__).resolve().parents[1] / "analytics" / "__init__.py"
DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "api.md"

# (anchor, title, modules whose public names belong to the group), from the one table of public
# names (analytics.registry). A name goes to its entry's group; a module to the first group that
# declares it (or a parent package of it), or that holds an object defined in it.
GROUPS: list[tuple[str, str, tuple[str, ...]]] = registry.docs_groups()

# Not in ``analytics.__all__`` but used by every notebook and the README: documented with their
# module path (``from analytics.display import prepare``); the registry's ``module`` reach.
EXTRA: list[tuple[str, str]] = [(e.module, e.name) for e in registry.documented()
                                if e.reach == "module"]

# The quick-start of docs/api.md; tests/test_api_docs.py runs it on a small demo warehouse.
QUICKSTART = '''\
import analytics
from analytics.display import prepare    # rounding + small-group suppression, for showing

wh = analytics.connect("data/warehouse.duckdb", read_only=True)   # built by `eqm demo`
paper = dict(exam="2026年区级质量监测", subject="数学", grade=9)
report = analytics.score_report(wh, **paper, level="school")    # 三率一分 per school
items = analytics.item_stats(wh, **paper)                        # difficulty, discrimination
gap = analytics.group_gap(wh, **paper, by="gender")              # F − M, Welch interval
va = analytics.value_added(wh, **paper, prior_exam="2025学年第一学期期末")
print(prepare(va)[["school_name", "n", "va", "ci_low", "ci_high", "category"]])
'''

LIST_SECTIONS = {"Parameters", "Other Parameters", "Attributes", "Returns", "Yields",
                 "Receives", "Raises", "Warns"}
SIGNATURE_WIDTH = 88


# ----------------------------------------------------------------------------- what is public

def public_objects() -> list[tuple[str, str, Any]]:
    """The documented objects as (qualified name, short name, object), ``__all__`` first.

    The qualified name is how a user reaches the object (``analytics.score_report``, or
    ``analytics.display.prepare`` for :data:`EXTRA`).
    """
    import analytics

    names = list(getattr(analytics, "__all__", None) or
                 [n for n, o in vars(analytics).items()
                  if not n.startswith("_") and not inspect.ismodule(o)])
    out = [(f"analytics.{n}", n, getattr(analytics, n)) for n in names]
    for module, name in EXTRA:
        out.append((f"{module}.{name}", name, getattr(importlib.import_module(module), name)))
    return out


@functools.cache
def _module_groups() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(anchor, modules) of every group: the modules its entries are declared in, each followed
    by the module its object is defined in (``analytics.stats.sgp`` for ``analytics.fit_sgp``)."""
    out: dict[str, dict[str, None]] = {a: {} for a, _t, _m in GROUPS}
    for e in registry.documented():
        out[e.group].setdefault(e.module)
        defined = getattr(getattr(importlib.import_module(e.module), e.name), "__module__", None)
        if isinstance(defined, str):
            out[e.group].setdefault(defined)
    return tuple((a, tuple(m)) for a, m in out.items())


def group_of(module: str) -> str:
    """The anchor of the group documenting objects defined in ``module`` (``other`` if none)."""
    for anchor, modules in _module_groups():
        if any(module == m or module.startswith(m + ".") for m in modules):
            return anchor
    return "other"


def _module_rank(module: str) -> int:
    order = [m for _a, modules in _module_groups() for m in modules]
    for i, m in enumerate(order):
        if module == m or module.startswith(m + "."):
            return i
    return len(order)


def is_public_function(obj: Any) -> bool:
    """A function (not a class) of the public API: what must document its return value."""
    return inspect.isfunction(obj)


# ----------------------------------------------------------------------------- signatures

class _Raw:
    """Text shown verbatim inside a rendered signature (annotations, defaults)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _annotation(ann: Any) -> Any:
    if ann is inspect.Parameter.empty:
        return ann
    return _Raw(ann if isinstance(ann, str) else inspect.formatannotation(ann))


def _default(value: Any) -> Any:
    if value is inspect.Parameter.empty:
        return value
    if isinstance(value, Path):  # the same text on every platform
        return _Raw(f"Path({value.as_posix()!r})")
    text = repr(value)
    if " at 0x" in text:
        raise ValueError(f"default {text} would make docs/api.md differ between runs")
    return _Raw(text)


def signature(qualname: str, obj: Any, *, method: bool = False) -> str:
    """``qualname(params) -> return`` on one line, or one parameter per line when long."""
    sig = inspect.signature(obj)
    params = list(sig.parameters.values())
    if method and params and params[0].name in ("self", "cls"):
        params = params[1:]
    params = [p.replace(annotation=_annotation(p.annotation), default=_default(p.default))
              for p in params]
    ret = "" if inspect.isclass(obj) else (
        "" if sig.return_annotation is inspect.Signature.empty
        else f" -> {_annotation(sig.return_annotation)!r}")
    parts: list[str] = []
    kinds = [p.kind for p in params]
    for i, p in enumerate(params):
        if (p.kind is inspect.Parameter.KEYWORD_ONLY
                and inspect.Parameter.VAR_POSITIONAL not in kinds
                and (i == 0 or params[i - 1].kind is not inspect.Parameter.KEYWORD_ONLY)):
            parts.append("*")
        parts.append(str(p))
        if (p.kind is inspect.Parameter.POSITIONAL_ONLY
                and (i + 1 == len(params)
                     or params[i + 1].kind is not inspect.Parameter.POSITIONAL_ONLY)):
            parts.append("/")
    prefix = "class " if inspect.isclass(obj) else ""
    one_line = f"{prefix}{qualname}({', '.join(parts)}){ret}"
    if len(one_line) <= SIGNATURE_WIDTH or not parts:
        return one_line
    body = "".join(f"    {part},\n" for part in parts)
    return f"{prefix}{qualname}(\n{body}){ret}"


# ----------------------------------------------------------------------------- docstrings

_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc|const):`~?([^`]+)`")
_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)


def _inline(text: str) -> str:
    """Sphinx roles and RST literals → Markdown code spans; ``<`` outside code escaped."""
    text = _ROLE.sub(lambda m: f"`{m.group(1).replace(chr(10), '')}`", text)
    text = _LITERAL.sub(lambda m: f"`{m.group(1)}`", text)
    pieces = re.split(r"(`[^`]*`)", text)
    return "".join(p if p.startswith("`") else p.replace("<", "&lt;") for p in pieces)


def _is_underline(line: str, title: str) -> bool:
    s = line.strip()
    return len(s) >= 3 and set(s) <= {"-"} | {"="} and len(set(s)) == 1 and bool(title.strip())


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _term(term: str, section: str) -> str:
    """A parameter-list entry ``name : type`` → ``- `name` : *type*``."""
    if section in ("Raises", "Warns"):
        return f"- `{term.strip()}`"
    if " : " in term or term.rstrip().endswith(" :"):
        names, _, kind = term.partition(" :")
        names_md = ", ".join(f"`{n.strip()}`" for n in names.split(",") if n.strip())
        kind = kind.strip()
        return f"- {names_md} : *{_inline(kind)}*" if kind else f"- {names_md}"
    if section in ("Returns", "Yields", "Receives"):
        return f"- *{_inline(term.strip())}*"
    return f"- `{term.strip()}`"


def render_doc(doc: str, heading_level: int = 0) -> str:
    """A numpydoc docstring (already cleaned by :func:`inspect.getdoc`) as Markdown.

    Section headings become bold lines (or ``#`` headings of ``heading_level`` if > 0), the
    entries of Parameters/Returns/Raises… a bullet list, ``::`` blocks fenced code.
    """
    lines = doc.expandtabs().splitlines()
    out: list[str] = []
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and _is_underline(nxt, line) and _indent(line) == 0:
            section = line.strip()
            title = _inline(section)
            if out and out[-1] != "":
                out.append("")
            out.append(f"{'#' * heading_level} {title}" if heading_level else f"**{title}**")
            out.append("")
            i += 2
            continue
        if line.rstrip().endswith("::"):       # an RST literal block follows
            text = line.rstrip()[:-2].rstrip()
            if text:
                out.append(_inline(text) + ":")
            base = _indent(line)
            j = i + 1
            block: list[str] = []
            while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > base):
                block.append(lines[j])
                j += 1
            while block and not block[-1].strip():
                block.pop()
            if out and out[-1] != "":
                out.append("")
            out += ["```text", *textwrap.dedent("\n".join(block)).strip("\n").splitlines(), "```",
                    ""]
            i = j
            continue
        if section in LIST_SECTIONS:
            if not line.strip():
                out.append("")
            elif _indent(line) == 0:
                out.append(_term(line, section))
            else:
                out.append("  " + _inline(line[min(_indent(line), 4):]))
        else:
            stripped = line.lstrip(" ")
            lead = min(_indent(line), 3)  # 4+ spaces would make a Markdown code block
            out.append(" " * lead + _inline(stripped) if stripped else "")
        i += 1
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(_collapse_blank(out))


def _collapse_blank(lines: Iterable[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if not line.strip() and out and not out[-1].strip():
            continue
        out.append(line.rstrip())
    return out


def sections(doc: str) -> set[str]:
    """The numpydoc section titles present in ``doc``."""
    lines = doc.splitlines()
    return {lines[i].strip() for i in range(len(lines) - 1)
            if lines[i].strip() and _is_underline(lines[i + 1], lines[i])}


# ----------------------------------------------------------------------------- the page

def _code(text: str, lang: str = "python") -> str:
    return f"```{lang}\n{text.rstrip()}\n```"


def _anchor(qualname: str) -> str:
    return "api-" + qualname.removeprefix("analytics.").replace(".", "-").replace("_", "-").lower()


def _members(cls: type) -> list[tuple[str, Callable[..., Any]]]:
    """Public methods of the class and of its bases in this project (a backend's methods live
    on :class:`analytics.warehouse.Backend`), base classes' first, each in source order; an
    override takes its base's place."""
    found: dict[str, Callable[..., Any]] = {}
    for klass in reversed(cls.__mro__):
        if klass is cls or klass.__module__.split(".")[0] in ("analytics", "dashboards", "eqm"):
            found.update((n, v) for n, v in vars(klass).items()
                         if not n.startswith("_") and inspect.isfunction(v))
    return list(found.items())


def render_object(qualname: str, obj: Any) -> str:
    doc = inspect.getdoc(obj) or "*(no docstring)*"
    parts = [f'<a id="{_anchor(qualname)}"></a>',
             f"### `{qualname.removeprefix('analytics.')}`", "",
             _code(signature(qualname, obj)), "", render_doc(doc)]
    if inspect.isclass(obj):
        for name, meth in _members(obj):
            mdoc = inspect.getdoc(meth)
            parts += ["", f"#### `{obj.__name__}.{name}`", "",
                      _code(signature(f"{obj.__name__}.{name}", meth, method=True))]
            if mdoc:
                parts += ["", render_doc(mdoc)]
    return "\n".join(parts)


def render() -> str:
    """The whole of docs/api.md."""
    import analytics

    objs = public_objects()
    by_group: dict[str, list[tuple[str, str, Any]]] = {}
    for qual, short, obj in objs:
        by_group.setdefault(registry.entry(short).group, []).append((qual, short, obj))
    for members in by_group.values():  # module by module (in GROUPS order), then source order
        members.sort(key=lambda m: (_module_rank(m[2].__module__), m[2].__module__,
                                    inspect.getsourcelines(m[2])[1]))
    groups = [(a, t) for a, t, _ in GROUPS] + [("other", "Other / 其他")]
    groups = [(a, t) for a, t in groups if a in by_group]

    head = [
        "# Python API / Python 接口",
        "",
        f"<!-- Generated from the docstrings by `{REGENERATE}`; do not edit by hand. -->",
        "",
        render_doc(inspect.getdoc(analytics) or ""),
        "",
        "Everything below is importable as `analytics.<name>` (the helpers at the end from their",
        "module). Analysis functions take the warehouse first and keyword arguments after it",
        "(`exam`, `subject`, `grade`, `level` …); the returned columns, formulas and sources are",
        "in each docstring. Round and suppress small groups only when showing results, with",
        "`analytics.display.prepare`. The command line (`eqm …`) calls the same functions.",
        "",
        "## Quick start / 快速上手",
        "",
        "On the demo warehouse that `eqm demo` builds (`data/warehouse.duckdb`):",
        "",
        _code(QUICKSTART),
        "",
        "## Contents / 目录",
        "",
    ]
    for anchor, title in groups:
        links = ", ".join(f"[`{q.removeprefix('analytics.')}`](#{_anchor(q)})"
                          for q, _s, _o in by_group[anchor])
        head.append(f"- [{title}](#{anchor}): {links}")
    body: list[str] = []
    for anchor, title in groups:
        body += ["", f'<a id="{anchor}"></a>', f"## {title}", ""]
        packages_shown: set[str] = set()
        for mod_name in dict.fromkeys(o.__module__ for _q, _s, o in by_group[anchor]):
            # a package split into modules (analytics.archive) keeps its overview: its own
            # docstring comes once, before its first module's
            for pkg in _group_packages(anchor, mod_name):
                if pkg not in packages_shown and sys.modules[pkg].__doc__:
                    packages_shown.add(pkg)
                    body += [f"*Package `{pkg}`*", "",
                             render_doc(inspect.cleandoc(sys.modules[pkg].__doc__ or "")), ""]
            mod: ModuleType = sys.modules[mod_name]
            body += [f"*Module `{mod_name}`*", ""]
            if mod.__doc__:
                body += [render_doc(inspect.cleandoc(mod.__doc__)), ""]
            body += [render_object(qual, obj) + "\n" for qual, _short, obj in by_group[anchor]
                     if obj.__module__ == mod_name]
    text = "\n".join([*head, *body])
    return "\n".join(_collapse_blank(text.splitlines())).rstrip() + "\n"


def _group_packages(anchor: str, mod_name: str) -> list[str]:
    """The modules of group ``anchor`` that are packages above ``mod_name`` (not itself)."""
    mods = dict(_module_groups())[anchor]
    return [g for g in mods if mod_name.startswith(g + ".")
            and hasattr(sys.modules.get(g), "__path__")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eqm.apidoc",
                                     description="Write docs/api.md from the docstrings.")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when docs/api.md differs from the docstrings")
    parser.add_argument("--write-typing", action="store_true",
                        help="rewrite the generated typed block of analytics/__init__.py")
    args = parser.parse_args(argv)
    if args.write_typing:
        current = INIT_PATH.read_text(encoding="utf-8")
        new = registry.with_typing_block(current)
        if new != current:
            INIT_PATH.write_text(new, encoding="utf-8")
        return 0
    text = render()
    if args.check:
        current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
        if current != text:
            print(f"docs/api.md is stale; run: {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
