"""Selectors for who may see which tenant: the one place the launch room's isolation lives.

Every launch-room view and platform API handler finds its tenant through
``tenant_for_user``. A user who is not a member gets the same 404 as for a tenant that
does not exist, so the answer never reveals whether a tenant exists.
"""

from __future__ import annotations

import ipaddress
from typing import TypeGuard

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from core.types import RequestUser, User
from launchroom.models import Tenant, TenantMembership


def _may_sign_in(user: RequestUser) -> TypeGuard[User]:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def tenant_for_user(user: RequestUser, slug: str) -> tuple[Tenant, str | None]:
    """The tenant ``slug`` and the user's membership role there (None for staff).

    Staff see every tenant; a customer sees only the tenants they are a member of. One
    query. Raises Http404 for anyone else, and for a tenant that does not exist.
    """
    if not _may_sign_in(user):
        raise Http404("No such launch room.")
    if user.is_staff:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise Http404("No such launch room.")
        return tenant, None
    membership = TenantMembership.objects.select_related("tenant").filter(user=user, tenant__slug=slug).first()
    if membership is None:
        raise Http404("No such launch room.")
    return membership.tenant, membership.role


def tenants_for_user(user: RequestUser) -> QuerySet[Tenant]:
    """Every tenant ``user`` may open: all for staff, their memberships' for customers."""
    if not _may_sign_in(user):
        return Tenant.objects.none()
    if user.is_staff:
        return Tenant.objects.all()
    return Tenant.objects.filter(memberships__user=user)


def can_see_tenant(user: RequestUser, tenant_id: int) -> bool:
    """Whether ``user`` may see what belongs to tenant ``tenant_id`` (its evidence, say):
    the rule of ``tenant_for_user``, for a tenant known by id. At most one query."""
    if not _may_sign_in(user):
        return False
    if user.is_staff:
        return True
    return TenantMembership.objects.filter(user=user, tenant_id=tenant_id).exists()


def client_address(request: HttpRequest) -> str | None:
    """The client's IP address, trusting ``X-Forwarded-For`` only as far as configured.

    With ``TRUSTED_PROXY_COUNT`` = N proxies in front, the client is the N-th address from
    the right of ``X-Forwarded-For`` (the proxies append, so anything further left was
    written by the client and cannot be trusted). Otherwise it is ``REMOTE_ADDR``.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if count > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= count:
            remote = hops[-count]
    if remote is None:
        return None
    try:
        return str(ipaddress.ip_address(remote))
    except ValueError:
        return None


def user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:500]
