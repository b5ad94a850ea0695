"""The launch room: where the buyer sees their launch and signs it (SPEC sections 5 and 6).

Each page loads its tenant once (``readiness.load``: five queries whatever the amount of
evidence or history) and evaluates it once; the template reads only what was loaded.
Staff land on the portfolio dashboard instead of the tenant list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from billing.services import billing_fallback_accept
from core.errors import NotPermitted, Refused
from evidence.models import EvidenceAttachment
from launchroom import catalog
from launchroom.acceptance.serializers import validation_errors
from launchroom.acceptance.services import AFFIRMATION, acceptance_sign
from launchroom.catalog import Effect
from launchroom.gates import dashboard
from launchroom.gates.readiness import (
    MET,
    NOT_APPLICABLE,
    GateResult,
    Readiness,
    RequirementResult,
    evaluate,
)
from launchroom.gates.selectors import TenantData, load, load_tenants
from launchroom.models import (
    AcceptanceDecision,
    Incident,
    LaunchStage,
    MembershipRole,
    Stage,
    StageChange,
    Tenant,
    TenantMembership,
)
from launchroom.room.forms import AcceptanceForm, BillingFallbackForm
from launchroom.tenants.access import client_address, tenant_for_user, tenants_for_user, user_agent

EVIDENCE_PAGE_SIZE = 25

REQUIREMENT_LABELS = {
    MET: "Met",
    NOT_APPLICABLE: "Not configured",
    "missing": "Missing",
    "stale": "Stale",
    "rejected": "Rejected",
}
EFFECT_WORDS = {
    Effect.HOLD: "Holds the launch until met",
    Effect.CAP: "Caps the launch at a no-charge private beta until met",
    Effect.CLAIMS: "Limits what may be claimed until met",
}
SIGNING_ROLES = {MembershipRole.BUYER_SPONSOR}
BILLING_ROLES = {MembershipRole.BUYER_SPONSOR, MembershipRole.BUYER_FINANCE}


# Index ----------------------------------------------------------------------------------


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """Staff: the portfolio. Customers: their tenants; with exactly one, straight to its room."""
    if request.user.is_staff:
        return dashboard.portfolio(request)
    memberships = list(
        TenantMembership.objects.filter(user=request.user).select_related("tenant").order_by("tenant__name")
    )
    if len(memberships) == 1:
        return redirect("launchroom:room", memberships[0].tenant.slug)
    rows = []
    if memberships:
        roles = {m.tenant_id: m.get_role_display() for m in memberships}
        for data in load_tenants(tenants_for_user(request.user).order_by("name")):
            readiness = evaluate(data)
            rows.append(
                {
                    "tenant": data.tenant,
                    "role": roles[data.tenant.pk],
                    "readiness": readiness,
                    "stage_label": LaunchStage(readiness.stage).label,
                }
            )
    return render(request, "launchroom/index.html", {"rows": rows})


# The room -------------------------------------------------------------------------------


@dataclass
class RequirementRow:
    result: RequirementResult
    older: int = 0

    @property
    def label(self) -> str:
        return self.result.requirement.label

    @property
    def state(self) -> str:
        return self.result.state

    @property
    def state_label(self) -> str:
        return REQUIREMENT_LABELS.get(self.result.state, self.result.state)

    @property
    def status_class(self) -> str:
        return "met" if self.result.state == MET else self.result.state

    @property
    def attachment(self) -> EvidenceAttachment | None:
        return self.result.attachment

    @property
    def evidence_name(self) -> str:
        return self.result.attachment.short_name if self.result.attachment else ""

    @property
    def action(self) -> str:
        return "" if self.result.met else self.result.requirement.action

    @property
    def is_attachment(self) -> bool:
        return self.result.requirement.kind == catalog.Kind.ATTACHMENT


@dataclass
class GateRow:
    result: GateResult
    requirements: list[RequirementRow]

    @property
    def gate(self) -> catalog.Gate:
        return self.result.gate

    @property
    def effect_words(self) -> str:
        return EFFECT_WORDS[self.result.effect]

    @property
    def reasons(self) -> list[str]:
        """What is still needed, each said once: two requirements can share a reason, or
        one can say more of the same ("no signed order form (v1 is draft)")."""
        unique = list(dict.fromkeys(self.result.reasons))
        return [r for r in unique if not any(o != r and o.startswith(r) for o in unique)]


@dataclass
class Event:
    when: datetime
    kind: str
    title: str
    detail: str = ""
    who: str = ""
    link: str = ""
    status: str = "neutral"
    status_label: str = ""
    extra: list[str] = field(default_factory=list)


def _person(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _gate_rows(readiness: Readiness) -> list[GateRow]:
    counts = {(a.gate_key, a.requirement_key): a.same_requirement for a in readiness.data.attachments}
    rows = []
    for result in readiness.gates:
        requirements = [
            RequirementRow(r, older=max(0, counts.get((result.gate.key, r.requirement.key), 0) - 1))
            for r in result.requirements
        ]
        rows.append(GateRow(result, requirements))
    return rows


def _timeline(data: TenantData, stage_changes: list[StageChange]) -> list[Event]:
    """Gate decisions, acceptance records, stage moves and order-form versions, newest first."""
    events: list[Event] = []
    superseded_by = data.superseded_by()
    for d in data.decisions:
        gate = catalog.GATES_BY_KEY.get(d.gate_key)
        title = f"Gate {gate.number}: {gate.title}" if gate else d.gate_key
        events.append(
            Event(
                d.decided_at,
                "Gate decision",
                title,
                d.note,
                _person(d.decided_by),
                status=d.decision,
                status_label=d.get_decision_display(),
            )
        )
    for r in data.acceptances:
        extra = []
        if r.on_written_approval:
            extra.append("Recorded by Thesmios staff on the buyer's written approval.")
        if r.pk in superseded_by:
            extra.append(f"Superseded by record {superseded_by[r.pk].pk}.")
        events.append(
            Event(
                r.signed_at,
                "Acceptance record",
                f"{LaunchStage(r.stage).label}: {r.get_decision_display()}",
                r.note,
                f"{r.signer_name}, {r.signer_role}",
                link=reverse("launchroom:certificate", args=[data.tenant.slug, r.pk]),
                status=_acceptance_status(r.decision),
                status_label=r.get_decision_display(),
                extra=extra,
            )
        )
    for s in stage_changes:
        events.append(
            Event(
                s.changed_at,
                "Stage move",
                f"{Stage(s.from_stage).label} → {Stage(s.to_stage).label}",
                s.reason,
                _person(s.changed_by),
            )
        )
    for o in data.order_forms:
        events.append(Event(o.created_at, "Order form", f"Version {o.version} drafted"))
        if o.signed_at:
            events.append(
                Event(
                    o.signed_at,
                    "Order form",
                    f"Version {o.version} signed",
                    f"Approval reference {o.approval_reference}",
                    o.signer_name,
                    status="accepted",
                    status_label="Signed",
                )
            )
    billing = data.billing
    if billing is not None and billing.fallback_accepted_at:
        events.append(
            Event(
                billing.fallback_accepted_at,
                "Billing",
                "Manual billing fallback accepted",
                who=billing.fallback_accepted_name,
                status="accepted",
                status_label="Accepted",
            )
        )
    events.sort(key=lambda e: e.when, reverse=True)
    return events


def _acceptance_status(decision: str) -> str:
    return {
        "accepted": "accepted",
        "accepted_with_exclusions": "accepted",
        "deferred": "stale",
        "rejected": "rejected",
        "superseded": "neutral",
    }.get(decision, "neutral")


def _buyer_actions(readiness: Readiness, role: str | None, can_accept_billing: bool) -> list[dict[str, str]]:
    """What the buyer can do now, in their words; the staff's next steps are listed apart."""
    actions = []
    billing_gate = readiness.gate("billing-route")
    fallback = next(r for r in billing_gate.requirements if r.requirement.key == "billing-fallback-accepted")
    if not fallback.met:
        if can_accept_billing:
            actions.append({"text": "Accept the manual billing fallback for the billing terms.", "anchor": "billing"})
        elif readiness.data.billing is not None and not readiness.data.billing.missing_terms():
            actions.append(
                {
                    "text": "Your buyer sponsor or buyer finance accepts the manual billing fallback.",
                    "anchor": "billing",
                }
            )
    acceptance = readiness.gate("customer-acceptance")
    if not acceptance.met:
        others_block = any(g.blocks for g in readiness.gates if g.gate.key != "customer-acceptance")
        who = "You sign" if role in SIGNING_ROLES else "Your buyer sponsor signs"
        if others_block:
            text = (
                f"{who} the acceptance record once the gates above are met. Deferring or rejecting, with a reason, "
                "can be recorded at any time."
            )
        else:
            text = f"Every other gate is met: {who.lower()} the acceptance record for this stage."
        actions.append({"text": text, "anchor": "acceptance"})
    return actions


