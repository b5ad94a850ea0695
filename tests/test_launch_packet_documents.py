"""The launch packet's printed documents, as the procurement team that files them reads them:
human dates, the status as of export and where to check it today, names in any script, each
evidence item's provenance kept on one page, the order form's parties and terms, embedded fonts,
and the verifier with where to get it independently."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils.dateformat import format as date_format
from pypdf import PdfReader

from evidence.models import EvidenceAttachment
from evidence.services import evidence_attach
from launchroom import demo
from launchroom.acceptance.certificate import verification_code
from launchroom.acceptance.services import acceptance_sign
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.services import gate_decide
from tests.launch_helpers import buyer, like_demo
from tests.packet_helpers import ROOT, export, member, new_evidence, portal_key, verify_command

PORTAL = "https://launch.thesmios.example"


@pytest.fixture
def key(settings, tmp_path):
    return portal_key(settings, tmp_path)


@pytest.fixture
def globex(db, key):
    return like_demo("globex")


def pdf_text(packet: Path, name: str) -> list[str]:
    """The text of each page of a PDF in the packet, as a PDF reader extracts it."""
    return [page.extract_text() for page in PdfReader(BytesIO(member(packet, name))).pages]


def flat(text: str) -> str:
    """Whitespace collapsed: a value the PDF wrapped over two lines reads as one."""
    return " ".join(text.split())


def human(moment: datetime) -> str:
    """The one date format of the documents and the verification page (Django's own formatter)."""
    return date_format(moment.astimezone(UTC), "j F Y, H:i") + " UTC"


@pytest.fixture
def portal(settings):
    settings.PORTAL_BASE_URL = PORTAL
    return PORTAL


def test_the_certificate_prints_human_dates_its_status_as_of_export_and_where_to_check_it(
    client, globex, portal, tmp_path
):
    record = globex.acceptance_records.get()
    packet = export(tmp_path)
    text = flat(" ".join(pdf_text(packet, "certificate/certificate.pdf")))
    exported = datetime.fromisoformat(json.loads(member(packet, "manifest.json"))["created_at"])

    assert f"Signed at {human(record.signed_at)}" in text
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text), "an ISO timestamp was printed"
    assert f"Status as of {human(exported)}: Current" in text
    assert "a printed copy does not change" in text
    url = f"{portal}/verify/{verification_code(record.pk)}"
    assert url in text
    assert f"Exported {human(exported)}" in text  # on every page's footer
    # The verification page writes the signing time the same way.
    assert human(record.signed_at) in client.get(url.removeprefix(portal)).content.decode()
    certificate = json.loads(member(packet, "certificate/certificate.json"))
    assert certificate["verification_url"] == url
    assert certificate["status_at_export"]["as_of"] == json.loads(member(packet, "manifest.json"))["created_at"]


def test_the_status_as_of_export_says_when_the_readiness_signed_against_has_changed(globex, staff, portal, tmp_path):
    new_evidence(globex, staff)  # the readiness the buyer saw changed
    packet = export(tmp_path)
    text = flat(" ".join(pdf_text(packet, "certificate/certificate.pdf")))
    exported = datetime.fromisoformat(json.loads(member(packet, "manifest.json"))["created_at"])
    assert f"Status as of {human(exported)}: Current, but no longer matches" in text
    assert "the readiness it was signed against had changed" in text


def test_a_signer_name_outside_latin1_reads_back_from_the_pdf(globex, staff, tmp_path):
    name, role = "Łukasz Wójcik-Ελευθερίου Дмитриевич 张伟", "Υπεύθυνη συμμόρφωσης / Руководитель"
    acceptance_sign(
        tenant=globex,
        stage="paid_beta",
        decision="accepted",
        signer_name=name,
        signer_role=role,
        recorded_by=buyer("globex"),
        exclusions=evaluate(globex, "paid_beta").do_not_claim,
        affirmation="Zażółć gęślą jaźń.",
    )
    packet = export(tmp_path)

    text = flat(" ".join(pdf_text(packet, "certificate/certificate.pdf")))
    # Latin Extended, Greek and Cyrillic as written; Chinese as its code points, and the PDF says so.
    assert "Łukasz Wójcik-Ελευθερίου Дмитриевич [U+5F20 U+4F1F]" in text
    assert role in text and "Zażółć gęślą jaźń." in text
    assert "?ukasz" not in text and "Wojcik" not in text
    assert "Characters shown as code points" in text and "certificate/certificate.json" in text
    assert json.loads(member(packet, "certificate/certificate.json"))["signer_name"] == name


