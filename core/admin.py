"""Shared admin pieces: history with revert disabled, read-only decision records, and
changelist counts that stay cheap on big tables."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin

from core import status
from core.errors import Refused
from core.paginator import EstimatedCountPaginator


def status_badge(value: str) -> str:
    """A status of the one vocabulary (core/status.py): its label in its colour, as the room shows it."""
    return status.badge(value)


def tone_badge(tone: status.Tone | str, words: str) -> str:
    """A badge that is not a status of its own (a stage, a billing state), coloured by tone."""
    return status.tone_badge(tone, words)


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


def add_service_errors(form: forms.BaseForm, exc: ValidationError | Refused) -> None:
    """Put a service's refusal on ``form``, the one way the admin shows it.

    A field-keyed ``ValidationError`` puts each message on its field when the form has that
    field; everything else (errors of fields the form does not show, plain messages, the
    reasons of a ``Refused``) becomes a non-field error. Call it once the form is validated.
    """
    if isinstance(exc, Refused):
        for reason in exc.reasons:
            form.add_error(None, reason)
        return
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return
    for name, messages in exc.message_dict.items():
        on_field = name in form.fields and name != NON_FIELD_ERRORS
        for message in messages:
            if on_field:
                form.add_error(name, message)
            elif name == NON_FIELD_ERRORS:
                form.add_error(None, message)
            else:
                form.add_error(None, f"{name.replace('_', ' ').capitalize()}: {message}")


def refusal_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc)
