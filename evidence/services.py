"""The one write path for evidence attachments, and their integrity checks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from core import hooks
from core.errors import NotPermitted
from core.history import records_actor
from core.types import User
from evidence import uploads, validation
from evidence.models import EvidenceAttachment, EvidenceCheck, EvidenceKind
from launchroom import catalog
from launchroom.catalog import Kind
from launchroom.models import Tenant
from launchroom.tenants.locking import lock_tenant

# Clocks drift; anything further ahead than this is a typo or an attempt to stay fresh.
CAPTURED_AT_SKEW = timedelta(minutes=5)
MISSING_FILE = "the stored file is missing"


def check_attachment_input(*, file: File | None, url: str, output: str, captured_at: datetime | None) -> None:
    """The input rules of an attachment: exactly one source, not captured in the future.

    Raises ``ValidationError``; ``evidence_attach`` checks them, and the admin form shows
    them before anything is stored.
    """
    if sum([file is not None, bool(url), bool(output)]) != 1:
        raise ValidationError("Attach exactly one of a file, a URL or pasted output.")
    if captured_at is not None and captured_at > timezone.now() + CAPTURED_AT_SKEW:
        raise ValidationError({"captured_at": "Evidence cannot be captured in the future."})


@hooks.changes_launch_room
@records_actor()
def evidence_attach(
    *,
    tenant: Tenant,
    gate_key: str,
    requirement_key: str,
    by: User | None,
    file: File | None = None,
    url: str = "",
    output: str = "",
    captured_at: datetime | None = None,
    produced_by_command: str = "",
    note: str = "",
) -> EvidenceAttachment:
    """Attach one piece of evidence to one attachment requirement of a tenant's gate.

    Exactly one of ``file``, ``url`` or ``output``. A file is checked and hashed with
    SHA-256 in one streaming pass (``evidence.uploads.inspection``: done by the upload
    handler as an upload arrived, else ``evidence.validation.inspect_file``), then stored
    through Django's storage API under a server-generated name. On any error nothing is
    kept: no row and no stored file, not even a partial one. ``by`` is the staff user who
    attached it, or None for a proof command (then ``produced_by_command`` names it).

    Inside a caller's transaction, call it last: Django has no rollback hook, so a rollback
    after it returned would drop the row but could not remove the stored file.
    """
    try:
        requirement = catalog.requirement(gate_key, requirement_key)
    except KeyError:
        raise ValidationError({"requirement": f"No requirement {gate_key}/{requirement_key}."}) from None
    if requirement.kind != Kind.ATTACHMENT:
        raise ValidationError({"requirement": f"{requirement.label} is met by its record, not by an attachment."})
    if by is not None and not getattr(by, "is_staff", False):
        raise NotPermitted("Only Thesmios staff attach evidence.")
    check_attachment_input(file=file, url=url, output=output, captured_at=captured_at)
    captured_at = captured_at or timezone.now()

    attachment = EvidenceAttachment(
        tenant=tenant,
        gate_key=gate_key,
        requirement_key=requirement_key,
        uploaded_by=by,
        produced_by_command=produced_by_command,
        captured_at=captured_at,
        note=note.strip(),
    )
    inspected = None
    if file is not None:
        # Inspected while it streamed in when it came over HTTP; otherwise read once now.
        inspected = uploads.inspection(file)
        attachment.sha256 = inspected.sha256
        attachment.size = inspected.size
        attachment.content_type = inspected.content_type
        attachment.original_name = inspected.name
    elif url:
        attachment.url = validation.validate_url(url)
        data = attachment.url.encode()
        attachment.sha256 = hashlib.sha256(data).hexdigest()
        attachment.size = len(data)
        attachment.content_type = "text/uri-list"
    else:
        attachment.output = validation.validate_output(output)
        data = attachment.output.encode()
        attachment.sha256 = hashlib.sha256(data).hexdigest()
        attachment.size = len(data)
        attachment.content_type = "text/plain; charset=utf-8"
    # Field-level checks before anything is written; the one-source rule was checked above
    # and the file field is filled only once the file is stored.
    attachment.full_clean(exclude=["file"], validate_constraints=False)

    stored_name = ""
    try:
        with transaction.atomic():
            # The tenant lock every readiness-changing service takes: the stored readiness
            # row is rewritten under it (core.hooks).
            lock_tenant(tenant)
            if file is not None and inspected is not None:
                field = attachment.file.field
                target = field.generate_filename(attachment, inspected.name)
                # Known before writing, so a write that fails half-way can be removed too.
                stored_name = target
                stored_name = field.storage.save(target, file, max_length=field.max_length)
                attachment.file.name = stored_name
            attachment.save()
            hooks.readiness_may_change(
                tenant_id=tenant.pk,
                cause=f"evidence_attach: {requirement.label} ({gate_key})",
                actor=by,
            )
    except BaseException:
        if stored_name:
            attachment.file.field.storage.delete(stored_name)
        raise
    return attachment


@dataclass(frozen=True)
class Recomputed:
    ok: bool
    detail: str


def _digest_stored_file(attachment: EvidenceAttachment) -> tuple[str, int] | None:
    """SHA-256 and size of the stored file, read in chunks; None when it is missing."""
    storage = attachment.file.storage
    try:
        handle = storage.open(attachment.file.name, "rb")
    except (FileNotFoundError, OSError):
        return None
    digest = hashlib.sha256()
    size = 0
    with handle:
        for chunk in handle.chunks(validation.CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# What an attachment was when it was attached, as its creation record in the history keeps
# it: the stored row may have been edited since (its file and its hash column together,
# say); the creation record is what the content must still match.
ATTACHED_FIELDS = (
    "tenant_id",
    "gate_key",
    "requirement_key",
    "file",
    "url",
    "output",
    "captured_at",
    "uploaded_by_id",
    "produced_by_command",
    "sha256",
    "size",
)


def as_attached(attachment: EvidenceAttachment) -> dict[str, Any] | None:
    """The attachment's creation record in the history, or None when it has none."""
    history = EvidenceAttachment.history.model
    return (
        history.objects.filter(id=attachment.pk, history_type="+")
        .order_by("history_date", "history_id")
        .values(*ATTACHED_FIELDS)
        .first()
    )


