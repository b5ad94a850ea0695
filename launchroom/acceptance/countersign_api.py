"""``POST /api/platform/launch-acceptance/<id>/countersign`` and ``.../decline`` (docs/RULES.md 5.9).

The body is ``{"note": "..."}`` (optional for countersign, required for decline). Errors in the
acceptance PATCH's order (docs/RULES.md 5.8): 401; a session without CSRF 403; a body that is
not a JSON object 400, before the record is looked up; no such record or a tenant the caller
may not see 404; not an operator who may countersign it 403; bad fields 400; refused 409
(readiness changed since the buyer signed, superseded, already answered); 201 with the row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from core.errors import NotPermitted, Refused
from core.types import signed_in_user
from launchroom.acceptance.api import (
    authentication_required,
    csrf_refusal,
    error_response,
    invalid_response,
    json_object_body,
)
from launchroom.acceptance.countersign import (
    acceptance_countersign,
    acceptance_countersign_decline,
    check_countersigner,
    countersignature_json,
)
from launchroom.acceptance.serializers import validation_errors
from launchroom.models import AcceptanceRecord, Tenant


def _field_errors(body: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in sorted(set(body) - {"note"}):
        errors[name] = ["Unknown field: send only a note."]
    if "note" in body and not isinstance(body["note"], str):
        errors["note"] = ["Must be a string."]
    return errors


def _answer(request: HttpRequest, pk: int, service: Callable[..., Any]) -> HttpResponse:
    if not request.user.is_authenticated:
        return authentication_required()
    if (refusal := csrf_refusal(request)) is not None:
        return refusal
    if request.method != "POST":
        response = error_response(405, "method_not_allowed", detail="Use POST.")
        response["Allow"] = "POST"
        return response
    body = json_object_body(request, if_empty=b"{}")
    if isinstance(body, JsonResponse):
        return body
    user = signed_in_user(request)
    record = None
    if 0 < pk < 2**63:  # a bigint id at all; anything else is no record
        record = (
            AcceptanceRecord.objects.filter(pk=pk, tenant__in=Tenant.objects.restrict(user))
            .select_related("tenant", "order_form")
            .first()
        )
    if record is None:
        return error_response(404, "not_found", detail="No such acceptance record.")
    try:
        check_countersigner(user=user, record=record)
    except NotPermitted as exc:
        return error_response(403, "forbidden", reasons=exc.reasons)
    if errors := _field_errors(body):
        return invalid_response(errors)
    try:
        row = service(record=record, by=user, note=body.get("note", ""))
    except NotPermitted as exc:
        return error_response(403, "forbidden", reasons=exc.reasons)
    except Refused as exc:
        return error_response(409, "refused", reasons=exc.reasons)
    except ValidationError as exc:
        return invalid_response(validation_errors(exc))
    return JsonResponse(countersignature_json(row), status=201)


@csrf_exempt  # checked in _answer, after authentication, so that an anonymous caller gets a JSON 401
@never_cache
def countersign(request: HttpRequest, pk: int) -> HttpResponse:
    return _answer(request, pk, acceptance_countersign)


@csrf_exempt  # checked in _answer, after authentication
@never_cache
def decline(request: HttpRequest, pk: int) -> HttpResponse:
    return _answer(request, pk, acceptance_countersign_decline)
