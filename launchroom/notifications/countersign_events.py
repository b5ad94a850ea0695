"""Who is told about the two-party go/no-go (docs/RULES.md 5.9 and 11.4), once each."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from launchroom.models import AcceptanceCountersignature, CountersignKind, NotificationKind
from launchroom.notifications.services import anyone_of, buyer_sponsors, link_to, notify, user_with_pk


def countersign_link(record_pk: int) -> str:
    """The admin page where an operator countersigns or declines an acceptance."""
    return reverse("admin:launchroom_acceptancerecord_countersign", args=[record_pk])


def countersign_answered(row: AcceptanceCountersignature) -> int:
    """The operator countersigned or declined: tell the buyer sponsor (in their words) and the
    commercial owner."""
    tenant = row.tenant
    record = row.record
    stage = record.get_stage_display().lower()
    if row.kind == CountersignKind.COUNTERSIGNED:
        subject: Any = f"{tenant}: Thesmios countersigned the acceptance for {stage}"
        body: Any = (
            f"{row.operator_name} ({row.operator_role}) countersigned {record.signer_name}'s acceptance of {tenant} "
            f"for {stage}. Both signatures are recorded: the go/no-go decision is complete."
        )
    else:
        subject = f"{tenant}: Thesmios declined to countersign the acceptance for {stage}"
        body = (
            f"{row.operator_name} ({row.operator_role}) did not countersign {record.signer_name}'s acceptance "
            f"for {stage}. Their reason: {row.note} The launch stays on hold; once this is addressed, your buyer "
            "sponsor signs the acceptance again in the launch room."
        )
    return notify(
        recipients=anyone_of(buyer_sponsors(tenant), user_with_pk(tenant.commercial_owner_id)),
        kind=NotificationKind.COUNTERSIGN,
        tenant=tenant,
        event_key=f"countersign:{row.pk}",
        subject=subject,
        body=body,
        link=link_to(tenant, staff=f"/launch-room/{tenant.slug}/acceptance/{record.pk}/"),
    )