def evidence_chunks(text: str, ids: list[int]) -> dict[int, str]:
    """Each evidence item's text in the certificate: from its ``#id ·`` heading to the next one."""
    starts = {i: text.index(f"#{i} · Gate") for i in ids}
    order = sorted(ids, key=starts.__getitem__)
    ends = [starts[i] for i in order[1:]] + [text.index("Verification Verification code")]
    return {i: text[starts[i] : end] for i, end in zip(order, ends, strict=True)}


def test_each_evidence_item_says_where_it_came_from(globex, tmp_path):
    record = globex.acceptance_records.get()
    packet = export(tmp_path)
    text = flat(" ".join(pdf_text(packet, "certificate/certificate.pdf")))
    ids = [ref["id"] for ref in record.evidence_references]
    chunks = evidence_chunks(text, ids)
    attachments = EvidenceAttachment.objects.select_related("uploaded_by").in_bulk(ids)
    hashes = Counter(a.sha256 for a in attachments.values())

    for pk, attachment in attachments.items():
        chunk = chunks[pk]
        if attachment.produced_by_command:
            assert f"Output of the proof command {attachment.produced_by_command}" in chunk
        else:
            assert f"Uploaded by hand by {attachment.uploaded_by.get_full_name()}" in chunk
        assert f"Captured {human(attachment.captured_at)}; attached {human(attachment.created_at)}" in chunk
        assert f"SHA-256 {attachment.sha256}" in chunk
        if attachment.note:
            assert f"Note {flat(attachment.note)}" in chunk
        assert ("The same file as #" in chunk) == (hashes[attachment.sha256] > 1)
    # Sample uploads are labelled in their notes; the reader sees each label on its item.
    assert any(a.note and not a.produced_by_command for a in attachments.values())
    index = {item["id"]: item for item in json.loads(member(packet, "evidence/index.json"))}
    assert {pk: index[pk]["note"] for pk in ids} == {pk: attachments[pk].note for pk in ids}
    assert {pk: index[pk]["provenance"] for pk in ids} == {pk: chunk_provenance(chunks[pk]) for pk in ids}


def chunk_provenance(chunk: str) -> str:
    return chunk.split(" Made by ", 1)[1].split(" Captured ", 1)[0]


def staff_name(username: str) -> str:
    return demo.User.objects.get(username=username).get_full_name()


def test_an_evidence_item_never_splits_across_pages(globex, tmp_path):
    record = globex.acceptance_records.get()
    pages = [flat(page) for page in pdf_text(export(tmp_path), "certificate/certificate.pdf")]
    assert len(pages) > 1
    for ref in record.evidence_references:
        (page,) = [p for p in pages if f"#{ref['id']} · Gate" in p]
        assert ref["sha256"] in page, f"evidence #{ref['id']} is split across a page break"


def test_pasted_output_goes_into_the_packet_as_written(globex, staff, tmp_path):
    output = "Pasted SOC 2 bridge letter, Ünïcödé kept\n" * 3
    attachment = evidence_attach(
        tenant=globex,
        gate_key="security-procurement-pack",
        requirement_key="dpia-or-risk-decision",
        by=staff["operator"],
        output=output,
    )
    gate_decide(
        tenant=globex, gate_key="security-procurement-pack", decision="accepted", note="Read.", by=staff["security"]
    )
    demo.sign_acceptance(globex, buyer("globex"), "paid_beta")
    packet = export(tmp_path)

    assert member(packet, f"evidence/{attachment.pk}-output.txt").decode() == output
    assert verify_command(packet)[1] is None