def _acceptance_initial(readiness: Readiness) -> dict[str, Any]:
    order_form = readiness.data.signed_order_form
    current = readiness.data.current_acceptance(readiness.stage)
    return {
        "stage": readiness.stage,
        "snapshot_sha256": readiness.acceptance_snapshot_sha256(),
        "approval_reference": order_form.approval_reference if order_form else "",
        "exclusions": "\n".join(readiness.do_not_claim),
        "residual_risks": "\n".join(current.residual_risks) if current else "",
    }


def _room_context(
    request: HttpRequest,
    tenant: Tenant,
    role: str | None,
    *,
    acceptance_form: AcceptanceForm | None = None,
    refusals: list[str] | None = None,
) -> dict[str, Any]:
    data = load(tenant, with_output=False)
    readiness = evaluate(data)
    tenant = data.tenant
    stage = readiness.stage
    current = data.current_acceptance(stage)
    stage_changes = list(StageChange.objects.filter(tenant=tenant).select_related("changed_by"))
    incidents = list(Incident.objects.filter(tenant=tenant, resolved_at__isnull=True).order_by("-opened_at", "-id"))
    can_sign = role in SIGNING_ROLES
    if acceptance_form is None:
        can_withdraw = current is not None and current.decision != AcceptanceDecision.SUPERSEDED
        acceptance_form = AcceptanceForm(
            initial=_acceptance_initial(readiness), disabled=not can_sign, can_withdraw=can_withdraw
        )
    acceptance_form.offer_withdraw(current is not None and current.decision != AcceptanceDecision.SUPERSEDED)
    billing = data.billing
    can_accept_billing = (
        role in BILLING_ROLES and billing is not None and not billing.fallback_accepted and not billing.missing_terms()
    )
    gates = _gate_rows(readiness)
    met = sum(1 for g in readiness.gates if g.met)
    superseded_by = data.superseded_by()
    return {
        "tenant": tenant,
        "role": role,
        "role_label": MembershipRole(role).label if role else "Thesmios staff",
        "is_staff_view": request.user.is_staff,
        "readiness": readiness,
        "stage_label": LaunchStage(stage).label,
        "gates": gates,
        "gates_met": met,
        "gates_total": len(readiness.gates),
        "blocking": [g for g in gates if g.result.blocks],
        "buyer_actions": _buyer_actions(readiness, role, can_accept_billing),
        "other_actions": {owner: items for owner, items in readiness.next_actions.items() if owner != catalog.BUYER},
        "evidence_total": data.evidence_total,
        "order_form": data.signed_order_form or data.latest_order_form,
        "latest_order_form": data.latest_order_form,
        "billing": billing,
        "can_accept_billing": can_accept_billing,
        "billing_form": BillingFallbackForm(initial={"name": _person(request.user)}) if can_accept_billing else None,
        "support": data.support,
        "incidents": incidents,
        "current_acceptance": current,
        "acceptances": [
            {"record": r, "superseded_by": superseded_by.get(r.pk)} for r in data.acceptances if r.stage == stage
        ],
        "other_stage_acceptances": [
            {"record": r, "superseded_by": superseded_by.get(r.pk)} for r in data.acceptances if r.stage != stage
        ],
        "can_sign": can_sign,
        "acceptance_form": acceptance_form,
        "refusals": refusals or [],
        "snapshot_sha256": readiness.acceptance_snapshot_sha256(),
        "snapshot": readiness.acceptance_snapshot(),
        "signed_order_form": data.signed_order_form,
        "awaiting_stage_move": readiness.is_go and tenant.stage != stage,
        # A tenant running one beta while buying the other (initech): say how its current stage stands too.
        "current_stage_readiness": evaluate(data, tenant.stage)
        if tenant.stage in LaunchStage.values and tenant.stage != stage
        else None,
        "timeline": _timeline(data, stage_changes),
        "affirmation": AFFIRMATION,
    }


