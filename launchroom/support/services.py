"""The support owner's fallback (gate 7): support plans, incidents, manual notices, status broadcasts.

Only the Support owner group runs these. A status broadcast renders one e-mail per
status subscriber (``launchroom.support.notices``). A *dry run* sends nothing: it hands its
messages to no e-mail backend, not even the console or file one, and shows them in its
result. A *controlled send* delivers, and needs both a delivering backend (``EMAIL_URL``) and
an explicit ``send=True`` (the admin's "really send" checkbox). Either way the rendered
messages are stored as gate 7 evidence, produced by the command. Opening or resolving an
incident tells its people (``launchroom.notifications.events.incident_changed``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from core import hooks
from core.errors import NotPermitted, Refused
from core.history import records_actor
from core.types import User
from evidence.models import EvidenceAttachment
from evidence.services import evidence_attach
from launchroom.catalog import Role
from launchroom.mail.services import email_enqueue_many
from launchroom.models import EmailKind, Incident, IncidentNotice, Severity, SupportPlan, Tenant
from launchroom.notifications.events import incident_changed
from launchroom.support.notices import render_broadcast, tell_status_subscribers
from launchroom.tenants.locking import lock_tenant
from launchroom.tenants.services import has_role
from launchroom.tenants.throttling import email_throttle

GATE = "support-fallback"
DRY_RUN_REQUIREMENT = "broadcast-dry-run"
SEND_REQUIREMENT = "controlled-send"
DRY_RUN_COMMAND = "status_broadcast_dry_run"
SEND_COMMAND = "status_broadcast_send"

# Backends that never deliver mail: a dry-run may go through them.
NON_DELIVERING_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
    }
)
CLOCK_SKEW = timedelta(minutes=5)
# What a dry run's evidence names as its backend: it handed its messages to none.
NOT_SENT = "none (dry run: rendered, handed to no e-mail backend)"

PLAN_FIELDS = (
    "support_owner",
    "support_owner_name",
    "support_owner_email",
    "escalation_route",
    "manual_incident_channel",
    "manual_notice_process",
    "status_subscribers",
    "notes",
)


def invalid_subscribers(text: str) -> list[str]:
    """The lines of a status-subscriber list that are not e-mail addresses."""
    bad = []
    for line in text.splitlines():
        address = line.strip()
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    return bad


def check_plan_fields(*, status_subscribers: str) -> None:
    """The field rules of a support plan beyond its model's (raises a field-keyed ``ValidationError``)."""
    bad = invalid_subscribers(status_subscribers)
    if bad:
        raise ValidationError({"status_subscribers": f"Not an e-mail address: {', '.join(bad)}."})


def _require_support(by: User, what: str) -> None:
    if not has_role(by, Role.SUPPORT):
        raise NotPermitted(f"Only the support owner {what}.")


def delivering_backend_configured() -> bool:
    return settings.EMAIL_BACKEND not in NON_DELIVERING_BACKENDS


# Support plans ------------------------------------------------------------------------------


@hooks.changes_launch_room
@records_actor()
def support_plan_save(*, tenant: Tenant, by: User, **fields: Any) -> SupportPlan:
    """Create or change a tenant's support plan (gate 7's records)."""
    _require_support(by, "changes a support plan")
    unknown = set(fields) - set(PLAN_FIELDS)
    if unknown:
        raise ValidationError({name: "Not a support-plan field." for name in sorted(unknown)})
    with transaction.atomic():
        lock_tenant(tenant)
        plan = SupportPlan.objects.select_for_update().filter(tenant=tenant).first() or SupportPlan(tenant=tenant)
        for name, value in fields.items():
            setattr(plan, name, value)
        plan.full_clean()
        check_plan_fields(status_subscribers=plan.status_subscribers)
        plan.save()
        hooks.readiness_may_change(tenant_id=tenant.pk, cause="support_plan_save: support plan saved", actor=by)
        return plan


# Incidents ----------------------------------------------------------------------------------


