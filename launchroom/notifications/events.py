"""The events people are told of, in plain words that say why and link to the place to act.

Each function names its recipients (docs/RULES.md section 11) and an event key that makes the event
told once per recipient, however often it is noticed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django_tasks import task

from core.history import system_task
from launchroom import catalog
from launchroom.catalog import Role
from launchroom.models import (
    AcceptanceDecision,
    AcceptanceRecord,
    Incident,
    LaunchStage,
    MembershipRole,
    NotificationKind,
    OrderForm,
    Stage,
    Tenant,
)
from launchroom.notifications.countersign_events import countersign_link
from launchroom.notifications.services import (
    BySide,
    Event,
    anyone_of,
    buyer_sponsors,
    link_to,
    notify,
    notify_many,
    staff_in_role,
    tenant_members,
    user_with_pk,
)
from launchroom.readiness.states import AWAITING_COUNTERSIGNATURE

REMINDER_DAYS = (7, 1)


def _operator_and_commercial(tenant: Tenant) -> QuerySet[Any]:
    return anyone_of(staff_in_role(Role.OPERATOR), user_with_pk(tenant.commercial_owner_id))


def acceptance_decided(record: AcceptanceRecord) -> int:
    """An acceptance was signed, deferred or rejected: tell the operators and the commercial owner."""
    tenant = record.tenant
    words = {
        AcceptanceDecision.ACCEPTED: "signed the acceptance",
        AcceptanceDecision.ACCEPTED_WITH_EXCLUSIONS: "signed the acceptance with exclusions",
        AcceptanceDecision.DEFERRED: "deferred the acceptance",
        AcceptanceDecision.REJECTED: "rejected the launch",
        AcceptanceDecision.SUPERSEDED: "withdrew the acceptance",
    }[AcceptanceDecision(record.decision)]
    stage = record.get_stage_display().lower()
    body = f"{record.signer_name} ({record.signer_role}) {words} of {tenant} for {stage}."
    if record.decision in (AcceptanceDecision.DEFERRED, AcceptanceDecision.REJECTED):
        why = "; ".join(record.residual_risks) or record.note
        body += f" Their reason: {why}"
    subject = f"{tenant}: the buyer {words}"
    staff_link = f"/launch-room/{tenant.slug}/acceptance/{record.pk}/"
    if record.countersign_required and record.decision in (
        AcceptanceDecision.ACCEPTED,
        AcceptanceDecision.ACCEPTED_WITH_EXCLUSIONS,
    ):
        # docs/RULES.md 5.9: the operators countersign it (or decline) before gate 9 is met.
        subject = f"{tenant}: ready to countersign (the buyer {words})"
        body += " An operator who did not record it countersigns it, or declines with a reason."
        staff_link = countersign_link(record.pk)
    return notify(
        recipients=_operator_and_commercial(tenant),
        kind=NotificationKind.ACCEPTANCE_DECIDED,
        tenant=tenant,
        event_key=f"acceptance:{record.pk}",
        subject=subject,
        body=body,
        link=link_to(tenant, staff=staff_link),
    )


def order_form_sent(order_form: OrderForm) -> int:
    """An order-form version was sent to the buyer: the buyer sponsor reviews it."""
    tenant = order_form.tenant
    return notify(
        recipients=buyer_sponsors(tenant),
        kind=NotificationKind.ORDER_FORM_SENT,
        tenant=tenant,
        event_key=f"order-form-sent:{order_form.pk}",
        subject=f"{tenant}: order form v{order_form.version} is ready for your review",
        body=(
            f"Thesmios sent you version {order_form.version} of the order form. Review the scope, then approve it "
            "or ask for changes in your launch room."
        ),
        link=link_to(tenant, room="order-form/"),
    )


def incident_changed(incident: Incident, *, resolved: bool) -> int:
    """An incident opened or was resolved: tell the tenant's members and the support owners in
    their inbox (the support service queues the status notice to the plan's status subscribers
    itself). Returns the inbox rows written."""
    tenant = incident.tenant
    state = "resolved" if resolved else "opened"
    body = f"Incident #{incident.pk} ({incident.get_severity_display()}) was {state}: {incident.summary}." + (
        f" Resolution: {incident.resolution}" if resolved and incident.resolution else ""
    )
    return notify(
        recipients=anyone_of(tenant_members(tenant), staff_in_role(Role.SUPPORT)),
        kind=NotificationKind.INCIDENT,
        tenant=tenant,
        event_key=f"incident-{state}:{incident.pk}",
        subject=f"{tenant}: incident {state}",
        body=body,
        link=link_to(tenant, room="#support", staff=f"/admin/launchroom/incident/{incident.pk}/change/"),
    )


@task()
@system_task
def reminder_sweep() -> int:
    """Tell each gate's owner role of evidence reaching its freshness limit in 7 and in 1 days."""
    return evidence_expiry_reminders(now=timezone.now())


