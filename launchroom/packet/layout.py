"""The printed page both packet documents are set on: A4, embedded fonts, left-aligned text.

fpdf2 is pure Python (no system libraries) and well kept; it embeds TrueType fonts as subsets,
so each PDF carries only the glyphs it uses. The fonts are DejaVu Sans and Sans Mono, read from
``fonts/`` beside this module (never from the system): Latin with its extensions, Greek and
Cyrillic draw as written; anything else is printed as its code point (``text.printable``) and
the document says so at its end.

Nothing here is justified (justified text stretches long names across the line), and a block
that belongs together (a label and its value, one evidence item) moves to the next page whole
rather than splitting across the break.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from fpdf import FPDF
from fpdf.enums import MethodReturnValue

from launchroom.packet.text import FONTS_DIR, MONO_FILE, SANS_FILES, human_utc, printable

SANS, MONO = "sans", "mono"
INK, MUTED, RULE = (25, 25, 25), (95, 95, 95), (185, 185, 185)
LABEL_WIDTH = 44.0
LINE = 4.6  # mm per line of body text (9 pt)

# (label, value, style) where style is "" (plain), "mono" (hashes, codes) or "B" (bold).
Row = tuple[str, Any, str]


class Document(FPDF):
    """A4 portrait with a running head and a footer naming the document, its export and the page."""

    def __init__(self, *, title: str, footer_text: str, created: datetime) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.replaced = False  # a character was printed as its code point
        for style, name in SANS_FILES.items():
            self.add_font(SANS, style, FONTS_DIR / name)
        self.add_font(MONO, "", FONTS_DIR / MONO_FILE)
        self.set_fallback_fonts([SANS], exact_match=False)
        self.doc_title = self.clean(title)
        self.footer_text = self.clean(footer_text)
        self.exported = f"Exported {human_utc(created)}"
        self.set_margins(20, 16, 20)
        self.set_auto_page_break(auto=True, margin=20)
        self.set_title(self.doc_title)
        self.set_lang("en")
        self.set_author("Thesmios launch operations")
        self.set_creator("Thesmios launch operations portal")
        self.set_creation_date(created)
        self.add_page()

    # Text ------------------------------------------------------------------------------------

    def clean(self, text: Any) -> str:
        value, replaced = printable(text)
        self.replaced = self.replaced or replaced
        return value

    def use(self, style: str = "", size: float = 9, color: tuple[int, int, int] = INK) -> None:
        if style == "mono":
            self.set_font(MONO, "", size - 0.5)
        else:
            self.set_font(SANS, style, size)
        self.set_text_color(*color)

    def lines(self, width: float, text: str, style: str = "", size: float = 9) -> int:
        """How many lines ``text`` takes in ``width`` mm (nothing drawn)."""
        self.use(style, size)
        if "\n" not in text and self.get_string_width(text) < width - 2 * self.c_margin - 0.01:
            return 1  # most values fit on one line: no need for the line breaker's dry run
        found = self.multi_cell(width, LINE, text, align="L", dry_run=True, output=MethodReturnValue.LINES)
        return max(1, len(cast(list[str], found)))

    def text_block(self, width: float, text: str, *, one_line: bool) -> None:
        """Left-aligned text from the current position (a plain cell when it is known to fit one line,
        which is much cheaper than the line breaker)."""
        if one_line:
            self.cell(width, LINE, text)
        else:
            self.multi_cell(width, LINE, text, align="L")

    def keep(self, height: float) -> None:
        """Start a new page unless ``height`` mm still fit on this one."""
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()

    # Page furniture ---------------------------------------------------------------------------

    def header(self) -> None:
        self.use("B", 7.5, MUTED)
        self.cell(0, 4, "THESMIOS  ·  MANAGED BETA", new_x="LMARGIN", new_y="TOP")
        self.use("", 7.5, MUTED)
        self.cell(0, 4, self.doc_title, align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.ln(6)

    def footer(self) -> None:
        self.set_y(-13)
        self.use("", 7, MUTED)
        self.multi_cell(0, 3.5, f"{self.footer_text}\n{self.exported}  ·  page {self.page_no()} of {{nb}}", align="C")

    # Pieces ------------------------------------------------------------------------------------

    def title_block(self, title: str, subtitle: str) -> None:
        self.use("B", 18)
        self.multi_cell(0, 8, self.clean(title), align="L", new_x="LMARGIN", new_y="NEXT")
        self.use("", 10.5, MUTED)
        self.multi_cell(0, 5.5, self.clean(subtitle), align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def section(self, text: str, *, keep_with: float = 18) -> None:
        """A heading with a rule under it, never left alone at the foot of a page."""
        self.ln(3)
        self.keep(9 + keep_with)
        self.use("B", 11)
        self.cell(0, 6, self.clean(text), new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2.5)

    def row_heights(self, rows: Sequence[Row], label_width: float = LABEL_WIDTH) -> list[float]:
        """The height of each label/value row, measured once (drawing uses these)."""
        value_width = self.epw - label_width
        return [
            max(
                self.lines(label_width - 2, self.clean(label), "B", 8.5),
                self.lines(value_width, self.clean(value) or "-", style),
            )
            * LINE
            + 0.8
            for label, value, style in rows
        ]

    def rows(
        self,
        rows: Sequence[Row],
        *,
        label_width: float = LABEL_WIDTH,
        together: bool = False,
        heights: Sequence[float] | None = None,
    ) -> None:
        """Label/value rows; each row stays on one page, and with ``together`` all of them do."""
        heights = heights if heights is not None else self.row_heights(rows, label_width)
        if together:
            self.keep(sum(heights))
        value_width = self.epw - label_width
        for (label, value, style), height in zip(rows, heights, strict=True):
            if not together:
                self.keep(height)
            top = self.get_y()
            self.use("B", 8.5, MUTED)
            self.text_block(label_width - 2, self.clean(label), one_line=height <= LINE + 0.8)
            self.set_xy(self.l_margin + label_width, top)
            self.use(style, 9)
            self.text_block(value_width, self.clean(value) or "-", one_line=height <= LINE + 0.8)
            self.set_xy(self.l_margin, top + height)
        self.use()

    def paragraph(self, text: Any, *, size: float = 9, style: str = "", color: tuple[int, int, int] = INK) -> None:
        value = self.clean(text) or "-"
        self.keep(self.lines(self.epw, value, style, size) * LINE)
        self.use(style, size, color)
        self.multi_cell(0, LINE, value, align="L", new_x="LMARGIN", new_y="NEXT")
        self.use()

    def bullets(self, items: Sequence[Any], empty: str = "None listed.") -> None:
        if not items:
            self.paragraph(empty, color=MUTED)
            return
        for item in items:
            text = self.clean(item)
            self.keep(self.lines(self.epw - 5, text) * LINE)
            self.use()
            self.cell(5, LINE, "•")
            self.multi_cell(self.epw - 5, LINE, text, align="L", new_x="LMARGIN", new_y="NEXT")
            self.ln(0.6)

    def boxed(
        self, title: str, lines: Sequence[tuple[str, str]], *, fill: tuple[int, int, int] = (243, 243, 243)
    ) -> None:
        """A shaded box: a bold title, then (style, text) lines; kept on one page."""
        inner = self.epw - 8
        texts = [(style, self.clean(text)) for style, text in lines]
        height = 4 + self.lines(inner, self.clean(title), "B", 10) * 5.2 + 1.5
        height += sum(self.lines(inner, text, style) * LINE + 1 for style, text in texts)
        self.keep(height + 2)
        top = self.get_y()
        self.set_fill_color(*fill)
        self.set_draw_color(*RULE)
        self.rect(self.l_margin, top, self.epw, height, style="DF")
        self.set_xy(self.l_margin + 4, top + 2.5)
        self.use("B", 10)
        self.multi_cell(inner, 5.2, self.clean(title), align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)
        for style, text in texts:
            self.set_x(self.l_margin + 4)
            self.use(style, 9)
            self.multi_cell(inner, LINE, text, align="L", new_x="LMARGIN", new_y="NEXT")
            self.ln(1)
        self.set_y(top + height + 2)
        self.use()

    def side_by_side(self, boxes: Sequence[tuple[str, Sequence[Row]]], *, label_width: float = 22) -> None:
        """Framed boxes in one band (the parties, the signatures), each a small caps title and
        rows (a row without a label spans the box); as tall as the tallest, kept on one page."""
        gap = 6.0
        width = (self.epw - gap * (len(boxes) - 1)) / len(boxes)
        inner = width - 8
        cleaned = [
            (self.clean(title), [(self.clean(k), self.clean(v), st) for k, v, st in rows]) for title, rows in boxes
        ]

        def row_lines(label: str, value: str, style: str) -> int:
            if not label:
                return self.lines(inner, value, style)
            return max(self.lines(label_width - 1, label, "B", 7.5), self.lines(inner - label_width, value, style))

        height = max(11 + sum(row_lines(*row) * LINE + 0.6 for row in rows) for _title, rows in cleaned) + 2
        self.keep(height + 2)
        top = self.get_y()
        self.set_draw_color(*RULE)
        for i, (title, rows) in enumerate(cleaned):
            left = self.l_margin + i * (width + gap)
            self.rect(left, top, width, height)
            self.set_xy(left + 4, top + 3)
            self.use("B", 7.5, MUTED)
            self.cell(inner, 4, title.upper(), new_x="LEFT", new_y="NEXT")
            self.ln(2.5)
            for label, value, style in rows:
                y = self.get_y()
                if label:
                    self.set_xy(left + 4, y + 0.3)
                    self.use("B", 7.5, MUTED)
                    self.multi_cell(label_width - 1, LINE, label, align="L")
                    self.set_xy(left + 4 + label_width, y)
                    self.use(style, 9)
                    self.multi_cell(inner - label_width, LINE, value, align="L")
                else:
                    self.set_xy(left + 4, y)
                    self.use(style, 9)
                    self.multi_cell(inner, LINE, value, align="L")
                self.set_y(y + row_lines(label, value, style) * LINE + 0.6)
        self.set_xy(self.l_margin, top + height + 3)
        self.use()

    def finish(self, source_json: str) -> bytes:
        """The PDF's bytes, after a note on code points if any character needed one."""
        if self.replaced:
            self.section("Characters shown as code points", keep_with=10)
            self.paragraph(
                "Some characters are outside this document's embedded fonts and are printed as their Unicode "
                f"code points in brackets, such as [U+5F20]. {source_json} in this packet holds the exact text.",
                color=MUTED,
            )
        return bytes(self.output())
