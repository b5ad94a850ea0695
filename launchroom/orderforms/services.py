"""Order forms (gate 3): drafts, revisions, the buyer's review and the recorded signature.

The workflow (docs/RULES.md section 11): draft -> sent to buyer -> the buyer approves (their approval
is the written reference) or requests changes -> the commercial owner records the signature.
A version missing a standing exclusion can be neither sent nor signed.
"""

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
from core.types import User
from launchroom import catalog
from launchroom.catalog import Role
from launchroom.models import (
    Comment,
    NotificationKind,
    OrderForm,
    OrderFormStatus,
    Tenant,
)
from launchroom.notifications.events import order_form_sent
from launchroom.notifications.services import buyer_sponsors, notify, user_with_pk
from launchroom.tenants.access import SIGNING_ROLES, member_role
from launchroom.tenants.locking import lock_tenant
from launchroom.tenants.services import has_role

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


@hooks.changes_launch_room
@records_actor()
def order_form_create(*, tenant: Tenant, by: User, **scope: Any) -> OrderForm:
    """Start the tenant's order form, or its next version, as a draft."""
    unknown = set(scope) - set(ORDER_FORM_SCOPE_FIELDS)
    if unknown:
        raise ValidationError({name: "Not an order-form scope field." for name in unknown})
    with transaction.atomic():
        lock_tenant(tenant)
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


@hooks.changes_launch_room
@records_actor()
def order_form_revise(*, order_form: OrderForm, by: User, **changes: Any) -> OrderForm:
    """Change an order form's scope. A signed version is frozen, so its change becomes the
    next draft version; an unsigned version is edited in place."""
    if order_form.is_signed:
        return order_form_create(tenant=order_form.tenant, by=by, **changes)
    unknown = set(changes) - set(ORDER_FORM_SCOPE_FIELDS) - {"status"}
    if unknown:
        raise ValidationError({name: "Not an order-form scope field." for name in unknown})
    with transaction.atomic():
        lock_tenant(order_form.tenant)
        locked = OrderForm.objects.select_for_update().get(pk=order_form.pk)
        if locked.is_signed:
            raise Refused(f"v{locked.version} was signed meanwhile; revise it into a new version.")
        if changes.get("status") == OrderFormStatus.SIGNED:
            raise Refused("Sign an order form with its approval reference, not by editing its status.")
        changed = [name for name, value in changes.items() if getattr(locked, name) != value]
        for name, value in changes.items():
            setattr(locked, name, value)
        if changed and locked.status != OrderFormStatus.DRAFT:
            # The buyer reviewed other words: a changed version goes back to draft, to be sent again.
            _back_to_draft(locked)
        locked.full_clean()
        locked.save()
        hooks.readiness_may_change(
            tenant_id=locked.tenant_id, cause=f"order_form_revise: v{locked.version} changed", actor=by
        )
        return locked


def _back_to_draft(order_form: OrderForm) -> None:
    order_form.status = OrderFormStatus.DRAFT
    order_form.sent_at = None
    order_form.sent_by = None
    order_form.buyer_approved_at = None
    order_form.buyer_approved_by = None
    order_form.buyer_approver_name = ""
    order_form.buyer_approver_role = ""


