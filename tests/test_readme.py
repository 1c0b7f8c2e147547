"""The commands and code shown in README.md (and docs/*.md) are real.

* Every ``eqm …`` command line in a fenced shell block parses against the real click CLI
  (:data:`eqm.cli.cli`): the subcommand chain is resolved and the leaf command's
  ``make_context`` is called with the given arguments, so unknown commands, unknown options,
  bad choices and missing required options fail here — nothing is executed.
* The README's Python quick-start blocks run on a small demo warehouse (600 students, one
  subject) in a temporary directory laid out like ``eqm demo``'s (``data/warehouse.duckdb``).
* Every README ``eqm`` command runs as written on that demo (``eqm demo --no-serve --students
  600 --subjects 数学 --grades 9``), those of the own-files block (``eqm init``, ``eqm import``)
  in a fresh directory holding ``data/samples``; only the commands that serve or run for
  minutes (``demo``, ``serve``, ``bench``) are not executed.
* Python blocks elsewhere in docs/ are compiled and their imported names checked.
"""

from __future__ import annotations

import ast
import importlib
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from analytics.demo import build_demo
from eqm.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "api.md")  # api.md: generated
SHELL_LANGS = {"", "bash", "sh", "shell", "console", "zsh"}
SEPARATORS = {"&&", "||", ";", "|"}
# Placeholders written in capitals in the docs → a value the parser accepts.
PLACEHOLDERS = {"FILE": "file.csv", "DIR": "out", "DB": "warehouse.duckdb"}


@dataclass
class Block:
    path: Path
    line: int        # 1-based line of the first code line
    lang: str
    lines: list[str]

    def where(self, offset: int = 0) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line + offset}"


def fenced_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file (``` fences, possibly indented)."""
    blocks: list[Block] = []
    current: Block | None = None
    fence = ""
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if current is None:
            m = re.match(r"^(`{3,}|~{3,})\s*([\w+-]*)", stripped)
            if m:
                fence = m.group(1)
                current = Block(path, no + 1, m.group(2).lower(), [])
        elif stripped.startswith(fence) and stripped.strip("`~") == "":
            blocks.append(current)
            current = None
        else:
            current.lines.append(line)
    return blocks


def eqm_commands(block: Block) -> list[tuple[str, list[str]]]:
    """(where, argv after ``eqm``) of each ``eqm`` command in a shell block.

    Comments are dropped, ``&&``/``;``/``|`` split a line into commands, a trailing backslash
    joins lines, ``[--opt value]`` (optional parts in a synopsis) counts as written.
    """
    out: list[tuple[str, list[str]]] = []
    pending = ""
    start = 0
    for i, raw in enumerate(block.lines):
        line = raw.strip()
        if line.startswith("$ "):
            line = line[2:]
        if not pending:
            start = i
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        lex = shlex.shlex(line, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        tokens = list(lex)
        command: list[str] = []
        for tok in [*tokens, ";"]:
            if tok in SEPARATORS:
                if command and command[0] == "eqm":
                    args = [PLACEHOLDERS.get(t, t) for t in command[1:]]
                    out.append((block.where(start), args))
                command = []
            else:
                tok = tok.removeprefix("[").removesuffix("]")
                if tok:
                    command.append(tok)
    return out


def shell_blocks(paths: list[Path]) -> list[Block]:
    return [b for p in paths for b in fenced_blocks(p) if b.lang in SHELL_LANGS]


README_COMMANDS = [c for b in shell_blocks([README]) for c in eqm_commands(b)]
DOC_COMMANDS = [c for b in shell_blocks(DOCS) for c in eqm_commands(b)]


def parse_command_line(args: list[str]) -> click.Context:
    """Resolve ``eqm args…`` to its leaf command and build its context (no callback runs)."""
    ctx = cli.make_context("eqm", list(args))
    cmd: click.Command = cli
    while isinstance(cmd, click.Group):
        protected = getattr(ctx, "_protected_args", None)  # click ≥ 8.2 keeps it private
        rest = [*(protected if protected is not None else ctx.protected_args), *ctx.args]
        name, sub, rest = cmd.resolve_command(ctx, rest)
        assert sub is not None and name is not None
        cmd = sub
        ctx = sub.make_context(name, rest, parent=ctx)
    return ctx


@pytest.fixture
def no_prompts(monkeypatch):
    """Options that would prompt (passwords) get a dummy value instead of reading stdin."""
    monkeypatch.setattr(click.Option, "prompt_for_value",
                        lambda self, ctx: "prompted-secret-123")


def test_readme_shows_eqm_commands():
    assert len(README_COMMANDS) >= 15   # the tour is there and the extraction finds it


@pytest.mark.parametrize(("where", "args"), README_COMMANDS + DOC_COMMANDS,
                         ids=[f"{w} eqm {' '.join(a)[:50]}"
                              for w, a in README_COMMANDS + DOC_COMMANDS])
def test_command_parses(where, args, no_prompts, tmp_path, monkeypatch):
    # The input files a command names (名册.xlsx, 备份.duckdb …) exist, empty, so that
    # click.Path(exists=True) accepts them; nothing reads them.
    monkeypatch.chdir(tmp_path)
    for arg in args:
        if not arg.startswith("-") and re.search(r"\.\w+$", arg) and not Path(arg).is_absolute():
            (tmp_path / arg).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / arg).touch()
    try:
        ctx = parse_command_line(args)
    except click.ClickException as exc:
        pytest.fail(f"{where}: `eqm {' '.join(args)}` does not parse: {exc.format_message()}")
    assert ctx.command.callback is not None


