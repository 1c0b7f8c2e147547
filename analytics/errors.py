"""Errors users see: plain words in Chinese and English, naming file, row, column and reason."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    ``row`` is the 1-based line/row number as the user sees it in a spreadsheet or editor
    (the header row included), ``column`` the header text as written in the file.
    """

    file: str
    row: int | None
    column: str | None
    reason_zh: str
    reason_en: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"第{self.row}行 (row {self.row})")
        if self.column is not None:
            where.append(f"列「{self.column}」(column {self.column!r})")
        return f"{', '.join(where)}: {self.reason_zh} / {self.reason_en}"


class EqmError(Exception):
    """Base class of errors meant for the user (the CLI prints them without a traceback)."""

    exit_code = 1


class InputError(EqmError):
    """Bad input: the file (or argument) cannot be loaded. Exit code 2.

    Carries every :class:`Problem` found (up to a cap), so the user can fix all of them at once.
    """

    exit_code = 2

    def __init__(
        self, message: str, problems: list[Problem] | None = None, *, total: int | None = None
    ):
        self.problems = list(problems or [])
        self.total = total if total is not None else len(self.problems)
        super().__init__(message)

    def __str__(self) -> str:
        lines = [self.args[0]]
        lines += [f"  - {p}" for p in self.problems]
        if self.total > len(self.problems):
            lines.append(
                f"  … 另有 {self.total - len(self.problems)} 个问题未列出"
                f" / … and {self.total - len(self.problems)} more problems not listed"
            )
        return "\n".join(lines)


class NotFoundError(EqmError):
    """A named exam, subject, school, paper … does not exist. Exit code 2."""

    exit_code = 2


class WarehouseBusy(EqmError):
    """Another process is writing the warehouse and did not finish within the wait. Exit 2."""

    exit_code = 2


@dataclass
class ProblemCollector:
    """Collects problems up to ``cap`` while counting all of them."""

    file: str
    cap: int = 50
    problems: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, row: int | None, column: str | None, reason_zh: str, reason_en: str) -> None:
        """Count one problem of ``file`` at ``row``/``column``; keep it while under ``cap``."""
        self.total += 1
        if len(self.problems) < self.cap:
            self.problems.append(Problem(self.file, row, column, reason_zh, reason_en))

    def raise_if_any(self, message_zh: str = "文件有错误,未导入任何数据",
                     message_en: str = "the file has errors; nothing was imported") -> None:
        """Raise an InputError with the kept problems and the total count, if any was added."""
        if self.total:
            raise InputError(
                f"{self.file}: {message_zh} / {message_en} ({self.total})",
                self.problems,
                total=self.total,
            )
