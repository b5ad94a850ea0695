"""The rendered launch room, kept until something it shows changes (docs/RULES.md section 6).

Rendering the room costs about forty bare views: five loads, two evaluations and ~70 KB of
template, most of it the same on every reload. What the room shows changes only through the
services marked ``core.hooks.changes_launch_room``, and each of them gives the tenant a new
*room version* in its own transaction: the projection writes one with the stored readiness
row (``core.hooks.readiness_may_change``), the room listener writes one alone
(``core.hooks.room_may_change``). The version is a random token: a rolled-back or restored
database never meets a page cached after it.

A viewer gets the page rendered for them last time while its key is the same: the tenant, its
room version and the stored row's *valid until* (the first time at which time alone changes
its readiness), the viewer (user, name, staff or not, role), their unread count and the
evidence freshness setting; the version, the valid until and the count come from one query
(``state``). Besides:

- a tenant without a stored row (not evaluated yet), or whose row is past its valid until,
  is rendered on every request;
- a page with a message waiting is rendered (showing the message uses it up);
- a page is kept at most ``ROOM_CACHE_SECONDS`` (0 turns the cache off): names of other
  users shown in the room (who decided a gate) change in the user admin, not through a
  launch-room service, and show within that time.

The CSRF token in the kept page is masked afresh for every answer, as a render would. The
pages are kept in Django's cache framework: ``CACHES["default"]``, local memory per process
unless ``CACHE_URL`` chooses a shared cache (thesmios/settings.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache as default_cache
from django.db.models import F, Func, IntegerField, QuerySet, Subquery
from django.http import HttpRequest
from django.middleware.csrf import get_token

from core.types import User
from launchroom.models import Tenant


@dataclass(frozen=True)
class State:
    """What the key reads from the database: the room version and valid until of the
    tenant's stored readiness row (None without a row) and the viewer's unread count."""

    version: str | None
    valid_until: datetime | None
    unread: int


def state(tenant_id: int, unread: QuerySet[Any]) -> State:
    """One query: the tenant's room version and valid until, and the size of ``unread`` (the
    viewer's unread notifications, shown in the navigation)."""
    count = unread.order_by().annotate(n=Func(F("pk"), function="COUNT", output_field=IntegerField())).values("n")
    row = (
        Tenant.objects.filter(pk=tenant_id)
        .values(
            version=F("readiness_row__room_version"),
            until=F("readiness_row__valid_until"),
            unread=Subquery(count),
        )
        .get()
    )
    return State(version=row["version"], valid_until=row["until"], unread=row["unread"])


def enabled() -> bool:
    return int(settings.ROOM_CACHE_SECONDS) > 0


def may_use(request: HttpRequest) -> bool:
    """Off, or a page with messages waiting (showing them uses them up): render it."""
    return enabled() and len(get_messages(request)) == 0


def key_for(user: User, tenant: Tenant, role: str | None, current: State, now: datetime) -> str | None:
    """This viewer's room as the database stands now; None when it is not to be kept."""
    if current.version is None or (current.valid_until is not None and now >= current.valid_until):
        return None
    viewer = (user.pk, user.get_username(), user.get_full_name(), user.is_staff, role or "")
    until = current.valid_until.isoformat() if current.valid_until else ""
    # The freshness limit is read from the settings, not the database: a new one is a new key.
    parts = (tenant.pk, current.version, until, *viewer, current.unread, settings.EVIDENCE_FRESHNESS_DAYS)
    return "launch-room:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def get(key: str, request: HttpRequest, now: datetime) -> str | None:
    """The page kept under ``key``, its CSRF token masked afresh; None when there is none, or
    it was rendered "later" than now (a clock moved back)."""
    entry: tuple[str, str, datetime] | None = default_cache.get(key)
    if entry is None:
        return None
    html, csrf_token, rendered_at = entry
    if now < rendered_at:
        return None
    return html.replace(csrf_token, get_token(request)) if csrf_token else html


def put(key: str, html: str, *, csrf: str, rendered_at: datetime) -> None:
    default_cache.set(key, (html, csrf, rendered_at), timeout=int(settings.ROOM_CACHE_SECONDS))
