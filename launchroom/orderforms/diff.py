"""What changed between two order-form versions, field by field (pure: no database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The scope fields in the order the order form shows them, with the people's words for them.
DIFF_FIELDS: tuple[tuple[str, str], ...] = (
    ("requested_stage", "Requested stage"),
    ("compliance_modules", "Compliance modules"),
    ("cohort_description", "Worker cohort"),
    ("cohort_size", "Cohort size"),
    ("verifier_audience", "Verifier audience"),
    ("data_boundaries", "Data boundaries"),
    ("excluded_claims", "Excluded claims"),
    ("acceptance_language", "Acceptance language"),
)
# Fields holding one entry per line: their change is shown as lines added and removed.
LIST_FIELDS = frozenset({"compliance_modules", "excluded_claims"})


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str
    is_list: bool
    old: str = ""
    new: str = ""
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrderFormDiff:
    old_version: int | None
    new_version: int
    changes: tuple[FieldChange, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _lines(value: Any) -> list[str]:
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]


def _text(value: Any, display: Any = None) -> str:
    if display is not None:
        return str(display)
    return "" if value is None else str(value).strip()


def _display(order_form: Any, name: str) -> Any:
    getter = getattr(order_form, f"get_{name}_display", None)
    return getter() if getter is not None else None


def diff_order_forms(old: Any | None, new: Any) -> OrderFormDiff:
    """Each scope field that differs between ``old`` (None: nothing before) and ``new``.

    List fields give the lines added and removed (order and blank lines do not count); the
    others give the old and the new value. Works on any objects with the scope fields.
    """
    changes = []
    for name, label in DIFF_FIELDS:
        new_value = getattr(new, name)
        old_value = getattr(old, name) if old is not None else None
        if name in LIST_FIELDS:
            old_lines, new_lines = _lines(old_value), _lines(new_value)
            added = tuple(line for line in new_lines if line not in old_lines)
            removed = tuple(line for line in old_lines if line not in new_lines)
            if added or removed:
                changes.append(FieldChange(name, label, True, added=added, removed=removed))
            continue
        old_text = _text(old_value, _display(old, name) if old is not None else None)
        new_text = _text(new_value, _display(new, name))
        if old is None and not new_text:
            continue
        if old_text != new_text:
            changes.append(FieldChange(name, label, False, old=old_text, new=new_text))
    return OrderFormDiff(getattr(old, "version", None), new.version, tuple(changes))
