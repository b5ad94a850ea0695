"""Impact before saving, in the admin: one helper and one template for every staff path that
could change a tenant's decision or a gate's status (docs/RULES.md section 11).

A path builds, for each tenant, a ``run`` that calls its real service. On a POST without
``confirm``, ``confirm_impact`` previews each run (``core.hooks.preview_impact``: run and rolled
back) and, when any would change readiness, answers the confirmation page: the consequence in
words and each gate that changes, and one POST form that replays what was posted with a
submit button named ``confirm``. Otherwise it returns None and the path saves as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse

from core import hooks

CONFIRM = "confirm"
TEMPLATE = "admin/impact_confirm.html"


class NeedsConfirmation(Exception):
    """Raised from inside an admin save (``save_model``/``save_form``) to answer the
    confirmation page instead; ``ImpactConfirmAdmin.changeform_view`` returns it."""

    def __init__(self, response: TemplateResponse) -> None:
        super().__init__("confirmation needed")
        self.response = response


def confirmed(request: HttpRequest) -> bool:
    return CONFIRM in request.POST


def confirm_impact(
    request: HttpRequest,
    *,
    admin_site: admin.AdminSite,
    opts: Any,
    previews: Iterable[tuple[Any, Callable[[], Any]]],
    title: str,
    cancel_url: str,
    verb: str = "Saving",
    submit_label: str = "Save anyway",
    hidden: Iterable[tuple[str, str]] = (),
    impacts: Iterable[Any] | None = None,
) -> TemplateResponse | None:
    """The confirmation page when a change to any of ``previews``' tenants would change its
    readiness and the user has not confirmed yet; else None (save now).

    ``hidden`` adds fields to the replayed POST (a stashed upload's token, say). ``impacts``
    already known (``core.hooks.keep_unless_changed``) are shown without a preview.
    """
    if request.method != "POST" or confirmed(request):
        return None
    if impacts is None:
        changed = impact_items(previews, verb=verb)
    else:
        changed = [{"impact": i, "sentence": i.sentence(verb)} for i in impacts if i.changed]
    if not changed:
        return None
    replay = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in ("csrfmiddlewaretoken", CONFIRM)
        for value in values
    ]
    context = {
        **admin_site.each_context(request),
        "opts": opts,
        "title": title,
        "impacts": changed,
        "replay": [*replay, *hidden],
        "cancel_url": cancel_url,
        "submit_label": submit_label,
    }
    return TemplateResponse(request, TEMPLATE, context)


def impact_items(previews: Iterable[tuple[Any, Callable[[], Any]]], *, verb: str = "Saving") -> list[dict[str, Any]]:
    """The impacts that change readiness, each with its sentence, for ``admin/impact_summary.html``.

    A run the service refuses raises here, as it would on a real save, with nothing saved."""
    impacts = [hooks.preview_impact(tenant=tenant, run=run) for tenant, run in previews]
    return [{"impact": i, "sentence": i.sentence(verb)} for i in impacts if i is not None and i.changed]


class ImpactConfirmAdmin(admin.ModelAdmin):
    """A ModelAdmin whose save may first answer the confirmation page (``confirm_or_raise``)."""

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> Any:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except NeedsConfirmation as exc:
            return exc.response

    def confirm_or_raise(
        self,
        request: HttpRequest,
        *,
        tenant: Any,
        run: Callable[[], Any],
        cancel_url: str,
        hidden: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Raise ``NeedsConfirmation`` when saving would change ``tenant``'s readiness and the
        user has not confirmed yet (nothing is saved: the admin's transaction rolls back)."""
        response = confirm_impact(
            request,
            admin_site=self.admin_site,
            opts=self.model._meta,
            previews=[(tenant, run)],
            title=f"Confirm the change to {tenant}",
            cancel_url=cancel_url,
            hidden=hidden,
        )
        if response is not None:
            raise NeedsConfirmation(response)
