"""Tenants, memberships and who holds which role: the one place those rules live."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import hooks
from core.errors import NotPermitted, Refused
from core.history import records_actor
from core.types import RequestUser, User
from launchroom.catalog import Role
from launchroom.models import ApiToken, MembershipRole, Tenant, TenantMembership
from launchroom.tenants.locking import lock_tenant


def has_role(user: RequestUser, role: Role) -> bool:
    """Whether a staff user is in the group of ``role``. Superusers are not exempt:
    who decides a gate is a rule of the launch, not a permission bypass."""
    if not getattr(user, "is_staff", False):
        return False
    names = getattr(user, "_role_names", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True))
        user._role_names = names  # type: ignore[union-attr]  # a cache for the request's life
    return role.value in names


# Tenants --------------------------------------------------------------------------------

TENANT_FIELDS = (
    "name",
    "slug",
    "commercial_owner",
    "regulated_buyer",
    "issuer_fixture_configured",
    "evidence_fixture_configured",
    "audit_export_configured",
    "controlled_send_configured",
)
# The tenant fields evaluate() reads: a change to one of them can change readiness.
READINESS_FIELDS = frozenset(TENANT_FIELDS[3:])


def _check_fields(values: dict[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValidationError({name: "Not a field this service changes." for name in unknown})


def _require_perm(by: User | None, perm: str, message: str) -> None:
    if by is None or not (by.is_staff and by.has_perm(perm)):
        raise NotPermitted(message)


@records_actor()
def tenant_create(*, by: User, name: str, slug: str, **values: Any) -> Tenant:
    """Create a tenant in setup (docs/RULES.md section 2), with its flags; the history names ``by``."""
    _check_fields(values, TENANT_FIELDS)
    _require_perm(by, "launchroom.add_tenant", "Only a commercial owner creates tenants.")
    with transaction.atomic():
        tenant = Tenant(name=name.strip(), slug=slug.strip(), **values)
        tenant.full_clean()
        tenant.save()
        hooks.readiness_may_change(tenant_id=tenant.pk, cause="tenant_create: new tenant", actor=by)
        return tenant


@hooks.changes_launch_room
@records_actor()
def tenant_update(*, tenant: Tenant, by: User, **changes: Any) -> Tenant:
    """Change a tenant's name, owner, regulated-buyer flag or configured capabilities.

    The stage is not changed here: ``stage_move`` moves it, with the readiness it rests on.
    """
    _check_fields(changes, TENANT_FIELDS)
    _require_perm(by, "launchroom.change_tenant", "Only a commercial owner changes tenants.")
    with transaction.atomic():
        locked = lock_tenant(tenant)
        changed = [name for name, value in changes.items() if getattr(locked, name) != value]
        for name in changed:
            setattr(locked, name, changes[name])
        if "name" in changed:
            locked.name = locked.name.strip()
        locked.full_clean()
        locked.save()
        touched = sorted(READINESS_FIELDS.intersection(changed))
        if touched:
            hooks.readiness_may_change(
                tenant_id=locked.pk, cause=f"tenant_update: {', '.join(touched)} changed", actor=by
            )
        elif changed:
            hooks.room_may_change(tenant_id=locked.pk)
        return locked


# Memberships ----------------------------------------------------------------------------


def membership_rules(*, tenant: Tenant, user: User, role: str) -> None:
    """Who may be a member of a tenant, with which role (raises ``ValidationError`` or ``Refused``)."""
    if role not in MembershipRole.values:
        raise ValidationError({"role": f"Choose one of {', '.join(MembershipRole.values)}."})
    label = user.email or user.get_username()
    if user.is_staff:
        raise Refused(f"{label} is a staff account: staff see every launch room already.")
    if not user.is_active:
        raise Refused(f"The account of {label} is deactivated; reactivate it in the admin first.")
    existing = TenantMembership.objects.filter(user=user, tenant=tenant).first()
    if existing is not None:
        raise Refused(f"{label} is already a member of {tenant} ({existing.get_role_display()}).")


@records_actor()
def membership_add(
    *, tenant: Tenant, user: User, role: str, by: User | None, checked: bool = False
) -> TenantMembership:
    """Give a customer user access to a tenant's launch room with ``role``.

    ``checked`` is for ``accounts.invite_buyer``, which checked its own permission.
    """
    if not checked:
        _require_perm(by, "launchroom.add_tenantmembership", "Only a commercial owner adds members.")
    with transaction.atomic():
        lock_tenant(tenant)
        membership_rules(tenant=tenant, user=user, role=role)
        membership = TenantMembership(user=user, tenant=tenant, role=role)
        membership.save()
        return membership


@records_actor()
def membership_change_role(*, membership: TenantMembership, role: str, by: User) -> TenantMembership:
    """Change a member's role (who signs, who accepts billing)."""
    if role not in MembershipRole.values:
        raise ValidationError({"role": f"Choose one of {', '.join(MembershipRole.values)}."})
    _require_perm(by, "launchroom.change_tenantmembership", "Only a commercial owner changes members' roles.")
    with transaction.atomic():
        lock_tenant(membership.tenant)
        locked = TenantMembership.objects.select_for_update().get(pk=membership.pk)
        if locked.role != role:
            locked.role = role
            locked.save(update_fields=["role"])
        return locked


@records_actor()
def membership_remove(*, membership: TenantMembership, by: User) -> None:
    """Take a member's access to the tenant's launch room away; the history keeps who had it."""
    _require_perm(by, "launchroom.delete_tenantmembership", "Only a commercial owner removes members.")
    with transaction.atomic():
        lock_tenant(membership.tenant)
        locked = TenantMembership.objects.filter(pk=membership.pk).first()
        if locked is not None:
            locked.delete()


# API tokens -----------------------------------------------------------------------------


@records_actor()
def api_token_create(*, user: User, name: str, by: User) -> tuple[ApiToken, str]:
    """A bearer token for ``user``: the row (only the key's SHA-256 is kept) and the key,
    which is shown once and never again."""
    _require_perm(by, "launchroom.add_apitoken", "Only a superuser makes API tokens.")
    if not name.strip():
        raise ValidationError({"name": "Name the token after what uses it."})
    if user is None or not user.is_active:
        raise ValidationError({"user": "Choose an active user."})
    key = ApiToken.generate_key()
    token = ApiToken(user=user, name=name.strip(), key_sha256=ApiToken.hash_key(key), prefix=key[:10])
    token.full_clean()
    token.save()
    return token, key


@records_actor()
def api_token_revoke(*, token: ApiToken, by: User) -> bool:
    """Revoke a token at once; False when it was revoked already."""
    _require_perm(by, "launchroom.change_apitoken", "Only a superuser revokes API tokens.")
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is not None:
            return False
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        return True
