"""GET /api/platform/tenants/<slug>/readiness?stage=private_beta|paid_beta (docs/RULES.md sections 4 and 6).

Staff and members of the tenant read it; any other logged-in user gets 404, as if the
tenant did not exist; an anonymous caller gets 401. The whole request stays within 12
queries: session, user, membership, and the five of ``readiness.load_tenants``.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.db.models import Prefetch
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.cache import never_cache

from core.errorpages import json_methods
from launchroom.models import LaunchStage, ReadinessTransition, TenantMembership
from launchroom.readiness import words
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.selectors import load
from launchroom.tenants.access import tenant_for_user


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
    # The one isolation check: a non-member learns nothing, not even whether the tenant exists.
    try:
        tenant, _role = tenant_for_user(user, slug)
    except Http404:
        return _not_found()
    # With no stage, evaluate() takes the latest order form's requested stage (docs/RULES.md section 4).
    stage = request.GET.get("stage", "").strip() or None
    if stage is not None and stage not in LaunchStage.values:
        return _error(400, "bad request", errors={"stage": [f"Choose one of {', '.join(LaunchStage.values)}."]})
    return JsonResponse(
        evaluate(load(tenant, with_output=False), stage).as_json(), json_dumps_params={"ensure_ascii": False}
    )


TRANSITIONS_LIMIT = 500


def _transition_json(row: ReadinessTransition) -> dict[str, object]:
    """A transition as staff read it: the cause and the actor's username."""
    return {
        **_transition_facts(row),
        "cause": row.cause,
        "cause_kind": row.cause_kind,
        "actor": row.actor.get_username() if row.actor else None,
    }


def _buyer_transition_json(row: ReadinessTransition) -> dict[str, object]:
    """A transition as a buyer reads it, in the launch room's words (``readiness/words.py``):
    what happened, why, and who acted as a role title, never a username or a service name."""
    actor = row.actor
    memberships = list(actor.memberships.all()) if actor is not None and not actor.is_staff else []
    return {
        **_transition_facts(row),
        "headline": words.headline(row),
        "cause": words.why(row),
        "gates": words.gate_lines(row),
        "actor": words.actor_title(actor, memberships[0].role if memberships else None),
    }


def _transition_facts(row: ReadinessTransition) -> dict[str, object]:
    return {
        "id": row.pk,
        "at": row.at.isoformat(),
        "stage": row.stage,
        "decision_before": row.decision_before or None,
        "decision_after": row.decision_after,
        "running_stage": row.running_stage or None,
        "running_before": row.running_before or None,
        "running_after": row.running_after or None,
        "gates_changed": row.gates_changed,
    }


@never_cache
@json_methods("GET", "HEAD")
def transitions(request: HttpRequest, slug: str) -> JsonResponse:
    """GET /api/platform/tenants/<slug>/transitions?since=<ISO time>: newest first (docs/RULES.md section 11).

    Staff read each transition's cause and actor as stored; a member of the tenant reads them
    in the launch room's words, the actor as a role title. The same auth and isolation as the
    readiness API: 401 anonymous, 404 for a tenant the
    caller is not a member of (or that does not exist), 400 for a ``since`` that is not an
    ISO 8601 date or time, or whose offset or year no time zone or database holds. At most
    500 rows; ``more`` says whether older ones were left out.
    """
    user = request.user
    if not user.is_authenticated:
        response = _error(401, "authentication required: log in or send Authorization: Bearer <token>")
        response["WWW-Authenticate"] = 'Bearer realm="thesmios"'
        return response
    raw_since = request.GET.get("since", "")
    since: datetime | None = None
    if raw_since:
        parsed = _parse_since(raw_since)
        if isinstance(parsed, str):
            return _error(400, "bad request", errors={"since": [parsed]})
        since = parsed
    # The one isolation check, as for readiness.
    try:
        tenant, role = tenant_for_user(user, slug)
    except Http404:
        return _not_found()
    rows = ReadinessTransition.objects.filter(tenant=tenant).select_related("actor").order_by("-at", "-id")
    if since is not None:
        rows = rows.filter(at__gte=since)
    # A member reads the room's words; staff the cause and the username (docs/RULES.md section 11.2).
    as_json = _transition_json
    if role is not None:
        as_json = _buyer_transition_json
        rows = rows.prefetch_related(
            "actor__groups", Prefetch("actor__memberships", queryset=TenantMembership.objects.filter(tenant=tenant))
        )
    page = list(rows[: TRANSITIONS_LIMIT + 1])
    return JsonResponse(
        {
            "tenant": tenant.slug,
            "since": since.isoformat() if since else None,
            "transitions": [as_json(r) for r in page[:TRANSITIONS_LIMIT]],
            "more": len(page) > TRANSITIONS_LIMIT,
        },
        json_dumps_params={"ensure_ascii": False},
    )


SINCE_FORMAT = "Give an ISO 8601 time, e.g. 2026-01-31T09:00:00Z or 2026-01-31."
# The widest offset any time zone uses (UTC+14, Kiribati; the westernmost is UTC-12). Python
# reads offsets up to 23:59; PostgreSQL refuses those past 15:59 with a DataError.
MAX_OFFSET = timedelta(hours=14)


def _parse_since(value: str) -> datetime | str:
    """An aware datetime in UTC from an ISO 8601 time or date (a date means its midnight, UTC),
    or why ``value`` is not one. The time goes to the database in UTC, so no offset or year
    reaches it that PostgreSQL and SQLite would read differently."""
    if len(value) > 40 or any(ord(c) < 32 for c in value):
        return SINCE_FORMAT
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            if day is None:
                return SINCE_FORMAT
            parsed = datetime.combine(day, time.min)
    except ValueError:
        return SINCE_FORMAT
    if timezone.is_naive(parsed):
        return parsed.replace(tzinfo=UTC)
    offset = parsed.utcoffset() or timedelta(0)
    if abs(offset) > MAX_OFFSET:
        return "The UTC offset must lie between -14:00 and +14:00."
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return "The time must lie between the years 1 and 9999 in UTC."
