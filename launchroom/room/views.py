"""The launch room: where the buyer sees their launch and signs it (docs/RULES.md sections 5 and 6).

Each page loads its tenant once (``readiness.load``: five queries whatever the amount of
evidence or history) and evaluates it once; the template reads only what was loaded.
Staff land on the portfolio dashboard instead of the tenant list.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from billing.services import billing_fallback_accept, check_fallback_acceptor
from core.admin import add_service_errors
from core.errors import NotPermitted, Refused
from core.events import refusals_logged
from core.types import AuthenticatedHttpRequest
from launchroom import catalog
from launchroom.acceptance.changes import snapshot_changes
from launchroom.acceptance.services import (
    AFFIRMATION,
    AcceptanceRefused,
    SnapshotChanged,
    acceptance_sign,
    check_signer,
    may_sign,
)
from launchroom.models import (
    AcceptanceDecision,
    Incident,
    LaunchStage,
    MembershipRole,
    StageChange,
    Tenant,
)
from launchroom.notifications.services import visible_to
from launchroom.portfolio import views as dashboard
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.selectors import TenantData, load, load_tenants
from launchroom.room import cache as room_cache
from launchroom.room import transitions
from launchroom.room.forms import AcceptanceForm, BillingFallbackForm
from launchroom.room.presenters import (
    acceptance_initial,
    buyer_actions,
    gate_rows,
    person,
    timeline,
)
from launchroom.tenants.access import FALLBACK_ROLES, client_address, role_of, tenant_for_user, user_agent

# Index ----------------------------------------------------------------------------------


@never_cache
@login_required
def index(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Staff: the portfolio. Customers: their tenants; with exactly one, straight to its room."""
    if request.user.is_staff:
        return dashboard.portfolio(request)
    tenants = Tenant.objects.restrict(request.user).with_role(request.user).order_by("name")
    slugs = list(tenants.values_list("slug", flat=True))
    if len(slugs) == 1:
        return redirect("launchroom:room", slugs[0])
    rows = []
    if slugs:
        for data in load_tenants(tenants):
            readiness = evaluate(data)
            role = role_of(data.tenant)
            rows.append(
                {
                    "tenant": data.tenant,
                    "role": MembershipRole(role).label if role else "",
                    "readiness": readiness,
                    "stage_label": LaunchStage(readiness.stage).label,
                }
            )
    return render(request, "launchroom/index.html", {"rows": rows})


# The room -------------------------------------------------------------------------------


def _room_context(
    request: AuthenticatedHttpRequest,
    tenant: Tenant,
    role: str | None,
    *,
    acceptance_form: AcceptanceForm | None = None,
    refusals: list[str] | None = None,
    data: TenantData | None = None,
) -> dict[str, Any]:
    if data is None:
        data = load(tenant, with_output=False)
    readiness = evaluate(data)
    tenant = data.tenant
    stage = readiness.stage
    current = data.current_acceptance(stage)
    stage_changes = list(StageChange.objects.filter(tenant=tenant).select_related("changed_by"))
    incidents = list(Incident.objects.filter(tenant=tenant, resolved_at__isnull=True).order_by("-opened_at", "-id"))
    can_sign = may_sign(user=request.user, role=role)
    if acceptance_form is None:
        can_withdraw = current is not None and current.decision != AcceptanceDecision.SUPERSEDED
        acceptance_form = AcceptanceForm(
            initial=acceptance_initial(readiness), disabled=not can_sign, can_withdraw=can_withdraw
        )
    acceptance_form.offer_withdraw(current is not None and current.decision != AcceptanceDecision.SUPERSEDED)
    billing = data.billing
    can_accept_billing = (
        role in FALLBACK_ROLES and billing is not None and not billing.fallback_accepted and not billing.missing_terms()
    )
    gates = gate_rows(readiness)
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
        "buyer_actions": buyer_actions(readiness, can_sign=can_sign, can_accept_billing=can_accept_billing),
        "other_actions": {owner: items for owner, items in readiness.next_actions.items() if owner != catalog.BUYER},
        "evidence_total": data.evidence_total,
        "order_form": data.signed_order_form or data.latest_order_form,
        "latest_order_form": data.latest_order_form,
        "billing": billing,
        "can_accept_billing": can_accept_billing,
        "billing_form": BillingFallbackForm(initial={"name": person(request.user)}) if can_accept_billing else None,
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
        # The certificate's own account of what changed since the current record was signed.
        "changes_since_signing": snapshot_changes(current.snapshot, readiness.acceptance_snapshot())
        if current is not None
        and current.decision != AcceptanceDecision.SUPERSEDED
        and current.snapshot_sha256 != readiness.acceptance_snapshot_sha256()
        else [],
        "signed_order_form": data.signed_order_form,
        "awaiting_stage_move": readiness.is_go and tenant.stage != stage,
        # A tenant running one beta while buying the other (initech): say how its current stage stands too.
        "current_stage_readiness": evaluate(data, tenant.stage)
        if tenant.stage in LaunchStage.values and tenant.stage != stage
        else None,
        "timeline": timeline(data, stage_changes),
        "readiness_transitions": transitions.timeline_rows(tenant),
        "affirmation": AFFIRMATION,
    }


