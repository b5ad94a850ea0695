"""GET /api/platform/tenants/<slug>/readiness?stage=private_beta|paid_beta (SPEC sections 4 and 6).

Staff and members of the tenant read it; any other logged-in user gets 404, as if the
tenant did not exist; an anonymous caller gets 401. The whole request stays within 12
queries: session, user, membership, and the five of ``readiness.load_tenants``.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from launchroom.gates.readiness import evaluate
from launchroom.gates.selectors import load
from launchroom.models import LaunchStage
from launchroom.tenants.access import tenant_for_user


def _error(status: int, message: str, **extra: object) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _not_found() -> JsonResponse:
    return _error(404, "no such tenant")


@never_cache
@require_safe
def readiness(request: HttpRequest, slug: str) -> JsonResponse:
    user = request.user
    if not user.is_authenticated:
        response = _error(401, "authentication required: log in or send Authorization: Bearer <token>")
        response["WWW-Authenticate"] = 'Bearer realm="thesmios"'
        return response
    # The one isolation check: a non-member learns nothing, not even whether the tenant exists.
    try:
        tenant, _role = tenant_for_user(user, slug)
    except Http404:
        return _not_found()
    # With no stage, evaluate() takes the latest order form's requested stage (SPEC section 4).
    stage = request.GET.get("stage", "").strip() or None
    if stage is not None and stage not in LaunchStage.values:
        return _error(400, "bad request", errors={"stage": [f"Choose one of {', '.join(LaunchStage.values)}."]})
    return JsonResponse(
        evaluate(load(tenant, with_output=False), stage).as_json(), json_dumps_params={"ensure_ascii": False}
    )