@never_cache
@login_required
@require_GET
def room(request: HttpRequest, slug: str) -> HttpResponse:
    tenant, role = tenant_for_user(request.user, slug)
    return render(request, "launchroom/room.html", _room_context(request, tenant, role))


@login_required
@require_POST
def sign(request: HttpRequest, slug: str) -> HttpResponse:
    """The buyer sponsor signs the acceptance record; refusals are shown on the form."""
    tenant, role = tenant_for_user(request.user, slug)
    if role not in SIGNING_ROLES:
        raise PermissionDenied("Only the buyer sponsor signs the acceptance record.")
    form = AcceptanceForm(request.POST)
    refusals: list[str] = []
    status = 400
    if form.is_valid():
        stage = form.cleaned_data["stage"]
        readiness = evaluate(load(tenant, with_output=False), stage)
        current_sha = readiness.acceptance_snapshot_sha256()
        if form.cleaned_data["snapshot_sha256"] != current_sha:
            # The buyer must sign what they saw: show them the new state and let them sign again.
            refreshed = request.POST.copy()
            refreshed["snapshot_sha256"] = current_sha
            form = AcceptanceForm(refreshed)
            form.is_valid()
            refusals = ["The readiness changed while this page was open. Review it below, then sign again."]
            status = 409
        else:
            try:
                record = acceptance_sign(
                    tenant=tenant,
                    stage=stage,
                    decision=form.cleaned_data["decision"],
                    signer_name=form.cleaned_data["signer_name"],
                    signer_role=form.cleaned_data["signer_role"],
                    recorded_by=request.user,
                    exclusions=form.cleaned_data["exclusions"],
                    residual_risks=form.cleaned_data["residual_risks"],
                    approval_reference=form.cleaned_data["approval_reference"],
                    note=form.cleaned_data["note"],
                    affirmation=AFFIRMATION,
                    client_address=client_address(request),
                    user_agent=user_agent(request),
                )
            except NotPermitted as exc:
                raise PermissionDenied(str(exc)) from None
            except Refused as exc:
                refusals = exc.reasons
                status = 409
            except ValidationError as exc:
                for name, errors in validation_errors(exc).items():
                    for error in errors:
                        form.add_error(name if name in form.fields else None, error)
            else:
                messages.success(request, f"Signed: {record.get_decision_display()} for {record.get_stage_display()}.")
                # An explicit fragment, or the browser would carry "#sign-form" over the redirect.
                return redirect(reverse("launchroom:certificate", args=[tenant.slug, record.pk]) + "#certificate")
    context = _room_context(request, tenant, role, acceptance_form=form, refusals=refusals)
    return render(request, "launchroom/room.html", context, status=status)


