"""The launch packet's printable documents, drawn from the same data the packet's JSON holds.

Written for the reader who files them: who signed what and when (one date format, in UTC),
what the status was when the packet was exported and where to check it today, every term of
the order form, and for each piece of evidence where it came from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from launchroom.packet.layout import LINE, MUTED, Document, Row
from launchroom.packet.text import human_utc


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _evidence_rows(item: dict[str, Any]) -> list[Row]:
    name = item["name"] or "(no name)"
    where = f"in this packet as {item['path']}" if item["path"] else "not in this packet: no longer in the store"
    rows: list[Row] = [
        ("Item", f"{name}, {where}", ""),
        ("Made by", item.get("provenance") or "not recorded", ""),
        ("Captured", f"{human_utc(item.get('captured_at'))}; attached {human_utc(item.get('attached_at'))}", ""),
    ]
    if item.get("note"):
        rows.append(("Note", item["note"], "B"))
    rows.append(("SHA-256", item["sha256_at_signing"] or "not recorded", "mono"))
    if item.get("same_file_as"):
        others = _and([f"#{i}" for i in item["same_file_as"]])
        rows.append(("", f"The same file as {others}: one output attached to several requirements.", ""))
    if item["sha256"] and item["sha256"] != item["sha256_at_signing"]:
        rows.append(("", f"The file in this packet differs from the one signed: SHA-256 {item['sha256']}.", "B"))
    return rows


def _evidence_item(doc: Document, item: dict[str, Any]) -> None:
    """One evidence item, kept on one page: what it is, who or what made it, when, its hash."""
    if item["gate_number"]:
        title = f"#{item['id']}  ·  Gate {item['gate_number']}, {item['gate_title']}: {item['requirement']}"
    else:
        title = f"#{item['id']}  ·  no longer in the store"
    rows = _evidence_rows(item)
    heights = doc.row_heights(rows, 24)
    title_text = doc.clean(title)
    doc.keep(doc.lines(doc.epw, title_text, "B") * LINE + 0.6 + sum(heights) + 3)
    doc.use("B", 9)
    doc.multi_cell(0, LINE, title_text, align="L", new_x="LMARGIN", new_y="NEXT")
    doc.ln(0.6)
    doc.rows(rows, label_width=24, heights=heights)
    doc.set_draw_color(225, 225, 225)
    doc.line(doc.l_margin, doc.get_y() + 0.6, doc.w - doc.r_margin, doc.get_y() + 0.6)
    doc.ln(2.4)


def _evidence_summary(evidence: list[dict[str, Any]]) -> str:
    by_command = sum(1 for item in evidence if item.get("produced_by_command"))
    by_hand = sum(1 for item in evidence if item.get("provenance") and not item.get("produced_by_command"))
    noted = sum(1 for item in evidence if item.get("note"))
    text = (
        f"{len(evidence)} items: {by_command} output of proof commands, {by_hand} uploaded by hand"
        f"{f', {noted} with a note' if noted else ''}. Each item's provenance is as "
        "the portal recorded it when it was attached; the file itself is in this packet under the path shown, "
        "and its SHA-256 is the one the buyer signed against."
    )
    if any(item.get("same_file_as") for item in evidence):
        text += " Items with the same SHA-256 are one file attached to several requirements."
    return text


def certificate_pdf(
    body: dict[str, Any], evidence: list[dict[str, Any]], gates: list[dict[str, Any]], *, exported_at: datetime
) -> bytes:
    """The acceptance certificate: what was decided, by whom, on what evidence, and how to verify it."""
    exported = human_utc(exported_at)
    doc = Document(
        title=f"Acceptance certificate #{body['id']}, {body['tenant_name']}",
        footer_text=(
            f"Thesmios customer acceptance certificate #{body['id']}  ·  {body['tenant_name']}  ·  "
            f"verification code {body['verification_code']}"
        ),
        created=exported_at,
    )
    doc.title_block(
        "Customer acceptance certificate",
        f"Acceptance record #{body['id']}  ·  {body['tenant_name']}  ·  {body['stage_label']}",
    )
    status, because = body["status_at_export"]["status"], body["status_at_export"]["detail"]
    doc.boxed(
        f"Status as of {exported}: {status}",
        [
            ("", f"{because} This was the status when this packet was exported; a printed copy does not change."),
            ("", "For the status today, open the verification page:"),
            ("B", body["verification_url"]),
        ],
    )

    doc.section("Decision")
    order_form = f"Version {body['order_form_version']}" if body["order_form_version"] else "none"
    if body.get("order_form_file"):
        order_form += f" ({body['order_form_file']} in this packet)"
    doc.rows(
        [
            ("Customer", f"{body['tenant_name']} (tenant {body['tenant']})", ""),
            ("Stage", body["stage_label"], ""),
            ("Decision", body["decision_label"], "B"),
            ("Approval reference", body["approval_reference"], ""),
            ("Order form", order_form, ""),
        ]
    )

    doc.section("Signature")
    rows: list[Row] = [
        ("Signed by", body["signer_name"], "B"),
        ("Role", body["signer_role"], ""),
        ("E-mail", body["signer_email"], ""),
        ("Signed at", human_utc(body["signed_at"]), ""),
    ]
    if body.get("on_written_approval"):
        rows.append(("Recorded by", f"{body['recorded_by']} (Thesmios staff), on the buyer's written approval", ""))
    rows.append(("Client address", body.get("client_address") or "not recorded", ""))
    if body.get("supersedes"):
        rows.append(("Replaces", f"Acceptance record #{body['supersedes']}", ""))
    doc.rows(rows)
    if body.get("affirmation"):
        doc.ln(1)
        doc.paragraph(f"“{body['affirmation']}”", style="B")

    countersignature = body.get("countersignature")
    if countersignature:
        # docs/RULES.md 5.9: gate 9's owner is "Buyer sponsor and Thesmios operator".
        doc.section("Countersignature (Thesmios operator)")
        if countersignature["state"] == "countersigned":
            doc.rows(
                [
                    ("Countersigned by", countersignature["operator_name"], "B"),
                    ("Role", countersignature["operator_role"], ""),
                    ("Countersigned at", human_utc(countersignature["signed_at"]), ""),
                    ("Snapshot both signed", countersignature["snapshot_sha256"], "mono"),
                ]
            )
        doc.paragraph(countersignature["statement"], style="B")

    doc.section("Scoped exclusions (not claimed)")
    doc.bullets(body["exclusions"])
    doc.section("Residual risks")
    doc.bullets(body["residual_risks"])
    if body.get("note"):
        doc.section("Note")
        doc.paragraph(body["note"])

    if gates:
        doc.section("Gates as signed")
        doc.rows([(f"Gate {g['number']}", f"{g['title']}: {g['status']}", "") for g in gates], label_width=18)

    doc.section(f"Evidence the decision rests on ({len(evidence)})", keep_with=40)
    if not evidence:
        doc.paragraph("No evidence attachments.", color=MUTED)
    else:
        doc.paragraph(_evidence_summary(evidence), color=MUTED, size=8.5)
        doc.ln(2)
    for item in evidence:
        _evidence_item(doc, item)

    doc.section("Verification", keep_with=50)
    rows = [
        ("Verification code", body["verification_code"], "mono"),
        ("Status today", body["verification_url"], ""),
        ("Snapshot SHA-256", body["snapshot_sha256"], "mono"),
    ]
    if body.get("decision_log"):
        rows.append((f"Decision log link #{body['decision_log']['seq']}", body["decision_log"]["entry_hash"], "mono"))
    doc.rows(rows)
    doc.ln(1)
    doc.paragraph(
        "Every file of this packet is listed with its SHA-256 in manifest.json, signed with the portal's Ed25519 "
        "key in manifest.sig. README.txt says how to check them with a verifier and a public key you obtain from "
        "the portal yourself.",
        color=MUTED,
        size=8.5,
    )
    return doc.finish("certificate/certificate.json")
