"""Text that can be stored at all: the one check every write path runs on raw input.

PostgreSQL refuses NUL characters in text and JSON, lone surrogates cannot be encoded,
and a value longer than its column fails there while SQLite stores it. A form field
checks most of this already (Django's ``ProhibitNullCharactersValidator``, ``max_length``);
JSON and service callers get no form, so services call ``text_errors`` first and raise its
answer as a ``ValidationError`` keyed by field. Nothing here touches the database.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

# A text column without a max_length still gets a bound: nothing a person types as a
# note or a signature runs past this, and it keeps request bodies from filling rows.
TEXT_LIMIT = 10_000
# Items of a list field (exclusions, residual risks) are single lines.
LIST_ITEM_LIMIT = 1_000
LIST_LENGTH_LIMIT = 100
# JSON bodies nest no deeper than this (the acceptance body nests two levels).
MAX_JSON_DEPTH = 20
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
# Multi-line text may hold line breaks and tabs; no other control character anywhere.
MULTILINE_ALLOWED = frozenset("\n\r\t")


def text_problem(value: str, *, max_length: int | None = None, multiline: bool = False) -> str:
    """Why ``value`` cannot be stored as text, in words, or "" when it can."""
    limit = max_length if max_length is not None else TEXT_LIMIT
    if len(value) > limit:
        return f"Keep this to {limit} characters or fewer (it has {len(value)})."
    for char in value:
        category = unicodedata.category(char)
        if category == "Cs":
            return "Contains an invalid character (an unpaired surrogate)."
        if category == "Cc" and not (multiline and char in MULTILINE_ALLOWED):
            if char == "\x00":
                return "Contains a NUL character, which cannot be stored."
            return f"Contains a control character (U+{ord(char):04X}), which is not allowed here."
    return ""


def single_line(value: str) -> None:
    """A model field validator: a name or other single-line field holds no control character
    (a line break in a tenant's name would reach e-mail subjects and every other one-line place).
    On the field, it runs in ``full_clean`` (every service) and in every ModelForm (the admin)."""
    problem = text_problem(value, max_length=len(value))
    if problem:
        raise ValidationError(problem, code="control_character")


def one_line(value: str) -> str:
    """``value`` with every run of whitespace or control characters made one space: what an
    e-mail subject is built from, so no stored value can put a line break into a header."""
    return " ".join("".join(" " if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") else c for c in value).split())


def slug_problem(value: str, *, max_length: int = 50) -> str:
    """Why ``value`` cannot be a slug at all, or "" when it could be one."""
    if len(value) > max_length:
        return f"A slug has at most {max_length} characters."
    if not SLUG_RE.match(value):
        return "Not a slug: letters, digits, hyphens and underscores only."
    return ""


def field_limit(model: type[models.Model], name: str) -> tuple[int | None, bool]:
    """The ``max_length`` of a model's text field (None for a TextField) and whether it is multi-line."""
    field = model._meta.get_field(name)
    return getattr(field, "max_length", None), isinstance(field, models.TextField)


def text_errors(model: type[models.Model], values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Field errors for raw values bound for ``model``'s fields, limits taken from the model.

    A string goes against its field's ``max_length``; a list (a JSON list field) must hold
    single-line strings. Values of other types are left to the caller's own checks.
    """
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if isinstance(value, str):
            max_length, multiline = field_limit(model, name)
            problem = text_problem(value, max_length=max_length, multiline=multiline)
        elif isinstance(value, list | tuple):
            problem = list_problem(value)
        else:
            continue
        if problem:
            errors.setdefault(name, []).append(problem)
    return errors


def list_problem(values: list[Any] | tuple[Any, ...]) -> str:
    if len(values) > LIST_LENGTH_LIMIT:
        return f"List at most {LIST_LENGTH_LIMIT} entries."
    for index, item in enumerate(values, start=1):
        if isinstance(item, str):
            problem = text_problem(item, max_length=LIST_ITEM_LIMIT)
            if problem:
                return f"Entry {index}: {problem}"
    return ""


def check_text(model: type[models.Model], **values: Any) -> None:
    """Raise a field-keyed ``ValidationError`` when any value cannot be stored in ``model``."""
    errors = text_errors(model, values)
    if errors:
        raise ValidationError(errors)


def json_depth(data: Any) -> int:
    """How deeply ``data`` (parsed JSON) nests lists and objects; a scalar is depth 0."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_json(raw: bytes | str) -> Any:
    """``json.loads`` that refuses, with a ``ValueError`` saying why, what could not be a
    sane body: broken JSON, nesting past ``MAX_JSON_DEPTH`` (which would otherwise hit the
    interpreter's recursion limit), and strings that cannot be text at all."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ValueError(f"The JSON is nested deeper than {MAX_JSON_DEPTH} levels.") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("The body is not valid JSON.") from None
    if json_depth(data) > MAX_JSON_DEPTH:
        raise ValueError(f"The JSON is nested deeper than {MAX_JSON_DEPTH} levels.")
    return data


def has_bad_characters(value: str) -> bool:
    """Whether a query parameter holds something no column could match (NUL, control
    characters, lone surrogates): such a filter is a bad request, not a database error."""
    return bool(text_problem(value, max_length=len(value), multiline=False))
