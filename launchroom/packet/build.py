"""Build a tenant's launch packet: one signed ZIP that anyone can verify offline (docs/RULES.md section 11).

The ZIP holds the current acceptance's certificate (PDF and JSON), the signed order-form
version it rests on (PDF and JSON), every evidence file the acceptance refers to, the
tenant's decision-log links with their chain hashes, the portal's public key and a
copy of the standalone verifier, a README saying where to get both independently, a
``manifest.json`` with the SHA-256 and size of every file, and ``manifest.sig``: the
Ed25519 signature of the manifest's exact bytes, in base64.

The ZIP is written member by member into any binary file object, evidence files copied
from storage in chunks and hashed on the way, so memory stays flat however large the
evidence is. Building it reads the database and writes nothing there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from billing.models import BillingProfile
from core.errors import Refused
from evidence.models import EvidenceAttachment
from launchroom.acceptance.certificate import certificate_body, certificate_data
from launchroom.acceptance.serializers import utc_iso
from launchroom.models import (
    AcceptanceDecision,
    AcceptanceRecord,
    DecisionLogEntry,
    LaunchStage,
    MembershipRole,
    OrderForm,
    Tenant,
    TenantMembership,
)
from launchroom.packet.content import evidence_item, mark_shared_files, order_form_json, status_words
from launchroom.packet.keys import public_key_fingerprint, public_key_pem, signing_key
from launchroom.readiness.evaluation import STATUS_LABELS
from launchroom.readiness.selectors import load

User = get_user_model()

FORMAT = "thesmios-launch-packet/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
CHUNK = 256 * 1024
VERIFIER = Path(__file__).resolve().parents[2] / "tools" / "verify_packet.py"
VERIFIER_MEMBER = "tools/verify_packet.py"


def readme(portal: str) -> str:
    """The packet's README.txt: how to check it without trusting anything inside it."""
    return f"""Thesmios launch packet
======================

manifest.json lists every file of this packet with its SHA-256 and size; manifest.sig is the
Ed25519 signature (base64) of manifest.json's exact bytes, made with the portal's packet key.

To verify it offline, take two things from the portal yourself, not from this packet:

  the verifier    {portal}/tools/verify_packet.py
  the public key  {portal}/.well-known/thesmios-packet-key.pem

and run (Python 3 and the `cryptography` package, nothing else):

    python verify_packet.py THIS-PACKET.zip --key thesmios-packet-key.pem

It exits 0 when every file matches the manifest and the signature holds, and names each file
that does not. {VERIFIER_MEMBER} and public-key.pem in this packet are the same verifier and key,
for reference only: whoever changed a packet could change them too, so compare them with the
copies you downloaded, or just use yours.

The certificate's status is as of the packet's export. Whether the acceptance is still current
today is at the verification URL printed on the certificate ({portal}/verify/...).
"""


def current_acceptance(tenant: Tenant) -> AcceptanceRecord:
    """The acceptance a packet is for: the current record of the tenant's live stage, else of
    the stage its order form requests, else of the other stage. A withdrawal is no acceptance."""
    data = load(tenant, with_output=False)
    stages = [s for s in (tenant.stage, data.requested_stage(), *LaunchStage.values) if s in LaunchStage.values]
    for stage in dict.fromkeys(stages):
        record = data.current_acceptance(stage)
        if record is not None and record.decision != AcceptanceDecision.SUPERSEDED:
            return record
    raise Refused(f"{tenant.name} has no current acceptance record: there is no certificate to put in a packet.")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:80] or "file"


def _evidence_member(attachment: EvidenceAttachment) -> tuple[str, Iterable[bytes]]:
    """The member name and the bytes of one evidence item, read only as the ZIP writes them."""
    if attachment.file:

        def chunks() -> Iterator[bytes]:
            with attachment.file.open("rb") as fh:
                yield from iter(lambda: fh.read(CHUNK), b"")

        return f"evidence/{attachment.pk}-{_safe(attachment.original_name or 'file')}", chunks()
    if attachment.url:
        return f"evidence/{attachment.pk}-url.txt", [attachment.url.encode()]

    def output() -> Iterator[bytes]:
        # Pasted output was deferred: read one at a time, and not kept on the row afterwards.
        yield EvidenceAttachment.objects.filter(pk=attachment.pk).values_list("output", flat=True).get().encode()

    return f"evidence/{attachment.pk}-output.txt", output()


