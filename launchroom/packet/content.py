"""What the packet's documents say, as plain data (the JSON files hold it; the PDFs print it).

Reading only: each function takes rows already loaded and builds dictionaries, so the number of
queries an export runs does not grow with the evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from billing.models import BillingFallbackAcceptance, BillingProfile, BillingRoute
from evidence.models import EvidenceAttachment
from launchroom.acceptance.serializers import utc_iso
from launchroom.models import DecisionLogEntry, LaunchStage, OrderForm, Tenant
from launchroom.packet.text import person

PROVIDER = "Thesmios"


def user_name(user: Any) -> str:
    if user is None:
        return ""
    return person(user.get_full_name(), user.get_username())


def provenance(attachment: EvidenceAttachment) -> str:
    """Who or what made an evidence item, as the portal recorded it."""
    who = user_name(attachment.uploaded_by) if attachment.uploaded_by_id else ""
    if attachment.produced_by_command:
        by = f", run by {who}" if who else ", attached by the command itself"
        return f"Output of the proof command {attachment.produced_by_command}{by}"
    return f"Uploaded by hand by {who}" if who else "Uploaded by hand (uploader not recorded)"


def evidence_item(
    ref: dict[str, Any], attachment: EvidenceAttachment | None, row: dict[str, Any], path: str | None, sha256: str
) -> dict[str, Any]:
    """One evidence item the acceptance rests on: what it is, where it came from, its hashes."""
    gate = row.get("gate")
    item: dict[str, Any] = {
        "id": ref.get("id"),
        "gate_number": gate.number if gate else None,
        "gate_title": gate.title if gate else "",
        "requirement": row.get("requirement") or "",
        "name": row.get("name") or "",
        "sha256_at_signing": ref.get("sha256", ""),
        "sha256": sha256 or None,
        "path": path,
    }
    if attachment is not None:
        item.update(
            gate=attachment.gate_key,
            requirement_key=attachment.requirement_key,
            kind=attachment.kind,
            produced_by_command=attachment.produced_by_command,
            uploaded_by=user_name(attachment.uploaded_by) if attachment.uploaded_by_id else None,
            provenance=provenance(attachment),
            captured_at=utc_iso(attachment.captured_at),
            attached_at=utc_iso(attachment.created_at),
            note=attachment.note,
        )
    return item


def mark_shared_files(items: list[dict[str, Any]]) -> None:
    """Items with the same SHA-256 are one file attached to several requirements: say so on each."""
    by_hash: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        if item["sha256_at_signing"]:
            by_hash[item["sha256_at_signing"]].append(item["id"])
    for item in items:
        others = [i for i in by_hash.get(item["sha256_at_signing"], []) if i != item["id"]]
        item["same_file_as"] = others


def status_words(body: dict[str, Any]) -> tuple[str, str]:
    """The certificate's status when exported: a short word and the sentence behind it."""
    if body["superseded_by"]:
        return (
            f"Superseded by acceptance record #{body['superseded_by']}",
            "A later decision replaced this acceptance.",
        )
    if not body["snapshot_matches"]:
        return (
            "Current, but no longer matches",
            "No later decision replaced it, but the readiness it was signed against had changed.",
        )
    countersignature = body.get("countersignature") or {}
    if countersignature.get("state") == "awaiting countersignature":
        return (
            "Current, awaiting countersignature",
            "The buyer signed, but no Thesmios operator had countersigned when this packet was exported; the next "
            "export after the countersignature supersedes this packet.",
        )
    if countersignature.get("state") == "declined":
        return "Countersignature declined", "A Thesmios operator declined to countersign this acceptance."
    return "Current", "No later decision replaced it, and the readiness it was signed against still held."


