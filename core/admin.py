"""Shared admin pieces: history with revert disabled, read-only decision records, and
changelist counts that stay cheap on big tables."""

from __future__ import annotations

from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import NON_FIELD_ERRORS, BadRequest, PermissionDenied, ValidationError
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from simple_history.admin import SimpleHistoryAdmin

from core import status
from core.errors import Refused
from core.fixed import owner_fields
from core.paginator import EstimatedCountPaginator
from core.validation import has_bad_characters


def status_badge(value: str) -> str:
    """A status of the one vocabulary (core/status.py): its label in its colour, as the room shows it."""
    return status.badge(value)


def tone_badge(tone: status.Tone | str, words: str) -> str:
    """A badge that is not a status of its own (a stage, a billing state), coloured by tone."""
    return status.tone_badge(tone, words)


class CheckedAutocompleteSelect(AutocompleteSelect):
    """An autocomplete that redraws only values its target field can hold.

    Django's widget looks the submitted value up in the database to redraw it next to the
    form's error; a value no key can be ("NaN", "1e309", "0x10", a NUL) failed in that query
    with a 500. The form field refuses such a value already ("Select a valid choice"): the
    widget then shows an empty choice beside that error."""

    def format_value(self, value: Any) -> list[str]:  # type: ignore[override]  # as Select does (django-stubs)
        target = self.field.target_field
        kept = []
        for item in super().format_value(value):
            try:
                target.clean(item, None)
            except (ValidationError, TypeError, ValueError, OverflowError):
                continue
            kept.append(item)
        return kept


class CheckedAutocompleteAdmin(admin.ModelAdmin):
    """Every autocomplete foreign key of our admins uses ``CheckedAutocompleteSelect``."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = CheckedAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class FixedOwnerAdmin(CheckedAutocompleteAdmin):
    """A record's tenant (its owner) is shown, never edited, once the record exists (``core.fixed``)."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += [name for name in owner_fields(self.model) if name not in fields]
        return fields


class HistoryAdmin(FixedOwnerAdmin, SimpleHistoryAdmin):
    """SimpleHistoryAdmin with revert disabled for real: the history form only shows.

    (simple_history hides the revert button when SIMPLE_HISTORY_REVERT_DISABLED is set,
    but its view would still save a POST.)"""

    # Big tables: no second COUNT(*) for "N total", and an estimated count on PostgreSQL.
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        if not self._is_pk(object_id):
            raise Http404("No such record.")
        return super().history_view(request, object_id, extra_context)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        if request.method == "POST":
            raise PermissionDenied("History is read-only: reverting is disabled.")
        if not (self._is_pk(object_id) and version_id.isascii() and version_id.isdigit() and len(version_id) < 19):
            raise Http404("No such version.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _is_pk(self, object_id: str) -> bool:
        """Whether ``object_id`` (from the URL) could be a primary key of this model at all;
        anything else is a 404, not a database error."""
        return could_be_pk(self.model, unquote(object_id))

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        refuse_bad_query(request)
        refuse_bad_selection(request, self.model)
        return super().changelist_view(request, extra_context)


def model_admins(site: admin.AdminSite) -> list[tuple[type[Model], admin.ModelAdmin[Any]]]:
    """Every model registered with ``site``, with its admin (the site's public registry API)."""
    return [(model, site.get_model_admin(model)) for model in apps.get_models() if site.is_registered(model)]


def guard_changelists(site: admin.AdminSite) -> None:
    """Give the changelists of the packages' admins (users, groups, login attempts) the same
    refusal of impossible filter values as ``HistoryAdmin``'s. Called once the admin
    modules are loaded (``thesmios/urls.py``)."""
    for model, model_admin in model_admins(site):
        if isinstance(model_admin, HistoryAdmin) or getattr(model_admin.changelist_view, "guarded", False):
            continue
        view = model_admin.changelist_view

        def guarded(
            request: HttpRequest, extra_context: Any = None, _view: Any = view, _model: Any = model
        ) -> HttpResponse:
            refuse_bad_query(request)
            refuse_bad_selection(request, _model)
            return _view(request, extra_context)

        guarded.guarded = True  # type: ignore[attr-defined]  # a marker on the function
        model_admin.changelist_view = guarded  # type: ignore[method-assign]  # wrapped on purpose


def refuse_bad_query(request: HttpRequest) -> None:
    """A filter or search holding a NUL, a control character or a lone surrogate matches no
    row; PostgreSQL would raise on it. Answer 400 before any query runs."""
    for name, values in request.GET.lists():
        if has_bad_characters(name) or any(has_bad_characters(value) for value in values):
            raise BadRequest(f"The parameter {name!r} holds a character no record contains.")


def could_be_pk(model: type[Model], value: Any) -> bool:
    """Whether ``value`` could be a primary key of ``model`` at all (a number a column holds)."""
    try:
        pk = model._meta.pk.to_python(value)
    except (ValidationError, ValueError, TypeError):
        return False
    return not isinstance(pk, int) or 0 < pk < 2**63


def refuse_bad_selection(request: HttpRequest, model: type[Model]) -> None:
    """The rows an admin action is posted for must be primary keys: Django filters on them as
    they come, and anything else is a database error (a 500). Answer 400 instead."""
    if request.method == "POST":
        for value in request.POST.getlist(ACTION_CHECKBOX_NAME):
            if not could_be_pk(model, value):
                raise BadRequest("An action was posted for rows that do not exist.")


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

        class Labelled(formset):  # type: ignore[valid-type, misc]  # a class built at run time
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