class PacketWriter:
    """A ZIP being written, recording the SHA-256 and size of every member as it goes."""

    def __init__(self, out: IO[bytes], when: datetime) -> None:
        self.zip = zipfile.ZipFile(out, "w", allowZip64=True)
        self.when = when.utctimetuple()[:6]
        self.files: list[dict[str, Any]] = []

    def add(self, name: str, chunks: Iterable[bytes], *, compress: bool = True) -> str:
        info = zipfile.ZipInfo(name, date_time=self.when)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        digest, size = hashlib.sha256(), 0
        with self.zip.open(info, "w", force_zip64=True) as dest:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                dest.write(chunk)
        self.files.append({"path": name, "sha256": digest.hexdigest(), "size": size})
        return digest.hexdigest()

    def add_json(self, name: str, body: Any) -> str:
        return self.add(name, [json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False).encode()])


@dataclass(frozen=True)
class PacketInfo:
    record: AcceptanceRecord
    manifest: dict[str, Any]
    files: int


def _write_evidence(writer: PacketWriter, record: AcceptanceRecord, context: dict[str, Any]) -> list[dict[str, Any]]:
    """Copy every evidence file the acceptance rests on into the packet; describe each one."""
    ids = [ref.get("id") for ref in record.evidence_references if isinstance(ref.get("id"), int)]
    attachments = EvidenceAttachment.objects.select_related("uploaded_by").defer("output").in_bulk(ids)
    rows_by_id = {row["id"]: row for row in context["evidence_rows"]}
    items = []
    for ref in record.evidence_references:
        attachment = attachments.get(ref.get("id"))
        path, sha256 = None, ""
        if attachment is not None:
            path, chunks = _evidence_member(attachment)
            sha256 = writer.add(path, chunks, compress=False)
        items.append(evidence_item(ref, attachment, rows_by_id.get(ref.get("id"), {}), path, sha256))
    mark_shared_files(items)
    return items


def _order_form(tenant: Tenant, record: AcceptanceRecord) -> OrderForm | None:
    """The order-form version the acceptance rests on (else the latest signed one), with its people."""
    forms = OrderForm.objects.select_related("recorded_by", "sent_by", "buyer_approved_by").filter(tenant=tenant)
    if record.order_form_id:
        return forms.filter(pk=record.order_form_id).first()
    return forms.signed().order_by("-version").first()


def _order_form_body(
    tenant: Tenant, order_form: OrderForm, portal: str, links: list[DecisionLogEntry]
) -> dict[str, Any]:
    later = (
        OrderForm.objects.signed()
        .filter(tenant=tenant, version__gt=order_form.version)
        .order_by("version")
        .values_list("version", flat=True)
        .first()
    )
    profile = BillingProfile.objects.select_related("fallback_acceptance").filter(tenant=tenant).first()
    owner = User.objects.filter(pk=tenant.commercial_owner_id).first() if tenant.commercial_owner_id else None
    sponsors = [
        m.user
        for m in TenantMembership.objects.select_related("user")
        .filter(tenant=tenant, role=MembershipRole.BUYER_SPONSOR, user__is_active=True)
        .order_by("user__last_name", "user__first_name", "user__username")
    ]
    log_entry = next((e for e in links if e.kind == "signed_order_form" and e.object_id == order_form.pk), None)
    return order_form_json(
        order_form,
        tenant,
        portal=portal,
        commercial_owner=owner,
        buyer_sponsors=sponsors,
        profile=profile,
        later_version=later,
        log_entry=log_entry,
    )


def _countersignature_file(body: dict[str, Any], links: list[DecisionLogEntry]) -> dict[str, Any]:
    """The operator's countersignature record and its decision-log link (docs/RULES.md 5.9)."""
    ours = [e for e in links if e.kind == "acceptance_countersignature"]
    link = next((e for e in ours if json.loads(e.payload).get("record_id") == body["id"]), None)
    return {
        "acceptance": body["id"],
        **(body["countersignature"] or {}),
        "decision_log": {"seq": link.seq, "entry_hash": link.entry_hash, "payload": link.payload} if link else None,
    }


