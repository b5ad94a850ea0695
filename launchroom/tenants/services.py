"""Tenants, memberships and who holds which role: the one place those rules live."""

from __future__ import annotations

from typing import Any

from launchroom.catalog import Role
from launchroom.models import Tenant, TenantMembership


def has_role(user: Any, role: Role) -> bool:
    """Whether a staff user is in the group of ``role``. Superusers are not exempt:
    who decides a gate is a rule of the launch, not a permission bypass."""
    if not getattr(user, "is_staff", False):
        return False
    names = getattr(user, "_role_names", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True))
        user._role_names = names
    return role.value in names


def membership_role(user: Any, tenant: Tenant) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return TenantMembership.objects.filter(user=user, tenant=tenant).values_list("role", flat=True).first()


def _locked(tenant: Tenant) -> Tenant:
    return Tenant.objects.select_for_update().get(pk=tenant.pk)