def evidence_expiry_reminders(*, now: datetime) -> int:
    """Evidence that reaches its freshness limit within 7 days and within 1 day, told once per
    evidence and threshold to the members of the gate's deciding role: every reminder of a role
    in one insert, whatever the number of tenants."""
    from evidence.freshness import freshness_limit
    from launchroom.readiness.evaluation import evaluate
    from launchroom.readiness.selectors import load_tenants

    horizon = now + timedelta(days=max(REMINDER_DAYS))
    # Only tenants with evidence reaching its limit by the horizon: the stored row's valid
    # until is the earliest such moment (or has passed, or there is no row yet). The rest
    # are not loaded at all.
    active = Tenant.objects.exclude(stage=Stage.ENDED).filter(
        Q(readiness_row__isnull=True) | Q(readiness_row__valid_until__lte=horizon)
    )
    reminders: dict[Role, list[Event]] = {}
    for data in load_tenants(active, lean=True):
        readiness = evaluate(data, now=now)
        tenant = data.tenant
        link = link_to(tenant)
        for gate in readiness.gates:
            role = gate.gate.decided_by
            if role is None:
                continue
            for result in gate.requirements:
                attachment = result.attachment
                limit = freshness_limit(result.requirement)
                if attachment is None or limit is None or not result.met:
                    continue
                expires = attachment.captured_at + limit
                if not now < expires <= horizon:
                    continue
                threshold = min(d for d in REMINDER_DAYS if expires <= now + timedelta(days=d))
                left = expires - now
                when = f"in {left.days} day{'s' if left.days != 1 else ''}" if left.days else "within a day"
                reminders.setdefault(role, []).append(
                    Event(
                        kind=NotificationKind.EVIDENCE_EXPIRING,
                        tenant=tenant,
                        event_key=f"expiring-{threshold}d:{attachment.pk}",
                        subject=f"{tenant}: gate {gate.gate.number} evidence goes stale {when}",
                        body=(
                            f"The {result.requirement.label} evidence of gate {gate.gate.number} "
                            f"({gate.gate.title}) reaches its {limit.days}-day freshness limit on "
                            f"{expires:%Y-%m-%d %H:%M} UTC. Attach fresh output before then, or {tenant} "
                            "falls back to hold."
                        ),
                        link=link,
                    )
                )
    return sum(notify_many(recipients=staff_in_role(role), events=events) for role, events in reminders.items())


def _gate_words(changed: list[dict[str, Any]]) -> str:
    from core import status

    def now(after: str) -> str:
        return status.label(after).lower() if after else "not evaluated"

    return "; ".join(f"gate {g['number']} ({g['title']}) is now {now(g['after'])}" for g in changed)


