"""The launch packet's printable documents, drawn with fpdf2 from the same JSON the packet holds.

fpdf2 is pure Python (no system libraries), well kept, and enough for a filed document: A4,
headings, label/value rows, lists and a monospaced hash column. Its core fonts cover
Latin-1, so other characters are written as their nearest ASCII (``latin1``).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from fpdf import FPDF

_REPLACE = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u2192": "->",
    "\u00a0": " ",
    "\u2022": "-",
}


def latin1(text: Any) -> str:
    """Text the core fonts can draw: Latin-1 kept, the rest transliterated or replaced."""
    value = "".join(_REPLACE.get(ch, ch) for ch in str(text if text is not None else ""))
    if all(ord(ch) < 256 for ch in value):
        return value
    folded = unicodedata.normalize("NFKD", value)
    return "".join(ch if ord(ch) < 256 else "?" for ch in folded if not unicodedata.combining(ch))


class Document(FPDF):
    """A4 portrait with a running footer that names the document and the page."""

    def __init__(self, title: str, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc_title = latin1(title)
        self.footer_text = latin1(footer_text)
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(self.doc_title)
        self.set_author("Thesmios launch operations")
        self.set_creator("Thesmios launch operations portal")
        self.add_page()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=7)
        self.set_text_color(110)
        self.cell(0, 5, f"{self.footer_text}   Page {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0)

    def heading(self, text: str, size: int = 16) -> None:
        self.set_font("Helvetica", "B", size)
        self.multi_cell(0, size * 0.5, latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def section(self, text: str) -> None:
        self.ln(3)
        self.set_font("Helvetica", "B", 11)
        self.cell(0, 6, latin1(text), new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(160)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)

    def row(self, label: str, value: Any, *, mono: bool = False) -> None:
        self.set_font("Helvetica", "B", 9)
        y = self.get_y()
        self.multi_cell(48, 5, latin1(label), new_x="RIGHT", new_y="TOP")
        self.set_font("Courier" if mono else "Helvetica", size=8 if mono else 9)
        self.multi_cell(0, 5, latin1(value) or "-", new_x="LMARGIN", new_y="NEXT")
        self.set_y(max(self.get_y(), y + 5))

    def bullets(self, items: list[Any], empty: str = "None.") -> None:
        self.set_font("Helvetica", size=9)
        if not items:
            self.multi_cell(0, 5, latin1(empty), new_x="LMARGIN", new_y="NEXT")
            return
        for item in items:
            self.multi_cell(0, 5, "-  " + latin1(item), new_x="LMARGIN", new_y="NEXT")

    def paragraph(self, text: str) -> None:
        self.set_font("Helvetica", size=9)
        self.multi_cell(0, 5, latin1(text) or "-", new_x="LMARGIN", new_y="NEXT")

    def output_bytes(self) -> bytes:
        return bytes(self.output())


def certificate_pdf(body: dict[str, Any], evidence: list[dict[str, Any]]) -> bytes:
    """The acceptance certificate: what was decided, by whom, on what evidence, and how to verify it."""
    doc = Document(
        f"Customer acceptance certificate: {body['tenant_name']}",
        f"Thesmios customer acceptance certificate #{body['id']} - verification code {body['verification_code']}",
    )
    doc.set_font("Helvetica", size=9)
    doc.set_text_color(90)
    doc.cell(0, 5, "THESMIOS MANAGED BETA", new_x="LMARGIN", new_y="NEXT")
    doc.set_text_color(0)
    doc.heading("Customer acceptance certificate")
    doc.row("Tenant", f"{body['tenant_name']} ({body['tenant']})")
    doc.row("Stage", body["stage_label"])
    doc.row("Decision", body["decision_label"])
    doc.row("Status", body["status_text"])
    doc.row("Signed by", f"{body['signer_name']}, {body['signer_role']} <{body['signer_email']}>")
    if body.get("on_written_approval"):
        doc.row("Recorded by", f"{body['recorded_by']} (staff), on the buyer's written approval")
    doc.row("Signed at", body["signed_at"])
    doc.row("Approval reference", body["approval_reference"])
    doc.row("Order form", f"version {body['order_form_version']}" if body["order_form_version"] else "-")
    doc.row("Snapshot SHA-256", body["snapshot_sha256"], mono=True)
    if body.get("decision_log"):
        doc.row("Decision log link", f"#{body['decision_log']['seq']}  {body['decision_log']['entry_hash']}", mono=True)
    if body.get("affirmation"):
        doc.section("Affirmation")
        doc.paragraph(body["affirmation"])
    doc.section("Scoped exclusions (not claimed)")
    doc.bullets(body["exclusions"])
    doc.section("Residual risks")
    doc.bullets(body["residual_risks"])
    if body.get("note"):
        doc.section("Note")
        doc.paragraph(body["note"])
    doc.section(f"Evidence the decision rests on ({len(evidence)})")
    if not evidence:
        doc.paragraph("No evidence attachments.")
    for item in evidence:
        doc.set_font("Helvetica", "B", 8.5)
        doc.multi_cell(0, 4.5, latin1(f"{item['requirement']}: {item['name']}"), new_x="LMARGIN", new_y="NEXT")
        doc.set_font("Courier", size=7.5)
        doc.multi_cell(0, 4, f"#{item['id']}  sha256 {item['sha256']}", new_x="LMARGIN", new_y="NEXT")
        doc.set_font("Helvetica", size=7.5)
        doc.multi_cell(0, 4, latin1(f"In this packet: {item['path']}"), new_x="LMARGIN", new_y="NEXT")
        doc.ln(1)
    doc.section("Verification")
    doc.row("Verification code", body["verification_code"], mono=True)
    doc.row("Check it at", body["verification_url"])
    doc.paragraph(
        "The page at that address says whether this acceptance is still current, superseded, or no longer "
        "matches the readiness it was signed against. This packet's files are listed with their SHA-256 in "
        "manifest.json, signed with the portal's Ed25519 key (manifest.sig; public key in public-key.pem and "
        "at /.well-known/thesmios-packet-key.pem)."
    )
    return doc.output_bytes()


ORDER_FORM_ROWS = (
    ("Requested stage", "requested_stage_label"),
    ("Cohort", "cohort_description"),
    ("Cohort size", "cohort_size"),
    ("Verifier audience", "verifier_audience"),
    ("Data boundaries", "data_boundaries"),
)


def order_form_pdf(body: dict[str, Any]) -> bytes:
    """The signed order-form version: the scope the customer bought."""
    doc = Document(
        f"Order form v{body['version']}: {body['tenant_name']}",
        f"Thesmios order form - {body['tenant']} v{body['version']} - {body['approval_reference']}",
    )
    doc.heading(f"Order form, version {body['version']}")
    doc.row("Tenant", f"{body['tenant_name']} ({body['tenant']})")
    doc.row("Status", body["status"])
    doc.row("Approval reference", body["approval_reference"])
    doc.row("Signed at", body["signed_at"])
    doc.row("Signed by (customer)", body["signer_name"])
    for label, key in ORDER_FORM_ROWS:
        doc.row(label, body.get(key) or "-")
    doc.section("Compliance modules")
    doc.bullets(body["compliance_modules"])
    doc.section("Excluded claims")
    doc.bullets(body["excluded_claims"])
    doc.section("Acceptance language")
    doc.paragraph(body["acceptance_language"])
    return doc.output_bytes()
