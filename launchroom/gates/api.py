"""GET /api/platform/tenants/<slug>/readiness?stage=private_beta|paid_beta (SPEC sections 4 and 6).

Staff and members of the tenant read it; any other logged-in user gets 404, as if the
tenant did not exist; an anonymous caller gets 401. The whole request stays within 12
queries: session, user, membership, and the five of ``readiness.load_tenants``.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from core.errorpages import json_methods
from launchroom.gates.readiness import evaluate
from launchroom.gates.selectors import load_tenants
from launchroom.models import LaunchStage, Tenant, TenantMembership


def _error(status: int, message: str, **extra: object) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _not_found() -> JsonResponse:
    return _error(404, "no such tenant")


@never_cache
@json_methods("GET", "HEAD")
def readiness(request: HttpRequest, slug: str) -> JsonResponse:
    user = request.user
    if not user.is_authenticated:
        response = _error(401, "authentication required: log in or send Authorization: Bearer <token>")
        response["WWW-Authenticate"] = 'Bearer realm="thesmios"'
        return response
    # Membership is checked by slug before anything is loaded, so a non-member learns
    # nothing, not even whether the tenant exists.
    if not user.is_staff and not TenantMembership.objects.filter(user=user, tenant__slug=slug).exists():
        return _not_found()
    loaded = load_tenants(Tenant.objects.filter(slug=slug), with_output=False)
    if not loaded:
        return _not_found()
    # With no stage, evaluate() takes the latest order form's requested stage (SPEC section 4).
    stage = request.GET.get("stage", "").strip() or None
    if stage is not None and stage not in LaunchStage.values:
        return _error(400, "bad request", errors={"stage": [f"Choose one of {', '.join(LaunchStage.values)}."]})
    return JsonResponse(evaluate(loaded[0], stage).as_json(), json_dumps_params={"ensure_ascii": False})
