"""The conversation in the admin: each tenant's thread on its page, and every comment in a list.

Comments are kept: they are added (through ``comment_add``, which tells the buyers), never
changed or deleted.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from core.admin import HistoryAdmin, ReadOnlyInline
from core.types import signed_in_user
from launchroom import catalog
from launchroom.conversation.services import comment_add
from launchroom.models import Comment


class CommentInline(ReadOnlyInline):
    model = Comment
    fields = readonly_fields = ("created_at", "author", "subject", "body")
    ordering = ["-created_at", "-id"]
    verbose_name_plural = "conversation (newest first)"

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("author", "order_form")


class CommentAdminForm(forms.ModelForm):
    gate_key = forms.ChoiceField(
        label="Gate",
        required=False,
        choices=[("", "(an order-form version instead)")] + [(g.key, f"{g.number}. {g.title}") for g in catalog.GATES],
    )

    class Meta:
        model = Comment
        fields = ["tenant", "gate_key", "order_form", "body"]


@admin.register(Comment)
class CommentAdmin(HistoryAdmin):
    form = CommentAdminForm
    list_display = ["created_at", "tenant", "subject", "author", "short_body"]
    list_filter = ["gate_key"]
    list_select_related = ["tenant", "author", "order_form"]
    search_fields = ["tenant__name", "tenant__slug", "body"]
    autocomplete_fields = ["tenant", "order_form"]
    readonly_fields = ["author", "created_at"]

    @admin.display(description="comment")
    def short_body(self, obj: Comment) -> str:
        return obj.body if len(obj.body) <= 80 else obj.body[:79] + "…"

    def has_change_permission(self, request: HttpRequest, obj: Comment | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Comment | None = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request: HttpRequest, obj: Comment, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        saved = comment_add(
            tenant=data["tenant"],
            author=signed_in_user(request),
            body=data["body"],
            gate_key=data.get("gate_key") or "",
            order_form=data.get("order_form"),
        )
        for name in ("tenant", "author", "gate_key", "order_form", "body", "created_at"):
            setattr(obj, name, getattr(saved, name))
        obj.pk, obj._state.adding = saved.pk, False

    def get_form(self, request: HttpRequest, obj: Comment | None = None, change: bool = False, **kwargs: Any) -> Any:
        form_class = super().get_form(request, obj, change, **kwargs)

        class CheckedForm(form_class):  # type: ignore[valid-type, misc]  # a class built at run time
            def clean(self) -> dict[str, Any]:
                data = super().clean()
                if bool(data.get("gate_key")) == bool(data.get("order_form")):
                    raise ValidationError("Choose one gate or one order-form version to comment on.")
                return data

            def _post_clean(self) -> None:
                # comment_add validates the whole comment (the author is the request's user).
                pass

        return CheckedForm