@login_required
@require_POST
def billing_fallback(request: HttpRequest, slug: str) -> HttpResponse:
    """The buyer sponsor or buyer finance accepts the manual billing fallback (gate 4)."""
    tenant, role = tenant_for_user(request.user, slug)
    if role not in BILLING_ROLES:
        raise PermissionDenied("Only the buyer sponsor or buyer finance accepts the manual billing fallback.")
    room_url = reverse("launchroom:room", args=[tenant.slug]) + "#billing"
    profile = getattr(tenant, "billing_profile", None)
    form = BillingFallbackForm(request.POST)
    if profile is None:
        messages.error(request, "There is no billing profile yet: the Thesmios finance owner sets it up first.")
    elif not form.is_valid():
        messages.error(request, "Type your full name and tick the box to accept the manual billing fallback.")
    else:
        try:
            billing_fallback_accept(profile=profile, by=request.user, name=form.cleaned_data["name"])
        except NotPermitted as exc:
            raise PermissionDenied(str(exc)) from None
        except Refused as exc:
            messages.error(request, " ".join(exc.reasons))
        else:
            messages.success(request, "You accepted the manual billing fallback for the billing terms shown.")
    return redirect(room_url)


# Evidence -------------------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def evidence(request: HttpRequest, slug: str) -> HttpResponse:
    """Every attachment of the tenant, newest first, a page at a time."""
    tenant, _role = tenant_for_user(request.user, slug)
    attachments = (
        EvidenceAttachment.objects.filter(tenant=tenant)
        .defer("output")
        .select_related("uploaded_by")
        .order_by("-captured_at", "-id")
    )
    page = Paginator(attachments, EVIDENCE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for attachment in page.object_list:
        gate = catalog.GATES_BY_KEY.get(attachment.gate_key)
        try:
            requirement = catalog.requirement(attachment.gate_key, attachment.requirement_key).label
        except KeyError:
            requirement = attachment.requirement_key
        rows.append(
            {
                "attachment": attachment,
                "name": attachment.short_name,
                "gate": gate,
                "requirement": requirement,
                "by": attachment.produced_by_command or _person(attachment.uploaded_by),
            }
        )
    return render(request, "launchroom/evidence.html", {"tenant": tenant, "page": page, "rows": rows})


# Certificates ---------------------------------------------------------------------------
