"""The one write path for evidence attachments."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from evidence.models import EvidenceAttachment
from launchroom import catalog
from launchroom.catalog import Kind
from launchroom.models import Tenant


def evidence_attach(
    *,
    tenant: Tenant,
    gate_key: str,
    requirement_key: str,
    by: Any,
    file: UploadedFile | None = None,
    url: str = "",
    output: str = "",
    captured_at: datetime | None = None,
    produced_by_command: str = "",
    note: str = "",
) -> EvidenceAttachment:
    """Attach one piece of evidence to one attachment requirement of a tenant's gate.

    The file is hashed in chunks as it is read, never whole into memory.
    """
    try:
        requirement = catalog.requirement(gate_key, requirement_key)
    except KeyError:
        raise ValidationError({"requirement": f"No requirement {gate_key}/{requirement_key}."}) from None
    if requirement.kind != Kind.ATTACHMENT:
        raise ValidationError({"requirement": f"{requirement.label} is met by its record, not by an attachment."})
    sources = [bool(file), bool(url), bool(output)]
    if sum(sources) != 1:
        raise ValidationError("Attach exactly one of a file, a URL or pasted output.")
    attachment = EvidenceAttachment(
        tenant=tenant,
        gate_key=gate_key,
        requirement_key=requirement_key,
        uploaded_by=by,
        produced_by_command=produced_by_command,
        captured_at=captured_at or timezone.now(),
        note=note,
    )
    if file is not None:
        digest = hashlib.sha256()
        size = 0
        for chunk in file.chunks():
            digest.update(chunk)
            size += len(chunk)
        file.seek(0)
        attachment.sha256 = digest.hexdigest()
        attachment.size = size
        attachment.content_type = getattr(file, "content_type", "") or "application/octet-stream"
        attachment.original_name = (file.name or "evidence").rsplit("/", 1)[-1][:200]
    elif url:
        attachment.url = url
        attachment.sha256 = hashlib.sha256(url.encode()).hexdigest()
        attachment.size = len(url.encode())
        attachment.content_type = "text/uri-list"
    else:
        data = output.encode()
        attachment.output = output
        attachment.sha256 = hashlib.sha256(data).hexdigest()
        attachment.size = len(data)
        attachment.content_type = "text/plain"
    with transaction.atomic():
        if file is not None:
            attachment.file.save(attachment.original_name, file, save=False)
        try:
            attachment.save()
        except Exception:
            if attachment.file:
                attachment.file.storage.delete(attachment.file.name)
            raise
    return attachment
