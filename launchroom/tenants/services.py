"""Tenants, memberships and who holds which role: the one place those rules live."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from launchroom.catalog import Role
from launchroom.models import MembershipRole, Tenant, TenantMembership


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


def membership_add(*, tenant: Tenant, user: Any, role: str, by: Any | None) -> TenantMembership:
    """Make ``user`` a member of ``tenant`` with ``role`` (or give an existing member that role).

    ``by`` is the staff user who does it, or None for a command (the proof's fixture users).
    """
    if role not in MembershipRole.values:
        raise ValidationError({"role": f"Choose one of {', '.join(MembershipRole.values)}."})
    if getattr(user, "is_staff", False):
        raise ValidationError({"user": "Staff reach every tenant already; members are customer users."})
    with transaction.atomic():
        _locked(tenant)
        membership = TenantMembership.objects.filter(tenant=tenant, user=user).first()
        if membership is not None and membership.role == role:
            return membership
        membership = membership or TenantMembership(tenant=tenant, user=user)
        membership.role = role
        if by is not None:
            membership._history_user = by  # type: ignore[attr-defined]
        membership.full_clean()
        membership.save()
        return membership