def write_packet(tenant: Tenant, out: IO[bytes], *, base_url: str) -> PacketInfo:
    """Write the launch packet of ``tenant``'s current acceptance into ``out``.

    ``base_url`` is the portal's address as printed in the packet (the verification URL, where
    to get the key and the verifier). Raises ``PacketKeyMissing`` without a signing key and
    ``Refused`` without a current acceptance, both before anything is written.
    """
    key = signing_key()
    public_pem = public_key_pem()
    record = current_acceptance(tenant)
    context = certificate_data(tenant, None, record.pk)
    record = context["record"]
    portal = base_url.rstrip("/")
    exported_at = timezone.now()
    verification_url = portal + context["verification_path"]
    body = certificate_body(context, verification_url)
    status, detail = status_words(body)
    body.update(
        stage_label=LaunchStage(record.stage).label,
        decision_label=record.get_decision_display(),
        status_at_export={"as_of": utc_iso(exported_at), "status": status, "detail": detail},
    )
    gates = [
        {"number": g.get("number"), "title": g.get("title", ""), "status": STATUS_LABELS.get(g.get("status", ""), "")}
        for g in (record.snapshot or {}).get("gates", [])
    ]
    order_form = _order_form(tenant, record)
    if order_form is not None and order_form.pk == record.order_form_id:
        body["order_form_file"] = f"order-form/order-form-v{order_form.version}.pdf"
    links = list(DecisionLogEntry.objects.filter(tenant=tenant).order_by("seq"))

    # fpdf (fonts, Pillow) takes a quarter of a second to import: only a packet export pays it,
    # not every process that loads the URLs.
    from launchroom.packet import order_form_pdf, pdf

    writer = PacketWriter(out, exported_at)
    evidence = _write_evidence(writer, record, context)
    writer.add_json("evidence/index.json", evidence)
    writer.add_json("certificate/certificate.json", body)
    if body.get("countersignature"):
        writer.add_json("certificate/countersignature.json", _countersignature_file(body, links))
    writer.add("certificate/certificate.pdf", [pdf.certificate_pdf(body, evidence, gates, exported_at=exported_at)])
    if order_form is not None:
        of_body = _order_form_body(tenant, order_form, portal, links)
        name = f"order-form/order-form-v{order_form.version}"
        writer.add_json(f"{name}.json", of_body)
        writer.add(f"{name}.pdf", [order_form_pdf.order_form_pdf(of_body, exported_at=exported_at)])
    writer.add_json(
        "decision-log.json",
        {
            "tenant": tenant.slug,
            "algorithm": "sha256(prev_hash + payload)",
            "links": [
                {
                    "seq": e.seq,
                    "kind": e.kind,
                    "object_id": e.object_id,
                    "payload": e.payload,
                    "prev_hash": e.prev_hash,
                    "entry_hash": e.entry_hash,
                    "created_at": utc_iso(e.created_at),
                }
                for e in links
            ],
        },
    )
    writer.add("public-key.pem", [public_pem])
    writer.add(VERIFIER_MEMBER, [VERIFIER.read_bytes()])
    writer.add("README.txt", [readme(portal).encode()])
    manifest = {
        "format": FORMAT,
        "portal": portal,
        "created_at": utc_iso(exported_at),
        "tenant": {"slug": tenant.slug, "name": tenant.name},
        "acceptance": {
            "id": record.pk,
            "stage": record.stage,
            "decision": record.decision,
            "signed_at": body["signed_at"],
            "verification_code": body["verification_code"],
            "verification_url": verification_url,
            "countersignature": (body.get("countersignature") or {}).get("state"),
        },
        "signature": {
            "algorithm": "Ed25519",
            "file": SIGNATURE,
            "public_key_sha256": public_key_fingerprint(public_pem),
        },
        "files": writer.files,
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False).encode()
    writer.zip.writestr(zipfile.ZipInfo(MANIFEST, date_time=writer.when), manifest_bytes, zipfile.ZIP_DEFLATED)
    signature = base64.b64encode(key.sign(manifest_bytes)) + b"\n"
    writer.zip.writestr(zipfile.ZipInfo(SIGNATURE, date_time=writer.when), signature)
    writer.zip.close()
    return PacketInfo(record, manifest, len(writer.files) + 2)