def transition_happened(transition: Any, readiness: Any) -> int:
    """What a readiness transition tells whom (docs/RULES.md section 11): a fall from go to hold, a gate
    ready for review, a tenant ready to sign, billing terms changed after the fallback was
    accepted. ``readiness`` is the evaluation the transition came from (the stage bought)."""
    tenant = readiness.tenant
    told = 0
    changed = list(transition.gates_changed or [])
    # A tenant running a beta whose own decision fell (docs/RULES.md section 2); a tenant in setup
    # moving between go and hold while it is built is not a fall.
    running = transition.running_stage
    if running in LaunchStage.values and transition.running_before == "go" and transition.running_after == "hold":
        stage_label = LaunchStage(running).label.lower()
        words = _gate_words(changed)
        # One event, one insert: staff read the recorded cause, the buyer sponsor buyer words.
        told += notify(
            recipients=anyone_of(_operator_and_commercial(tenant), buyer_sponsors(tenant)),
            kind=NotificationKind.FELL_TO_HOLD,
            tenant=tenant,
            event_key=f"fell:{transition.pk}",
            subject=BySide(
                staff=f"{tenant} fell from go to hold for {stage_label}",
                customer=f"Your {stage_label} launch is on hold",
            ),
            body=BySide(
                staff=f"{tenant} is now on hold for {stage_label}. Cause: {transition.cause}. {words}.",
                customer=(
                    f"The launch of {tenant} for {stage_label} is on hold until this is put right: "
                    f"{words}. Your launch room says what is needed and who does it."
                ),
            ),
            link=link_to(tenant),
        )
    for gate in changed:
        if gate["after"] != "ready_for_review":
            continue
        role = catalog.gate(gate["key"]).decided_by
        if role is None:
            continue
        told += notify(
            recipients=staff_in_role(role),
            kind=NotificationKind.READY_FOR_REVIEW,
            tenant=tenant,
            event_key=f"review:{transition.pk}:{gate['key']}",
            subject=f"{tenant}: gate {gate['number']} is ready for your review",
            body=(
                f"Every requirement of gate {gate['number']} ({gate['title']}) is met for {tenant}. "
                f"As {role.value.lower()}, accept or reject it with the evidence in view."
            ),
            link=f"/admin/launchroom/tenant/{tenant.pk}/decide/?gate={gate['key']}",  # staff only
        )
    blocking = [g for g in readiness.gates if g.blocks]
    # A signature awaiting the operator's countersignature (docs/RULES.md 5.9) is signed already.
    awaiting = any(r.state == AWAITING_COUNTERSIGNATURE for g in blocking for r in g.requirements)
    if blocking and not awaiting and all(g.gate.key == "customer-acceptance" for g in blocking):
        stage_label = LaunchStage(readiness.stage).label.lower()
        told += notify(
            recipients=buyer_sponsors(tenant),
            kind=NotificationKind.READY_TO_SIGN,
            tenant=tenant,
            # Once per round of signing: per stage, signed order-form version and acceptance count.
            event_key=(
                f"ready-to-sign:{readiness.stage}:{getattr(readiness.data.signed_order_form, 'pk', 0)}:"
                f"{len(readiness.data.acceptances)}"
            ),
            subject=f"{tenant} is ready for your signature ({stage_label})",
            body=(
                f"Every other launch gate for {stage_label} is met. Review the readiness snapshot and sign the "
                "acceptance record, or defer it with your reasons."
            ),
            link=link_to(tenant, room="#acceptance"),
        )
    billing = next((g for g in changed if g["key"] == "billing-route"), None)
    if billing and billing["before"] == "accepted" and transition.cause.startswith("billing_profile_save"):
        told += notify(
            recipients=tenant_members(tenant, MembershipRole.BUYER_SPONSOR, MembershipRole.BUYER_FINANCE),
            kind=NotificationKind.BILLING_TERMS_CHANGED,
            tenant=tenant,
            event_key=f"billing-terms:{transition.pk}",
            subject=f"{tenant}: the billing terms changed; please accept them again",
            body=(
                "Thesmios changed the billing terms you accepted with the manual billing fallback. Review what "
                "changed in your launch room and accept the new terms; until then the launch cannot be a paid beta."
            ),
            link=link_to(tenant, room="#billing"),
        )
    return told