def _changed_since_attached(attachment: EvidenceAttachment, attached: dict[str, Any]) -> list[str]:
    changed = []
    for name in ATTACHED_FIELDS:
        now, then = getattr(attachment, name), attached[name]
        if name == "file":
            now, then = now.name or "", then or ""
        if now != then:
            changed.append(name)
    return changed


def recompute(attachment: EvidenceAttachment) -> Recomputed:
    """Whether an attachment's content still matches the SHA-256 recorded when it was attached
    (its creation record in the history), and the row itself is as it was attached."""
    record = as_attached(attachment)
    if record is None:
        return Recomputed(
            False, "it has no record of being attached in the history: it was written behind the portal's back"
        )
    changed = _changed_since_attached(attachment, record)
    recorded = record["sha256"]
    if "sha256" in changed:
        return Recomputed(
            False,
            f"the recorded hash differs: the row now says {attachment.sha256[:16]}…, but {recorded[:16]}… was "
            "recorded when it was attached",
        )
    if changed:
        return Recomputed(False, f"its {', '.join(changed)} changed after it was attached")
    if attachment.kind == EvidenceKind.FILE:
        found = _digest_stored_file(attachment)
        if found is None:
            return Recomputed(False, MISSING_FILE)
        actual, size = found
        if actual != recorded:
            return Recomputed(
                False,
                f"the stored file hashes to {actual[:16]}…, not the recorded {recorded[:16]}… "
                f"({size:,} bytes stored, {record['size']:,} recorded)",
            )
        return Recomputed(True, "")
    what = "URL" if attachment.kind == EvidenceKind.URL else "pasted output"
    value = attachment.url if attachment.kind == EvidenceKind.URL else attachment.output
    actual = hashlib.sha256(value.encode()).hexdigest()
    if actual != recorded:
        return Recomputed(False, f"the stored {what} hashes to {actual[:16]}…, not the recorded {recorded[:16]}…")
    return Recomputed(True, "")


@hooks.changes_launch_room
def evidence_verify(*, attachment: EvidenceAttachment) -> EvidenceCheck:
    """Re-hash an attachment's stored content and record the result as an ``EvidenceCheck``.

    The readiness engine reads the latest check: a failing one makes the requirement stale.
    """
    result = recompute(attachment)
    with transaction.atomic():
        lock_tenant(attachment.tenant_id)
        check = EvidenceCheck.objects.create(
            attachment=attachment, checked_at=timezone.now(), ok=result.ok, detail=result.detail[:300]
        )
        hooks.readiness_may_change(
            tenant_id=attachment.tenant_id,
            cause=f"evidence_verify: attachment {attachment.pk} {'matches' if result.ok else 'failed'}",
            actor=None,
        )
        return check
