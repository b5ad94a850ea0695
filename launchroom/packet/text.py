"""Words the packet's documents and the verification page share: one way to write a moment, and
text the PDFs' embedded fonts can draw.

Kept apart from the PDF code, which imports fpdf2 (slow to import), so that the verification
page can use the same date format without it.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

FONTS_DIR = Path(__file__).resolve().with_name("fonts")
SANS_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
MONO_FILE = "DejaVuSansMono.ttf"


def human_utc(value: datetime | str | None, *, empty: str = "not recorded") -> str:
    """A moment as every printed document and the verification page write it:
    ``1 December 2026, 10:29 UTC`` (the JSON beside a document keeps ISO 8601 to the microsecond)."""
    if value is None or value == "":
        return empty
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return f"{value.day} {value:%B %Y, %H:%M} UTC"


def person(name: str, username: str = "") -> str:
    """A person as the documents name them: full name, with the portal username beside it."""
    name, username = name.strip(), username.strip()
    if name and username and name != username:
        return f"{name} ({username})"
    return name or username or "unknown"


@lru_cache(maxsize=1)
def drawable() -> frozenset[int]:
    """The code points every Sans face of the packet's fonts draws (read once from their cmaps)."""
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]  # fpdf2's own dependency

    sets = []
    for name in SANS_FILES.values():
        font = TTFont(FONTS_DIR / name, lazy=True)
        try:
            sets.append(set(font.getBestCmap()))
        finally:
            font.close()
    return frozenset(set.intersection(*sets))


def printable(text: object) -> tuple[str, bool]:
    """``text`` as the fonts can draw it, and whether anything had to be written as a code point.

    Text is composed first (NFC: a letter and its combining accent become the accented letter);
    a character the fonts lack is written as ``[U+5F20]``, so nothing is lost or guessed at.
    """
    value = unicodedata.normalize("NFC", "" if text is None else str(text))
    known = drawable()
    if all(ord(ch) in known or ch in "\n\t" for ch in value):
        return value, False
    out: list[str] = []
    run: list[str] = []
    for ch in value:
        if ord(ch) in known or ch in "\n\t":
            if run:
                out.append("[" + " ".join(run) + "]")
                run = []
            out.append(ch)
        else:
            run.append(f"U+{ord(ch):04X}")
    if run:
        out.append("[" + " ".join(run) + "]")
    return "".join(out), True