def test_the_order_form_names_both_parties_every_term_and_who_signed(globex, portal, tmp_path):
    packet = export(tmp_path)
    text = flat(" ".join(pdf_text(packet, "order-form/order-form-v1.pdf")))
    form = globex.order_forms.get(version=1)
    accepted = globex.billing_profile.fallback_acceptance

    assert "Order form" in text and "PROVIDER Thesmios" in text and f"{portal}" in text
    assert f"CUSTOMER {globex.name}" in text
    assert f"Buyer sponsor: {buyer('globex').get_full_name()}" in text
    assert f"Commercial owner: {staff_name('commercial')}" in text
    assert "Version 1" in text and "Status Signed; the version in force" in text
    assert f"Approval reference {form.approval_reference}" in text
    assert f"Signed {human(form.signed_at)}" in text
    assert f"Signatory {form.signer_name}" in text
    assert f"Recorded by {staff_name('commercial')}" in text and "Role Commercial owner" in text
    for value in (
        form.get_requested_stage_display(),
        form.cohort_description,
        str(form.cohort_size),
        form.verifier_audience,
        form.data_boundaries,
        *form.lines("compliance_modules"),
        *form.lines("excluded_claims"),
        form.acceptance_language,
    ):
        assert flat(value) in text, value
    for value in (
        "Invoice only",
        accepted.terms["plan"],
        f"Seat cap {accepted.terms['seat_cap']}",
        accepted.terms["po_terms"],
        accepted.terms["invoice_contact"],
        f"{accepted.terms['billing_owner_name']} <{accepted.terms['billing_owner_email']}>",
        accepted.terms["renewal_terms"],
        accepted.terms["cancellation_terms"],
        f"as the buyer accepted them: {accepted.accepted_name}, {human(accepted.accepted_at)}",
    ):
        assert flat(value) in text, value
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text)
    body = json.loads(member(packet, "order-form/order-form-v1.json"))
    assert body["provider"]["name"] == "Thesmios" and body["customer"]["name"] == globex.name
    assert body["commercial_terms"]["terms_sha256"] == accepted.terms_sha256


def test_both_pdfs_embed_their_fonts(globex, tmp_path):
    packet = export(tmp_path)
    for name in ("certificate/certificate.pdf", "order-form/order-form-v1.pdf"):
        fonts = {}
        for page in PdfReader(BytesIO(member(packet, name))).pages:
            for font in page["/Resources"]["/Font"].values():
                font = font.get_object()
                fonts[str(font["/BaseFont"])] = font
        assert fonts, name
        for base, font in fonts.items():
            assert font["/Subtype"] == "/Type0", f"{name}: {base} is not an embedded TrueType font"
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert "/FontFile2" in descriptor, f"{name}: {base} is not embedded"
        assert any("DejaVuSans" in base for base in fonts)


def test_the_packet_carries_the_verifier_and_says_where_to_get_it_and_the_key(client, globex, key, portal, tmp_path):
    packet = export(tmp_path)
    verifier = (ROOT / "tools" / "verify_packet.py").read_bytes()
    assert member(packet, "tools/verify_packet.py") == verifier
    listed = {f["path"]: f["sha256"] for f in json.loads(member(packet, "manifest.json"))["files"]}
    assert listed["tools/verify_packet.py"] == hashlib.sha256(verifier).hexdigest()
    readme = member(packet, "README.txt").decode()
    assert f"{portal}/tools/verify_packet.py" in readme
    assert f"{portal}/.well-known/thesmios-packet-key.pem" in readme
    assert "not from this packet" in readme

    published = client.get(reverse("packet_verifier"))  # anyone may fetch it, logged in or not
    assert published.status_code == 200 and published.content == verifier
    copy = tmp_path / "verify_packet.py"
    copy.write_bytes(published.content)
    done = subprocess.run(
        [sys.executable, str(copy), str(packet), "--key", str(key)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
