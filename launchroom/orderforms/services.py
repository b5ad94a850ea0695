"""Order forms (gate 3): drafts, revisions and the recorded signature."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import hooks
from core.errors import NotPermitted, Refused
from core.events import audited
from core.history import records_actor
from launchroom import catalog
from launchroom.catalog import Role
from launchroom.models import OrderForm, OrderFormStatus, Tenant
from launchroom.tenants.services import _locked, has_role

ORDER_FORM_SCOPE_FIELDS = (
    "requested_stage",
    "compliance_modules",
    "cohort_description",
    "cohort_size",
    "verifier_audience",
    "data_boundaries",
    "excluded_claims",
    "acceptance_language",
)


def check_new_version(*, tenant: Tenant) -> OrderForm | None:
    """A new version starts only from a signed one: an unsigned version is edited instead.

    Returns the latest version (None for a tenant's first); raises ``Refused`` otherwise.
    ``order_form_create`` checks it again under the tenant lock.
    """
    latest = OrderForm.objects.filter(tenant=tenant).order_by("-version").first()
    if latest is not None and not latest.is_signed:
        raise Refused(
            f"{tenant} already has v{latest.version}, still {latest.get_status_display().lower()}; "
            "edit that version instead."
        )
    return latest


@records_actor()
def order_form_create(*, tenant: Tenant, by: Any, **scope: Any) -> OrderForm:
    """Start the tenant's order form, or its next version, as a draft."""
    unknown = set(scope) - set(ORDER_FORM_SCOPE_FIELDS)
    if unknown:
        raise ValidationError({name: "Not an order-form scope field." for name in unknown})
    with transaction.atomic():
        _locked(tenant)
        latest = check_new_version(tenant=tenant)
        values = {name: getattr(latest, name) for name in ORDER_FORM_SCOPE_FIELDS} if latest else {}
        if not latest:
            values["excluded_claims"] = "\n".join(catalog.STANDING_EXCLUSIONS)
        values.update(scope)
        order_form = OrderForm(tenant=tenant, version=(latest.version + 1) if latest else 1, recorded_by=by, **values)
        order_form.full_clean()
        order_form.save()
        hooks.readiness_may_change(
            tenant_id=tenant.pk, cause=f"order_form_create: v{order_form.version} drafted", actor=by
        )
        return order_form


@records_actor()
def order_form_revise(*, order_form: OrderForm, by: Any, **changes: Any) -> OrderForm:
    """Change an order form's scope. A signed version is frozen, so its change becomes the
    next draft version; an unsigned version is edited in place."""
    if order_form.is_signed:
        return order_form_create(tenant=order_form.tenant, by=by, **changes)
    unknown = set(changes) - set(ORDER_FORM_SCOPE_FIELDS) - {"status"}
    if unknown:
        raise ValidationError({name: "Not an order-form scope field." for name in unknown})
    with transaction.atomic():
        _locked(order_form.tenant)
        locked = OrderForm.objects.select_for_update().get(pk=order_form.pk)
        if locked.is_signed:
            raise Refused(f"v{locked.version} was signed meanwhile; revise it into a new version.")
        if changes.get("status") == OrderFormStatus.SIGNED:
            raise Refused("Sign an order form with its approval reference, not by editing its status.")
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.full_clean()
        locked.save()
        hooks.readiness_may_change(
            tenant_id=locked.tenant_id, cause=f"order_form_revise: v{locked.version} changed", actor=by
        )
        return locked


@records_actor()
@audited("order_form_sign")
def order_form_sign(
    *, order_form: OrderForm, approval_reference: str, signer_name: str, by: Any, signed_at: datetime | None = None
) -> OrderForm:
    """Record the customer's signature of an order-form version (gate 3)."""
    errors = {}
    if not approval_reference.strip():
        errors["approval_reference"] = "The approval reference is required to sign."
    if not signer_name.strip():
        errors["signer_name"] = "Name the customer who signed."
    if errors:
        raise ValidationError(errors)
    if not has_role(by, Role.COMMERCIAL):
        raise NotPermitted("Only the commercial owner records a signed order form.")
    with transaction.atomic():
        _locked(order_form.tenant)
        locked = OrderForm.objects.select_for_update().get(pk=order_form.pk)
        if locked.is_signed:
            raise Refused(f"v{locked.version} is already signed.")
        gaps = [
            label
            for label, value in (
                ("compliance modules", locked.compliance_modules),
                ("worker cohort", locked.cohort_description),
            )
            if not value.strip()
        ]
        if gaps:
            raise Refused(f"Fill in the {' and '.join(gaps)} before signing.")
        locked.status = OrderFormStatus.SIGNED
        locked.approval_reference = approval_reference.strip()
        locked.signer_name = signer_name.strip()
        locked.signed_at = signed_at or timezone.now()
        locked.recorded_by = by
        locked.full_clean()
        locked.save()
        hooks.decision_recorded(locked)
        hooks.readiness_may_change(
            tenant_id=locked.tenant_id, cause=f"order_form_sign: v{locked.version} signed", actor=by
        )
        return locked
