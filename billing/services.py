"""Write paths for billing (gate 4)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from billing.models import BillingProfile
from core.errors import NotPermitted, Refused
from core.events import audited
from launchroom.models import MembershipRole
from launchroom.tenants.services import membership_role


@audited("billing_fallback_accept")
def billing_fallback_accept(*, profile: BillingProfile, by: Any, name: str = "") -> BillingProfile:
    """The buyer's sponsor or finance member accepts the manual billing fallback for the
    terms as they stand; a later change to the terms needs a new acceptance."""
    if membership_role(by, profile.tenant) not in (MembershipRole.BUYER_SPONSOR, MembershipRole.BUYER_FINANCE):
        raise NotPermitted("Only the buyer sponsor or buyer finance accepts the manual billing fallback.")
    with transaction.atomic():
        locked = BillingProfile.objects.select_for_update().get(pk=profile.pk)
        missing = locked.missing_terms()
        if missing:
            raise Refused("The billing terms are not complete yet: " + ", ".join(missing) + ".")
        if locked.fallback_accepted:
            raise Refused("The manual billing fallback is already accepted for these terms.")
        locked.fallback_accepted_by = by
        locked.fallback_accepted_name = name.strip() or by.get_full_name() or by.get_username()
        locked.fallback_accepted_at = timezone.now()
        locked.fallback_terms_sha256 = locked.terms_sha256()
        locked.save()
        return locked
