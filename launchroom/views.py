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
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from billing.services import billing_fallback_accept
from evidence.models import EvidenceAttachment
from launchroom import catalog, dashboard
from launchroom.access import client_address, tenant_for_user, tenants_for_user, user_agent
from launchroom.api import acceptance_json, validation_errors
from launchroom.catalog import Effect
from launchroom.forms import AcceptanceForm, BillingFallbackForm
from launchroom.models import (
    AcceptanceDecision,
    AcceptanceRecord,
    DecisionLogEntry,
    Incident,
    LaunchStage,
    MembershipRole,
    Stage,
    StageChange,
    Tenant,
    TenantMembership,
)
from launchroom.readiness import (
    MET,
    NOT_APPLICABLE,
    STATUS_LABELS,
    GateResult,
    Readiness,
    RequirementResult,
    TenantData,
    evaluate,
    load,
    load_tenants,
)
from launchroom.services import AFFIRMATION, NotPermitted, Refused, acceptance_sign

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
        return evidence_name(self.result.attachment) if self.result.attachment else ""

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


def evidence_name(attachment: EvidenceAttachment) -> str:
    """A name for an attachment that never needs its (deferred) pasted output."""
    if attachment.file:
        return attachment.original_name or "file"
    if attachment.url:
        return attachment.url
    return "Pasted output"


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
                "name": evidence_name(attachment),
                "gate": gate,
                "requirement": requirement,
                "by": attachment.produced_by_command or _person(attachment.uploaded_by),
            }
        )
    return render(request, "launchroom/evidence.html", {"tenant": tenant, "page": page, "rows": rows})


# Certificates ---------------------------------------------------------------------------


def snapshot_changes(signed: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs, in plain words, between the snapshot a buyer signed and today's."""
    changes: list[str] = []
    if not signed:
        return ["The signed snapshot is not stored with this record."]
    before_of, after_of = signed.get("order_form") or {}, now.get("order_form") or {}
    if before_of.get("id") != after_of.get("id"):
        before = f"v{before_of['version']} ({before_of['approval_reference']})" if before_of else "none"
        after = f"v{after_of['version']} ({after_of['approval_reference']})" if after_of else "none"
        changes.append(f"Signed order form: {before} then, {after} now.")
    before_gates = {g["key"]: g for g in signed.get("gates", [])}
    for gate in now.get("gates", []):
        old = before_gates.get(gate["key"])
        if old is not None and old["status"] != gate["status"]:
            changes.append(
                f"Gate {gate['number']} ({gate['title']}): {old['status'].replace('_', ' ')} then, "
                f"{gate['status'].replace('_', ' ')} now."
            )
    before_claims, after_claims = set(signed.get("do_not_claim", [])), set(now.get("do_not_claim", []))
    for claim in sorted(after_claims - before_claims):
        changes.append(f'New in do-not-claim: "{claim}".')
    for claim in sorted(before_claims - after_claims):
        changes.append(f'No longer in do-not-claim: "{claim}".')
    before_ev = {e["id"]: e["sha256"] for e in signed.get("evidence", [])}
    after_ev = {e["id"]: e["sha256"] for e in now.get("evidence", [])}
    replaced = len(set(before_ev) - set(after_ev))
    added = len(set(after_ev) - set(before_ev))
    if replaced or added:
        changes.append(f"Evidence: {replaced} item(s) the signer saw were replaced; {added} new item(s).")
    if not changes:
        changes.append("Details of the readiness changed (a gate's reasons), though no gate changed status.")
    return changes


def _certificate_data(request: HttpRequest, slug: str, pk: int) -> dict[str, Any]:
    tenant, role = tenant_for_user(request.user, slug)
    record = get_object_or_404(
        AcceptanceRecord.objects.select_related("recorded_by", "order_form"), tenant=tenant, pk=pk
    )
    data = load(tenant, with_output=False)
    readiness = evaluate(data, record.stage)
    now_snapshot = readiness.acceptance_snapshot()
    current_sha = readiness.acceptance_snapshot_sha256()
    superseded = data.superseded_by().get(record.pk)
    matches = current_sha == record.snapshot_sha256
    log_entry = DecisionLogEntry.objects.filter(tenant=tenant, kind="acceptance_record", object_id=record.pk).first()
    by_id = {a.pk: a for a in data.attachments}
    # The record may rest on attachments that newer ones have replaced since.
    older = {ref.get("id") for ref in record.evidence_references} - set(by_id)
    if older:
        by_id.update(EvidenceAttachment.objects.defer("output").in_bulk(older))
    evidence_rows = []
    for ref in record.evidence_references:
        attachment = by_id.get(ref.get("id"))
        gate = catalog.GATES_BY_KEY.get(attachment.gate_key) if attachment else None
        label = ""
        if attachment is not None and gate is not None:
            try:
                label = gate.requirement(attachment.requirement_key).label
            except KeyError:
                label = attachment.requirement_key
        evidence_rows.append(
            {
                "id": ref.get("id"),
                "sha256": ref.get("sha256", ""),
                "gate": gate,
                "requirement": label,
                "name": evidence_name(attachment) if attachment else "",
            }
        )
    return {
        "evidence_rows": evidence_rows,
        "tenant": data.tenant,
        "role": role,
        "record": record,
        "superseded_by": superseded,
        "is_current": superseded is None,
        "current_sha256": current_sha,
        "matches": matches,
        "changes": [] if matches else snapshot_changes(record.snapshot, now_snapshot),
        "log_entry": log_entry,
        "readiness": readiness,
    }


@never_cache
@login_required
@require_GET
def certificate(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The printable acceptance certificate; it recomputes the snapshot and says if it still holds."""
    context = _certificate_data(request, slug, pk)
    record = context["record"]
    context["stage_label"] = LaunchStage(record.stage).label
    context["signed_gates"] = [
        {**gate, "status_label": STATUS_LABELS.get(gate.get("status", ""), gate.get("status", ""))}
        for gate in (record.snapshot or {}).get("gates", [])
    ]
    return render(request, "launchroom/certificate.html", context)


@never_cache
@login_required
@require_GET
def certificate_json(request: HttpRequest, slug: str, pk: int) -> JsonResponse:
    """The certificate's JSON twin."""
    context = _certificate_data(request, slug, pk)
    record = context["record"]
    superseded = context["superseded_by"]
    body = acceptance_json(
        record, tenant_slug=context["tenant"].slug, superseded_by=superseded.pk if superseded else None
    )
    log_entry = context["log_entry"]
    body.update(
        {
            "snapshot": record.snapshot,
            "current_snapshot_sha256": context["current_sha256"],
            "snapshot_matches": context["matches"],
            "changes": context["changes"],
            "decision_log": {"seq": log_entry.seq, "entry_hash": log_entry.entry_hash} if log_entry else None,
        }
    )
    return JsonResponse(body, json_dumps_params={"indent": 2})