@hooks.changes_launch_room
@records_actor()
def incident_open(*, tenant: Tenant, severity: str, summary: str, customer_impact: str, by: User) -> Incident:
    """Open an incident for a tenant."""
    _require_support(by, "opens an incident")
    errors = {}
    if severity not in Severity.values:
        errors["severity"] = f"Choose one of {', '.join(Severity.values)}."
    if not summary.strip():
        errors["summary"] = "Summarise the incident."
    if not customer_impact.strip():
        errors["customer_impact"] = "Say what the customer sees."
    if errors:
        raise ValidationError(errors)
    incident = Incident(
        tenant=tenant,
        opened_at=timezone.now(),
        opened_by=by,
        severity=severity,
        summary=summary.strip(),
        customer_impact=customer_impact.strip(),
    )
    incident.full_clean()
    with transaction.atomic():
        incident.save()
        tell_status_subscribers(incident)
        hooks.room_may_change(tenant_id=incident.tenant_id)
        incident_changed(incident, resolved=False)
    return incident


def incident_notice_errors(*, recipient: str, channel: str, sent_at: datetime | None, text: str) -> dict[str, str]:
    """Why a notice cannot be recorded, by field: the rule ``incident_notice_add`` applies,
    which the admin's notice form also shows as form errors before anything is saved."""
    errors = {}
    for name, value in (("recipient", recipient), ("channel", channel), ("text", text)):
        if not (value or "").strip():
            errors[name] = "This is required."
    # A notice may predate the incident's record: support tells the customer first and
    # records afterwards. Only a time in the future is certainly wrong.
    if sent_at is None:
        errors["sent_at"] = "Say when the notice was sent."
    elif sent_at > timezone.now() + CLOCK_SKEW:
        errors["sent_at"] = "A notice cannot be recorded as sent in the future."
    return errors


@records_actor()
def incident_notice_add(
    *, incident: Incident, recipient: str, channel: str, sent_at: datetime, text: str, by: User
) -> IncidentNotice:
    """Record one manual notice: who was told, how, when, and what."""
    _require_support(by, "records incident notices")
    errors = incident_notice_errors(recipient=recipient, channel=channel, sent_at=sent_at, text=text)
    if errors:
        raise ValidationError(errors)
    notice = IncidentNotice(
        incident=incident,
        recipient=recipient.strip(),
        channel=channel.strip(),
        sent_at=sent_at,
        text=text.strip(),
        recorded_by=by,
    )
    notice.full_clean()
    with transaction.atomic():
        notice.save()
    return notice


@hooks.changes_launch_room
@records_actor()
def incident_resolve(*, incident: Incident, resolution: str, by: User) -> Incident:
    """Resolve an open incident, saying how."""
    _require_support(by, "resolves an incident")
    if not resolution.strip():
        raise ValidationError({"resolution": "Say how the incident was resolved."})
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.resolved_at is not None:
            raise Refused(f"This incident was already resolved at {locked.resolved_at:%Y-%m-%d %H:%M} UTC.")
        locked.resolved_at = max(timezone.now(), locked.opened_at)
        locked.resolution = resolution.strip()
        locked.full_clean()
        locked.save()
        tell_status_subscribers(locked)
        hooks.room_may_change(tenant_id=locked.tenant_id)
        incident_changed(locked, resolved=True)
        return locked


# Status broadcasts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Broadcast:
    """What a status broadcast did: the messages it rendered and the evidence it stored."""

    sent: bool
    backend: str
    recipients: list[str]
    attachment: EvidenceAttachment
    output: str
    messages: list[EmailMessage]