@never_cache
@login_required
@require_GET
def room(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    tenant, role = tenant_for_user(request.user, slug)
    if not room_cache.may_use(request):
        return render(request, "launchroom/room.html", _room_context(request, tenant, role))
    # The same page as last time while nothing it shows has changed (launchroom/room/cache.py).
    now = timezone.now()
    current = room_cache.state(tenant.pk, visible_to(request.user).filter(read_at__isnull=True))
    key = room_cache.key_for(request.user, tenant, role, current, now)
    html = room_cache.get(key, request, now) if key else None
    if html is None:
        context = _room_context(request, tenant, role)
        token = get_token(request)
        context.update(unread_notifications=current.unread, csrf_token=token)
        html = render_to_string("launchroom/room.html", context, request)
        if key:
            room_cache.put(key, html, csrf=token, rendered_at=now)
    return HttpResponse(html)


@refusals_logged("acceptance_decision")  # refusals before the service too (role, form)
@login_required
@require_POST
def sign(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """The buyer sponsor signs the acceptance record; refusals are shown on the form."""
    tenant, role = tenant_for_user(request.user, slug)
    try:
        check_signer(user=request.user, role=role, on_written_approval=False)
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from None
    form = AcceptanceForm(request.POST)
    refusals: list[str] = []
    data: TenantData | None = None
    status = 400
    if form.is_valid():
        try:
            record = acceptance_sign(
                tenant=tenant,
                stage=form.cleaned_data["stage"],
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
                seen_snapshot_sha256=form.cleaned_data["snapshot_sha256"],
            )
        except NotPermitted as exc:
            raise PermissionDenied(str(exc)) from None
        except AcceptanceRefused as exc:
            # The room is shown again from what the service checked: no second load.
            data, refusals, status = exc.readiness.data, exc.reasons, 409
            if isinstance(exc, SnapshotChanged):
                # The buyer must sign what they saw: show them the new state and let them sign again.
                refreshed = request.POST.copy()
                refreshed["snapshot_sha256"] = exc.current_sha256
                form = AcceptanceForm(refreshed)
                form.is_valid()
        except Refused as exc:
            refusals, status = exc.reasons, 409
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Signed: {record.get_decision_display()} for {record.get_stage_display()}.")
            # An explicit fragment, or the browser would carry "#sign-form" over the redirect.
            return redirect(reverse("launchroom:certificate", args=[tenant.slug, record.pk]) + "#certificate")
    context = _room_context(request, tenant, role, acceptance_form=form, refusals=refusals, data=data)
    return render(request, "launchroom/room.html", context, status=status)


@refusals_logged("billing_fallback_accept")
@login_required
@require_POST
def billing_fallback(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """The buyer sponsor or buyer finance accepts the manual billing fallback (gate 4)."""
    tenant, role = tenant_for_user(request.user, slug)
    try:
        check_fallback_acceptor(role=role)
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from None
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
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "You accepted the manual billing fallback for the billing terms shown.")
    return redirect(room_url)
