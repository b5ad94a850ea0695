"""Write paths for billing (gate 4)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing.models import BillingFallbackAcceptance, BillingProfile
from core import hooks
from core.errors import NotPermitted, Refused
from core.events import audited
from core.history import records_actor
from core.types import User
from core.validation import check_text
from launchroom.models import Tenant
from launchroom.tenants.access import FALLBACK_ROLES, member_role
from launchroom.tenants.locking import lock_tenant


def check_fallback_acceptor(*, role: str | None) -> None:
    """Only the buyer sponsor or buyer finance accepts the manual billing fallback; ``role``
    is the user's membership role in the tenant (None for staff and strangers)."""
    if role not in FALLBACK_ROLES:
        raise NotPermitted("Only the buyer sponsor or buyer finance accepts the manual billing fallback.")


@hooks.changes_launch_room
@records_actor()
@audited("billing_fallback_accept")
def billing_fallback_accept(*, profile: BillingProfile, by: User, name: str = "") -> BillingProfile:
    """The buyer's sponsor or finance member accepts the manual billing fallback for the
    terms as they stand; a later change to the terms needs a new acceptance."""
    check_fallback_acceptor(role=member_role(by, profile.tenant))
    check_text(BillingFallbackAcceptance, accepted_name=name)
    with transaction.atomic():
        # The tenant first, as every service locks: its decision log takes the next link.
        lock_tenant(profile.tenant)
        locked = BillingProfile.objects.select_for_update().get(pk=profile.pk)
        missing = locked.missing_terms()
        if missing:
            raise Refused("The billing terms are not complete yet: " + ", ".join(missing) + ".")
        if locked.fallback_accepted:
            raise Refused("The manual billing fallback is already accepted for these terms.")
        record = BillingFallbackAcceptance.objects.create(
            tenant_id=locked.tenant_id,
            profile=locked,
            accepted_by=by,
            accepted_name=name.strip() or by.get_full_name() or by.get_username(),
            accepted_at=timezone.now(),
            terms=locked.terms(),
            terms_sha256=locked.terms_sha256(),
        )
        locked.fallback_acceptance = record
        locked.fallback_accepted_by = by
        locked.fallback_accepted_name = record.accepted_name
        locked.fallback_accepted_at = record.accepted_at
        locked.fallback_terms_sha256 = record.terms_sha256
        locked.save()
        # The decision log (launchroom's listener) chains the acceptance in this transaction.
        hooks.decision_recorded(record)
        hooks.readiness_may_change(
            tenant_id=locked.tenant_id, cause="billing_fallback_accept: manual billing fallback accepted", actor=by
        )
        return locked


PROFILE_FIELDS = BillingProfile.TERMS_FIELDS


@hooks.changes_launch_room
@records_actor()
def billing_profile_save(*, tenant: Tenant, by: User, **terms: Any) -> BillingProfile:
    """Create or change a tenant's billing profile (gate 4), as the finance owner.

    A change to the terms after the buyer accepted the manual billing fallback leaves that
    acceptance behind (its fingerprint no longer matches): the buyer accepts again.
    """
    unknown = sorted(set(terms) - set(PROFILE_FIELDS))
    if unknown:
        raise ValidationError({name: "Not a billing-profile field." for name in unknown})
    with transaction.atomic():
        locked = lock_tenant(tenant)
        profile = BillingProfile.objects.select_for_update().filter(tenant=locked).first()
        perm = "billing.change_billingprofile" if profile is not None else "billing.add_billingprofile"
        if not (getattr(by, "is_staff", False) and by.has_perm(perm)):
            raise NotPermitted("Only the finance owner sets up billing profiles.")
        if profile is None:
            profile = BillingProfile(tenant=locked)
        before = profile.terms_sha256() if profile.pk else None
        for name, value in terms.items():
            setattr(profile, name, value)
        profile.full_clean()
        profile.save()
        if before != profile.terms_sha256():
            cause = "billing_profile_save: " + ("profile created" if before is None else "terms changed")
            hooks.readiness_may_change(tenant_id=locked.pk, cause=cause, actor=by)
        return profile