@hooks.changes_launch_room
@records_actor()
@audited("order_form_sign")
def order_form_sign(
    *, order_form: OrderForm, approval_reference: str, signer_name: str, by: User, signed_at: datetime | None = None
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
        lock_tenant(order_form.tenant)
        locked = OrderForm.objects.select_for_update().get(pk=order_form.pk)
        if locked.is_signed:
            raise Refused(f"v{locked.version} is already signed.")
        if locked.status == OrderFormStatus.CHANGES_REQUESTED:
            raise Refused(
                f"The buyer requested changes to v{locked.version}: revise it and send it to the buyer again."
            )
        _refuse_missing_exclusions(locked, "signed")
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


def _refuse_missing_exclusions(order_form: OrderForm, verb: str) -> None:
    missing = order_form.missing_standing_exclusions()
    if missing:
        raise Refused(
            [
                f'v{order_form.version} cannot be {verb}: it does not list the standing exclusion "{claim}".'
                for claim in missing
            ]
        )


@hooks.changes_launch_room
@records_actor()
def order_form_send(*, order_form: OrderForm, by: User) -> OrderForm:
    """Send a draft version to the buyer sponsor for review; they are told once it is saved."""
    if not has_role(by, Role.COMMERCIAL):
        raise NotPermitted("Only the commercial owner sends an order form to the buyer.")
    with transaction.atomic():
        lock_tenant(order_form.tenant)
        locked = OrderForm.objects.select_for_update().get(pk=order_form.pk)
        if locked.status != OrderFormStatus.DRAFT and locked.status != OrderFormStatus.CHANGES_REQUESTED:
            raise Refused(f"v{locked.version} is {locked.get_status_display().lower()}: only a draft is sent.")
        _refuse_missing_exclusions(locked, "sent")
        gaps = [
            label
            for label, value in (
                ("compliance modules", locked.compliance_modules),
                ("worker cohort", locked.cohort_description),
            )
            if not value.strip()
        ]
        if gaps:
            raise Refused(f"Fill in the {' and '.join(gaps)} before sending.")
        if not buyer_sponsors(locked.tenant).exclude(email="").exists():
            raise Refused(f"{locked.tenant} has no buyer sponsor to send it to: invite one first.")
        _back_to_draft(locked)
        locked.status = OrderFormStatus.SENT
        locked.sent_at = timezone.now()
        locked.sent_by = by
        locked.full_clean()
        locked.save()
        hooks.readiness_may_change(
            tenant_id=locked.tenant_id, cause=f"order_form_send: v{locked.version} sent", actor=by
        )
        order_form_sent(locked)
        return locked


def _check_buyer(order_form: OrderForm, by: User) -> None:
    if member_role(by, order_form.tenant) not in SIGNING_ROLES:
        raise NotPermitted("Only the buyer sponsor approves the order form or requests changes.")


@hooks.changes_launch_room
@records_actor()
@audited("order_form_review")
def order_form_buyer_approve(*, order_form: OrderForm, by: User, name: str, role: str) -> OrderForm:
    """The buyer sponsor approves a sent version; their name, role and the time become the
    written approval reference the commercial owner signs with."""
    _check_buyer(order_form, by)
    errors = {}
    if not name.strip():
        errors["name"] = "Type your full name to approve."
    if not role.strip():
        errors["role"] = "Give your role."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        lock_tenant(order_form.tenant)
        locked = OrderForm.objects.select_for_update().get(pk=order_form.pk)
        if locked.status != OrderFormStatus.SENT:
            raise Refused(f"v{locked.version} is {locked.get_status_display().lower()}: there is nothing to approve.")
        locked.status = OrderFormStatus.APPROVED
        locked.buyer_approved_at = timezone.now()
        locked.buyer_approved_by = by
        locked.buyer_approver_name = name.strip()
        locked.buyer_approver_role = role.strip()
        locked.full_clean()
        locked.save()
        hooks.readiness_may_change(
            tenant_id=locked.tenant_id, cause=f"order_form_buyer_approve: v{locked.version} approved", actor=by
        )
        _tell_commercial_owner(
            locked,
            subject=f"{locked.tenant}: the buyer approved order form v{locked.version}",
            lines=[f"{locked.buyer_approval_reference}.", "Record the signature from the order form's admin page."],
        )
        return locked


@hooks.changes_launch_room
@records_actor()
@audited("order_form_review")
def order_form_request_changes(*, order_form: OrderForm, by: User, comment: str) -> OrderForm:
    """The buyer sponsor sends a version back with a comment; the comment is kept in the
    tenant's conversation and the version waits for a revision."""
    _check_buyer(order_form, by)
    if not comment.strip():
        raise ValidationError({"comment": "Say what should change."})
    with transaction.atomic():
        lock_tenant(order_form.tenant)
        locked = OrderForm.objects.select_for_update().get(pk=order_form.pk)
        if locked.status not in (OrderFormStatus.SENT, OrderFormStatus.APPROVED):
            raise Refused(
                f"v{locked.version} is {locked.get_status_display().lower()}: changes are requested on a sent version."
            )
        _back_to_draft(locked)
        locked.status = OrderFormStatus.CHANGES_REQUESTED
        locked.full_clean()
        locked.save()
        note = Comment(tenant_id=locked.tenant_id, author=by, order_form=locked, body=comment.strip())
        note.full_clean()
        note.save()
        hooks.readiness_may_change(
            tenant_id=locked.tenant_id, cause=f"order_form_request_changes: v{locked.version}", actor=by
        )
        _tell_commercial_owner(
            locked,
            subject=f"{locked.tenant}: the buyer requested changes to order form v{locked.version}",
            lines=[f"{_name(by)} wrote:", "", comment.strip()],
        )
        return locked


# Telling people: notifications (in-app, e-mailed by preference through background work) ---


def _name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def _tell_commercial_owner(order_form: OrderForm, *, subject: str, lines: list[str]) -> None:
    """Tell the tenant's commercial owner what the buyer did with the order form."""
    tenant = order_form.tenant
    notify(
        recipients=user_with_pk(tenant.commercial_owner_id),
        kind=NotificationKind.ORDER_FORM_REVIEWED,
        tenant=tenant,
        event_key=f"order-form-reviewed:{order_form.pk}:{timezone.now().isoformat()}",
        subject=subject,
        body=" ".join(line for line in lines if line),
        link=f"/admin/launchroom/orderform/{order_form.pk}/change/",
    )
