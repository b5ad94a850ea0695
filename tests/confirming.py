"""Confirmation pages in tests: what the page's form posts back, as a browser would."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from core.confirm import TOKEN


class _Hidden(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("type") == "hidden" and found.get("name"):
            self.fields.append((str(found["name"]), found.get("value") or ""))


def hidden_fields(response: Any) -> list[tuple[str, str]]:
    """Every hidden field of a confirmation page, in order (the CSRF token included)."""
    parser = _Hidden()
    parser.feed(response.content.decode())
    return parser.fields


def token_of(response: Any) -> dict[str, str]:
    """The signed confirmation token a confirmation page carries, to post with ``confirm``."""
    tokens = [value for name, value in hidden_fields(response) if name == TOKEN]
    assert len(tokens) == 1, "not a confirmation page"
    return {TOKEN: tokens[0]}


def confirm_post(response: Any, submit: str = "Save anyway") -> dict[str, list[str]]:
    """What the confirmation page's form posts when its confirm button is pressed."""
    data: dict[str, list[str]] = {}
    for name, value in hidden_fields(response):
        if name != "csrfmiddlewaretoken":
            data.setdefault(name, []).append(value)
    data["confirm"] = [submit]
    return data
