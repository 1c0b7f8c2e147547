"""The neutral structure of a printed report: blocks that every renderer (.docx, .pdf,
.html) lays out the same way.

A :class:`Document` is a title, a footer line and a list of blocks: :class:`Heading`,
:class:`Paragraph`, :class:`Table`, :class:`Chart` (a PNG drawn by
:mod:`analytics.documents.charts`) and :class:`PageBreak`. The content is assembled from the
analyses (``analytics.documents.school`` and its siblings); the renderers know nothing of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    """A section title; ``level`` 1 (section) or 2 (subsection)."""

    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    """Running text; ``style`` ``normal``, ``bullet`` (one point of a list) or ``note`` (small,
    grey: the how-to-read text and the suppression notes)."""

    text: str
    style: str = "normal"


@dataclass(frozen=True)
class Table:
    """A table of display strings: ``columns`` (headers) and ``rows`` (one list per row);
    ``widths`` relative column widths (default equal)."""

    columns: list[str]
    rows: list[list[str]]
    widths: list[float] | None = None


@dataclass(frozen=True)
class Chart:
    """A static chart: PNG bytes, a caption, ``width`` the share of the text width."""

    png: bytes
    caption: str
    width: float = 0.9


@dataclass(frozen=True)
class PageBreak:
    """Start a new page (a new subject section)."""


Block = Heading | Paragraph | Table | Chart | PageBreak


@dataclass
class Document:
    """A report: ``title``, ``subtitle``, ``footer`` (who generated it and when), ``lang``
    (``zh`` or ``en``) and the ``blocks`` in reading order."""

    title: str
    subtitle: str
    footer: str
    lang: str = "zh"
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        """Append blocks in order."""
        self.blocks.extend(blocks)

    def texts(self) -> Iterator[str]:
        """Every string the document prints (the PDF renderer subsets its font to these)."""
        yield from (self.title, self.subtitle, self.footer)
        for b in self.blocks:
            if isinstance(b, Heading | Paragraph):
                yield b.text
            elif isinstance(b, Table):
                yield from b.columns
                for row in b.rows:
                    yield from row
            elif isinstance(b, Chart):
                yield b.caption

    def charts(self) -> int:
        """The number of charts."""
        return sum(isinstance(b, Chart) for b in self.blocks)