@hooks.changes_launch_room
@records_actor()
def status_broadcast_dry_run(
    *, tenant: Tenant, by: User, incident: Incident | None = None, send: bool = False
) -> Broadcast:
    """Render the status notice to every subscriber of the tenant's support plan.

    With ``send=False`` (the default) nothing is sent, through no e-mail backend: the
    messages are in the result (``messages``, ``output``) and stored as
    ``support-fallback/broadcast-dry-run`` evidence. With ``send=True``, and only when a
    delivering e-mail backend is configured and the tenant's record says the controlled
    send is configured, the messages are delivered and stored as
    ``support-fallback/controlled-send`` evidence.
    """
    _require_support(by, "runs a status broadcast")
    plan = SupportPlan.objects.select_related("tenant", "support_owner").filter(tenant=tenant).first()
    if plan is None:
        raise Refused(f"{tenant} has no support plan: add one with its status subscribers first.")
    if incident is not None and incident.tenant_id != tenant.pk:
        raise Refused("That incident belongs to another tenant.")
    recipients = plan.subscribers
    if not recipients:
        raise Refused(f"{tenant}'s support plan has no status subscribers.")
    messages = render_broadcast(plan, incident)
    recipients = [m.to[0] for m in messages]  # each address once
    if send:
        reasons = []
        if not delivering_backend_configured():
            reasons.append(
                f"The e-mail backend ({settings.EMAIL_BACKEND.rsplit('.', 2)[-2]}) does not deliver: configure "
                "EMAIL_URL for a real provider before a controlled send."
            )
        if not tenant.controlled_send_configured:
            reasons.append(f"{tenant}'s record does not say the controlled send is configured.")
        if reasons:
            raise Refused(reasons)

    # A dry run hands its messages to no e-mail backend at all: not even the console or file
    # backend, whose output lands beside real mail (var/mail under make run). It shows them
    # in its result and stores them as evidence. The controlled send is queued like every
    # e-mail: the worker delivers it after commit.
    backend = settings.EMAIL_BACKEND if send else NOT_SENT

    now = timezone.now()
    command = SEND_COMMAND if send else DRY_RUN_COMMAND
    rendered = [
        {"to": m.to, "from": m.from_email, "subject": m.subject, "body": m.body, "message": m.message().as_string()}
        for m in messages
    ]
    output = {
        "command": command,
        "tenant": tenant.slug,
        "incident": None if incident is None else {"id": incident.pk, "summary": incident.summary},
        "sent": send,
        "backend": backend,
        "rendered_at": now.isoformat(),
        "run_by": by.get_username(),
        "subscribers": recipients,
        "messages": rendered,
    }
    data = json.dumps(output, indent=2, ensure_ascii=False).encode()
    text = "\n\n".join(f"To: {m['to'][0]}\nSubject: {m['subject']}\n\n{m['body']}" for m in rendered)
    with transaction.atomic():
        if incident is not None and not send:
            locked = Incident.objects.select_for_update().get(pk=incident.pk)
            locked.broadcast_dry_run_output = text
            locked.save(update_fields=["broadcast_dry_run_output"])
        if send:
            # A controlled send can be repeated at will: each subscriber is counted as an
            # invitation's recipient is (the first refusal rolls the whole send back).
            for to in recipients:
                email_throttle(scope="broadcast", email=to, request=None)
            email_enqueue_many(
                messages=[(m.to[0], str(m.subject), str(m.body)) for m in messages],
                kind=EmailKind.BROADCAST,
                tenant=tenant,
            )
        # Last in the transaction: a rollback after it returns could not remove the stored file.
        attachment = evidence_attach(
            tenant=tenant,
            gate_key=GATE,
            requirement_key=SEND_REQUIREMENT if send else DRY_RUN_REQUIREMENT,
            by=by,
            file=SimpleUploadedFile(
                f"{command.replace('_', '-')}-{tenant.slug}-{now:%Y%m%dT%H%M%SZ}.json", data, "application/json"
            ),
            captured_at=now,
            produced_by_command=command,
            note=f"{len(messages)} message(s) {'queued for delivery' if send else 'rendered, not sent'}"
            + (f" for incident #{incident.pk}" if incident else ""),
        )
    return Broadcast(
        sent=send, backend=backend, recipients=recipients, attachment=attachment, output=text, messages=messages
    )