def test_parser_rejects_what_the_cli_rejects(no_prompts):
    """The check can fail: a wrong option, a bad choice, a missing required option, a typo."""
    for bad in (["stats", "scores", "--subject", "数学"],                 # no --exam
                ["stats", "scores", "--exam", "x", "--subject", "y", "--relative"],
                ["stats", "hotspots", "--exam", "x", "--subject", "y", "--grain", "nonsense"],
                ["users", "add", "a", "--role", "headmaster"],
                ["statz", "scores"]):
        with pytest.raises(click.ClickException):
            parse_command_line(bad)


def test_extraction_handles_chains_and_comments():
    block = Block(README, 1, "bash", [
        "eqm backup 备份.duckdb && eqm restore 备份.duckdb   # round trip",
        "pip install -e . && eqm demo",
        "eqm serve --port 8050 [--host 0.0.0.0] \\",
        "    --no-ranks",
    ])
    assert [a for _w, a in eqm_commands(block)] == [
        ["backup", "备份.duckdb"], ["restore", "备份.duckdb"], ["demo"],
        ["serve", "--port", "8050", "--host", "0.0.0.0", "--no-ranks"]]


def test_format_options_claim():
    """README: "Every `eqm stats|va|…` command takes `--format table|csv|json|xlsx` and
    `--out FILE`" holds for every leaf command of the groups it names."""
    m = re.search(r"Every `eqm ([\w|-]+)` commands? takes? `--format ([\w|]+)` and `--out",
                  README.read_text(encoding="utf-8"))
    assert m, "README no longer states which commands take --format/--out"
    leaves: list[click.Command] = []
    for name in m.group(1).split("|"):
        cmd = cli.commands[name]
        leaves += list(cmd.commands.values()) if isinstance(cmd, click.Group) else [cmd]
    for cmd in leaves:
        opts = {flag: o for o in cmd.params if isinstance(o, click.Option) for flag in o.opts}
        assert "--out" in opts, cmd.name
        fmt = opts["--format"].type
        assert isinstance(fmt, click.Choice), cmd.name
        assert set(m.group(2).split("|")) <= set(fmt.choices), cmd.name


# ----------------------------------------------------------------------------- Python blocks

def python_blocks(paths: list[Path]) -> list[Block]:
    return [b for p in paths for b in fenced_blocks(p) if b.lang in ("python", "py")]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    """A directory laid out as after ``eqm demo``: ``data/warehouse.duckdb`` (small)."""
    d = tmp_path_factory.mktemp("readme")
    (d / "data").mkdir()
    build_demo(d / "data" / "warehouse.duckdb", students=600, subjects=["数学"], grades=[9],
               out_dir=d / "files", progress=False)
    return d


NOT_RUN = {"demo", "serve", "bench"}   # they serve, or run for minutes (tested elsewhere)
OWN_FILES = {"init", "import"}         # the own-files block: run on data/samples in a fresh dir


def _invoke(args: list[str], cwd: Path, monkeypatch) -> click.testing.Result:
    from click.testing import CliRunner

    monkeypatch.chdir(cwd)
    monkeypatch.delenv("EQM_DB", raising=False)
    return CliRunner().invoke(cli, args, input="readme-secret-1\nreadme-secret-1\n")


def test_readme_commands_run_on_the_demo(demo_dir, tmp_path, monkeypatch):
    import shutil

    own = tmp_path / "own"
    shutil.copytree(ROOT / "data" / "samples", own / "data" / "samples")
    ran = []
    for block in shell_blocks([README]):
        commands = eqm_commands(block)
        fresh = any(a and a[0] in OWN_FILES for _w, a in commands)
        for where, args in commands:
            if not args or args[0] in NOT_RUN:
                continue
            result = _invoke(args, own if fresh else demo_dir, monkeypatch)
            assert result.exit_code == 0, (f"{where}: `eqm {' '.join(args)}` exited "
                                           f"{result.exit_code}:\n{result.output[-1500:]}")
            ran.append(args[0])
    assert {"stats", "va", "growth", "progress", "green", "archive", "users", "list",
            "import", "backup", "restore", "export"} <= set(ran)


def run_block(block: Block, cwd: Path, monkeypatch) -> dict[str, object]:
    monkeypatch.chdir(cwd)
    code = compile("\n" * (block.line - 1) + "\n".join(block.lines), str(block.path), "exec")
    namespace: dict[str, object] = {"__name__": "__readme__"}
    try:
        exec(code, namespace)
    finally:
        for value in namespace.values():
            close = getattr(value, "close", None)
            if type(value).__name__ == "Warehouse" and callable(close):
                close()
    return namespace


def test_readme_python_quickstart_runs(demo_dir, monkeypatch):
    blocks = python_blocks([README])
    assert blocks, "README.md has no ```python block"
    for block in blocks:
        ns = run_block(block, demo_dir, monkeypatch)
        frames = [v for v in ns.values() if type(v).__name__ == "DataFrame"]
        assert frames and all(len(f) > 0 for f in frames), block.where()


def _check_imports(block: Block) -> list[str]:
    problems = []
    tree = ast.parse("\n".join(block.lines), filename=block.where())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            try:
                module = importlib.import_module(node.module)
            except ImportError as exc:
                problems.append(f"{block.where(node.lineno - 1)}: {exc}")
                continue
            problems += [f"{block.where(node.lineno - 1)}: {node.module} has no {a.name}"
                         for a in node.names if not hasattr(module, a.name)]
        elif isinstance(node, ast.Import):
            for a in node.names:
                try:
                    importlib.import_module(a.name)
                except ImportError as exc:
                    problems.append(f"{block.where(node.lineno - 1)}: {exc}")
    return problems


def test_docs_python_blocks_compile_and_import():
    blocks = python_blocks([README, *DOCS])
    problems = [p for b in blocks for p in _check_imports(b)]
    assert not problems, "\n".join(problems)
