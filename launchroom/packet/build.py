"""Build a tenant's launch packet: one signed ZIP that anyone can verify offline (SPEC section 10).

The ZIP holds the current acceptance's certificate (PDF and JSON), the signed order-form
version it rests on (PDF and JSON), every evidence file the acceptance refers to, the
tenant's decision-log links with their chain hashes, the portal's public key, a
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
from typing import IO, Any

from django.utils import timezone

from core.errors import Refused
from evidence.models import EvidenceAttachment
from launchroom.acceptance.serializers import utc_iso
from launchroom.acceptance.views import certificate_body, certificate_data
from launchroom.gates.selectors import load
from launchroom.models import AcceptanceDecision, AcceptanceRecord, DecisionLogEntry, LaunchStage, OrderForm, Tenant
from launchroom.packet.keys import public_key_fingerprint, public_key_pem, signing_key

FORMAT = "thesmios-launch-packet/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
CHUNK = 256 * 1024
README = """Thesmios launch packet
======================

manifest.json lists every file of this packet with its SHA-256 and size; manifest.sig is the
Ed25519 signature (base64) of manifest.json's exact bytes, made with the portal's packet key.

To verify offline, take the portal's public key from /.well-known/thesmios-packet-key.pem on
the portal (public-key.pem in this packet is the same key, for reference only: whoever changes
a packet can also replace it) and run

    python verify_packet.py THIS-PACKET.zip --key thesmios-packet-key.pem

(tools/verify_packet.py of the portal: Python 3 and the `cryptography` package, nothing else).
The certificate's verification code tells, at the URL printed on it, whether the acceptance is
still current.
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


def order_form_json(order_form: OrderForm, tenant: Tenant) -> dict[str, Any]:
    return {
        "tenant": tenant.slug,
        "tenant_name": tenant.name,
        "id": order_form.pk,
        "version": order_form.version,
        "status": order_form.get_status_display(),
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
    }


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:80] or "file"


def _evidence_member(attachment: EvidenceAttachment) -> tuple[str, Iterable[bytes]]:
    if attachment.file:

        def chunks() -> Iterator[bytes]:
            with attachment.file.open("rb") as fh:
                yield from iter(lambda: fh.read(CHUNK), b"")

        return f"evidence/{attachment.pk}-{_safe(attachment.original_name or 'file')}", chunks()
    if attachment.url:
        return f"evidence/{attachment.pk}-url.txt", [attachment.url.encode()]
    return f"evidence/{attachment.pk}-output.txt", [attachment.output.encode()]


class PacketWriter:
    """A ZIP being written, recording the SHA-256 and size of every member as it goes."""

    def __init__(self, out: IO[bytes]) -> None:
        self.zip = zipfile.ZipFile(out, "w", allowZip64=True)
        self.when = timezone.now().utctimetuple()[:6]
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


def _status_text(body: dict[str, Any]) -> str:
    if body["superseded_by"]:
        return f"Superseded by acceptance record #{body['superseded_by']}"
    if not body["snapshot_matches"]:
        return "Current, but the readiness it was signed against has changed since"
    return "Current; the readiness it was signed against still holds"


def write_packet(tenant: Tenant, out: IO[bytes], *, base_url: str) -> PacketInfo:
    """Write the launch packet of ``tenant``'s current acceptance into ``out``.

    Raises ``PacketKeyMissing`` without a signing key and ``Refused`` without a current
    acceptance, both before anything is written.
    """
    key = signing_key()
    public_pem = public_key_pem()
    record = current_acceptance(tenant)
    context = certificate_data(tenant, None, record.pk)
    record = context["record"]
    verification_url = base_url.rstrip("/") + context["verification_path"]
    body = certificate_body(context, verification_url)
    body.update(
        stage_label=LaunchStage(record.stage).label,
        decision_label=record.get_decision_display(),
        status_text=_status_text(body),
    )
    order_form = record.order_form or load(tenant, with_output=False).signed_order_form

    # fpdf (fonts, Pillow) takes a quarter of a second to import: only a packet export pays it,
    # not every process that loads the URLs.
    from launchroom.packet import pdf

    writer = PacketWriter(out)
    evidence_ids = [ref.get("id") for ref in record.evidence_references if isinstance(ref.get("id"), int)]
    attachments = EvidenceAttachment.objects.in_bulk(evidence_ids)
    index, pdf_rows = [], []
    rows_by_id = {row["id"]: row for row in context["evidence_rows"]}
    for ref in record.evidence_references:
        attachment = attachments.get(ref.get("id"))
        row = rows_by_id.get(ref.get("id"), {})
        gate = row.get("gate")
        requirement = f"Gate {gate.number} {gate.title}: {row.get('requirement')}" if gate else "(unknown)"
        entry: dict[str, Any] = {"id": ref.get("id"), "sha256_at_signing": ref.get("sha256", ""), "path": None}
        if attachment is not None:
            name, chunks = _evidence_member(attachment)
            entry.update(
                path=name,
                sha256=writer.add(name, chunks, compress=False),
                gate=attachment.gate_key,
                requirement=attachment.requirement_key,
                captured_at=utc_iso(attachment.captured_at),
                produced_by_command=attachment.produced_by_command,
            )
        index.append(entry)
        pdf_rows.append(
            {
                "id": ref.get("id"),
                "sha256": ref.get("sha256", ""),
                "requirement": requirement,
                "name": row.get("name") or "",
                "path": entry["path"] or "not in the store any more",
            }
        )
    writer.add_json("evidence/index.json", index)
    writer.add_json("certificate/certificate.json", body)
    writer.add("certificate/certificate.pdf", [pdf.certificate_pdf(body, pdf_rows)])
    if order_form is not None:
        of_body = order_form_json(order_form, tenant)
        writer.add_json(f"order-form/order-form-v{order_form.version}.json", of_body)
        writer.add(f"order-form/order-form-v{order_form.version}.pdf", [pdf.order_form_pdf(of_body)])
    links = [
        {
            "seq": e.seq,
            "kind": e.kind,
            "object_id": e.object_id,
            "payload": e.payload,
            "prev_hash": e.prev_hash,
            "entry_hash": e.entry_hash,
            "created_at": utc_iso(e.created_at),
        }
        for e in DecisionLogEntry.objects.filter(tenant=tenant).order_by("seq")
    ]
    writer.add_json(
        "decision-log.json", {"tenant": tenant.slug, "algorithm": "sha256(prev_hash + payload)", "links": links}
    )
    writer.add("public-key.pem", [public_pem])
    writer.add("README.txt", [README.encode()])
    manifest = {
        "format": FORMAT,
        "portal": base_url.rstrip("/"),
        "created_at": utc_iso(timezone.now()),
        "tenant": {"slug": tenant.slug, "name": tenant.name},
        "acceptance": {
            "id": record.pk,
            "stage": record.stage,
            "decision": record.decision,
            "signed_at": body["signed_at"],
            "verification_code": body["verification_code"],
            "verification_url": verification_url,
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
