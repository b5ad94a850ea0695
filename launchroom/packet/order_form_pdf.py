"""The signed order-form version as a document a procurement team files: both parties, the
version and its status, every term (scope, commercial terms, exclusions, acceptance language)
and who signed, approved and recorded it, when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from launchroom.packet.layout import MUTED, Document, Row
from launchroom.packet.text import human_utc


def _status(body: dict[str, Any], exported: str) -> str:
    if body["superseded_by_version"]:
        return f"{body['status']}; superseded by version {body['superseded_by_version']} (as of {exported})"
    return f"{body['status']}; the version in force (as of {exported})"


def _parties(doc: Document, body: dict[str, Any]) -> None:
    provider, customer = body["provider"], body["customer"]
    seller: list[Row] = [
        ("", provider["name"], "B"),
        ("", "Provider of the managed beta", ""),
        ("", provider["portal"], ""),
    ]
    if provider.get("commercial_owner"):
        seller.append(("", f"Commercial owner: {provider['commercial_owner']}", ""))
    buyer: list[Row] = [("", customer["name"], "B"), ("", f"Customer, tenant {customer['tenant']}", "")]
    buyer += [("", f"Buyer sponsor: {sponsor}", "") for sponsor in customer.get("buyer_sponsors", [])]
    doc.side_by_side([("Provider", seller), ("Customer", buyer)])


def _commercial_terms(doc: Document, terms: dict[str, Any] | None) -> None:
    doc.section("Commercial terms")
    if terms is None:
        doc.paragraph(
            "No billing profile: no commercial terms are on record for this tenant.",
            color=MUTED,
        )
        return
    if terms["accepted_by"]:
        source = (
            f"From the tenant's billing profile, as the buyer accepted them: {terms['accepted_by']}, "
            f"{human_utc(terms['accepted_at'])} (terms SHA-256 {terms['terms_sha256']})."
        )
    else:
        source = "From the tenant's billing profile; the buyer has not accepted them yet."
    doc.paragraph(source, color=MUTED, size=8.5)
    doc.ln(1.5)
    doc.rows([(row["label"], row["value"] or "not set", "") for row in terms["terms"]])
    if terms["changed_since_acceptance"]:
        changed = ", ".join(terms["changed_since_acceptance"]).lower()
        doc.ln(1)
        doc.paragraph(
            f"Changed in the billing profile since the buyer accepted these terms: {changed}. "
            "The terms above are the ones accepted; the launch room asks the buyer to accept the new ones.",
            style="B",
        )


def _signatures(doc: Document, body: dict[str, Any]) -> None:
    doc.section("Signatures and record", keep_with=45)
    customer: list[Row] = [
        ("Signatory", body["signer_name"] or "not recorded", "B"),
        ("Signed", human_utc(body["signed_at"], empty="not signed"), ""),
        ("Reference", body["approval_reference"] or "none", ""),
    ]
    approval = body.get("buyer_approval")
    if approval:
        customer.append(
            (
                "Approved",
                f"In the launch room by {approval['name']}, {approval['role']}, {human_utc(approval['at'])}",
                "",
            )
        )
    terms = body.get("commercial_terms")
    if terms and terms["accepted_by"]:
        customer.append(
            ("Terms accepted", f"Commercial terms, by {terms['accepted_by']}, {human_utc(terms['accepted_at'])}", "")
        )
    log = body.get("decision_log")
    provider: list[Row] = [
        ("Recorded by", body["recorded_by"] or "not recorded", "B"),
        ("Role", "Commercial owner", ""),
        ("Recorded", human_utc(log["recorded_at"]) if log else "not in the decision log", ""),
    ]
    if body.get("sent_at"):
        provider.append(("Sent to buyer", f"{body['sent_by'] or 'not recorded'}, {human_utc(body['sent_at'])}", ""))
    doc.side_by_side([("For the customer", customer)], label_width=32)
    doc.side_by_side([("For Thesmios", provider)], label_width=32)
    rows: list[Row] = [("Drafted", human_utc(body["created_at"]), "")]
    if log:
        rows.append((f"Decision log link #{log['seq']}", log["entry_hash"], "mono"))
    doc.rows(rows)
    doc.ln(1)
    doc.paragraph(
        "The customer's signature is recorded in the portal by the Thesmios commercial owner with the customer's "
        "approval reference; the decision log link chains that record into the tenant's tamper-evident history "
        "(decision-log.json in this packet).",
        color=MUTED,
        size=8.5,
    )


def order_form_pdf(body: dict[str, Any], *, exported_at: datetime) -> bytes:
    """The signed order-form version: the parties, the scope and terms bought, and its signatures."""
    exported = human_utc(exported_at)
    doc = Document(
        title=f"Order form v{body['version']}, {body['tenant_name']}",
        footer_text=(
            f"Thesmios order form  ·  {body['tenant_name']}  ·  version {body['version']}  ·  "
            f"{body['approval_reference'] or 'no approval reference'}"
        ),
        created=exported_at,
    )
    doc.title_block(
        "Order form",
        f"Thesmios managed beta  ·  {body['tenant_name']}  ·  version {body['version']}  ·  {body['status']}",
    )
    _parties(doc, body)

    doc.section("This version")
    doc.rows(
        [
            ("Version", str(body["version"]), "B"),
            ("Status", _status(body, exported), ""),
            ("Approval reference", body["approval_reference"], ""),
            ("Signed", human_utc(body["signed_at"], empty="not signed"), ""),
        ]
    )

    doc.section("Scope")
    doc.rows(
        [
            ("Requested stage", body["requested_stage_label"], ""),
            ("Worker cohort", body["cohort_description"], ""),
            ("Cohort size", "" if body["cohort_size"] is None else str(body["cohort_size"]), ""),
            ("Verifier audience", body["verifier_audience"], ""),
            ("Data boundaries", body["data_boundaries"], ""),
            ("Compliance modules", "\n".join(body["compliance_modules"]) or "none", ""),
        ]
    )

    _commercial_terms(doc, body.get("commercial_terms"))

    doc.section("Excluded claims (not part of this order)")
    doc.bullets(body["excluded_claims"])
    doc.section("Acceptance language")
    doc.paragraph(body["acceptance_language"] or "None.")

    _signatures(doc, body)
    return doc.finish(f"order-form/order-form-v{body['version']}.json")
