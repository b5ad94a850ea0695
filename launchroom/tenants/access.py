"""Who may see which tenant, and with which role: the one place those rules live.

Which tenants a user may see is ``Tenant.objects.restrict(user)`` (launchroom/models/tenants.py);
every view, API handler, inbox, packet and certificate reaches its tenant through it, most of
them through ``tenant_for_user``. A user who may not see a tenant gets the same 404 as for a
tenant that does not exist, so the answer never reveals whether a tenant exists.

What a customer may do there follows from their membership role (``member_role``) and the
named role sets below (docs/RULES.md section 1).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import Http404, HttpRequest

from core.types import RequestUser
from launchroom.models import MembershipRole, Tenant

# The buyer sponsor signs the acceptance record and answers an order form under review.
SIGNING_ROLES = frozenset({MembershipRole.BUYER_SPONSOR})
# The buyer sponsor and buyer finance accept the manual billing fallback (gate 4)...
FALLBACK_ROLES = frozenset({MembershipRole.BUYER_SPONSOR, MembershipRole.BUYER_FINANCE})
# ...and write in the conversation; a viewer reads.
COMMENTING_ROLES = frozenset({MembershipRole.BUYER_SPONSOR, MembershipRole.BUYER_FINANCE})


def tenant_for_user(user: RequestUser, slug: str) -> tuple[Tenant, str | None]:
    """The tenant ``slug`` if ``user`` may see it, and their membership role there (None
    for staff). One query. Raises Http404 otherwise, as for a tenant that does not exist."""
    tenant = Tenant.objects.restrict(user).with_role(user).filter(slug=slug).first()
    if tenant is None:
        raise Http404("No such launch room.")
    return tenant, role_of(tenant)


def role_of(tenant: Tenant) -> str | None:
    """The ``member_role`` that ``Tenant.objects.with_role`` annotated ``tenant`` with."""
    role: str | None = getattr(tenant, "member_role", None)
    return role


def member_role(user: RequestUser, tenant: Tenant) -> str | None:
    """``user``'s membership role in ``tenant``: None for staff, for anyone who is not an
    active member, and for the anonymous user. One query."""
    row = Tenant.objects.restrict(user).with_role(user).filter(pk=tenant.pk).only("pk").first()
    return role_of(row) if row is not None else None


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
