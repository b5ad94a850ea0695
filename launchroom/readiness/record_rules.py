"""Record requirements (docs/RULES.md section 3): the structured records are the evidence.

One rule per requirement key, as data: each reads the loaded tenant data and the stage and
gives the requirement's state and why. ``readiness.evaluate`` looks the rule up by key.
"""

from __future__ import annotations

from collections.abc import Callable

from launchroom import catalog
from launchroom.models import AcceptanceDecision, CountersignKind, LaunchStage
from launchroom.readiness.selectors import TenantData
from launchroom.readiness.states import AWAITING_COUNTERSIGNATURE, MET, MISSING, REJECTED, STALE

RecordRule = Callable[[TenantData, str], tuple[str, str]]
_MET = (MET, "")
_NO_SIGNED_ORDER_FORM = (MISSING, "no signed order form")


def _signed_order_form(data: TenantData, stage: str) -> tuple[str, str]:
    if data.signed_order_form is not None:
        return _MET
    latest = data.latest_order_form
    where = f" (v{latest.version} is {latest.get_status_display().lower()})" if latest else ""
    return MISSING, f"no signed order form{where}"


def _approved_scope(data: TenantData, stage: str) -> tuple[str, str]:
    if (order_form := data.signed_order_form) is None:
        return _NO_SIGNED_ORDER_FORM
    scope = (("compliance modules", order_form.compliance_modules), ("worker cohort", order_form.cohort_description))
    gaps = [name for name, value in scope if not value.strip()]
    return (MISSING, f"the signed order form has no {' or '.join(gaps)}") if gaps else _MET


def _exclusions_on_order_form(data: TenantData, stage: str) -> tuple[str, str]:
    if (order_form := data.signed_order_form) is None:
        return _NO_SIGNED_ORDER_FORM
    listed = {line.casefold() for line in order_form.lines("excluded_claims")}
    absent = [claim for claim in catalog.STANDING_EXCLUSIONS if claim.casefold() not in listed]
    return (MISSING, "the signed order form does not list: " + "; ".join(absent)) if absent else _MET


def _billing_profile(data: TenantData, stage: str) -> tuple[str, str]:
    return (MISSING, "no billing profile") if data.billing is None else _MET


def _billing_terms(data: TenantData, stage: str) -> tuple[str, str]:
    if data.billing is None:
        return MISSING, "no billing profile"
    missing = data.billing.missing_terms()
    return (MISSING, "billing profile lacks " + ", ".join(missing)) if missing else _MET


def _billing_fallback_accepted(data: TenantData, stage: str) -> tuple[str, str]:
    billing = data.billing
    if billing is None or not billing.fallback_accepted_at:
        return MISSING, "the buyer has not accepted the manual billing fallback"
    if not billing.fallback_accepted:
        return MISSING, "the billing terms changed after the buyer accepted the manual billing fallback"
    return _MET


def _support_owner(data: TenantData, stage: str) -> tuple[str, str]:
    plan = data.support
    if plan is None or not (plan.support_owner_id or (plan.support_owner_name and plan.support_owner_email)):
        return MISSING, "no named support owner"
    return _MET


def _incident_channel(data: TenantData, stage: str) -> tuple[str, str]:
    if data.support is None or not data.support.manual_incident_channel.strip():
        return MISSING, "no manual incident channel"
    return _MET


def _support_text(field: str, missing: str) -> RecordRule:
    """A support-plan text that must not be empty (gate 7's escalation route, manual notice process)."""

    def rule(data: TenantData, stage: str) -> tuple[str, str]:
        if data.support is None or not getattr(data.support, field).strip():
            return MISSING, missing
        return _MET

    return rule


def _acceptance_record(data: TenantData, stage: str) -> tuple[str, str]:
    record = data.current_acceptance(stage)
    stage_label = LaunchStage(stage).label.lower()
    if record is None:
        return MISSING, f"no acceptance record for {stage_label}"
    if record.decision == AcceptanceDecision.SUPERSEDED:
        return MISSING, f"the acceptance for {stage_label} was withdrawn"
    if record.decision in (AcceptanceDecision.DEFERRED, AcceptanceDecision.REJECTED):
        return REJECTED, f"the buyer {record.get_decision_display().lower()} {stage_label}"
    signed = data.signed_order_form
    if signed is not None and record.order_form_id != signed.pk:
        seen = next((o for o in data.order_forms if o.pk == record.order_form_id), None)
        version = f"v{seen.version}" if seen else "no signed version"
        return STALE, f"order form v{signed.version} was signed after this acceptance ({version})"
    # docs/RULES.md 5.9, the gate's owner line "Buyer sponsor and Thesmios operator": the
    # operator countersigns, unless the record was signed before that rule.
    answer = getattr(record, "countersign_kind", None)
    if record.countersign_required and answer == CountersignKind.DECLINED:
        return MISSING, f"the operator declined to countersign the acceptance for {stage_label}"
    if record.countersign_required and answer != CountersignKind.COUNTERSIGNED:
        return AWAITING_COUNTERSIGNATURE, "awaiting the operator's countersignature"
    return _MET


RECORD_RULES: dict[str, RecordRule] = {
    "signed-order-form": _signed_order_form,
    "approved-scope": _approved_scope,
    "exclusions-on-order-form": _exclusions_on_order_form,
    "billing-profile": _billing_profile,
    "billing-terms": _billing_terms,
    "billing-fallback-accepted": _billing_fallback_accepted,
    "support-owner": _support_owner,
    "incident-channel": _incident_channel,
    "escalation-route": _support_text("escalation_route", "no escalation route"),
    "manual-notice-process": _support_text("manual_notice_process", "no manual notice process"),
    "acceptance-record": _acceptance_record,
}
