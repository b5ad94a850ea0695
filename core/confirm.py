"""Impact before saving, in the admin: one helper and one template for every staff path that
could change a tenant's decision or a gate's status (docs/RULES.md section 11).

A path builds, for each tenant, a ``run`` that calls its real service. On a POST that is not
a bound confirmation, ``confirm_impact`` previews each run (``core.hooks.preview_impact``: run
and rolled back) and, when any would change readiness, answers the confirmation page: the
consequence in words and each gate that changes, and one POST form that replays what was
posted, a signed token and a submit button named ``confirm``. Otherwise it returns None and
the path saves as usual.

The token binds the confirmation to what was shown, and to whom: the page, the user, the
object (the path and each previewed tenant), the posted values the change saves and the
readiness the preview started from. A ``confirm`` without it, with a token of another page,
user or object, or after the values or the readiness changed, is not a confirmation: the
preview is shown again and nothing is saved. A confirmation is good for ``MAX_AGE`` seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin
from django.core import signing
from django.http import HttpRequest
from django.template.response import TemplateResponse

from core import hooks
from core.hashing import sha256_of

CONFIRM = "confirm"
TOKEN = "confirm_token"
MAX_AGE = 60 * 60
TEMPLATE = "admin/impact_confirm.html"
NOTICE = "The change or the readiness changed since the preview; review it again."
# Never part of what a confirmation binds: Django's CSRF token and the confirmation itself.
UNBOUND = ("csrfmiddlewaretoken", CONFIRM, TOKEN)


class NeedsConfirmation(Exception):
    """Raised from inside an admin save (``save_model``/``save_form``) to answer the
    confirmation page instead; ``ImpactConfirmAdmin.changeform_view`` returns it."""

    def __init__(self, response: TemplateResponse) -> None:
        super().__init__("confirmation needed")
        self.response = response


def _page(request: HttpRequest) -> str:
    match = request.resolver_match
    return match.view_name if match is not None else request.path


def _salt(request: HttpRequest) -> str:
    return f"core.confirm:{_page(request)}"


def posted_values(request: HttpRequest, *, chosen_here: Iterable[str] = ()) -> list[tuple[str, str]]:
    """What the POST carries that a confirmation binds (``chosen_here``: fields the
    confirmation page itself asks for, which the preview cannot have seen)."""
    skip = {*UNBOUND, *chosen_here}
    return [(name, value) for name, values in request.POST.lists() if name not in skip for value in values]


def _binding(request: HttpRequest, tenants: list[Any], values: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Everything but the readiness: cheap to compare first."""
    return {
        "page": _page(request),
        "user": request.user.pk,
        "path": request.path,
        "objects": [f"{tenant._meta.label_lower}:{tenant.pk}" for tenant in tenants],
        "values": sha256_of(sorted([name, _lines(value)] for name, value in values)),
    }


def _lines(value: str) -> str:
    # A browser's HTML parser turns CRLF in the replayed hidden fields into LF, and its form
    # encoding may turn them back: line ends are not part of what was confirmed.
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _readiness(tenants: list[Any]) -> list[str]:
    return [hooks.readiness_seen(tenant=tenant) for tenant in tenants]


def confirmation_token(
    request: HttpRequest, tenants: Iterable[Any], values: Iterable[tuple[str, str]], readiness: list[str]
) -> str:
    """The signed token a confirmation page carries: this page and object, ``values`` (what the
    page posts back) and the readiness (``hooks.readiness_seen``) the preview started from."""
    payload = {**_binding(request, list(tenants), values), "readiness": readiness}
    return signing.dumps(payload, salt=_salt(request))


def confirmed(request: HttpRequest, tenants: Iterable[Any], *, chosen_here: Iterable[str] = ()) -> bool:
    """Whether this POST confirms the very change a preview showed, for ``tenants`` as they
    stand now: a valid, unexpired token over this page, object, values and readiness."""
    if request.method != "POST" or CONFIRM not in request.POST or request.FILES:
        return False  # a file cannot be replayed: a confirmed upload comes from its stash
    try:
        payload = signing.loads(request.POST.get(TOKEN, ""), salt=_salt(request), max_age=MAX_AGE)
    except signing.BadSignature:  # expired included
        return False
    tenants = list(tenants)
    if not isinstance(payload, dict) or payload.get("readiness") is None:
        return False
    expected = _binding(request, tenants, posted_values(request, chosen_here=chosen_here))
    if {key: payload.get(key) for key in expected} != expected:
        return False
    return bool(payload["readiness"] == _readiness(tenants))


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
    readiness and this POST does not confirm it (``confirmed``); else None (save now).

    ``hidden`` adds fields to the replayed POST (a stashed upload's token, say), replacing
    any posted field of the same name. ``impacts`` already worked out for ``previews``'
    tenants (``core.hooks.keep_unless_changed``) are shown without running the previews.
    """
    previews = list(previews)
    if request.method != "POST" or not previews:
        return None
    tenants = [tenant for tenant, _ in previews]
    if confirmed(request, tenants):
        return None
    readiness = _readiness(tenants)  # what the preview starts from, read before it runs
    if impacts is None:
        changed = impact_items(previews, verb=verb)
    else:
        changed = [{"impact": i, "sentence": i.sentence(verb)} for i in impacts if i.changed]
    if not changed:
        return None
    hidden = list(hidden)
    replaced = {name for name, _ in hidden}
    replay = [(name, value) for name, value in posted_values(request) if name not in replaced] + hidden
    context = {
        **admin_site.each_context(request),
        "opts": opts,
        "title": title,
        "impacts": changed,
        "replay": replay,
        "token": confirmation_token(request, tenants, replay, readiness),
        "token_name": TOKEN,
        "notice": NOTICE if CONFIRM in request.POST else "",
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
        POST does not confirm it (nothing is saved: the admin's transaction rolls back)."""
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
