"""What status subscribers read: the status notice of a tenant's support plan.

One message per subscriber (subscribers never see each other's addresses), rendered the same
for the broadcast dry run, the controlled send and the notice queued when an incident opens
or is resolved.
"""

from __future__ import annotations

from django.core.mail import EmailMessage

from launchroom.mail.services import email_enqueue_many, email_subject
from launchroom.models import EmailKind, Incident, SupportPlan


def _render(plan: SupportPlan, incident: Incident | None, subscriber: str) -> EmailMessage:
    tenant = plan.tenant
    if incident is not None:
        state = "Resolved" if incident.resolved_at else "Investigating"
        subject = f"[{tenant.name}] {state}: {incident.summary}"
        lines = [
            f"Status update for {tenant.name}.",
            "",
            f"Severity: {incident.get_severity_display()}",
            f"Opened: {incident.opened_at:%Y-%m-%d %H:%M} UTC",
            f"Status: {state}",
            "",
            f"What you may see: {incident.customer_impact}",
        ]
        if incident.resolved_at:
            lines += ["", f"Resolved {incident.resolved_at:%Y-%m-%d %H:%M} UTC: {incident.resolution}"]
    else:
        subject = f"[{tenant.name}] Status broadcast test"
        lines = [
            f"This is a test of the status broadcast for {tenant.name}'s managed beta.",
            "No incident is open. You receive this because you are a status subscriber.",
        ]
    owner = plan.support_owner_name or (plan.support_owner.get_full_name() if plan.support_owner else "")
    if plan.support_owner_email:
        owner = f"{owner} <{plan.support_owner_email}>".strip()
    lines += [
        "",
        "Support continues by hand during the managed beta:",
        f"  Support owner: {owner or 'not named yet'}",
        f"  Incident channel: {plan.manual_incident_channel}",
        f"  Escalation: {plan.escalation_route}",
    ]
    # One message per subscriber: subscribers never see each other's addresses.
    return EmailMessage(subject=email_subject(subject), body="\n".join(lines) + "\n", to=[subscriber])


def render_broadcast(plan: SupportPlan, incident: Incident | None = None) -> list[EmailMessage]:
    """The messages a broadcast would send: one per status subscriber, each address once (also
    the admin's preview)."""
    addresses = {address.lower(): address for address in reversed(plan.subscribers)}
    return [_render(plan, incident, address) for address in reversed(addresses.values())]


def tell_status_subscribers(incident: Incident) -> int:
    """Queue the incident's status notice (investigating, or resolved) to each status
    subscriber of its tenant's support plan, once per address, in one insert; the worker sends
    them after commit. Returns how many were queued."""
    plan = SupportPlan.objects.select_related("tenant", "support_owner").filter(tenant_id=incident.tenant_id).first()
    if plan is None:
        return 0
    messages = render_broadcast(plan, incident)
    queued = email_enqueue_many(
        messages=[(m.to[0], str(m.subject), str(m.body)) for m in messages],
        kind=EmailKind.BROADCAST,
        tenant=plan.tenant,
    )
    return len(queued)
