"""``/api/platform/launch-acceptance``: record and list customer acceptance (docs/RULES.md section 5).

``PATCH`` records a decision through ``services.acceptance_sign``; ``GET ?tenant=<slug>``
lists a tenant's records, newest first. Authentication is the session (with CSRF) or an
``Authorization: Bearer`` token (``launchroom.middleware.ApiTokenMiddleware``).

Errors come in docs/RULES.md section 5's order: 404 (no such tenant, or not a member), 403 (not the
buyer sponsor, nor staff with the permission recording written approval), 400 (broken
JSON, wrong content type, bad fields) and 409 (refused by the rules). Nothing is saved on
any error: the service writes in one transaction, after every check.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from core.errors import NotPermitted, Refused
from core.events import refusals_logged
from core.types import signed_in_user
from core.validation import field_limit, parse_json, slug_problem
from launchroom.acceptance.serializers import acceptance_json, validation_errors
from launchroom.acceptance.services import acceptance_field_errors, acceptance_sign, check_signer
from launchroom.models import AcceptanceRecord, LaunchStage, Tenant
from launchroom.tenants.access import client_address, tenant_for_user, user_agent

REQUIRED_FIELDS = ("tenant", "stage", "decision", "signer_name", "signer_role", "exclusions", "residual_risks")
OPTIONAL_FIELDS = (
    "approval_reference",
    "evidence_references",
    "note",
    "affirmation",
    "on_written_approval",
    "signer_email",
)
STRING_FIELDS = ("signer_name", "signer_role", "approval_reference", "note", "affirmation", "signer_email")
LIST_FIELDS = ("exclusions", "residual_risks")
MAX_EVIDENCE_REFERENCES = 1000


def error_response(status: int, code: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": code, **extra}, status=status)


def invalid_response(errors: dict[str, list[str]]) -> JsonResponse:
    return error_response(400, "invalid", errors=errors)


def _not_found() -> JsonResponse:
    return error_response(404, "not_found", detail="No such tenant.")


def csrf_refusal(request: HttpRequest) -> HttpResponse | None:
    """Django's CSRF check for a session request, or None when it passes.

    The view is ``csrf_exempt`` so that an anonymous caller gets its 401 first; this runs the
    same check as ``CsrfViewMiddleware`` afterwards, as Django REST framework does for its
    session authentication. A refusal is ``CSRF_FAILURE_VIEW``'s JSON 403 (``core.errorpages``).
    A request authenticated by ``Authorization: Bearer`` is no browser session and needs none.
    """
    if getattr(request, "api_token", False):
        return None
    check = CsrfViewMiddleware(lambda _request: HttpResponse())
    check.process_request(request)
    return check.process_view(request, lambda _request: HttpResponse(), (), {})


def _body_tenant(request: HttpRequest) -> str | None:
    """The tenant a refused PATCH named, for its event (the body may be anything)."""
    try:
        body = parse_json(request.body or b"") if request.content_type == "application/json" else None
    except ValueError:
        return None
    tenant = body.get("tenant") if isinstance(body, dict) else None
    return tenant if isinstance(tenant, str) else None


def authentication_required() -> HttpResponse:
    """The 401 of every acceptance endpoint, naming both ways to authenticate."""
    response = error_response(401, "authentication_required", detail="Log in, or send Authorization: Bearer <token>.")
    response["WWW-Authenticate"] = 'Bearer realm="thesmios"'
    return response


# Every refusal of a PATCH is an event: the service's own refusals through ``audited``, and
# those decided here first (401, CSRF, the body, the signer's role, field errors) by this.
@refusals_logged("acceptance_decision", tenant_of=_body_tenant)
@csrf_exempt  # checked below, after authentication, so that an anonymous caller gets a JSON 401
@never_cache
def launch_acceptance(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return authentication_required()
    if (refusal := csrf_refusal(request)) is not None:
        return refusal
    if request.method == "GET":
        return _list(request)
    if request.method == "PATCH":
        return _record(request)
    response = error_response(405, "method_not_allowed", detail="Use GET or PATCH.")
    response["Allow"] = "GET, PATCH"
    return response


def _list(request: HttpRequest) -> JsonResponse:
    slug = request.GET.get("tenant", "").strip()
    if not slug:
        return invalid_response({"tenant": ["Give the tenant: ?tenant=<slug>."]})
    if problem := _slug_problem(slug):
        return invalid_response({"tenant": [problem]})
    try:
        tenant, _role = tenant_for_user(request.user, slug)
    except Http404:
        return _not_found()
    stage = request.GET.get("stage", "").strip()
    if stage and stage not in LaunchStage.values:
        return invalid_response({"stage": [f"Choose one of {', '.join(LaunchStage.values)}."]})
    records = list(
        AcceptanceRecord.objects.filter(tenant=tenant)
        .select_related("recorded_by", "order_form")
        .defer("snapshot")
        .order_by("-signed_at", "-id")
    )
    # "Superseded by" is derived over every record of the tenant, before any stage filter.
    superseded_by = {r.supersedes_id: r.pk for r in records if r.supersedes_id}
    if stage:
        records = [r for r in records if r.stage == stage]
    return JsonResponse(
        {
            "tenant": tenant.slug,
            "count": len(records),
            "records": [
                acceptance_json(r, tenant_slug=tenant.slug, superseded_by=superseded_by.get(r.pk)) for r in records
            ],
        }
    )


def json_object_body(request: HttpRequest, *, if_empty: bytes = b"") -> dict[str, Any] | JsonResponse:
    """The request's JSON object, or the 400 that says why there is none (``if_empty`` stands
    for an empty body: ``b"{}"`` where every field is optional)."""
    if request.content_type != "application/json":
        return invalid_response({"__all__": ["Send a JSON object with Content-Type: application/json."]})
    try:
        body = parse_json(request.body or if_empty)
    except ValueError as exc:
        return invalid_response({"__all__": [str(exc)]})
    if not isinstance(body, dict):
        return invalid_response({"__all__": ["The body must be a JSON object."]})
    return body


def _slug_problem(slug: str) -> str:
    """Why ``slug`` cannot name any tenant (docs/RULES.md section 5: a 400, before the tenant lookup)."""
    return slug_problem(slug, max_length=field_limit(Tenant, "slug")[0] or 50)


def _string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _shape_errors(body: dict[str, Any]) -> dict[str, list[str]]:
    """The body's JSON shape, the API's own wire format: unknown and missing fields, and
    values of the wrong type. What a well-shaped value must say is the service's rule."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    for name in sorted(set(body) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS)):
        add(name, "Unknown field. Acceptance records are never edited: send a new decision instead.")
    for name in REQUIRED_FIELDS:
        if name not in body:
            add(name, "This field is required.")
    for name in STRING_FIELDS:
        if name in body and not isinstance(body[name], str):
            add(name, "Must be a string.")
    for name in LIST_FIELDS:
        if name in body and not _string_list(body[name]):
            add(name, "Must be a list of strings.")
    if "on_written_approval" in body and not isinstance(body["on_written_approval"], bool):
        add("on_written_approval", "Must be true or false.")
    if "evidence_references" in body and _evidence_ids(body["evidence_references"]) is None:
        add("evidence_references", 'Must be a list of attachment ids or of {"id": ..., "sha256": ...} objects.')
    return errors


