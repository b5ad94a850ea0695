"""Shared admin pieces: history with revert disabled, read-only decision records, and
changelist counts that stay cheap on big tables."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from simple_history.admin import SimpleHistoryAdmin

from core.paginator import EstimatedCountPaginator

STATUS_CLASSES = {
    "go": "go",
    "hold": "hold",
    "accepted": "accepted",
    "rejected": "rejected",
    "reopened": "ready_for_review",
    "missing": "missing",
    "stale": "stale",
    "ready_for_review": "ready_for_review",
}


def status_badge(value: str, label: str | None = None) -> str:
    """A status shown as words as well as colour."""
    return format_html(
        '<span class="status status--{}">{}</span>', STATUS_CLASSES.get(value, "neutral"), label or value
    )


class HistoryAdmin(SimpleHistoryAdmin):
    """SimpleHistoryAdmin with revert disabled for real: the history form only shows.

    (simple_history hides the revert button when SIMPLE_HISTORY_REVERT_DISABLED is set,
    but its view would still save a POST.)"""

    # Big tables: no second COUNT(*) for "N total", and an estimated count on PostgreSQL.
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        if request.method == "POST":
            raise PermissionDenied("History is read-only: reverting is disabled.")
        return super().history_form_view(request, object_id, version_id, extra_context)


class DecisionRecordAdmin(HistoryAdmin):
    """Append-only decision records: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class LabelledTabularInline(admin.TabularInline):
    """A tabular inline whose inputs have accessible names: the table's column headers are not
    labels, so each input gets an ``aria-label`` naming its column and row (the DELETE box too)."""

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)

        class Labelled(formset):  # type: ignore[valid-type, misc]
            def add_fields(self, form: Any, index: int | None) -> None:
                super().add_fields(form, index)
                row = f"row {index + 1}" if index is not None else "new row"
                for name, field in form.fields.items():
                    label = "Delete" if name == "DELETE" else str(field.label or name)
                    field.widget.attrs.setdefault("aria-label", f"{label} ({row})")

        return Labelled


class ReadOnlyInline(admin.TabularInline):
    """An inline that shows child rows at a glance, each linking to its own page."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def refusal_reasons(exc: Exception) -> list[str]:
    """A refusal's reasons, one per entry."""
    if isinstance(exc, ValidationError):
        return list(exc.messages)
    reasons = getattr(exc, "reasons", None)
    return list(reasons) if reasons else [str(exc)]


def refusal_text(exc: Exception) -> str:
    """The reasons as one line of sentences (never joined as ".;")."""
    return " ".join(r if r.endswith((".", "!", "?", ":")) else f"{r}." for r in refusal_reasons(exc))


def refusal_list(lead: str, exc: Exception) -> SafeString:
    """An admin message: what was refused, then its reasons as a list."""
    items = format_html_join("", "<li>{}</li>", ((reason,) for reason in refusal_reasons(exc)))
    return format_html('{}<ul class="refusal-reasons">{}</ul>', lead, items)