def _terms_rows(terms: dict[str, Any]) -> list[dict[str, Any]]:
    def label(name: str) -> str:
        return str(BillingProfile._meta.get_field(name).verbose_name).capitalize()  # type: ignore[union-attr]

    name, email = str(terms.get("billing_owner_name") or ""), str(terms.get("billing_owner_email") or "")
    owner = f"{name} <{email}>" if name and email else name or email
    route = terms.get("route") or ""
    values = [
        ("route", "Billing route", BillingRoute(route).label if route in BillingRoute.values else route),
        ("plan", label("plan"), terms.get("plan")),
        ("seat_cap", label("seat_cap"), terms.get("seat_cap")),
        ("po_terms", label("po_terms"), terms.get("po_terms")),
        ("invoice_contact", label("invoice_contact"), terms.get("invoice_contact")),
        ("billing_owner", "Billing owner", owner),
        ("renewal_terms", label("renewal_terms"), terms.get("renewal_terms")),
        ("cancellation_terms", label("cancellation_terms"), terms.get("cancellation_terms")),
    ]
    return [{"key": key, "label": text, "value": "" if value is None else str(value)} for key, text, value in values]


def commercial_terms(profile: BillingProfile | None) -> dict[str, Any] | None:
    """The tenant's billing terms: as the buyer accepted them (the append-only acceptance), and
    which of them the profile has changed since; None without a billing profile."""
    if profile is None:
        return None
    accepted: BillingFallbackAcceptance | None = profile.fallback_acceptance
    terms = accepted.terms if accepted is not None else profile.terms()
    return {
        "accepted_by": accepted.accepted_name if accepted else None,
        "accepted_at": utc_iso(accepted.accepted_at) if accepted else None,
        "terms_sha256": accepted.terms_sha256 if accepted else None,
        "terms": _terms_rows(terms),
        "changed_since_acceptance": [change["label"] for change in profile.terms_changed_since_acceptance()],
    }


def order_form_json(
    order_form: OrderForm,
    tenant: Tenant,
    *,
    portal: str,
    commercial_owner: Any = None,
    buyer_sponsors: Sequence[Any] = (),
    profile: BillingProfile | None = None,
    later_version: int | None = None,
    log_entry: DecisionLogEntry | None = None,
) -> dict[str, Any]:
    """The signed order-form version with its parties, signatures and commercial terms.

    ``order_form`` needs ``recorded_by``, ``sent_by`` and ``buyer_approved_by`` loaded. The
    provider's commercial owner and the customer's buyer sponsors are those at export.
    """
    approval = None
    if order_form.buyer_approved_at is not None:
        approval = {
            "name": order_form.buyer_approver_name,
            "role": order_form.buyer_approver_role,
            "user": user_name(order_form.buyer_approved_by),
            "at": utc_iso(order_form.buyer_approved_at),
        }
    return {
        "tenant": tenant.slug,
        "tenant_name": tenant.name,
        "provider": {"name": PROVIDER, "portal": portal, "commercial_owner": user_name(commercial_owner) or None},
        "customer": {
            "name": tenant.name,
            "tenant": tenant.slug,
            "buyer_sponsors": [user_name(user) for user in buyer_sponsors],
        },
        "id": order_form.pk,
        "version": order_form.version,
        "status": order_form.get_status_display(),
        "superseded_by_version": later_version,
        "requested_stage": order_form.requested_stage,
        "requested_stage_label": LaunchStage(order_form.requested_stage).label,
        "compliance_modules": order_form.lines("compliance_modules"),
        "cohort_description": order_form.cohort_description,
        "cohort_size": order_form.cohort_size,
        "verifier_audience": order_form.verifier_audience,
        "data_boundaries": order_form.data_boundaries,
        "excluded_claims": order_form.lines("excluded_claims"),
        "acceptance_language": order_form.acceptance_language,
        "approval_reference": order_form.approval_reference,
        "signed_at": utc_iso(order_form.signed_at),
        "signer_name": order_form.signer_name,
        "recorded_by": user_name(order_form.recorded_by) or None,
        "created_at": utc_iso(order_form.created_at),
        "sent_at": utc_iso(order_form.sent_at),
        "sent_by": user_name(order_form.sent_by) or None,
        "buyer_approval": approval,
        "decision_log": (
            {"seq": log_entry.seq, "entry_hash": log_entry.entry_hash, "recorded_at": utc_iso(log_entry.created_at)}
            if log_entry
            else None
        ),
        "commercial_terms": commercial_terms(profile),
    }