def _service_fields(body: dict[str, Any], shape: dict[str, list[str]]) -> dict[str, Any]:
    """The service's keyword arguments from the body; a field missing or of the wrong shape
    is passed empty, its shape error standing for it."""

    def given(name: str, empty: Any) -> Any:
        return empty if name in shape or name not in body else body[name]

    return {
        "stage": given("stage", ""),
        "decision": given("decision", ""),
        "signer_name": given("signer_name", ""),
        "signer_role": given("signer_role", ""),
        "exclusions": given("exclusions", []),
        "residual_risks": given("residual_risks", []),
        "approval_reference": given("approval_reference", ""),
        "note": given("note", ""),
        "affirmation": given("affirmation", ""),
        "on_written_approval": given("on_written_approval", False),
        "signer_email": given("signer_email", ""),
        "seen_evidence": _evidence_ids(given("evidence_references", [])) or [],
    }


def _evidence_ids(value: Any) -> list[tuple[int, str | None]] | None:
    """The (id, sha256 or None) pairs of an ``evidence_references`` value, or None when malformed."""
    if not isinstance(value, list) or len(value) > MAX_EVIDENCE_REFERENCES:
        return None
    refs: list[tuple[int, str | None]] = []
    for item in value:
        if _is_id(item):
            refs.append((item, None))
        elif (
            isinstance(item, dict)
            and _is_id(item.get("id"))
            and isinstance(item.get("sha256", ""), str)
            and len(item.get("sha256", "")) <= 64
            and set(item) <= {"id", "sha256"}
        ):
            refs.append((item["id"], item.get("sha256")))
        else:
            return None
    return refs


def _is_id(value: Any) -> bool:
    """A row id: an integer a bigint column can hold (not a bool, which is an int in Python)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _record(request: HttpRequest) -> JsonResponse:
    body = json_object_body(request)
    if isinstance(body, JsonResponse):
        return body
    slug = body.get("tenant")
    if not isinstance(slug, str) or not slug.strip():
        return invalid_response({"tenant": ["Give the tenant's slug."]})
    if problem := _slug_problem(slug.strip()):
        return invalid_response({"tenant": [problem]})
    try:
        tenant, role = tenant_for_user(request.user, slug.strip())
    except Http404:
        return _not_found()
    user = signed_in_user(request)  # launch_acceptance answered 401 to anyone else
    on_written_approval = body.get("on_written_approval") is True
    try:
        check_signer(user=user, role=role, on_written_approval=on_written_approval)
    except NotPermitted as exc:
        return error_response(403, "forbidden", reasons=exc.reasons)
    shape = _shape_errors(body)
    fields = _service_fields(body, shape)
    if shape:
        # Nothing is recorded: the service's field errors join the shape errors, so that
        # the client fixes every field at once.
        for name, messages in acceptance_field_errors(tenant=tenant, **fields).items():
            shape.setdefault(name, messages)
        return invalid_response(shape)
    try:
        record = acceptance_sign(
            tenant=tenant,
            recorded_by=user,
            client_address=client_address(request),
            user_agent=user_agent(request),
            **fields,
        )
    except NotPermitted as exc:
        return error_response(403, "forbidden", reasons=exc.reasons)
    except Refused as exc:
        return error_response(409, "refused", reasons=exc.reasons)
    except ValidationError as exc:
        return invalid_response(validation_errors(exc))
    if getattr(record, "repeated", False):
        # An identical repeat (an automation retry): nothing was saved.
        return JsonResponse(acceptance_json(record, tenant_slug=tenant.slug, superseded_by=None), status=200)
    response = JsonResponse(acceptance_json(record, tenant_slug=tenant.slug, superseded_by=None), status=201)
    response["Location"] = reverse("launchroom:certificate_json", args=[tenant.slug, record.pk])
    return response
