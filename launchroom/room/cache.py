"""The rendered launch room, kept while nothing it shows has changed (issue 11: serve it fast).

Rendering the room costs about forty bare views: five loads, two evaluations and ~70 KB of
template, most of it the same on every reload. A viewer who reloads their room gets the page
rendered for them last time when all of these still hold:

- the *fingerprint* is the same: one query for the newest history row of every table the
  room shows (the tenant, its order forms, billing profile and fallback acceptances, support
  plan, evidence and its integrity checks, gate decisions, acceptance records, stage moves,
  incidents, readiness transitions, comments and memberships). Every write to those tables,
  through a service, the admin or a bulk load with history, adds a history row, so any change
  makes a new fingerprint. A new table shown in the room belongs in ``SOURCES``;
- the moment is before the page's *valid until* (the first time at which time alone changes
  its readiness, as the stored projection computes it) and after it was rendered;
- the viewer is the same user, with the same role and unread count, and no message is
  waiting to be shown;
- it is younger than ``ROOM_CACHE_SECONDS`` (0 turns the cache off). Names of other users
  shown in the room (who decided a gate) are not in the fingerprint: a renamed user shows
  in the room within that time.

The CSRF token in the cached page is masked afresh for every answer, as a render would.
The cache is Django's default cache (per process unless ``CACHES`` says otherwise).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache as default_cache
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils import timezone

from billing.models import BillingFallbackAcceptance, BillingProfile
from evidence.models import EvidenceAttachment, EvidenceCheck
from launchroom.models import (
    AcceptanceRecord,
    Comment,
    GateDecision,
    Incident,
    OrderForm,
    ReadinessTransition,
    StageChange,
    SupportPlan,
    Tenant,
    TenantMembership,
)

# The tenant-scoped tables the room shows; each history table has an index on tenant_id.
SOURCES = (
    OrderForm,
    BillingProfile,
    BillingFallbackAcceptance,
    SupportPlan,
    EvidenceAttachment,
    GateDecision,
    AcceptanceRecord,
    StageChange,
    Incident,
    ReadinessTransition,
    Comment,
    TenantMembership,
)


def _history_table(model: Any) -> str:
    return connection.ops.quote_name(model.history.model._meta.db_table)


def _newest(table: str, where: str) -> str:
    # The newest history row's id and date: ids alone could repeat where a database reuses
    # them after a rollback (SQLite), dates alone where a bulk load writes one date for many.
    return (
        f"(SELECT CAST(MAX(history_id) AS TEXT) || '/' || CAST(MAX(history_date) AS TEXT) "  # noqa: S608
        f"FROM {table} WHERE {where})"
    )


@cache
def _fingerprint_sql() -> str:
    """Table names come from the models, the tenant id is a parameter: nothing from a request."""
    q = connection.ops.quote_name
    parts = [_newest(_history_table(Tenant), f"{q('id')} = %s")]
    parts += [_newest(_history_table(m), "tenant_id = %s") for m in SOURCES]
    attachments = q(EvidenceAttachment._meta.db_table)
    parts.append(
        _newest(
            _history_table(EvidenceCheck),
            f"attachment_id IN (SELECT {q('id')} FROM {attachments} WHERE tenant_id = %s)",  # noqa: S608
        )
    )
    return "SELECT " + ", ".join(parts)


def fingerprint(tenant_id: int, unread: QuerySet[Any]) -> tuple[tuple[str, ...], int]:
    """One query: the newest history row of everything the room shows of this tenant, and
    the size of ``unread`` (the viewer's unread notifications, shown in the navigation)."""
    sql, params = unread.values("pk").query.sql_with_params()
    count = f"(SELECT COUNT(*) FROM ({sql}) unread)"  # noqa: S608 (Django's own SQL for a queryset)
    body = _fingerprint_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"{body}, {count}", [tenant_id] * body.count("%s") + list(params))
        row = cursor.fetchone()
    return tuple(str(v) for v in row[:-1]), int(row[-1])


@dataclass
class Entry:
    html: str
    csrf_token: str
    rendered_at: datetime
    valid_until: datetime | None


def enabled() -> bool:
    return int(getattr(settings, "ROOM_CACHE_SECONDS", 0)) > 0


def may_use(request: HttpRequest) -> bool:
    """Off, or a page with messages waiting (showing them uses them up): render it."""
    return enabled() and len(get_messages(request)) == 0


def key_for(request: HttpRequest, tenant: Tenant, role: str | None, unread: QuerySet[Any]) -> tuple[str, int]:
    """This viewer's room as the database stands now, and their unread count (one query)."""
    rows, count = fingerprint(tenant.pk, unread)
    parts = (tenant.pk, request.user.pk, role or "", count, settings.EVIDENCE_FRESHNESS_DAYS, *rows)
    return "launch-room:" + hashlib.sha256(repr(parts).encode()).hexdigest(), count


def get(key: str, request: HttpRequest) -> str | None:
    """The page kept under ``key``, its CSRF token masked afresh; None when there is none or it is out of date."""
    entry: Entry | None = default_cache.get(key)
    if entry is None:
        return None
    now = timezone.now()
    if now < entry.rendered_at or (entry.valid_until is not None and now >= entry.valid_until):
        return None
    return entry.html.replace(entry.csrf_token, get_token(request)) if entry.csrf_token else entry.html


def put(key: str, html: str, *, csrf: str, rendered_at: datetime, valid_until: datetime | None) -> None:
    entry = Entry(html=html, csrf_token=csrf, rendered_at=rendered_at, valid_until=valid_until)
    default_cache.set(key, entry, timeout=int(settings.ROOM_CACHE_SECONDS))
